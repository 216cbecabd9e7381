// Case 5a: a stock @apollo/gateway, as its documentation sets it up — `new ApolloGateway({
// supergraphSdl })` behind @apollo/server's standalone server, every option at its default —
// over the same supergraph and subgraphs as ours. Only telemetry is switched off (no
// connection may leave the machine); it costs nothing per request.
// `node bench/servers/stock-apollo.ts <supergraph file> <port>`.
import { readFileSync } from 'node:fs';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const { ApolloGateway } = await import('@apollo/gateway');
const { ApolloServer } = await import('@apollo/server');
const { startStandaloneServer } = await import('@apollo/server/standalone');

const [supergraphPath, port] = process.argv.slice(2);
if (!supergraphPath || !port) throw new Error('usage: stock-apollo.ts <supergraph file> <port>');

const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraphPath, 'utf8') });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(port), host: '127.0.0.1' } });
console.log(`stock @apollo/gateway ready at ${url}`);
