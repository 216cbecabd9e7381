import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractLinkToken, waitForMail } from '@platform/kernel/testing';
import { graphqlAt, type GraphQLBody } from './helpers.js';
import { resolvedCompose, writeSecrets, type ComposeConfig } from './fixtures/compose/compose.js';
import { healthy, prepare, start, teardown } from './fixtures/compose/containers.js';
import {
  PREFIX,
  buildNetwork,
  makeMountPoint,
  preflight,
  publish,
  removeRuns,
  type Container,
  type Topology,
} from './fixtures/compose/network.js';

/**
 * docker-compose.yml, run as Compose would run it, without a container engine (none here): every
 * service of the file (profiles aside) is a process in its own network namespace on one bridge,
 * where the file's service names resolve to each other's addresses; each has exactly the
 * environment of its image (the Dockerfile's ENV for its target and build args) and of the file,
 * its secrets read-only at /run/secrets/<name>, its volumes, the image's user (node, uid 1000,
 * no capabilities). PostgreSQL and Redis are real servers in their namespaces (this machine's
 * PostgreSQL 15 and Redis 7, started as the official images' entrypoints would). Services start
 * in the file's depends_on order and conditions, health decided by running the file's health
 * check inside the service. Then a frontend's flow through the gateway's published port:
 * register, verify the email, sign in, post, read the post with its author, and find it in the
 * audit log as the seeded administrator.
 *
 * The application services run their image's entry from sources (`node --import
 * ./scripts/register.mjs <service>/src/main.ts` for the image's `node main.js`; the migrate service
 * runs the image's `platformctl` link to scripts/bin/platformctl.mjs), with the repository as the
 * image's /app. Health checks are polled every 500 ms instead of the file's interval.
 */

const APPLICATION = ['identity', 'authz', 'audit', 'blog', 'gateway'];

let tools: { ip: string; nsenter: string };
let tmp: string;
let secretsDir: string;
let config: ComposeConfig;
let topology: Topology | undefined;
let proxy: { port: number; close(): Promise<void> } | undefined;
let gatewayUrl: string;
const startedAt = Date.now();
const timings: Record<string, number> = {};

const secret = (name: string) => readFileSync(join(secretsDir, name), 'utf8');
const tail = (container: Container) => `--- ${container.name} (last output) ---\n${container.log.slice(-3000)}`;

/** Waits for one dependency's condition, as `depends_on` states it. */
async function condition(container: Container, wanted: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  if (wanted === 'service_completed_successfully') {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      container.exited!,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 90_000))),
    ]);
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${container.name} did not complete successfully (${code})\n${tail(container)}`);
    return;
  }
  if (wanted === 'service_started') return;
  for (;;) {
    if (await healthy(container, tools.nsenter)) return;
    if (container.process?.exitCode !== null) {
      throw new Error(
        `${container.name} exited (${container.process?.exitCode}) before it was healthy\n${tail(container)}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`${container.name} not healthy in 90 s\n${tail(container)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Starts every service after its dependencies meet their conditions (Compose's order). */
async function upAll(topo: Topology): Promise<void> {
  const started = new Map<string, Promise<Container>>();
  const up = (name: string): Promise<Container> => {
    let promise = started.get(name);
    if (!promise) {
      promise = (async () => {
        const container = topo.containers.get(name)!;
        const deps = Object.entries(container.service.depends_on ?? {});
        await Promise.all(deps.map(async ([dep, { condition: wanted }]) => condition(await up(dep), wanted)));
        start(container, prepare(container, { tmp, secretsDir }), tools.ip, tmp);
        timings[`${name} started`] = Date.now() - startedAt;
        return container;
      })();
      started.set(name, promise);
    }
    return promise;
  };
  const names = [...topo.containers.keys()];
  await Promise.all(names.map(up));
  // Everything the file runs is up once each is healthy (or, for one-shots, done).
  await Promise.all(
    names.map((name) => {
      const container = topo.containers.get(name)!;
      return condition(container, container.service.healthcheck ? 'service_healthy' : 'service_started');
    }),
  );
}

beforeAll(async () => {
  tools = preflight();
  removeRuns(); // what a crashed run left
  tmp = mkdtempSync(`/tmp/${PREFIX}-${process.pid}-`);
  secretsDir = join(tmp, 'secrets');
  writeSecrets(secretsDir);
  config = resolvedCompose(secretsDir, join(tmp, 'compose.env'));
  const names = Object.entries(config.services)
    .filter(([, service]) => !service.profiles)
    .map(([name]) => name);
  // The images' DATA_DIR is /data: each service gets its own there, but the mount point must exist.
  makeMountPoint('/data', tmp);
  topology = buildNetwork(names, config);
  await upAll(topology);
  timings['all healthy'] = Date.now() - startedAt;
  const gateway = config.services.gateway!;
  const published = gateway.ports![0] as { published: number | string; target: number | string };
  proxy = await publish(Number(published.published), {
    host: topology.containers.get('gateway')!.ip,
    port: Number(published.target),
  });
  gatewayUrl = `http://127.0.0.1:${proxy.port}/graphql`;
}, 150_000);

