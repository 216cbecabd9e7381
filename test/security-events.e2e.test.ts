import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_CREDENTIAL_HEADER } from '@platform/kernel/gateway';
import { eventually } from '@platform/kernel/testing';
import { register } from './helpers.js';
import { collect, type Collected } from './fixtures/subscriptions-client.js';
import {
  ADMIN,
  gql,
  platform,
  signIn,
  socket,
  tokens,
  userIds,
  useSubscriptionPlatform,
} from './fixtures/subscriptions-suite.js';

/**
 * Security events through the gateway (issue 25, item 6): logins refused by the throttle and
 * lockouts are audited (the finding: 8 attempts produced 5 records), service-credential refusals
 * are audited once per minute, route and address however many there are, and holders of
 * `audit.security.read` follow them live on `securityEvents`.
 */
useSubscriptionPlatform({
  // Account lockouts of 3 s, so their end comes within the test.
  modules: { identity: { seedAdmin: ADMIN, throttle: { perAccount: { attempts: 5, windowSec: 3 } } } },
});

interface AuditNode {
  action: string;
  targetType: string | null;
  targetId: string | null;
  metadata: Record<string, unknown>;
  ip: string | null;
  occurredAt: string;
}

const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const code = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => body.errors?.[0]?.extensions?.code;

/** The audit records matching `filter`, oldest first, as the administrator reads them. */
async function audited(filter: Record<string, unknown>): Promise<AuditNode[]> {
  const body = await gql<{ auditEvents: { edges: Array<{ node: AuditNode }> } }>(
    `query ($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 100) {
       edges { node { action targetType targetId metadata ip occurredAt } } } }`,
    { filter },
    tokens.admin,
  );
  expect(body.errors).toBeUndefined();
  return body.data!.auditEvents.edges.map((edge) => edge.node).reverse();
}

/** Five wrong passwords, then `refused` more attempts the throttle refuses. */
async function bruteForce(email: string, refused: number): Promise<void> {
  for (let i = 0; i < 5; i++) expect(code(await gql(LOGIN, { email, password: `wrong ${i}` }))).toBe('UNAUTHENTICATED');
  for (let i = 0; i < refused; i++)
    expect(code(await gql(LOGIN, { email, password: `again ${i}` }))).toBe('RATE_LIMITED');
}

type Delivered = AuditNode & { actor: { id: string } | null };

/** Waits for a delivered `securityEvents` record with `action` (and whatever else `matches` asks). */
async function delivered(
  feed: Collected<{ securityEvents: Delivered }>,
  action: string,
  matches: (event: Delivered) => boolean = () => true,
): Promise<Delivered> {
  let found: Delivered | undefined;
  await eventually(async () => {
    expect(feed.error).toBeUndefined();
    found = feed.results
      .map((result) => result.data?.securityEvents)
      .find((event) => event?.action === action && matches(event));
    expect(found).toBeDefined();
  }, 15_000);
  return found!;
}

describe('logins refused by the throttle are audited', () => {
  it('8 attempts (5 wrong passwords, 3 while locked): 5 failures, the lockout start and one throttled record; the attempt after the lapse records the end', async () => {
    const email = `victim-${Date.now()}@example.com`;
    await register(platform, { email, password: 'victim passphrase 1' });
    const { id } = await signIn(email, 'victim passphrase 1');
    const from = new Date().toISOString();
    await bruteForce(email, 3);

    const expected = [
      ...Array<string>(5).fill('identity.login.failed'),
      'identity.lockout.started',
      'identity.login.throttled',
    ];
    let records: AuditNode[] = [];
    await eventually(async () => {
      records = await audited({ targetId: id, from });
      expect(records.map((record) => record.action)).toEqual(expected);
    }, 15_000);
    expect(records.every((record) => record.targetType === 'user' && record.ip)).toBe(true);
    const [started, throttled] = records.slice(5);
    expect(started!.metadata).toEqual({
      scope: 'account',
      userId: id,
      address: null,
      durationSec: 3,
      strike: 1,
      until: expect.any(String),
    });
    expect(throttled!.metadata).toEqual({
      userId: id,
      scopes: ['account'],
      retryAfterSec: expect.any(Number),
      attempts: 1,
      windowSec: 60,
    });

    // After the lockout lapsed, the next attempt (the right password) records its end.
    await sleep(Math.max(0, Date.parse(started!.metadata.until as string) - Date.now()) + 1100);
    expect((await gql(LOGIN, { email, password: 'victim passphrase 1' })).errors).toBeUndefined();
    await eventually(async () => {
      records = await audited({ targetId: id, from });
      expect(records.map((record) => record.action)).toEqual([
        ...expected,
        'identity.lockout.ended',
        'identity.login.succeeded',
      ]);
    }, 15_000);
    expect(records[7]!.metadata).toEqual({ scope: 'account', userId: id, address: null, endedAt: expect.any(String) });
  }, 60_000);
});

