import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { EventBus, EventHandler } from '../events/bus.js';
import { createEvent } from '../events/event.js';
import { MemoryBroker, MemoryEventBus } from '../events/memory-bus.js';
import { busKinds, deferred, silent, type BusHarness } from '../events/__tests__/harness.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import { holds, permissionCheck, type EffectivePermissions } from '../graphql/permissions.js';
import { createLogger } from '../logging/logger.js';
import { eventually, waitFor } from '../testing/index.js';
import { InvalidTokenError } from './invalid-token.error.js';
import { RemotePermissions, type RemotePermissionsOptions } from './remote-permissions.js';

interface Grant {
  all: boolean;
  permissions: string[];
}

/**
 * authz's `GET /internal/permissions`, played by a real HTTP server: answers from `grants`
 * (by bearer token; `guest` without one), 401 for tokens it does not know. The answer is taken
 * when the request arrives, so a held request carries the state of that moment, as authz's
 * would.
 */
class FakeAuthz {
  /** The Authorization header of every request, in order (undefined when absent). */
  readonly requests: Array<string | undefined> = [];
  readonly grants = new Map<string, Grant & { userId: string }>();
  guest: Grant = { all: false, permissions: ['blog.post.read'] };
  /** Overrides the status (and body) of every answer while set. */
  failWith: { status: number; body: unknown } | undefined;
  /** While set, answers wait for it. */
  gate: Promise<void> | undefined;
  readonly #server: Server;
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/internal/permissions') {
        res.writeHead(404).end();
        return;
      }
      const authorization = req.headers.authorization;
      this.requests.push(authorization);
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      const grant = token === undefined ? { userId: null, ...this.guest } : this.grants.get(token);
      const [status, body] = this.failWith
        ? [this.failWith.status, this.failWith.body]
        : grant
          ? [200, { userId: grant.userId, all: grant.all, permissions: [...grant.permissions] }]
          : [401, { error: 'Invalid or expired token' }];
      void (this.gate ?? Promise.resolve()).then(() => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
  }

  static async start(): Promise<FakeAuthz> {
    const authz = new FakeAuthz();
    await new Promise<void>((resolve) => authz.#server.listen(0, '127.0.0.1', resolve));
    authz.#port = (authz.#server.address() as AddressInfo).port;
    return authz;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** A signed-in user authz knows, with their grants. */
  user(grant: Partial<Grant> = {}): Required<Pick<AuthenticatedUser, 'id' | 'token'>> {
    const id = randomUUID();
    const token = `token-of-${id}`;
    this.grants.set(token, { userId: id, all: false, permissions: [], ...grant });
    return { id, token };
  }

  grant(user: { token: string }, permissions: string[]): void {
    this.grants.get(user.token)!.permissions = permissions;
  }

  /** Requests made with `user`'s token, or anonymous ones without a user. */
  requestsOf(user?: { token: string }): number {
    const header = user ? `Bearer ${user.token}` : undefined;
    return this.requests.filter((value) => value === header).length;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

const effective = (permissions: string[], all = false): EffectivePermissions => ({
  all,
  permissions: new Set(permissions),
});

/** Settles `promise` into its error, failing the test if it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

describe('RemotePermissions', () => {
  let authz: FakeAuthz;
  let remotes: RemotePermissions[];
  const remote = (options: Partial<RemotePermissionsOptions> = {}): RemotePermissions => {
    const made = new RemotePermissions({ url: authz.url, logger: silent, ...options });
    remotes.push(made);
    return made;
  };

  beforeEach(async () => {
    authz = await FakeAuthz.start();
    remotes = [];
  });
  afterEach(async () => {
    await Promise.all(remotes.map((made) => made.close()));
    await authz.stop();
  });

  describe('lookups', () => {
    it("asks authz with the caller's token once, then answers from the cache", async () => {
      const ada = authz.user({ permissions: ['blog.post.create', 'blog.post.read'] });
      const permissions = remote();
      await expect(permissions.permissionsOf(ada)).resolves.toEqual(effective(['blog.post.create', 'blog.post.read']));
      await expect(permissions.permissionsOf({ ...ada, sessionId: randomUUID() })).resolves.toEqual(
        effective(['blog.post.create', 'blog.post.read']),
      );
      expect(authz.requests).toEqual([`Bearer ${ada.token}`]);
    });

    it("answers anonymous callers with the guest role's permissions, asked once without a token", async () => {
      const permissions = remote();
      await expect(permissions.permissionsOf(undefined)).resolves.toEqual(effective(['blog.post.read']));
      await expect(permissions.permissionsOf(undefined)).resolves.toEqual(effective(['blog.post.read']));
      expect(authz.requests).toEqual([undefined]);
    });

    it('keeps users apart from each other and from the guest', async () => {
      const ada = authz.user({ permissions: ['blog.post.create'] });
      const bob = authz.user({ permissions: ['blog.post.delete'] });
      const permissions = remote();
      const answers = await Promise.all([ada, bob, undefined, ada, bob].map((user) => permissions.permissionsOf(user)));
      expect(answers.map((answer) => [...answer.permissions])).toEqual([
        ['blog.post.create'],
        ['blog.post.delete'],
        ['blog.post.read'],
        ['blog.post.create'],
        ['blog.post.delete'],
      ]);
      expect(authz.requests).toHaveLength(3);
    });

    it('passes `all` through: the administrator holds permissions no list names', async () => {
      const admin = authz.user({ all: true, permissions: ['blog.post.read'] });
      const answer = await remote().permissionsOf(admin);
      expect(answer.all).toBe(true);
      expect(holds(answer, 'shop.order.refund')).toBe(true);
      expect(holds(await remote().permissionsOf(undefined), 'shop.order.refund')).toBe(false);
    });

    it('shares one request among concurrent lookups of the same caller', async () => {
      const ada = authz.user({ permissions: ['blog.post.read'] });
      const release = deferred();
      authz.gate = release.promise;
      const permissions = remote();
      const lookups = [1, 2, 3].map(() => permissions.permissionsOf(ada));
      await waitFor(() => authz.requests.length === 1, 'the request to reach authz');
      release.resolve();
      const [first, ...others] = await Promise.all(lookups);
      for (const other of others) expect(other).toBe(first);
      expect(authz.requests).toHaveLength(1);
    });

    it('asks again once an answer is older than ttlMs', async () => {
      const ada = authz.user({ permissions: ['blog.post.read'] });
      const permissions = remote({ ttlMs: 50 });
      await permissions.permissionsOf(ada);
      await permissions.permissionsOf(ada);
      expect(authz.requestsOf(ada)).toBe(1);
      authz.grant(ada, ['blog.post.read', 'blog.post.update']);
      await new Promise((resolve) => setTimeout(resolve, 80));
      await expect(permissions.permissionsOf(ada)).resolves.toEqual(effective(['blog.post.read', 'blog.post.update']));
      expect(authz.requestsOf(ada)).toBe(2);
    });

    it('keeps at most maxEntries callers, forgetting the least recently used', async () => {
      const [ada, bob, eve] = [authz.user(), authz.user(), authz.user()];
      const permissions = remote({ maxEntries: 2 });
      for (const user of [ada, bob, ada, eve, ada]) await permissions.permissionsOf(user);
      expect([authz.requestsOf(ada), authz.requestsOf(bob), authz.requestsOf(eve)]).toEqual([1, 1, 1]);
      await permissions.permissionsOf(bob);
      expect(authz.requestsOf(bob)).toBe(2);
    });

    it('refuses a signed-in caller without a token, without asking authz', async () => {
      const error = await failure(remote().permissionsOf({ id: randomUUID() }));
      expect(error.message).toMatch(/without their access token/);
      expect(authz.requests).toEqual([]);
    });

    it('resolves the URL lazily: fails while authz is not known, works once it is', async () => {
      let url: string | undefined = undefined;
      const permissions = remote({ url: () => url });
      const error = await failure(permissions.permissionsOf(undefined));
      expect(error.message).toMatch(/authz's URL is not known yet/);
      url = authz.url;
      await expect(permissions.permissionsOf(undefined)).resolves.toEqual(effective(['blog.post.read']));
    });

    it('rejects invalid options', () => {
      expect(() => remote({ ttlMs: 0 })).toThrow(/ttlMs/);
      expect(() => remote({ maxEntries: 1.5 })).toThrow(/maxEntries/);
      expect(() => remote({ timeoutMs: -1 })).toThrow(/timeoutMs/);
    });
  });

  describe('failures (never cached)', () => {
    it('turns a token authz refuses into InvalidTokenError (UNAUTHENTICATED)', async () => {
      const stranger = { id: randomUUID(), token: 'a-token-authz-refuses' };
      const permissions = remote();
      const error = await failure(permissions.permissionsOf(stranger));
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect((error as InvalidTokenError).reason).toBe('revoked');
      expect((error as InvalidTokenError).extensions.code).toBe('UNAUTHENTICATED');
      await failure(permissions.permissionsOf(stranger));
      expect(authz.requests).toHaveLength(2);
    });

    it.each([
      [500, { error: 'boom' }],
      [503, 'not json'],
      [401, { error: 'anonymous refused' }],
    ])('names authz and the URL when it answers %i, and asks again next time', async (status, body) => {
      authz.failWith = { status, body };
      const permissions = remote();
      const error = await failure(permissions.permissionsOf(undefined));
      expect(error).not.toBeInstanceOf(InvalidTokenError);
      expect(error.message).toContain(`authz answered ${status}`);
      expect(error.message).toContain(`${authz.url}/internal/permissions`);
      authz.failWith = undefined;
      await expect(permissions.permissionsOf(undefined)).resolves.toEqual(effective(['blog.post.read']));
      expect(authz.requests).toHaveLength(2);
    });

    it.each([
      ['a malformed answer', { userId: null, all: 'yes', permissions: [] }, /malformed permissions answer/],
      ['an answer about someone else', { userId: randomUUID(), all: true, permissions: [] }, /another caller/],
    ])('refuses %s', async (_name, body, message) => {
      authz.failWith = { status: 200, body };
      const error = await failure(remote().permissionsOf(undefined));
      expect(error.message).toMatch(message);
    });

    it('says authz is unreachable when nothing listens at its URL', async () => {
      const url = authz.url;
      await authz.stop();
      authz = await FakeAuthz.start(); // for afterEach; the old port stays closed
      const error = await failure(remote({ url }).permissionsOf(undefined));
      expect(error.message).toMatch(/^authz is unreachable/);
      expect(error.message).toContain(`${url}/internal/permissions`);
      expect(error.message).toMatch(/ECONNREFUSED/);
    });

    it('gives up after timeoutMs, and the next lookup asks again', async () => {
      authz.gate = new Promise(() => {});
      const permissions = remote({ timeoutMs: 100 });
      const started = Date.now();
      const error = await failure(permissions.permissionsOf(undefined));
      expect(error.message).toBe(`authz did not answer within 100 ms (GET ${authz.url}/internal/permissions)`);
      expect(Date.now() - started).toBeLessThan(2000);
      authz.gate = undefined;
      await expect(permissions.permissionsOf(undefined)).resolves.toEqual(effective(['blog.post.read']));
    });
  });

  describe('invalidation', () => {
    it('does not cache an answer that was on its way when it was invalidated', async () => {
      const ada = authz.user({ permissions: ['blog.post.read'] });
      const release = deferred();
      authz.gate = release.promise;
      const permissions = remote();
      const stale = permissions.permissionsOf(ada);
      await waitFor(() => authz.requests.length === 1, 'the request to reach authz');
      authz.grant(ada, ['blog.post.read', 'blog.post.delete']);
      permissions.invalidate(ada.id);
      release.resolve();
      authz.gate = undefined;
      // Those who asked before the change get what authz said then; nobody after them does.
      await expect(stale).resolves.toEqual(effective(['blog.post.read']));
      await expect(permissions.permissionsOf(ada)).resolves.toEqual(effective(['blog.post.read', 'blog.post.delete']));
      expect(authz.requestsOf(ada)).toBe(2);
    });

    it("caches another user's in-flight answer when only one user is invalidated", async () => {
      const [ada, bob] = [authz.user({ permissions: ['blog.post.read'] }), authz.user()];
      const release = deferred();
      authz.gate = release.promise;
      const permissions = remote();
      const lookup = permissions.permissionsOf(ada);
      await waitFor(() => authz.requests.length === 1, 'the request to reach authz');
      permissions.invalidate(bob.id);
      release.resolve();
      await lookup;
      await permissions.permissionsOf(ada);
      expect(authz.requestsOf(ada)).toBe(1);
    });

    it('invalidate() without an id forgets everyone, the guest included', async () => {
      const ada = authz.user();
      const permissions = remote();
      await Promise.all([permissions.permissionsOf(ada), permissions.permissionsOf(undefined)]);
      permissions.invalidate();
      await Promise.all([permissions.permissionsOf(ada), permissions.permissionsOf(undefined)]);
      expect([authz.requestsOf(ada), authz.requestsOf()]).toEqual([2, 2]);
    });

    it('forgets everything when the bus reports it lost data, and stops listening on close()', async () => {
      // The memory bus never loses data, so it never resets: this one can be told to.
      const resets = new Set<() => void>();
      const listening: string[] = [];
      const inner = new MemoryEventBus({ logger: silent, broker: new MemoryBroker() });
      const bus: EventBus = {
        kind: 'memory',
        publish: (events) => inner.publish(events),
        subscribe: (pattern, handler, options) => inner.subscribe(pattern, handler, options),
        listen: async (pattern: string, handler: EventHandler) => {
          const subscription = await inner.listen(pattern, handler);
          listening.push(pattern);
          return {
            close: async () => {
              listening.splice(listening.indexOf(pattern), 1);
              await subscription.close();
            },
          };
        },
        onReset: (listener) => {
          resets.add(listener);
          return () => resets.delete(listener);
        },
        close: () => inner.close(),
      };
      try {
        const ada = authz.user();
        const permissions = remote({ bus });
        await permissions.start();
        expect(listening).toEqual(['authz.*']);
        await Promise.all([permissions.permissionsOf(ada), permissions.permissionsOf(undefined)]);
        for (const reset of resets) reset();
        await Promise.all([permissions.permissionsOf(ada), permissions.permissionsOf(undefined)]);
        expect([authz.requestsOf(ada), authz.requestsOf()]).toEqual([2, 2]);
        await permissions.close();
        expect(resets.size).toBe(0);
        expect(listening).toEqual([]);
      } finally {
        await inner.close();
      }
    });
  });

  // authz's events, as another process publishes them; on Redis too when REDIS_URL is set.
  describe.each(busKinds())('invalidation by authz events on the $kind bus', ({ make }) => {
    let harness: BusHarness;
    let publisher: EventBus;
    let permissions: RemotePermissions;
    let ada: { id: string; token: string };
    let bob: { id: string; token: string };
    const publish = (topic: string, payload: Record<string, unknown>) =>
      publisher.publish(createEvent('authz', topic, payload));

    beforeEach(async () => {
      harness = make();
      publisher = harness.create();
      permissions = remote({ bus: harness.create() });
      await permissions.start();
      ada = authz.user({ permissions: ['blog.post.read'] });
      bob = authz.user({ permissions: ['blog.post.read'] });
      await Promise.all([ada, bob, undefined].map((user) => permissions.permissionsOf(user)));
    });
    afterEach(async () => {
      await permissions.close();
      await harness.cleanup();
    });

    it.each(['authz.assignment.created', 'authz.assignment.deleted'])(
      "%s drops that user's answer within a second, and only theirs",
      async (topic) => {
        authz.grant(ada, ['blog.post.read', 'blog.post.moderate']);
        await publish(topic, { userId: ada.id, roleId: randomUUID(), roleName: 'moderator' });
        await eventually(async () => {
          expect(await permissions.permissionsOf(ada)).toEqual(effective(['blog.post.read', 'blog.post.moderate']));
        }, 1000);
        await Promise.all([permissions.permissionsOf(bob), permissions.permissionsOf(undefined)]);
        expect([authz.requestsOf(ada), authz.requestsOf(bob), authz.requestsOf()]).toEqual([2, 1, 1]);
      },
    );

    it.each([
      ['authz.role.created', { roleId: randomUUID(), name: 'editor' }],
      ['authz.role.updated', { roleId: randomUUID(), name: 'editor', changed: ['description'] }],
      ['authz.role.deleted', { roleId: randomUUID(), name: 'editor', holders: 2 }],
      ['authz.grant.changed', { roleId: randomUUID(), roleName: 'guest', granted: ['blog.post.list'], revoked: [] }],
    ])('%s drops every answer within a second, the guest included', async (topic, payload) => {
      authz.guest = { all: false, permissions: ['blog.post.list', 'blog.post.read'] };
      await publish(topic, payload);
      await eventually(async () => {
        expect(await permissions.permissionsOf(undefined)).toEqual(effective(['blog.post.list', 'blog.post.read']));
      }, 1000);
      await Promise.all([permissions.permissionsOf(ada), permissions.permissionsOf(bob)]);
      expect([authz.requestsOf(ada), authz.requestsOf(bob), authz.requestsOf()]).toEqual([2, 2, 2]);
    });

    it('ignores other modules’ events', async () => {
      await publish('identity.user.updated', { userId: ada.id });
      await publish('authz.assignment.created', { userId: bob.id, roleId: randomUUID(), roleName: 'x' });
      await eventually(async () => {
        await permissions.permissionsOf(bob);
        expect(authz.requestsOf(bob)).toBe(2);
      }, 1000);
      await permissions.permissionsOf(ada);
      expect(authz.requestsOf(ada)).toBe(1);
    });

    it('hands callers after an invalidation a fresh lookup, not the stale one in flight', async () => {
      permissions.invalidate(ada.id);
      const release = deferred();
      authz.gate = release.promise;
      const stale = permissions.permissionsOf(ada);
      await waitFor(() => authz.requestsOf(ada) === 2, "ada's request to reach authz");
      authz.grant(ada, []);
      await publish('authz.assignment.deleted', { userId: ada.id, roleId: randomUUID(), roleName: 'reader' });
      let fresh = stale;
      await waitFor(() => (fresh = permissions.permissionsOf(ada)) !== stale, 'the event to arrive', 1000);
      release.resolve();
      authz.gate = undefined;
      await expect(stale).resolves.toEqual(effective(['blog.post.read']));
      await expect(fresh).resolves.toEqual(effective([]));
      await expect(permissions.permissionsOf(ada)).resolves.toEqual(effective([]));
      expect(authz.requestsOf(ada)).toBe(3);
    });
  });

  describe('with permissionCheck', () => {
    it('looks the caller up once per request, counting `all` as every permission', async () => {
      const admin = authz.user({ all: true });
      const can = permissionCheck(remote(), admin);
      await expect(Promise.all([can('blog.post.read'), can('anything.added.later')])).resolves.toEqual([true, true]);
      const guest = permissionCheck(remote(), undefined);
      await expect(Promise.all([guest('blog.post.read'), guest('blog.post.delete')])).resolves.toEqual([true, false]);
      expect(authz.requests).toHaveLength(2);
    });
  });

  it('never writes the token to the logs, at debug level, on success or failure', async () => {
    const lines: string[] = [];
    const logger = createLogger({ log: { level: 'debug', pretty: false } }, 'blog', {
      write: (line: string) => void lines.push(line),
    });
    const ada = authz.user();
    const permissions = remote({ logger });
    await permissions.permissionsOf(ada);
    const refused = await failure(permissions.permissionsOf({ id: randomUUID(), token: 'refused-secret-token' }));
    logger.error({ err: refused }, 'unexpected error in GraphQL operation');
    authz.failWith = { status: 500, body: {} };
    permissions.invalidate();
    logger.error({ err: await failure(permissions.permissionsOf(ada)) }, 'unexpected error in GraphQL operation');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.join('\n')).toContain('asked authz for permissions');
    expect(lines.join('\n')).not.toContain(ada.token);
    expect(lines.join('\n')).not.toContain('refused-secret-token');
  });
});
