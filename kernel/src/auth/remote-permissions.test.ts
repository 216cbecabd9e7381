import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { permissionCheck, holds } from '../graphql/permissions.js';
import { deferred } from '../events/__tests__/harness.js';
import { createLogger } from '../logging/logger.js';
import { waitFor } from '../testing/index.js';
import { effective, failure, FakeAuthz, useFakeAuthz } from './__tests__/fake-authz.js';
import { InvalidTokenError } from './invalid-token.error.js';

describe('RemotePermissions', () => {
  let authz: FakeAuthz;
  const remote = useFakeAuthz({ get: () => authz, set: (started) => (authz = started) });

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

    it("keeps a user's answers per active organization, and drops them all when the user's roles change", async () => {
      const ada = authz.user({ permissions: ['blog.post.read'] });
      const inAcme = authz.inOrganization(ada, { permissions: ['blog.post.read', 'authz.role.read'] });
      const inGlobex = authz.inOrganization(ada, { permissions: ['blog.post.read', 'authz.role.assign'] });
      const permissions = remote();
      const answers = await Promise.all([ada, inAcme, inGlobex, inAcme].map((user) => permissions.permissionsOf(user)));
      expect(answers.map((answer) => [...answer.permissions].sort())).toEqual([
        ['blog.post.read'],
        ['authz.role.read', 'blog.post.read'],
        ['authz.role.assign', 'blog.post.read'],
        ['authz.role.read', 'blog.post.read'],
      ]);
      expect(authz.requests).toHaveLength(3);
      permissions.invalidate(ada.id);
      await Promise.all([ada, inAcme, inGlobex].map((user) => permissions.permissionsOf(user)));
      expect(authz.requests).toHaveLength(6);
    });

    it('refuses an answer for another organization than the one the token names', async () => {
      const ada = authz.user({ permissions: ['blog.post.read'] });
      const inAcme = authz.inOrganization(ada, { permissions: ['authz.role.read'] });
      // The token says Acme; authz answers (wrongly) about Ada outside any organization.
      authz.grants.get(inAcme.token)!.organizationId = undefined;
      const error = await failure(remote().permissionsOf(inAcme));
      expect(error.message).toMatch(/authz answered for another caller than the one asked about/);
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
      // Long enough for the second lookup to be answered on a loaded machine (a CI run saw 100 ms missed).
      const permissions = remote({ timeoutMs: 1000 });
      const started = Date.now();
      const error = await failure(permissions.permissionsOf(undefined));
      expect(error.message).toBe(`authz did not answer within 1000 ms (GET ${authz.url}/internal/permissions)`);
      expect(Date.now() - started).toBeLessThan(5000);
      authz.gate = undefined;
      await expect(permissions.permissionsOf(undefined)).resolves.toEqual(effective(['blog.post.read']));
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
