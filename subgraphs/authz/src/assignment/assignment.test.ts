import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { NotFoundError, type PlatformEvent } from '@platform/kernel';
import { createEvent } from '@platform/kernel/testing';
import { startAuthz, waitFor, type AuthzTestHandle } from '../__tests__/start-authz.js';
import { PLATFORM } from '../grant/delegation.js';
import { Role } from '../role/role.entity.js';
import { RoleAssignment } from './assignment.entity.js';

/** Configured in mixed case: the comparison with identity's emails ignores case. */
const SEED_ADMIN_EMAIL = 'Root@Example.com';

interface OutboxRow {
  topic: string;
  payload: { userId: string; roleId: string; roleName: string };
}

describe('role assignments', () => {
  let handle: AuthzTestHandle;

  beforeAll(async () => {
    handle = await startAuthz({ overrides: { modules: { identity: { seedAdmin: { email: SEED_ADMIN_EMAIL } } } } });
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const publish = async (event: PlatformEvent): Promise<PlatformEvent> => {
    await handle.runtime.bus.publish(event);
    return event;
  };
  const userCreated = (
    userId: string,
    email = `${userId}@example.com`,
    via: 'registration' | 'seed' = 'registration',
  ) => createEvent('identity', 'identity.user.created', { userId, email, displayName: null, via });
  const userDeleted = (userId: string) => createEvent('identity', 'identity.user.deleted', { userId });

  const rolesOf = async (userId: string): Promise<string[]> => {
    const [roles] = await handle.services.assignments.rolesOf(handle.runtime.em(), [userId]);
    return roles!.map((role) => role.name);
  };
  const outboxOf = (userId: string): Promise<OutboxRow[]> =>
    handle.runtime
      .em()
      .execute<OutboxRow[]>(
        `select topic, payload from "${handle.runtime.db.schema}".outbox where payload->>'userId' = ? order by seq`,
        [userId],
      );
  const roleId = async (name: string): Promise<string> => (await handle.runtime.em().findOneOrFail(Role, { name })).id;

  /** A new user whose `user` role has arrived: events before it in the stream were handled. */
  const createdUser = async (email?: string, via?: 'registration' | 'seed'): Promise<string> => {
    const userId = randomUUID();
    await publish(userCreated(userId, email, via));
    await waitFor(async () => (await rolesOf(userId)).includes('user'), `the roles of ${userId}`);
    return userId;
  };

  describe('on identity.user.created', () => {
    it('gives the new user the built-in user role, and records authz.assignment.created', async () => {
      const userId = await createdUser();
      expect(await rolesOf(userId)).toEqual(['user']);
      expect(await outboxOf(userId)).toEqual([
        { topic: 'authz.assignment.created', payload: { userId, roleId: await roleId('user'), roleName: 'user' } },
      ]);
    });

    it('has one effect when the same event is delivered twice', async () => {
      const userId = randomUUID();
      const event = userCreated(userId);
      await publish(event);
      await publish(event);
      // Delivery is in order per group: once a later event is handled, both copies were.
      await createdUser();
      expect(await handle.runtime.em().count(RoleAssignment, { userId })).toBe(1);
      expect((await outboxOf(userId)).map((row) => row.topic)).toEqual(['authz.assignment.created']);
    });

    it('does not give admin to someone who registers with the seed administrator’s address', async () => {
      const userId = await createdUser(SEED_ADMIN_EMAIL, 'registration');
      expect(await rolesOf(userId)).toEqual(['user']);
    });

    it('also gives admin to the configured seed administrator, whatever the case of the email', async () => {
      const userId = await createdUser(' root@EXAMPLE.com', 'seed');
      await waitFor(async () => (await rolesOf(userId)).length === 2, 'the admin role');
      expect(await rolesOf(userId)).toEqual(['admin', 'user']);
      expect((await outboxOf(userId)).map((row) => [row.topic, row.payload.roleName]).sort()).toEqual([
        ['authz.assignment.created', 'admin'],
        ['authz.assignment.created', 'user'],
      ]);
    });

    it('skips an event without a valid user id instead of retrying it', async () => {
      await publish(createEvent('identity', 'identity.user.created', { userId: 'not-a-uuid', email: 'x@example.com' }));
      await createdUser();
      expect(await outboxOf('not-a-uuid')).toEqual([]);
    });
  });

  describe('on identity.user.deleted', () => {
    it('removes every assignment of the user, and records authz.assignment.deleted for each', async () => {
      const userId = await createdUser(SEED_ADMIN_EMAIL, 'seed');
      await waitFor(async () => (await rolesOf(userId)).length === 2, 'the admin role');
      const bystander = await createdUser();

      await publish(userDeleted(userId));
      await waitFor(async () => (await rolesOf(userId)).length === 0, 'the assignments to go');

      expect(await rolesOf(bystander)).toEqual(['user']);
      const deleted = (await outboxOf(userId)).filter((row) => row.topic === 'authz.assignment.deleted');
      expect(deleted.map((row) => row.payload).sort((a, b) => a.roleName.localeCompare(b.roleName))).toEqual([
        { userId, roleId: await roleId('admin'), roleName: 'admin' },
        { userId, roleId: await roleId('user'), roleName: 'user' },
      ]);
    });
  });

  describe('AssignmentService', () => {
    it('assigns by name or id, once', async () => {
      const userId = randomUUID();
      const { assignments } = handle.services;
      expect(await assignments.assignRole(handle.runtime.em(), userId, 'guest', PLATFORM)).toBe(true);
      expect(await assignments.assignRole(handle.runtime.em(), userId, await roleId('guest'), PLATFORM)).toBe(false);
      expect(await rolesOf(userId)).toEqual(['guest']);
      expect((await outboxOf(userId)).map((row) => row.topic)).toEqual(['authz.assignment.created']);
    });

    it('refuses an unknown role as NotFoundError', async () => {
      await expect(
        handle.services.assignments.assignRole(handle.runtime.em(), randomUUID(), 'nobody', PLATFORM),
      ).rejects.toThrow(NotFoundError);
    });

    it('unassigns nothing, and records nothing, for a user without roles', async () => {
      const userId = randomUUID();
      expect(await handle.services.assignments.unassignAll(handle.runtime.em(), userId)).toBe(0);
      expect(await outboxOf(userId)).toEqual([]);
    });

    it('reads the roles of several users at once, in the order asked', async () => {
      const [a, b, nobody] = [randomUUID(), randomUUID(), randomUUID()];
      const { assignments } = handle.services;
      await assignments.assignRole(handle.runtime.em(), a, 'user', PLATFORM);
      await assignments.assignRole(handle.runtime.em(), b, 'guest', PLATFORM);
      await assignments.assignRole(handle.runtime.em(), b, 'admin', PLATFORM);
      const roles = await assignments.rolesOf(handle.runtime.em(), [b, nobody, a]);
      expect(roles.map((list) => list.map((role) => role.name))).toEqual([['admin', 'guest'], [], ['user']]);
    });
  });

  it('deleting a role removes its assignments', async () => {
    const em = handle.runtime.em();
    const reviewer = em.create(Role, { name: 'reviewer' });
    await em.flush();
    const [a, b] = [randomUUID(), randomUUID()];
    for (const userId of [a, b])
      await handle.services.assignments.assignRole(handle.runtime.em(), userId, 'reviewer', PLATFORM);
    await handle.services.assignments.assignRole(handle.runtime.em(), a, 'user', PLATFORM);

    await handle.runtime.em().nativeDelete(Role, { id: reviewer.id });

    expect(await handle.runtime.em().count(RoleAssignment, { role: reviewer.id })).toBe(0);
    expect(await rolesOf(a)).toEqual(['user']);
    expect(await rolesOf(b)).toEqual([]);
  });
});
