import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { join } from 'node:path';
import {
  StaticPermissions,
  eventually,
  extractLinkToken,
  startTestSubgraph,
  waitForMail,
  type TestSubgraph,
} from '@platform/kernel/testing';
import identity from '../module.js';
import type { IdentityServices } from '../services.js';
import type { IdentityConfig } from '../config.js';

/**
 * The account lifecycle through identity's GraphQL API, authenticated by real access tokens
 * (the kernel's verifier with identity's own keys), on the configured database.
 */
type Handle = TestSubgraph<IdentityConfig, IdentityServices>;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; email: string };
}

const PASSWORD = 'correct horse battery';
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

let handle: Handle;
let outboxDir: string;

async function gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string) {
  const { body } = await handle.query<T>(query, variables, token ? bearer(token) : undefined);
  return body;
}

const code = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => body.errors?.[0]?.extensions?.code;

async function register(email: string, password = PASSWORD): Promise<string> {
  const body = await gql<{ register: { id: string } }>(
    `mutation ($input: RegisterInput!) { register(input: $input) { id email emailVerified } }`,
    { input: { email, password, displayName: 'Test User' } },
  );
  expect(body.errors).toBeUndefined();
  return body.data!.register.id;
}

async function login(email: string, password = PASSWORD) {
  return gql<{ login: Tokens }>(
    `mutation ($email: String!, $password: String!) {
       login(email: $email, password: $password) { accessToken refreshToken expiresIn user { id email } }
     }`,
    { email, password },
  );
}

async function refresh(refreshToken: string) {
  return gql<{ refreshToken: Tokens }>(
    `mutation ($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn user { id } } }`,
    { token: refreshToken },
  );
}

const me = (token: string) => gql<{ me: { id: string; email: string } | null }>(`{ me { id email } }`, {}, token);

/** The newest mail to `to` (sent by a job into DATA_DIR/mail), with a subject `subject` matches when given. */
const lastMailTo = (to: string, subject?: RegExp) =>
  waitForMail(outboxDir, to, subject ? { match: (mail) => subject.test(mail.subject) } : {});

beforeAll(async () => {
  handle = (await startTestSubgraph(identity, {
    overrides: { modules: { identity: { throttle: { perAccount: { attempts: 5, windowSec: 3 } } } } },
  })) as Handle;
  outboxDir = join(handle.runtime.platform.dataDir, 'mail');
});

afterAll(async () => {
  await handle?.stop();
});