describe('service-credential refusals are audited', () => {
  it('records one event per minute, route and address, however many requests', async () => {
    const identity = platform.subgraphs.identity!;
    const from = new Date().toISOString();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await fetch(`${identity.baseUrl}/internal/revocations`)).status);
    }
    for (let i = 0; i < 5; i++) {
      const response = await fetch(identity.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SERVICE_CREDENTIAL_HEADER]: 'guessed' },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
      });
      statuses.push(response.status);
    }
    expect(new Set(statuses)).toEqual(new Set([401]));

    const filter = { action: 'kernel.credential.refused', from };
    await eventually(async () => expect(await audited(filter)).toHaveLength(2), 15_000);
    // Nothing more arrives for the 28 other refusals.
    await sleep(1000);
    const records = await audited(filter);
    expect(records.map((record) => record.metadata)).toEqual([
      {
        service: 'identity',
        route: 'internal',
        path: '/internal/revocations',
        presented: false,
        attempts: 1,
        windowSec: 60,
      },
      { service: 'identity', route: '_service', path: '_service', presented: true, attempts: 1, windowSec: 60 },
    ]);
    expect(records.every((record) => record.ip)).toBe(true);
  }, 60_000);
});

describe('securityEvents', () => {
  it('refuses callers without audit.security.read (signed in or guests) with FORBIDDEN naming it', async () => {
    for (const token of [undefined, tokens.reader, tokens.writer]) {
      const s = socket(token);
      const feed = collect(s.client, 'subscription { securityEvents { id } }');
      await feed.done;
      expect(feed.results[0]?.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        permission: 'audit.security.read',
      });
      await s.dispose();
    }
  });

  it('shows a holder of audit.security.read a throttled login and a role change live, and nothing else of the log', async () => {
    // A security watcher: a role granting only audit.security.read.
    const watcher = { email: `watcher-${Date.now()}@example.com`, password: 'watcher passphrase 1' };
    await register(platform, watcher);
    const { id: watcherId } = await signIn(watcher.email, watcher.password);
    const role = await gql<{ createRole: { id: string } }>(
      'mutation { createRole(input: { name: "security-watch", permissions: ["audit.security.read"] }) { id } }',
      {},
      tokens.admin,
    );
    expect(role.errors).toBeUndefined();
    const assigned = await gql(
      'mutation ($roleId: ID!, $userId: ID!) { assignRole(roleId: $roleId, userId: $userId) { id } }',
      { roleId: role.data!.createRole.id, userId: watcherId },
      tokens.admin,
    );
    expect(assigned.errors).toBeUndefined();
    let watcherToken = '';
    await eventually(async () => {
      watcherToken = (await signIn(watcher.email, watcher.password)).accessToken;
      const me = await gql<{ me: { permissions: string[] } }>('{ me { permissions } }', {}, watcherToken);
      expect(me.data?.me.permissions).toContain('audit.security.read');
    }, 15_000);
    // The rest of the log stays closed to it.
    expect(code(await gql('{ auditEvents(first: 1) { totalCount } }', {}, watcherToken))).toBe('FORBIDDEN');

    const s = socket(watcherToken);
    const feed = collect<{ securityEvents: Delivered }>(
      s.client,
      `subscription ($actions: [String!]) { securityEvents(actions: $actions) {
         action targetType targetId metadata ip occurredAt actor { id } } }`,
      { actions: ['identity.login.throttled', 'identity.lockout.started', 'authz.assignment.created'] },
    );
    await eventually(async () =>
      expect(platform.subgraphs.audit!.subscriptionStats().subscriptions).toBeGreaterThan(0),
    );

    // An attack on an account: its lockout and its throttled attempts arrive as they happen.
    const email = `target-${Date.now()}@example.com`;
    await register(platform, { email, password: 'target passphrase 1' });
    await bruteForce(email, 2);
    const throttled = await delivered(feed, 'identity.login.throttled');
    expect(throttled.metadata).toMatchObject({ scopes: ['account'], attempts: 1 });
    expect(throttled.ip).toEqual(expect.any(String));
    await delivered(feed, 'identity.lockout.started');

    // A role change, with who made it.
    const moderators = await gql<{ createRole: { id: string } }>(
      'mutation { createRole(input: { name: "moderators-watched", permissions: ["blog.post.read"] }) { id } }',
      {},
      tokens.admin,
    );
    const given = await gql(
      'mutation ($roleId: ID!, $userId: ID!) { assignRole(roleId: $roleId, userId: $userId) { id } }',
      { roleId: moderators.data!.createRole.id, userId: userIds.writer },
      tokens.admin,
    );
    expect(given.errors).toBeUndefined();
    // (Registering the target gave it the role `user`: an assignment too, made on its own behalf.)
    const assignment = await delivered(
      feed,
      'authz.assignment.created',
      (event) => event.metadata.roleName === 'moderators-watched',
    );
    expect(assignment).toMatchObject({
      targetType: 'user',
      targetId: userIds.writer,
      metadata: { roleName: 'moderators-watched' },
      actor: { id: userIds.admin },
    });
    // Only the actions asked for (the failures, the role's creation and grant were not).
    await sleep(300);
    expect(
      [...new Set(feed.results.map((result) => result.data?.securityEvents.action))].sort((a, b) =>
        String(a).localeCompare(String(b)),
      ),
    ).toEqual(['authz.assignment.created', 'identity.lockout.started', 'identity.login.throttled']);
    await s.dispose();
  }, 90_000);

  it('refuses actions outside the list with BAD_USER_INPUT', async () => {
    const s = socket(tokens.admin);
    const feed = collect(s.client, 'subscription { securityEvents(actions: ["blog.post.created"]) { id } }');
    await feed.done;
    expect(feed.results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await s.dispose();
  });
});
