// Isolated A/B measurements of the gateway tunings that the end-to-end cases cannot switch off
// one by one: `npm run bench -- tuning`. Each pair runs in this process, back to back, and
// reports CPU time per operation (process.cpuUsage), median of 5 rounds:
//
// 1. access-token verification: TokenVerifier with its cache vs without (cacheSize 0);
// 2. a subgraph call: @apollo/gateway's default fetcher (make-fetch-happen) vs the gateway's
//    keepAliveFetcher, against a bare node:http server in another process (bench/servers/ceiling.ts);
// 3. an operation of 20 objects × 3 fields on Apollo Server with its default cache-control
//    plugin vs with it disabled (what kernel/src/graphql/apollo.ts now does).
import { randomUUID } from 'node:crypto';
import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { TokenVerifier } from '@platform/kernel/tools';
import { keepAliveFetcher } from '../gateway/src/keep-alive-fetcher.js';
import { freePorts } from './lib/platform.js';
import { ServerProcess } from './lib/server-process.js';
import { ROOT } from './gateway/options.js';
import { median } from './gateway/report.js';

interface Pair {
  name: string;
  before: string;
  after: string;
  beforeUs: number;
  afterUs: number;
}

/** CPU µs per call of `op`, median of `rounds` rounds of `count` calls (after one warm-up round). */
async function cpuPerCall(op: () => Promise<unknown>, count: number, rounds = 5, concurrency = 1): Promise<number> {
  const round = async (): Promise<number> => {
    const before = process.cpuUsage();
    for (let i = 0; i < count; i += concurrency) await Promise.all(Array.from({ length: concurrency }, op));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  };
  await round();
  const results: number[] = [];
  for (let i = 0; i < rounds; i += 1) results.push(await round());
  return median(results);
}

async function tokenVerification(): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
  const token = await new SignJWT({ sid: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
    .setSubject(randomUUID())
    .setIssuer('http://identity.bench')
    .setAudience('platform')
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(privateKey);
  const verifier = (cacheSize: number): TokenVerifier =>
    new TokenVerifier({
      issuer: 'http://identity.bench',
      audience: 'platform',
      keys: { local: () => ({ keys: [jwk] }) },
      cacheSize,
    });
  const uncached = verifier(0);
  const cached = verifier(10_000);
  return {
    name: 'access-token verification (same token each request)',
    before: 'jose verify every time',
    after: 'cached by token',
    beforeUs: await cpuPerCall(() => uncached.verify(token), 2000),
    afterUs: await cpuPerCall(() => cached.verify(token), 2000),
  };
}

async function subgraphFetch(): Promise<Pair> {
  const [port] = await freePorts(1);
  const server = await ServerProcess.start({
    name: 'ceiling',
    command: process.execPath,
    args: ['bench/servers/ceiling.ts', String(port)],
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    probeUrl: `http://127.0.0.1:${port}/`,
    probeBody: '{}',
  });
  try {
    const url = `http://127.0.0.1:${port}/`;
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ posts { id } }' }),
    };
    const stock = new RemoteGraphQLDataSource({ url }).fetcher;
    const ours = keepAliveFetcher({ timeoutMs: 10_000, maxResponseBytes: 64 * 1024 * 1024 });
    return {
      name: 'one subgraph call, 4 in flight',
      before: "@apollo/gateway's default fetcher (make-fetch-happen)",
      after: 'keepAliveFetcher (node:http, keep-alive)',
      beforeUs: await cpuPerCall(async () => (await stock(url, init)).json(), 2000, 5, 4),
      afterUs: await cpuPerCall(async () => (await ours(url, init)).json(), 2000, 5, 4),
    };
  } finally {
    await server.stop();
  }
}

async function cacheControlPlugin(): Promise<Pair> {
  const typeDefs = 'type Post { id: ID! title: String! body: String! } type Query { posts: [Post!]! }';
  const posts = Array.from({ length: 20 }, (_, i) => ({ id: String(i), title: `Post ${i}`, body: 'text' }));
  const resolvers = { Query: { posts: () => posts } };
  const server = async (plugins: ApolloServerPlugin[]): Promise<ApolloServer> => {
    const apollo = new ApolloServer({ typeDefs, resolvers, plugins });
    await apollo.start();
    return apollo;
  };
  const withPlugin = await server([]);
  const without = await server([ApolloServerPluginCacheControlDisabled()]);
  const query = 'query Page { posts { id title body } }';
  try {
    return {
      name: 'operation resolving 20 objects × 3 fields',
      before: 'Apollo Server defaults (cache-control plugin on)',
      after: 'cache-control plugin disabled',
      beforeUs: await cpuPerCall(() => withPlugin.executeOperation({ query }), 3000),
      afterUs: await cpuPerCall(() => without.executeOperation({ query }), 3000),
    };
  } finally {
    await withPlugin.stop();
    await without.stop();
  }
}

const pairs: Pair[] = [];
for (const measure of [tokenVerification, subgraphFetch, cacheControlPlugin]) {
  const pair = await measure();
  pairs.push(pair);
  console.log(`${pair.name}: ${pair.beforeUs.toFixed(1)} µs → ${pair.afterUs.toFixed(1)} µs CPU per call`);
}
console.log('\n| what | before | after | CPU per call before → after |');
console.log('| --- | --- | --- | -: |');
for (const p of pairs) {
  const saved = (1 - p.afterUs / p.beforeUs) * 100;
  console.log(
    `| ${p.name} | ${p.before} | ${p.after} | ${p.beforeUs.toFixed(1)} µs → ${p.afterUs.toFixed(1)} µs (${saved.toFixed(0)} % less) |`,
  );
}
