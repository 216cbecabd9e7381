import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, SignJWT } from 'jose';
import WebSocket from 'ws';
import { MessageType, parseMessage } from 'graphql-ws';
import { Redis } from 'ioredis';
import { eventually } from '@platform/kernel/testing';
import type { GatewayHandle } from '@platform/gateway';
import identity from '@platform/identity';
import { startTestPlatform, type TestPlatform } from './helpers.js';
import { collect, execute, openSocket, type TestSocket } from './fixtures/subscriptions-client.js';
import { startSecondProcess, type SecondProcess } from './second-process.js';

/**
 * GraphQL subscriptions through the gateway as a frontend uses them: a real graphql-ws client on
 * the gateway's /graphql, events completed across subgraphs, authorization on every delivery,
 * sockets closed on revocation and expiry, limits, and no leftovers.
 */
interface Body<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const WRITER = { email: 'writer@example.com', password: 'writer passphrase 1', displayName: 'Writer' };
const READER = { email: 'reader@example.com', password: 'reader passphrase 1', displayName: 'Reader' };

/** The requirement: revocations and permission changes take effect within a second. */
const WITHIN_MS = 1_000;
/** Small limits for this suite, so tests reach them quickly. */
const LIMITS = {
  maxSubscriptionsPerConnection: 3,
  maxConnectionsPerUser: 3,
  keepAliveMs: 12_000,
  connectionInitTimeoutMs: 500,
};

const POST_CREATED = 'subscription { postCreated { id title author { id displayName } } }';
const CREATE_POST = 'mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }';

let platform: TestPlatform;
let gateway: GatewayHandle;
const tokens: Record<string, string> = {};
const userIds: Record<string, string> = {};
const opened: TestSocket[] = [];

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<Body<T>> {
  const response = await fetch(platform.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Body<T>;
}

async function signIn(
  email: string,
  password: string,
): Promise<{ accessToken: string; refreshToken: string; id: string }> {
  const body = await gql<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }`,
    { email, password },
  );
  expect(body.errors).toBeUndefined();
  return { ...body.data!.login, id: body.data!.login.user.id };
}

function socket(token?: string, userAgent?: string): TestSocket {
  const opened1 = openSocket(platform.gateway.url, token, userAgent);
  opened.push(opened1);
  return opened1;
}

async function createPost(title: string, token = tokens.writer): Promise<string> {
  const body = await gql<{ createPost: { id: string } }>(CREATE_POST, { input: { title, content: 'Body' } }, token);
  expect(body.errors).toBeUndefined();
  return body.data!.createPost.id;
}

beforeAll(async () => {
  platform = await startTestPlatform({
    gateway: { port: 0, subscriptions: LIMITS },
    modules: { identity: { seedAdmin: ADMIN } },
  });
  gateway = platform.gateway as GatewayHandle;
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  for (const account of [WRITER, READER]) {
    const body = await gql(`mutation ($input: RegisterInput!) { register(input: $input) { id } }`, { input: account });
    expect(body.errors).toBeUndefined();
  }
  for (const [name, account] of Object.entries({ admin: ADMIN, writer: WRITER, reader: READER })) {
    await eventually(async () => {
      const { accessToken, id } = await signIn(account.email, account.password);
      tokens[name] = accessToken;
      userIds[name] = id;
      const me = await gql<{ me: { roles: Array<{ name: string }> } }>('{ me { roles { name } } }', {}, accessToken);
      expect(me.data?.me.roles.map((r) => r.name)).toContain(name === 'admin' ? 'admin' : 'user');
    });
  }
}, 90_000);

afterEach(async () => {
  // A failed test leaves nothing open for the next one to count.
  await Promise.all(opened.splice(0).map((s) => s.dispose()));
});

afterAll(async () => {
  await platform?.stop();
});

describe('postCreated through the gateway', () => {
  it("delivers A's new post to B with its author from identity", async () => {
    const b = socket(tokens.reader);
    await b.connected;
    const feed = collect<{ postCreated: { id: string; title: string; author: { id: string; displayName: string } } }>(
      b.client,
      POST_CREATED,
    );
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
    const id = await createPost('Hello subscribers');
    const [event] = await feed.next(1);
    expect(event!.errors).toBeUndefined();
    expect(event!.data!.postCreated).toEqual({
      id,
      title: 'Hello subscribers',
      author: { id: userIds.writer, displayName: 'Writer' },
    });
    const metrics = await (await fetch(`${platform.gateway.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/graphql_ws_connections_active\{[^}]*\} 1/);
    expect(metrics).toMatch(/graphql_subscriptions_active\{[^}]*\} 1/);
    expect(metrics).toMatch(/graphql_subscription_events_total\{[^}]*field="postCreated"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/graphql_subscription_delivery_seconds_count\{[^}]*field="postCreated"[^}]*\} [1-9]/);
    feed.unsubscribe();
    await b.dispose();
  });
});