describe('registration and email verification', () => {
  it('registers, mails a verification link, and verifies the address with it once', async () => {
    const id = await register('Flow.One@Example.com');
    const mail = await lastMailTo('flow.one@example.com');
    expect(mail.subject).toMatch(/verify/i);
    const token = extractLinkToken(mail.text);
    expect(token).toEqual(expect.any(String));

    const verified = await gql<{ verifyEmail: { id: string; emailVerified: boolean } }>(
      `mutation ($token: String!) { verifyEmail(token: $token) { id emailVerified } }`,
      { token },
    );
    expect(verified.errors).toBeUndefined();
    expect(verified.data!.verifyEmail).toEqual({ id, emailVerified: true });

    const again = await gql(`mutation ($token: String!) { verifyEmail(token: $token) { id } }`, { token });
    expect(code(again)).toBe('BAD_USER_INPUT');
  });

  it('audits the mail as sent (kernel.mail.sent in its outbox) without its link', async () => {
    await register('audited.mail@example.com');
    const token = extractLinkToken((await lastMailTo('audited.mail@example.com')).text)!;
    const sent = async () =>
      handle.runtime
        .em()
        .execute<Array<{ payload: Record<string, unknown> }>>(
          `select payload from "${handle.runtime.db.schema}".outbox where topic = 'kernel.mail.sent' and payload->>'to' = ?`,
          ['audited.mail@example.com'],
        );
    await eventually(async () => expect(await sent()).toHaveLength(1));
    const [event] = await sent();
    expect(event!.payload).toMatchObject({ template: 'verification', transport: 'outbox', attempt: 1 });
    expect(JSON.stringify(event)).not.toContain(token);
  });

  it('makes no second account for the same address, whatever the case, and does not say so (see registration.test.ts)', async () => {
    const id = await register('dup@example.com');
    const body = await gql<{ register: { id: string } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { id } }`,
      { input: { email: ' DUP@example.COM ', password: 'another passphrase here' } },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.register.id).not.toBe(id);
    expect((await login('dup@example.com')).data!.login.user.id).toBe(id);
  });

  it('names every invalid field and creates nothing', async () => {
    const body = await gql(`mutation ($input: RegisterInput!) { register(input: $input) { id } }`, {
      input: { email: 'not-an-email', password: 'password1' },
    });
    expect(code(body)).toBe('BAD_USER_INPUT');
    const fields = (body.errors![0]!.extensions!.fields as Array<{ field: string }>).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['email', 'password']));
    expect((await login('not-an-email', 'password1')).errors).toBeDefined();
  });
});

describe('login, refresh rotation and reuse detection', () => {
  const email = 'rotate@example.com';

  beforeAll(async () => {
    await register(email);
  });

  it('logs in, reads me, rotates the refresh token, and revokes the session when an old one is reused', async () => {
    const first = await login(email);
    expect(first.errors).toBeUndefined();
    const tokens = first.data!.login;
    expect(tokens.expiresIn).toBe(900);
    expect((await me(tokens.accessToken)).data!.me!.email).toBe(email);

    const rotated = await refresh(tokens.refreshToken);
    expect(rotated.errors).toBeUndefined();
    const second = rotated.data!.refreshToken;
    expect(second.refreshToken).not.toBe(tokens.refreshToken);

    // The first refresh token was used: presenting it again means someone else has a copy.
    const reused = await refresh(tokens.refreshToken);
    expect(code(reused)).toBe('UNAUTHENTICATED');
    // … so the whole session ends: the new refresh token and the new access token stop working.
    expect(code(await refresh(second.refreshToken))).toBe('UNAUTHENTICATED');
    await eventually(async () => {
      expect(code(await me(second.accessToken))).toBe('UNAUTHENTICATED');
    });

    const again = await login(email);
    expect(again.errors).toBeUndefined();
    expect((await me(again.data!.login.accessToken)).data!.me!.email).toBe(email);
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    const unknown = await login('nobody@example.com');
    const wrong = await login(email, 'wrong password here');
    expect(code(unknown)).toBe('UNAUTHENTICATED');
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
  });
});

describe('changing and resetting the password', () => {
  it('changePassword needs the current password and signs out the other sessions only', async () => {
    const email = 'change@example.com';
    await register(email);
    const laptop = (await login(email)).data!.login;
    const phone = (await login(email)).data!.login;

    const wrong = await gql(
      `mutation { changePassword(currentPassword: "not it at all", newPassword: "a brand new passphrase") }`,
      {},
      laptop.accessToken,
    );
    expect(code(wrong)).toBe('BAD_USER_INPUT');

    const changed = await gql<{ changePassword: boolean }>(
      `mutation { changePassword(currentPassword: "${PASSWORD}", newPassword: "a brand new passphrase") }`,
      {},
      laptop.accessToken,
    );
    expect(changed.errors).toBeUndefined();
    await eventually(async () => {
      expect(code(await me(phone.accessToken))).toBe('UNAUTHENTICATED');
    });
    expect(code(await refresh(phone.refreshToken))).toBe('UNAUTHENTICATED');
    expect((await me(laptop.accessToken)).data!.me!.email).toBe(email);
    expect(code(await login(email))).toBe('UNAUTHENTICATED');
    expect((await login(email, 'a brand new passphrase')).errors).toBeUndefined();
    expect((await lastMailTo(email, /password was changed/i)).subject).toMatch(/password/i);
  });

  it('requestPasswordReset answers true for unknown addresses too; the link resets once and ends every session', async () => {
    const email = 'reset@example.com';
    await register(email);
    const session = (await login(email)).data!.login;

    const unknown = await gql(`mutation { requestPasswordReset(email: "ghost@example.com") }`);
    const known = await gql(`mutation { requestPasswordReset(email: "${email}") }`);
    expect(unknown).toEqual({ data: { requestPasswordReset: true } });
    expect(known).toEqual({ data: { requestPasswordReset: true } });

    const token = extractLinkToken((await lastMailTo(email, /reset/i)).text);
    expect(token).toEqual(expect.any(String));
    const reset = await gql(
      `mutation ($token: String!) { resetPassword(token: $token, newPassword: "reset to something new") }`,
      {
        token,
      },
    );
    expect(reset).toEqual({ data: { resetPassword: true } });
    const twice = await gql(
      `mutation ($token: String!) { resetPassword(token: $token, newPassword: "and again something") }`,
      {
        token,
      },
    );
    expect(code(twice)).toBe('BAD_USER_INPUT');
    await eventually(async () => {
      expect(code(await me(session.accessToken))).toBe('UNAUTHENTICATED');
    });
    expect((await login(email, 'reset to something new')).errors).toBeUndefined();
  });
});

describe('brute force', () => {
  it('after 5 wrong passwords the account is RATE_LIMITED, even for the right password, until the window passes', async () => {
    // Unique per run: with REDIS_URL the throttle's counters and lockout history live in Redis.
    const email = `brute-${Date.now()}@example.com`;
    await register(email);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect(code(await login(email, `wrong password ${attempt}`))).toBe('UNAUTHENTICATED');
    }
    const sixth = await login(email, 'wrong password 6');
    expect(code(sixth)).toBe('RATE_LIMITED');
    expect(sixth.errors![0]!.extensions!.retryAfter).toEqual(expect.any(Number));
    expect(code(await login(email))).toBe('RATE_LIMITED');
    // The test configuration uses a 3-second window.
    await eventually(async () => {
      expect((await login(email)).errors).toBeUndefined();
    }, 10_000);
  });
});

describe('sessions', () => {
  it('lists the caller’s sessions with the current one marked, and revokes one', async () => {
    const email = 'sessions@example.com';
    await register(email);
    const a = (await login(email)).data!.login;
    const b = (await login(email)).data!.login;
    const list = await gql<{ sessions: Array<{ id: string; current: boolean }> }>(
      `{ sessions { id current createdAt lastUsedAt userAgent ip } }`,
      {},
      a.accessToken,
    );
    expect(list.errors).toBeUndefined();
    expect(list.data!.sessions).toHaveLength(2);
    const other = list.data!.sessions.find((session) => !session.current)!;
    expect(list.data!.sessions.filter((session) => session.current)).toHaveLength(1);

    const revoked = await gql(`mutation ($id: ID!) { revokeSession(id: $id) }`, { id: other.id }, a.accessToken);
    expect(revoked).toEqual({ data: { revokeSession: true } });
    await eventually(async () => {
      expect(code(await me(b.accessToken))).toBe('UNAUTHENTICATED');
    });
    expect(code(await gql(`{ sessions { id } }`))).toBe('UNAUTHENTICATED');

    const loggedOut = await gql(`mutation ($t: String) { logout(refreshToken: $t) }`, { t: a.refreshToken });
    expect(loggedOut).toEqual({ data: { logout: true } });
    expect(code(await refresh(a.refreshToken))).toBe('UNAUTHENTICATED');
  });

  it('publishes the keys tokens are checked with, without private parts', async () => {
    const jwks = (await (await fetch(`${handle.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
    }
  });
});

