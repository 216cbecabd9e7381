// Shared-answer mode of a real subgraph, over HTTP and graphql-ws: what resolvers may know of the
// caller, and which permission set the answers name.
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql';
import { Ctx, Query, Resolver, Root, Subscription } from 'type-graphql';
import WebSocket from 'ws';
import { newKey, signToken, type TestKey } from '../auth/__tests__/token-fixtures.js';
import type { GraphQLContext } from '../graphql/context.js';
import { permissionFingerprint, StaticPermissions } from '../graphql/permissions.js';
import { authenticated, permission, publicAccess } from '../graphql/rules.js';
import { PERMISSIONS_EXTENSION, SHARED_ANSWER_HEADER, SHARED_ANSWER_PARAM } from '../graphql/shared-answer.js';
import { defineModule } from '../module/define.js';
import type { PlatformPubSub } from '../subscriptions/pubsub.js';
import { eventually, startTestSubgraph, waitFor, type TestSubgraph } from '../testing/index.js';

const READ = 'probe.secret.read';
const TOPIC = 'probe.secret';

type ProbeContext = GraphQLContext<{ pubsub: PlatformPubSub }>;

@Resolver()
class ProbeResolver {
  @Query(() => String)
  hello(): string {
    return 'hi';
  }

  @Query(() => String)
  secret(): string {
    return 'hidden';
  }

  @Query(() => Boolean)
  signedIn(): boolean {
    return true;
  }

  /** Reads who the caller is without `perCaller()` on its rule: what shared answers must refuse. */
  @Query(() => String)
  whoAmI(@Ctx() ctx: ProbeContext): string {
    return ctx.user?.id ?? 'guest';
  }

  @Query(() => Boolean)
  mayRead(@Ctx() ctx: ProbeContext): Promise<boolean> {
    return ctx.can(READ);
  }

  @Subscription(() => String, {
    subscribe: ({ context }) => (context as ProbeContext).services.pubsub.subscribe(TOPIC),
  })
  secrets(@Root() event: { value: string }): string {
    return event.value;
  }

  @Subscription(() => String, {
    subscribe: ({ context }) => (context as ProbeContext).services.pubsub.subscribe(TOPIC),
  })
  secretsForMe(@Root() event: { value: string }, @Ctx() ctx: ProbeContext): string {
    return `${event.value} for ${ctx.user?.id}`;
  }
}

const MANIFEST = `name: probe
version: 0.1.0
kernel: ^0.1.0
permissions:
  - { name: ${READ}, description: Read the secret }
`;

const PROBE_QUERIES = '{ hello signedIn mayRead }';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  extensions?: Record<string, unknown>;
}

