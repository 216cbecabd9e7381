// What makes RemotePermissions forget answers: invalidate(), and authz's events on the bus.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { EventBus, EventHandler } from '../events/bus.js';
import { createEvent } from '../events/event.js';
import { MemoryBroker, MemoryEventBus } from '../events/memory-bus.js';
import { busKinds, deferred, silent, type BusHarness } from '../events/__tests__/harness.js';
import { eventually, waitFor } from '../testing/index.js';
import { effective, FakeAuthz, useFakeAuthz } from './__tests__/fake-authz.js';
import type { RemotePermissions } from './remote-permissions.js';

describe('RemotePermissions', () => {
  let authz: FakeAuthz;
  const remote = useFakeAuthz({ get: () => authz, set: (started) => (authz = started) });

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

  describe('onChange', () => {
    /** Every call of a new listener, in order. */
    function listen(permissions: RemotePermissions): Array<string | undefined> {
      const calls: Array<string | undefined> = [];
      permissions.onChange((userId) => calls.push(userId));
      return calls;
    }

    it("hears invalidate(id) with the user's id, lower-cased, and invalidate() with undefined", () => {
      const permissions = remote();
      const calls = listen(permissions);
      permissions.invalidate('0E1D5A4C-AAAA-4BBB-8CCC-DDDDEEEEFFFF');
      permissions.invalidate();
      expect(calls).toEqual(['0e1d5a4c-aaaa-4bbb-8ccc-ddddeeeeffff', undefined]);
    });

    it('is told synchronously, after the answer was dropped', async () => {
      const ada = authz.user();
      const permissions = remote();
      await permissions.permissionsOf(ada);
      let lookup: Promise<unknown> | undefined;
      const stop = permissions.onChange(() => {
        stop();
        lookup = permissions.permissionsOf(ada);
      });
      permissions.invalidate(ada.id);
      expect(lookup).toBeDefined();
      await lookup;
      expect(authz.requestsOf(ada)).toBe(2);
    });

    it('hears start() and close() drop everything', async () => {
      const permissions = remote({ bus: new MemoryEventBus({ logger: silent, broker: new MemoryBroker() }) });
      const calls = listen(permissions);
      await permissions.start();
      await permissions.close();
      expect(calls).toEqual([undefined, undefined]);
    });

    it('stops calling a listener once it is removed, and calls each added one', () => {
      const permissions = remote();
      const calls: string[] = [];
      const listener = (userId: string | undefined) => calls.push(`${userId}`);
      const stopFirst = permissions.onChange(listener);
      const stopSecond = permissions.onChange(listener);
      permissions.invalidate('a');
      stopFirst();
      stopFirst();
      permissions.invalidate('b');
      stopSecond();
      permissions.invalidate();
      expect(calls).toEqual(['a', 'a', 'b']);
    });

    it('logs a listener that throws, and still invalidates and tells the others', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
      const ada = authz.user();
      const permissions = remote({ logger });
      await permissions.permissionsOf(ada);
      permissions.onChange(() => {
        throw new Error('listener broke');
      });
      const calls = listen(permissions);
      expect(() => permissions.invalidate(ada.id)).not.toThrow();
      expect(calls).toEqual([ada.id]);
      await permissions.permissionsOf(ada);
      expect(authz.requestsOf(ada)).toBe(2);
      expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
        expect.objectContaining({
          msg: 'a permissions change listener failed',
          userId: ada.id,
          err: expect.objectContaining({ message: 'listener broke' }),
        }),
      ]);
    });

    it('hears a bus reset as everyone dropped', async () => {
      const resets = new Set<() => void>();
      const inner = new MemoryEventBus({ logger: silent, broker: new MemoryBroker() });
      const bus: EventBus = {
        kind: 'memory',
        publish: (events) => inner.publish(events),
        subscribe: (pattern, handler, options) => inner.subscribe(pattern, handler, options),
        listen: (pattern, handler) => inner.listen(pattern, handler),
        onReset: (listener) => {
          resets.add(listener);
          return () => resets.delete(listener);
        },
        close: () => inner.close(),
      };
      try {
        const permissions = remote({ bus });
        await permissions.start();
        const calls = listen(permissions);
        for (const reset of resets) reset();
        expect(calls).toEqual([undefined]);
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

    it('tells onChange listeners whose answer an event dropped: one user, or everyone', async () => {
      const calls: Array<string | undefined> = [];
      permissions.onChange((userId) => calls.push(userId));
      await publish('authz.assignment.created', { userId: ada.id.toUpperCase(), roleId: randomUUID(), roleName: 'x' });
      await eventually(async () => expect(calls).toEqual([ada.id]), 1000);
      await publish('authz.grant.changed', { roleId: randomUUID(), roleName: 'guest', granted: [], revoked: [] });
      await eventually(async () => expect(calls).toEqual([ada.id, undefined]), 1000);
      await publish('identity.user.updated', { userId: bob.id });
      await publish('authz.assignment.deleted', { userId: bob.id, roleId: randomUUID(), roleName: 'x' });
      await eventually(async () => expect(calls).toEqual([ada.id, undefined, bob.id]), 1000);
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
});