describe('administration (with the permissions authz grants)', () => {
  let admin: Handle;
  const byUser: Record<string, string[]> = {};
  const adminGql = async <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown>,
    token?: string,
  ) => (await admin.query<T>(query, variables, token ? bearer(token) : undefined)).body;

  beforeAll(async () => {
    admin = (await startTestSubgraph(identity, { permissions: new StaticPermissions({ byUser }) })) as Handle;
  });
  afterAll(async () => {
    await admin?.stop();
  });

  async function account(email: string, displayName: string): Promise<{ id: string; token: string }> {
    const created = await adminGql<{ register: { id: string } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { id } }`,
      { input: { email, password: PASSWORD, displayName } },
    );
    const tokens = await adminGql<{ login: Tokens }>(
      `mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
      { e: email, p: PASSWORD },
    );
    return { id: created.data!.register.id, token: tokens.data!.login.accessToken };
  }

  it('lists and searches users, edits and deletes them, each only with its permission', async () => {
    const boss = await account('boss@example.com', 'The Boss');
    const ada = await account('ada@example.com', 'Ada Lovelace');
    await account('grace@example.com', 'Grace Hopper');

    const forbidden = await adminGql(`{ users { totalCount } }`, {}, ada.token);
    expect(forbidden.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'identity.user.read' });

    byUser[boss.id] = ['identity.user.read', 'identity.user.update', 'identity.user.delete'];
    const all = await adminGql<{ users: { totalCount: number; edges: Array<{ node: { email: string } }> } }>(
      `{ users(first: 2) { totalCount edges { node { email } } pageInfo { hasNextPage } } }`,
      {},
      boss.token,
    );
    expect(all.errors).toBeUndefined();
    expect(all.data!.users.totalCount).toBe(3);
    expect(all.data!.users.edges).toHaveLength(2);
    const found = await adminGql<{ users: { edges: Array<{ node: { displayName: string } }> } }>(
      `{ users(search: "LOVELACE") { edges { node { displayName email } } } }`,
      {},
      boss.token,
    );
    expect(found.data!.users.edges.map((edge) => edge.node.displayName)).toEqual(['Ada Lovelace']);

    const edited = await adminGql<{ updateUser: { email: string; emailVerified: boolean; displayName: string } }>(
      `mutation ($id: ID!) { updateUser(id: $id, input: { email: "ADA@math.example.com", displayName: " Countess " }) { email emailVerified displayName } }`,
      { id: ada.id },
      boss.token,
    );
    expect(edited.data!.updateUser).toEqual({
      email: 'ada@math.example.com',
      emailVerified: false,
      displayName: 'Countess',
    });
    const taken = await adminGql(
      `mutation ($id: ID!) { updateUser(id: $id, input: { email: "grace@example.com" }) { id } }`,
      { id: ada.id },
      boss.token,
    );
    expect(code(taken)).toBe('CONFLICT');

    const profile = await adminGql<{ updateProfile: { displayName: string | null } }>(
      `mutation { updateProfile(input: { displayName: "" }) { displayName } }`,
      {},
      ada.token,
    );
    expect(profile.data!.updateProfile.displayName).toBeNull();

    expect(await adminGql(`mutation ($id: ID!) { deleteUser(id: $id) }`, { id: ada.id }, boss.token)).toEqual({
      data: { deleteUser: true },
    });
    await eventually(async () => expect(code(await adminGql(`{ me { id } }`, {}, ada.token))).toBe('UNAUTHENTICATED'));
    expect((await adminGql<{ user: null }>(`query ($id: ID!) { user(id: $id) { id } }`, { id: ada.id })).data).toEqual({
      user: null,
    });
    const again = await adminGql(`mutation ($id: ID!) { deleteUser(id: $id) }`, { id: ada.id }, boss.token);
    expect(code(again)).toBe('NOT_FOUND');
    expect(
      code(
        await adminGql(`mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
          e: 'ada@math.example.com',
          p: PASSWORD,
        }),
      ),
    ).toBe('UNAUTHENTICATED');
  });
});