afterAll(async () => {
  await proxy?.close();
  const stopping = await teardown(topology);
  console.log(
    `compose topology: ms since start ${JSON.stringify(timings)}; ms to stop ${JSON.stringify(stopping)}; published port ${proxy?.port}`,
  );
}, 60_000);

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(gatewayUrl, query, variables, token);

const noErrors = (body: GraphQLBody<unknown>) => expect(body.errors).toBeUndefined();

/** `check`'s value once it stops throwing; tried every 250 ms (the production rate limits are on). */
async function eventually<T>(check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

describe('docker-compose.yml, run as its topology', () => {
  it('every service runs with its own address, and the file’s names resolve to them', () => {
    const addresses = [...topology!.containers.values()].map((c) => c.ip);
    expect(new Set(addresses).size).toBe(topology!.containers.size);
    for (const container of topology!.containers.values()) {
      expect(readFileSync(`/etc/netns/${container.ns}/hosts`, 'utf8')).toContain(
        `${topology!.containers.get('identity')!.ip}\tidentity`,
      );
    }
    // Each process has exactly the environment the image and the file give it, nothing of this test's.
    for (const name of APPLICATION) {
      const container = topology!.containers.get(name)!;
      const environ = readFileSync(`/proc/${container.process!.pid}/environ`, 'utf8').split('\0').filter(Boolean);
      const env = Object.fromEntries(
        environ.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      expect({ name, env }).toEqual({ name, env: container.env });
      expect(env).toMatchObject({ PLATFORM_ENV: 'production', SERVICE_SECRET_FILE: '/run/secrets/service_secret' });
      expect(readFileSync(`/proc/${container.process!.pid}/status`, 'utf8')).toMatch(/^Uid:\s+1000\s/m);
      // What the process sees (its mount namespace): the secrets at /run/secrets, read-only, and the names.
      const root = `/proc/${container.process!.pid}/root`;
      for (const { source } of container.service.secrets ?? []) {
        expect(readFileSync(`${root}/run/secrets/${source}`, 'utf8')).toBe(secret(source));
      }
      expect(readFileSync(`/proc/${container.process!.pid}/mountinfo`, 'utf8')).toMatch(
        / \/run\/secrets\/service_secret ro[, ]/,
      );
      expect(readFileSync(`${root}/etc/hosts`, 'utf8')).toContain(`${topology!.containers.get('authz')!.ip}\tauthz`);
    }
    // migrate ran to completion; everything else is running.
    expect(topology!.containers.get('migrate')!.process!.exitCode).toBe(0);
    for (const name of [...APPLICATION, 'postgres', 'redis']) {
      expect({ name, running: topology!.containers.get(name)!.process!.exitCode === null }).toEqual({
        name,
        running: true,
      });
    }
  });

  it('a frontend’s flow through the gateway’s published port: register, verify, sign in, post, read, audited', async () => {
    // The seeded administrator (SEED_ADMIN_EMAIL, password from the seed_admin_password secret).
    const admin = await gql<{ login: { accessToken: string } }>(
      `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`,
      { email: 'admin@example.com', password: secret('seed_admin_password') },
    );
    noErrors(admin);
    const adminToken = admin.data!.login.accessToken;
    // The symptoms: an administrator's token was UNAUTHENTICATED in every subgraph (each
    // looked for identity on its own localhost), and anonymous posts FORBIDDEN.
    const adminView = await gql<{ me: { permissions: string[] } }>(`{ me { id permissions } }`, {}, adminToken);
    noErrors(adminView);
    expect(adminView.data!.me.permissions).toContain('audit.event.read');
    noErrors(await gql(`{ posts(first: 1) { totalCount } }`));

    const email = `writer-${process.pid}@example.com`;
    const password = 'a compose topology passphrase';
    const registered = await gql<{ register: { id: string } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { id } }`,
      { input: { email, password, displayName: 'Compose Writer' } },
    );
    noErrors(registered);

    // Mail goes to identity's volume (no SMTP_URL): identity-data's mail/ folder.
    const outbox = join(tmp, 'volumes', 'identity-data', 'mail');
    const token = extractLinkToken((await waitForMail(outbox, email, { timeoutMs: 10_000 })).text)!;
    noErrors(await gql(`mutation ($token: String!) { verifyEmail(token: $token) { id } }`, { token }));

    const login = await gql<{ login: { accessToken: string; user: { id: string } } }>(
      `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { id } } }`,
      { email, password },
    );
    noErrors(login);
    const { accessToken, user } = login.data!.login;

    // Registration gives the `user` role (authz hears identity's event over Redis).
    const created = await eventually(async () => {
      const body = await gql<{ createPost: { id: string } }>(
        `mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }`,
        { input: { title: 'Hello from Compose', content: 'Written through the published port.' } },
        accessToken,
      );
      noErrors(body);
      return body.data!.createPost;
    }, 10_000);

    const read = await gql<{ post: { title: string; author: { id: string; displayName: string } } }>(
      `query ($id: ID!) { post(id: $id) { title author { id displayName } } }`,
      { id: created.id },
    );
    expect(read).toEqual({
      data: { post: { title: 'Hello from Compose', author: { id: user.id, displayName: 'Compose Writer' } } },
    });

    const audited = await eventually(async () => {
      const body = await gql<{
        auditEvents: { edges: Array<{ node: { action: string; targetId: string; actor: { id: string } } }> };
      }>(
        `query ($actorId: ID!) { auditEvents(filter: { actorId: $actorId, actionPrefix: "blog" }, first: 5) {
          edges { node { action targetId actor { id } } } } }`,
        { actorId: user.id },
        adminToken,
      );
      noErrors(body);
      expect(body.data!.auditEvents.edges.map((e) => e.node)).toContainEqual(
        expect.objectContaining({ action: 'blog.post.created', targetId: created.id }),
      );
      return body.data!.auditEvents.edges;
    }, 15_000);
    expect(audited[0]!.node.actor.id).toBe(user.id);
    timings['flow done'] = Date.now() - startedAt;
  });

  it('/metrics answers Prometheus’ bearer token (the metrics_credential secret) on every service, and no one else', async () => {
    const credential = secret('metrics_credential');
    for (const name of APPLICATION) {
      const container = topology!.containers.get(name)!;
      const port = config.services[name]!.build!.args!.PORT;
      const url = `http://${container.ip}:${port}/metrics`;
      const scraped = await fetch(url, { headers: { authorization: `Bearer ${credential}` } });
      expect({ name, status: scraped.status }).toEqual({ name, status: 200 });
      expect(await scraped.text()).toContain('http_request_duration_seconds');
      expect({ name, anonymous: (await fetch(url)).status }).toEqual({ name, anonymous: 401 });
    }
  });
});