type PostEvent = { postCreated: { id: string; title: string } };

describe('credentials never mix', () => {
  it("completes one event per subscriber with that subscriber's own permissions", async () => {
    // `email` is visible to the user themself and to holders of identity.user.read only.
    const query = 'subscription { postCreated { id author { id email } } }';
    type WithEmail = { postCreated: { id: string; author: { id: string; email: string } } };
    const sockets = { writer: socket(tokens.writer), reader: socket(tokens.reader), admin: socket(tokens.admin) };
    const feeds = Object.fromEntries(
      Object.entries(sockets).map(([name, s]) => [name, collect<WithEmail>(s.client, query)]),
    ) as Record<keyof typeof sockets, ReturnType<typeof collect<WithEmail>>>;
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(3));
    const id = await createPost('Whose email');
    const [writer] = await feeds.writer.next(1);
    const [admin] = await feeds.admin.next(1);
    const [reader] = await feeds.reader.next(1);
    expect(writer!.data!.postCreated.author).toEqual({ id: userIds.writer, email: WRITER.email });
    expect(admin!.data!.postCreated.author).toEqual({ id: userIds.writer, email: WRITER.email });
    expect(writer!.data!.postCreated.id).toBe(id);
    // email is non-null, so its denial nulls the whole event for the reader (GraphQL's null bubbling).
    expect(reader!.data ?? null).toBeNull();
    expect(JSON.stringify(reader)).not.toContain(WRITER.email);
    expect(reader!.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('sharing between identical callers', () => {
  it('serves guests with the same address and agent from one upstream subscription', async () => {
    const guests = Array.from({ length: 20 }, () => socket(undefined, 'same-browser'));
    const other = socket(undefined, 'another-browser');
    const feeds = guests.map((s) => collect<PostEvent>(s.client, POST_CREATED));
    const otherFeed = collect<PostEvent>(other.client, POST_CREATED);
    await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(21));
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(2));
    expect(gateway.subscriptionStats().upstreamSockets).toBe(2);
    const id = await createPost('For everyone');
    for (const feed of [...feeds, otherFeed]) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
    // One leaving does not end the others' subscription.
    await guests[0]!.dispose();
    const next = await createPost('Still shared');
    expect((await feeds[1]!.next(2))[1]!.data!.postCreated.id).toBe(next);
  });
});

describe('shared frames', () => {
  /** A bare graphql-transport-ws socket, to see the exact frames the gateway writes. */
  async function rawSocket(userAgent: string): Promise<{ ws: WebSocket; frames: string[] }> {
    const ws = new WebSocket(platform.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
      headers: { 'user-agent': userAgent },
    });
    const frames: string[] = [];
    ws.on('message', (data: Buffer) => frames.push(data.toString()));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await eventually(async () => expect(frames.map((f) => JSON.parse(f).type)).toContain('connection_ack'));
    frames.length = 0;
    raw.push(ws);
    return { ws, frames };
  }
  const raw: WebSocket[] = [];
  afterEach(() => raw.splice(0).forEach((ws) => ws.close()));

  it("writes each operation its own id around the group's one serialized result, valid for graphql-ws", async () => {
    const { ws, frames } = await rawSocket('frames-browser');
    const real = socket(undefined, 'frames-browser');
    for (const id of ['a', 'b']) ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: POST_CREATED } }));
    const feed = collect<PostEvent & { postCreated: { author: { displayName: string } } }>(real.client, POST_CREATED);
    await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(3));
    // Same caller (guest, address, agent), same operation: one upstream subscription for all three.
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
    const id = await createPost('Framed');
    const [viaClient] = await feed.next(1);
    expect(viaClient!.data!.postCreated).toMatchObject({ id, title: 'Framed', author: { displayName: 'Writer' } });
    await eventually(async () => expect(frames).toHaveLength(2));
    const messages = frames.map((frame) => parseMessage(frame));
    expect(messages.map((m) => (m as { id: string }).id).sort()).toEqual(['a', 'b']);
    for (const message of messages) {
      expect(message.type).toBe(MessageType.Next);
      expect((message as { payload: unknown }).payload).toEqual(viaClient);
    }

    // Completing one operation ends only its frames; the socket's other operation and the client keep theirs.
    ws.send(JSON.stringify({ id: 'a', type: 'complete' }));
    await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(2));
    frames.length = 0;
    const next = await createPost('Framed again');
    expect((await feed.next(2))[1]!.data!.postCreated.id).toBe(next);
    await eventually(async () => expect(frames).toHaveLength(1));
    await sleep(200);
    expect(frames.map((frame) => parseMessage(frame))).toEqual([
      { id: 'b', type: MessageType.Next, payload: { data: { postCreated: expect.objectContaining({ id: next }) } } },
    ]);
  });
});

