// A real S3-compatible server (s3rver) in its own process, for the S3 storage tests:
// `node s3rver-process.mjs <directory> <bucket>` listens on a free loopback port, prints
// `{"port":…}` once ready, and stops when its parent closes stdin or sends SIGTERM.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