describe('shared answers', () => {
  const reader = randomUUID();
  const other = randomUUID();
  const readerSet = permissionFingerprint({ all: false, permissions: new Set(['other.thing.do', READ]) });
  /** What every signed-in caller holds (`other` holds nothing more). */
  const userSet = permissionFingerprint({ all: false, permissions: new Set(['other.thing.do']) });
  const guestSet = permissionFingerprint({ all: false, permissions: new Set() });
  let dir: string;
  let key: TestKey;
  let handle: TestSubgraph<unknown, { pubsub: PlatformPubSub }>;
  const tokens = new Map<string, string>();
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probe-module-'));
    writeFileSync(join(dir, 'module.yaml'), MANIFEST);
    key = await newKey();
    const probe = defineModule({
      manifest: join(dir, 'module.yaml'),
      entities: [],
      migrations: [],
      resolvers: [ProbeResolver],
      rules: {
        Query: {
          hello: publicAccess,
          secret: permission(READ),
          signedIn: authenticated,
          whoAmI: authenticated,
          mayRead: publicAccess,
        },
        Subscription: { secrets: permission(READ), secretsForMe: authenticated },
      },
      services: (runtime) => ({ pubsub: runtime.pubsub }),
      // Signs its own test tokens: the access-token contract in process, nothing revoked.
      contracts: {
        accessTokens: () => ({
          keys: () => ({ keys: [key.publicJwk] }),
          revocations: async () => ({ snapshot: { sessions: [], users: [] }, asOfMs: Date.now() }),
        }),
      },
    });
    handle = await startTestSubgraph(probe, {
      permissions: new StaticPermissions({ user: ['other.thing.do'], byUser: { [reader]: [READ] } }),
      overrides: { services: { probe: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_probe` } } },
    });
    const { issuer, audience } = handle.runtime.platform.auth;
    for (const user of [reader, other]) {
      tokens.set(user, await signToken(key, { claims: { sub: user, iss: issuer, aud: audience } }));
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await handle?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const bearer = (user: string | undefined): Record<string, string> =>
    user ? { authorization: `Bearer ${tokens.get(user)}` } : {};

  describe('over HTTP', () => {
    async function ask(query: string, user: string | undefined, shared: boolean | string = true): Promise<Body> {
      const headers = {
        ...bearer(user),
        ...(shared === false ? {} : { [SHARED_ANSWER_HEADER]: `${shared === true ? 1 : shared}` }),
      };
      const { status, body } = await handle.query(query, undefined, headers);
      expect(status).toBe(200);
      return body as Body;
    }

    it('answers as before without the header: no permissions extension, the caller known', async () => {
      for (const shared of [false, 'true', '0']) {
        expect(await ask('{ secret }', reader, shared)).toEqual({ data: { secret: 'hidden' } });
        expect(await ask('{ whoAmI }', reader, shared)).toEqual({ data: { whoAmI: reader } });
      }
    });

    it('names the permission set it used in extensions.permissions', async () => {
      expect(await ask('{ secret }', reader)).toEqual({
        data: { secret: 'hidden' },
        extensions: { [PERMISSIONS_EXTENSION]: readerSet },
      });
    });

    it('adds nothing when no permission was consulted', async () => {
      expect(await ask('{ hello signedIn }', reader)).toEqual({ data: { hello: 'hi', signedIn: true } });
    });

    it("names the set on a refusal too, and checks the real caller's permissions", async () => {
      const refused = await ask('{ secret }', other);
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', permission: READ });
      expect(refused.extensions).toEqual({ [PERMISSIONS_EXTENSION]: userSet });
      expect(await ask(PROBE_QUERIES, reader)).toEqual({
        data: { hello: 'hi', signedIn: true, mayRead: true },
        extensions: { [PERMISSIONS_EXTENSION]: readerSet },
      });
      expect(await ask(PROBE_QUERIES, other)).toEqual({
        data: { hello: 'hi', signedIn: true, mayRead: false },
        extensions: { [PERMISSIONS_EXTENSION]: userSet },
      });
    });

    it("uses the guest's set for an anonymous caller, whom authenticated still refuses", async () => {
      const guest = await ask('{ hello mayRead }', undefined);
      expect(guest).toEqual({
        data: { hello: 'hi', mayRead: false },
        extensions: { [PERMISSIONS_EXTENSION]: guestSet },
      });
      const refused = await ask('{ signedIn }', undefined);
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(refused.extensions).toBeUndefined();
    });

    it('refuses a resolver that reads who the caller is with CALLER_SPECIFIC', async () => {
      const body = await ask('{ whoAmI secret }', reader);
      expect(body.data).toBeNull();
      expect(body.errors).toEqual([
        {
          message: expect.stringContaining('perCaller()'),
          locations: expect.any(Array),
          path: ['whoAmI'],
          extensions: { code: 'CALLER_SPECIFIC' },
        },
      ]);
    });
  });

  describe('over graphql-ws', () => {
    function connect(user: string | undefined, shared: boolean): Client {
      const client = createClient({
        url: handle.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { ...bearer(user), ...(shared ? { [SHARED_ANSWER_PARAM]: true } : {}) },
        retryAttempts: 0,
      });
      clients.push(client);
      return client;
    }

    /** The first result of `query` on `client`, publishing a secret until one arrives. */
    async function firstResult(client: Client, query: string): Promise<FormattedExecutionResult> {
      const results: FormattedExecutionResult[] = [];
      let ended = false;
      const stop = client.subscribe(
        { query },
        {
          next: (result) => void results.push(result as FormattedExecutionResult),
          error: (error) => {
            ended = true;
            results.push({ errors: [{ message: String(error) }] });
          },
          complete: () => (ended = true),
        },
      );
      try {
        await eventually(async () => {
          if (!ended) await handle.services.pubsub.publish(TOPIC, { value: 'psst' });
          expect(results.length).toBeGreaterThan(0);
        }, 10_000);
        return results[0]!;
      } finally {
        stop();
      }
    }

    it('answers as before on a socket that did not ask: no permissions extension', async () => {
      const result = await firstResult(connect(reader, false), 'subscription { secrets }');
      expect(result).toEqual({ data: { secrets: 'psst' }, extensions: { publishedAt: expect.any(Number) } });
      expect(await firstResult(connect(reader, false), 'subscription { secretsForMe }')).toMatchObject({
        data: { secretsForMe: `psst for ${reader}` },
      });
    });

    it('names the permission set of each event on a socket that asked', async () => {
      const result = await firstResult(connect(reader, true), 'subscription { secrets }');
      expect(result).toEqual({
        data: { secrets: 'psst' },
        extensions: { publishedAt: expect.any(Number), [PERMISSIONS_EXTENSION]: readerSet },
      });
    });

    it('names the set when refusing at subscribe time', async () => {
      const result = await firstResult(connect(other, true), 'subscription { secrets }');
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', permission: READ });
      expect(result.extensions).toEqual({ [PERMISSIONS_EXTENSION]: userSet });
    });

    it('lets authenticated through but refuses an event whose resolver reads who the caller is', async () => {
      const result = await firstResult(connect(reader, true), 'subscription { secretsForMe }');
      expect(result.data).toBeNull();
      expect(result.errors?.[0]).toMatchObject({ path: ['secretsForMe'], extensions: { code: 'CALLER_SPECIFIC' } });
      expect(result.extensions).toEqual({ publishedAt: expect.any(Number) });
    });

    it('answers queries on the socket the same way', async () => {
      const shared = await firstResult(connect(reader, true), PROBE_QUERIES);
      expect(shared).toEqual({
        data: { hello: 'hi', signedIn: true, mayRead: true },
        extensions: { [PERMISSIONS_EXTENSION]: readerSet },
      });
      expect(await firstResult(connect(reader, false), PROBE_QUERIES)).toEqual({
        data: { hello: 'hi', signedIn: true, mayRead: true },
      });
      const refused = await firstResult(connect(reader, true), '{ whoAmI }');
      expect(refused.errors?.[0]?.extensions).toEqual({ code: 'CALLER_SPECIFIC' });
    });

    it('leaves no subscription behind', async () => {
      await waitFor(() => handle.subscriptionStats().subscriptions === 0, 'subscriptions to end');
    });
  });
});