describe('operations over the socket', () => {
  it('runs queries and mutations through the gateway as the socket user', async () => {
    const s = socket(tokens.writer);
    const me = await execute<{ me: { id: string; displayName: string } }>(s.client, '{ me { id displayName } }');
    expect(me.data!.me).toEqual({ id: userIds.writer, displayName: 'Writer' });
    const created = await execute<{ createPost: { id: string; author: { displayName: string } } }>(
      s.client,
      'mutation ($input: CreatePostInput!) { createPost(input: $input) { id author { displayName } } }',
      { input: { title: 'Over the socket', content: 'Body' } },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createPost.author.displayName).toBe('Writer');
    await s.dispose();
  });

  it('answers anonymous sockets as guests: reads yes, writes FORBIDDEN naming the permission', async () => {
    const s = socket();
    const posts = await execute<{ posts: { totalCount: number } }>(s.client, '{ posts(first: 1) { totalCount } }');
    expect(posts.data!.posts.totalCount).toBeGreaterThan(0);
    const write = await execute(s.client, CREATE_POST, { input: { title: 'Anonymous', content: 'Body' } });
    expect(write.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'blog.post.create' });
    await s.dispose();
  });

  it('validates operations against the supergraph', async () => {
    const s = socket(tokens.reader);
    const bad = collect(s.client, 'subscription { postCreated { nope } }');
    await bad.done;
    expect(JSON.stringify(bad.error)).toContain('Cannot query field \\"nope\\"');
    await s.dispose();
  });
});

