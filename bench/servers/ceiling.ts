// Case 1, the ceiling: a bare node:http server answering every request with the same small JSON
// body. Nothing a GraphQL server could do is cheaper, so it bounds what this machine and the
// load generator can show. `node bench/servers/ceiling.ts <port>`.
import { createServer } from 'node:http';

const BODY = Buffer.from(JSON.stringify({ data: { ok: true, message: 'a fixed JSON body' } }));
const port = Number(process.argv[2] ?? 0);

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  // Read (and drop) the request body, as any real server must, before answering.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  });
});
server.listen(port, '127.0.0.1');
process.once('SIGINT', () => {
  server.close();
  server.closeAllConnections();
});