describe('who may subscribe to what', () => {
  it('lets guests follow new posts (the guest role holds blog.post.read)', async () => {
    const s = socket();
    const feed = collect<PostEvent>(s.client, POST_CREATED);
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
    const id = await createPost('For guests too');
    const [event] = await feed.next(1);
    expect(event!.data!.postCreated.id).toBe(id);
    await s.dispose();
  });

  it('refuses auditEventRecorded without audit.event.read, naming it', async () => {
    for (const token of [undefined, tokens.reader]) {
      const s = socket(token);
      const audit = collect(s.client, 'subscription { auditEventRecorded { id } }');
      await audit.done;
      expect(audit.results[0]?.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        permission: 'audit.event.read',
      });
      await s.dispose();
    }
  });

  it('streams audit records to an administrator, filtered by action', async () => {
    const s = socket(tokens.admin);
    const audit = collect<{ auditEventRecorded: { action: string; targetId: string; actor: { id: string } } }>(
      s.client,
      'subscription ($action: String) { auditEventRecorded(action: $action) { action targetId actor { id } } }',
      { action: 'blog.post.created' },
    );
    await eventually(async () => expect(platform.subgraphs.audit!.subscriptionStats().subscriptions).toBe(1));
    // A login is audited too, but is not the action asked for.
    await signIn(READER.email, READER.password);
    const id = await createPost('Audited');
    const [event] = await audit.next(1);
    expect(event!.data!.auditEventRecorded).toEqual({
      action: 'blog.post.created',
      targetId: id,
      actor: { id: userIds.writer },
    });
    await sleep(200);
    expect(audit.results).toHaveLength(1);
    await s.dispose();
  });

  it('refuses mySessionRevoked to anonymous sockets', async () => {
    const s = socket();
    const mine = collect(s.client, 'subscription { mySessionRevoked { sessionId } }');
    await mine.done;
    expect(mine.results[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await s.dispose();
  });

  it('stops delivering posts within a second of the roles losing blog.post.read', async () => {
    const roles = await gql<{ roles: { edges: Array<{ node: { id: string; name: string } }> } }>(
      '{ roles(first: 50) { edges { node { id name } } } }',
      {},
      tokens.admin,
    );
    // Signed-in users hold the guest role's permissions too: both lose it.
    const roleIds = roles
      .data!.roles.edges.filter((e) => ['user', 'guest'].includes(e.node.name))
      .map((e) => e.node.id);
    expect(roleIds).toHaveLength(2);
    const s = socket(tokens.reader);
    const feed = collect<PostEvent>(s.client, POST_CREATED);
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
    await createPost('Before the change');
    await feed.next(1);
    try {
      for (const roleId of roleIds) {
        const revoked = await gql(
          'mutation ($roleId: ID!) { revokePermission(roleId: $roleId, permission: "blog.post.read") { id } }',
          { roleId },
          tokens.admin,
        );
        expect(revoked.errors).toBeUndefined();
      }
      await sleep(WITHIN_MS);
      await createPost('After the change', tokens.admin);
      const results = await feed.next(2);
      expect(results[1]!.data ?? null).toBeNull();
      expect(results[1]!.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'blog.post.read' });
      await feed.done;
      expect(feed.completed).toBe(true);
    } finally {
      for (const roleId of roleIds) {
        await gql(
          'mutation ($roleId: ID!) { grantPermissions(roleId: $roleId, permissions: ["blog.post.read"]) { id } }',
          { roleId },
          tokens.admin,
        );
      }
      await s.dispose();
    }
  });
});

describe('sockets end with their sessions', () => {
  it('refuses an invalid token with 4401', async () => {
    const s = socket('not-a-token');
    expect((await s.closed).code).toBe(4401);
  });

  it('closes a socket within a second of its session being logged out (4403)', async () => {
    const session = await signIn(READER.email, READER.password);
    const s = socket(session.accessToken);
    await s.connected;
    const started = Date.now();
    const out = await gql('mutation ($t: String) { logout(refreshToken: $t) }', { t: session.refreshToken });
    expect(out.errors).toBeUndefined();
    const closed = await s.closed;
    expect(closed.code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
    // The revoked token cannot open a new socket either.
    expect((await socket(session.accessToken).closed).code).toBe(4401);
  });

  it("closes the revoked session (4403) and tells the user's other sessions (mySessionRevoked)", async () => {
    const a = await signIn(READER.email, READER.password);
    const b = await signIn(READER.email, READER.password);
    const sa = socket(a.accessToken);
    const sb = socket(b.accessToken);
    const mine = collect<{ mySessionRevoked: { sessionId: string; reason: string } }>(
      sa.client,
      'subscription { mySessionRevoked { sessionId reason revokedAt } }',
    );
    await sb.connected;
    await eventually(async () => expect(platform.subgraphs.identity!.subscriptionStats().subscriptions).toBe(1));
    const sessionB = (decodeJwt(b.accessToken) as { sid: string }).sid;
    const started = Date.now();
    const revoked = await gql('mutation ($id: ID!) { revokeSession(id: $id) }', { id: sessionB }, a.accessToken);
    expect(revoked.errors).toBeUndefined();
    expect((await sb.closed).code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
    const [event] = await mine.next(1);
    expect(event!.data!.mySessionRevoked).toMatchObject({ sessionId: sessionB, reason: 'revoked_by_user' });
    await sa.dispose();
  });

  it('closes a socket when its access token expires (4401)', async () => {
    const session = await signIn(READER.email, READER.password);
    const claims = decodeJwt(session.accessToken) as { sid: string; iss: string; aud: string };
    const { kid, privateKey } = (
      platform.subgraphs.identity!.services as {
        keys: { current(): { kid: string; privateKey: Parameters<SignJWT['sign']>[0] } };
      }
    ).keys.current();
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .setSubject(session.id)
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .setIssuedAt(now)
      .setExpirationTime(now + 2)
      .sign(privateKey);
    const s = socket(shortLived);
    const feed = collect(s.client, POST_CREATED);
    await s.connected;
    const closed = await s.closed;
    expect(closed).toEqual({ code: 4401, reason: 'Access token expired' });
    expect(Date.now()).toBeGreaterThanOrEqual((now + 2) * 1000);
    await feed.done;
  });
});

describe('limits', () => {
  it('refuses a socket over the per-user connection limit with 4429', async () => {
    const sockets = Array.from({ length: LIMITS.maxConnectionsPerUser }, () => socket(tokens.writer));
    await Promise.all(sockets.map((s) => s.connected));
    const extra = socket(tokens.writer);
    expect(await extra.closed).toEqual({ code: 4429, reason: 'Too many connections: at most 3 per user' });
    await Promise.all(sockets.map((s) => s.dispose()));
    // Freed slots can be used again.
    const again = socket(tokens.writer);
    await again.connected;
    await again.dispose();
  });

  it('refuses an operation over the per-connection limit with RATE_LIMITED and keeps the others', async () => {
    const s = socket(tokens.reader);
    const feeds = Array.from({ length: LIMITS.maxSubscriptionsPerConnection }, () =>
      collect<PostEvent>(s.client, POST_CREATED),
    );
    await eventually(async () =>
      expect(gateway.subscriptionStats().subscriptions).toBe(LIMITS.maxSubscriptionsPerConnection),
    );
    const extra = collect(s.client, POST_CREATED);
    await extra.done;
    expect((extra.error as Array<{ extensions?: Record<string, unknown> }>)[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      limit: LIMITS.maxSubscriptionsPerConnection,
    });
    const id = await createPost('Still delivered');
    for (const feed of feeds) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
    await s.dispose();
  });

  it('does not count a socket that left while its token was being checked', async () => {
    const url = platform.gateway.url.replace(/^http/, 'ws');
    await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<void>((resolve) => {
            const raw = new WebSocket(url, 'graphql-transport-ws');
            raw.once('open', () => {
              raw.send(
                JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.writer}` } }),
              );
              raw.terminate();
            });
            raw.once('close', () => resolve());
          }),
      ),
    );
    await eventually(async () => expect(gateway.subscriptionStats().connections).toBe(0));
    const sockets = Array.from({ length: LIMITS.maxConnectionsPerUser }, () => socket(tokens.writer));
    await Promise.all(sockets.map((s) => s.connected));
  });

  it('closes a socket that sends no connection_init in time (4408)', async () => {
    const raw = new WebSocket(platform.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => raw.once('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4408);
  });
});

describe('teardown', () => {
  it('leaves no socket, subscription, pub/sub stream or channel behind after 1,000 connect/subscribe/disconnect cycles', async () => {
    const blog = platform.subgraphs.blog!;
    await eventually(async () => {
      expect(gateway.subscriptionStats()).toEqual({ sockets: 0, connections: 0, subscriptions: 0, upstreamSockets: 0 });
      expect(blog.subscriptionStats()).toEqual({
        connections: 0,
        subscriptions: 0,
        pubsub: { streams: 0, channels: 0 },
      });
    });
    const BATCH = 50;
    for (let done = 0; done < 1000; done += BATCH) {
      // Distinct user agents: no two sockets share an upstream subscription.
      const batch = Array.from({ length: BATCH }, (_, i) =>
        openSocket(platform.gateway.url, undefined, `cycle-${done + i}`),
      );
      const feeds = batch.map((s) => collect(s.client, POST_CREATED));
      // Every cycle really subscribed, all the way to blog's pub/sub.
      await eventually(async () => expect(blog.subscriptionStats().pubsub.streams).toBe(BATCH), 10_000);
      expect(feeds.every((feed) => feed.error === undefined)).toBe(true);
      await Promise.all(batch.map((s) => s.dispose()));
    }
    await eventually(async () => {
      expect(gateway.subscriptionStats()).toEqual({ sockets: 0, connections: 0, subscriptions: 0, upstreamSockets: 0 });
      expect(blog.subscriptionStats()).toEqual({
        connections: 0,
        subscriptions: 0,
        pubsub: { streams: 0, channels: 0 },
      });
    }, 10_000);
    if (process.env.REDIS_URL) {
      // No Redis channel subscription left either.
      const redis = new Redis(process.env.REDIS_URL);
      try {
        const channel = `${blog.runtime.platform.redis.keyPrefix}:pubsub:blog.postCreated`;
        expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
      } finally {
        redis.disconnect();
      }
    }
    const metrics = await (await fetch(`${platform.gateway.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/graphql_ws_connections_active\{[^}]*\} 0/);
    expect(metrics).toMatch(/graphql_subscriptions_active\{[^}]*\} 0/);
  }, 120_000);
});

if (process.env.REDIS_URL) {
  describe('across processes on Redis', () => {
    let second: SecondProcess | undefined;

    afterAll(async () => {
      await second?.stop();
    });

    it('delivers a post created through gateway 1 / blog 1 to a subscriber on gateway 2 / blog 2', async () => {
      second = await startSecondProcess(platform);
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const channel = `${platform.subgraphs.blog!.runtime.platform.redis.keyPrefix}:pubsub:blog.postCreated`;
        const numsub = async (): Promise<number> => {
          const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
          return Number(count);
        };
        expect(await numsub()).toBe(0);
        const remote = openSocket(second.gatewayUrl, tokens.reader);
        opened.push(remote);
        const feed = collect<PostEvent>(remote.client, POST_CREATED);
        // Blog 2 (the other process) subscribed its channel; blog 1 has no subscriber.
        await eventually(async () => expect(await numsub()).toBe(1), 10_000);
        expect(platform.subgraphs.blog!.subscriptionStats().pubsub.channels).toBe(0);
        const id = await createPost('Across processes');
        const [event] = await feed.next(1);
        expect(event!.data!.postCreated).toEqual({
          id,
          title: 'Across processes',
          author: { id: userIds.writer, displayName: 'Writer' },
        });
        // Each instance publishes nothing twice: exactly one delivery.
        await sleep(300);
        expect(feed.results).toHaveLength(1);
        await remote.dispose();
        await eventually(async () => expect(await numsub()).toBe(0), 10_000);
        const clients = await redis.client('LIST');
        expect(String(clients)).toContain('name=blog-pubsub-sub');
      } finally {
        redis.disconnect();
      }
    }, 60_000);
  });
}
