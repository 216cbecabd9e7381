import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import identity from '@platform/identity';
import { eventually } from '@platform/kernel/testing';
import { errorCode, graphqlAt, register, type GraphQLBody, type TestPlatform, startTestPlatform } from './helpers.js';

/**
 * Two-factor sign-in (issue 21, part 4) as a frontend uses it, through the gateway: enrolment
 * with an authenticator app (codes made here from the secret, as the app would), confirmation,
 * login asking for the second factor, replays refused, recovery codes, the lockout, disabling.
 */
let platform: TestPlatform;
/** Reads the audit trail. */
const ADMIN = { email: 'auditor@example.com', password: 'the administrator of this suite' };

beforeAll(async () => {
  // Tests run without the gateway's budgets (config/test.yaml): the account lockout is tested here.
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

interface Login {
  accessToken: string;
  user: { id: string; totpEnabled: boolean };
}

const LOGIN = `mutation ($email: String!, $password: String!, $totp: String) {
  login(email: $email, password: $password, totp: $totp) { accessToken user { id totpEnabled } }
}`;
const ENROLL = `mutation { enrollTotp { secret otpauthUri } }`;
const CONFIRM = `mutation ($code: String!) { confirmTotp(code: $code) { recoveryCodes } }`;
const DISABLE = `mutation ($code: String!) { disableTotp(code: $code) }`;
const REGENERATE = `mutation ($code: String!) { regenerateRecoveryCodes(code: $code) { recoveryCodes } }`;

const login = (email: string, password: string, totp?: string) =>
  gql<{ login: Login }>(LOGIN, { email, password, ...(totp === undefined ? {} : { totp }) });

/** The code an authenticator app shows for `secret` in RFC 6238 time step `step`. */
const codeAt = (secret: string, step: number) => generate({ secret, epoch: step * 30 });
const currentStep = () => Math.floor(Date.now() / 30_000);

/** A code that is not the authenticator's for any step near now. */
async function wrongCode(secret: string): Promise<string> {
  const near = await Promise.all([-1, 0, 1, 2].map((offset) => codeAt(secret, currentStep() + offset)));
  for (let n = 0; ; n++) {
    const candidate = String(100000 + n * 7919).slice(-6);
    if (!near.includes(candidate)) return candidate;
  }
}

async function signedUp(email: string, password: string): Promise<string> {
  await register(platform, { email, password });
  const body = await login(email, password);
  expect(body.errors).toBeUndefined();
  return body.data!.login.accessToken;
}

/** Topics identity published for `userId`, oldest first (its outbox). */
async function published(userId: string): Promise<string[]> {
  const db = platform.subgraphs.identity!.runtime.db;
  const rows = await db
    .fork()
    .execute<Array<{ topic: string }>>(
      `select topic from "${db.schema}".outbox where payload->>'userId' = ? order by seq`,
      [userId],
    );
  return rows.map((row) => row.topic);
}

/** Enrols and confirms with a code of `step`: the secret and the recovery codes. */
async function enable(token: string, step: number): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrolled = await gql<{ enrollTotp: { secret: string; otpauthUri: string } }>(ENROLL, {}, token);
  expect(enrolled.errors).toBeUndefined();
  const { secret } = enrolled.data!.enrollTotp;
  const confirmed = await gql<{ confirmTotp: { recoveryCodes: string[] } }>(
    CONFIRM,
    { code: await codeAt(secret, step) },
    token,
  );
  expect(confirmed.errors).toBeUndefined();
  return { secret, recoveryCodes: confirmed.data!.confirmTotp.recoveryCodes };
}

describe('two-factor sign-in through the gateway', () => {
  it('enroll → confirm → MFA_REQUIRED → code → replay refused → recovery code once → regenerate → disable', async () => {
    const email = 'two-factor@example.com';
    const password = 'a passphrase with a second factor';
    const token = await signedUp(email, password);

    const enrolled = await gql<{ enrollTotp: { secret: string; otpauthUri: string } }>(ENROLL, {}, token);
    expect(enrolled.errors).toBeUndefined();
    const { secret, otpauthUri } = enrolled.data!.enrollTotp;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(decodeURIComponent(uri.pathname)).toContain(email);

    // Pending until confirmed: login still takes the password alone.
    expect((await login(email, password)).errors).toBeUndefined();
    // The secret is stored encrypted, never as typed into the app.
    const db = platform.subgraphs.identity!.runtime.db;
    const [stored] = await db
      .fork()
      .execute<Array<{ secret_jwe: string }>>(`select secret_jwe from "${db.schema}".totp_credential`);
    expect(stored!.secret_jwe.split('.')).toHaveLength(5);
    expect(stored!.secret_jwe).not.toContain(secret);

    // A wrong code does not confirm.
    const wrong = await gql(CONFIRM, { code: await wrongCode(secret) }, token);
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect((await login(email, password)).errors).toBeUndefined();

    const step = currentStep();
    const confirmed = await gql<{ confirmTotp: { recoveryCodes: string[] } }>(
      CONFIRM,
      { code: await codeAt(secret, step) },
      token,
    );
    expect(confirmed.errors).toBeUndefined();
    const recoveryCodes = confirmed.data!.confirmTotp.recoveryCodes;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);

    // Enabled: the password alone says only that a second factor is needed.
    const required = await login(email, password);
    expect(errorCode(required)).toBe('MFA_REQUIRED');
    expect(required.data).toBeNull();
    expect(required.errors).toEqual([
      {
        message: expect.any(String),
        path: ['login'],
        extensions: { code: 'MFA_REQUIRED', serviceName: 'identity' },
      },
    ]);
    // A wrong password is refused as before, whatever the code: nothing about the second factor.
    const badPassword = await login(email, 'not the passphrase', await codeAt(secret, step + 1));
    expect(errorCode(badPassword)).toBe('UNAUTHENTICATED');
    expect(badPassword.errors![0]!.message).toBe('Invalid email or password');

    // The confirming code's step is used up: the next step's code signs in, once.
    expect(errorCode(await login(email, password, await codeAt(secret, step)))).toBe('UNAUTHENTICATED');
    const next = await codeAt(secret, step + 1);
    const signedIn = await login(email, password, next);
    expect(signedIn.errors).toBeUndefined();
    expect(signedIn.data!.login.user.totpEnabled).toBe(true);
    const replay = await login(email, password, next);
    expect(errorCode(replay)).toBe('UNAUTHENTICATED');
    expect(replay.errors![0]!.message).toBe('Invalid or already used two-factor code');

    const me = await gql<{ me: { totpEnabled: boolean } }>(
      `{ me { totpEnabled } }`,
      {},
      signedIn.data!.login.accessToken,
    );
    expect(me).toEqual({ data: { me: { totpEnabled: true } } });
    // Enrolling again while enabled is refused (disable first).
    expect(errorCode(await gql(ENROLL, {}, token))).toBe('CONFLICT');

    // A recovery code stands in for the app, once (typed in upper case without hyphens too).
    const [first, second, third] = recoveryCodes;
    expect((await login(email, password, first!.replace(/-/g, '').toUpperCase())).errors).toBeUndefined();
    expect(errorCode(await login(email, password, first))).toBe('UNAUTHENTICATED');

    // New recovery codes replace the old ones, used or not.
    const regenerated = await gql<{ regenerateRecoveryCodes: { recoveryCodes: string[] } }>(
      REGENERATE,
      { code: second },
      token,
    );
    expect(regenerated.errors).toBeUndefined();
    const fresh = regenerated.data!.regenerateRecoveryCodes.recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(errorCode(await login(email, password, third))).toBe('UNAUTHENTICATED');

    // Disabling needs a code too: an access token alone is not enough.
    expect(errorCode(await gql(DISABLE, { code: await wrongCode(secret) }, token))).toBe('BAD_USER_INPUT');
    expect(await gql(DISABLE, { code: fresh[0] }, token)).toEqual({ data: { disableTotp: true } });
    const plain = await login(email, password);
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.login.user.totpEnabled).toBe(false);

    // Every step is an event audit records; recovery-code uses say how many are left.
    const topics = await published(signedIn.data!.login.user.id);
    expect(topics.filter((topic) => topic.startsWith('identity.totp.'))).toEqual([
      'identity.totp.enrollment_started',
      'identity.totp.enabled',
      'identity.totp.recovery_code_used',
      'identity.totp.recovery_code_used',
      'identity.totp.recovery_codes_regenerated',
      'identity.totp.recovery_code_used',
      'identity.totp.disabled',
    ]);
    expect(topics.filter((topic) => topic === 'identity.login.failed').length).toBeGreaterThanOrEqual(4);

    // Audit records them about the user, with the user as actor; the security events among them
    // are those securityEvents delivers.
    const userId = signedIn.data!.login.user.id;
    let admin = '';
    await eventually(async () => {
      const body = await login(ADMIN.email, ADMIN.password);
      expect(body.errors).toBeUndefined();
      admin = body.data!.login.accessToken;
    });
    await eventually(async () => {
      const body = await gql<{
        auditEvents: {
          edges: Array<{
            node: { action: string; targetType: string; targetId: string; actor: { id: string } | null };
          }>;
        };
      }>(
        `query ($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 50) {
           edges { node { action targetType targetId actor { id } } } } }`,
        { filter: { actionPrefix: 'identity.totp' } },
        admin,
      );
      expect(body.errors).toBeUndefined();
      const records = body.data!.auditEvents.edges.map((edge) => edge.node).filter((node) => node.targetId === userId);
      expect(records).toHaveLength(7);
      for (const record of records) {
        expect(record).toMatchObject({ targetType: 'user', targetId: userId, actor: { id: userId } });
      }
    }, 15_000);
  }, 60_000);

  it('wrong codes count towards the account lockout; a right code then waits like a right password', async () => {
    const email = 'guesser@example.com';
    const password = 'the password is known';
    const token = await signedUp(email, password);
    const step = currentStep();
    const { secret } = await enable(token, step);

    const wrong = await wrongCode(secret);
    // The default account limit: 5 failures in 15 minutes.
    for (let i = 0; i < 5; i++) expect(errorCode(await login(email, password, wrong))).toBe('UNAUTHENTICATED');
    const locked = await login(email, password, await codeAt(secret, step + 1));
    expect(errorCode(locked)).toBe('RATE_LIMITED');
    // Without a code, too: the lockout is decided before the password is looked at.
    expect(errorCode(await login(email, password))).toBe('RATE_LIMITED');
    // And the signed-in mutations taking codes wait as well.
    expect(errorCode(await gql(DISABLE, { code: await codeAt(secret, step + 1) }, token))).toBe('RATE_LIMITED');

    const db = platform.subgraphs.identity!.runtime.db;
    const [user] = await db
      .fork()
      .execute<Array<{ id: string }>>(`select id from "${db.schema}"."user" where email = ?`, [email]);
    const topics = await published(user!.id);
    expect(topics.filter((topic) => topic === 'identity.login.failed')).toHaveLength(5);
    expect(topics).toContain('identity.lockout.started');
    const db2 = await db
      .fork()
      .execute<Array<{ reason: string }>>(
        `select payload->>'reason' as reason from "${db.schema}".outbox where topic = 'identity.login.failed' and payload->>'userId' = ?`,
        [user!.id],
      );
    expect(new Set(db2.map((row) => row.reason))).toEqual(new Set(['wrong_second_factor']));
  }, 60_000);

  it('a code given to an account without two-factor sign-in is ignored; the mutations need a signed-in caller', async () => {
    const email = 'single-factor@example.com';
    const password = 'only a password here';
    await signedUp(email, password);
    expect((await login(email, password, '123456')).errors).toBeUndefined();

    for (const [query, variables] of [
      [ENROLL, {}],
      [CONFIRM, { code: '123456' }],
      [DISABLE, { code: '123456' }],
      [REGENERATE, { code: '123456' }],
    ] as const) {
      const body: GraphQLBody = await gql(query, variables);
      expect(errorCode(body)).toBe('UNAUTHENTICATED');
    }
  });
});

describe("an administrator's reset", () => {
  const RESET = `mutation ($id: ID!) { disableUserTotp(id: $id) }`;

  it('turns off the second factor of a user who lost it; only holders of identity.user.update may', async () => {
    const email = 'lost-phone@example.com';
    const password = 'my phone fell in the sea';
    const token = await signedUp(email, password);
    await enable(token, currentStep());
    expect(errorCode(await login(email, password))).toBe('MFA_REQUIRED');
    const userId = (await gql<{ me: { id: string } }>(`{ me { id } }`, {}, token)).data!.me.id;

    // Not by the user (nor anyone without the permission): their own way out needs a code.
    const refused = await gql(RESET, { id: userId }, token);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0]!.extensions!.permission).toBe('identity.user.update');

    let admin: Login = { accessToken: '', user: { id: '', totpEnabled: false } };
    await eventually(async () => {
      const body = await login(ADMIN.email, ADMIN.password);
      expect(body.errors).toBeUndefined();
      admin = body.data!.login;
    });
    // The administrator reads whether it is on, as support would.
    const seen = await gql<{ user: { totpEnabled: boolean } }>(
      `query ($id: ID!) { user(id: $id) { totpEnabled } }`,
      { id: userId },
      admin.accessToken,
    );
    expect(seen).toEqual({ data: { user: { totpEnabled: true } } });
    // And across the accounts list (one query for all of them).
    const listed = await gql<{ users: { edges: Array<{ node: { email: string; totpEnabled: boolean } }> } }>(
      `{ users(first: 50) { edges { node { email totpEnabled } } } }`,
      {},
      admin.accessToken,
    );
    const flags = Object.fromEntries(listed.data!.users.edges.map(({ node }) => [node.email, node.totpEnabled]));
    expect(flags).toMatchObject({ [email]: true, [ADMIN.email]: false, 'single-factor@example.com': false });

    expect(await gql(RESET, { id: userId }, admin.accessToken)).toEqual({ data: { disableUserTotp: true } });
    const plain = await login(email, password);
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.login.user.totpEnabled).toBe(false);
    expect(errorCode(await gql(RESET, { id: userId }, admin.accessToken))).toBe('NOT_FOUND');

    // Recorded with the administrator as actor.
    const db = platform.subgraphs.identity!.runtime.db;
    const rows = await db.fork().execute<Array<{ actor: string | null }>>(
      `select meta->>'actorId' as actor from "${db.schema}".outbox
         where topic = 'identity.totp.disabled' and payload->>'userId' = ?`,
      [userId],
    );
    expect(rows).toEqual([{ actor: admin.user.id }]);
  });
});

describe('the gateway budgets of the TOTP mutations', () => {
  let limited: TestPlatform;

  beforeAll(async () => {
    // The budgets of config/default.yaml, which config/test.yaml turns off for the other suites.
    limited = await startTestPlatform({ gateway: { port: 0, rateLimits: { enabled: true } } });
  }, 90_000);

  afterAll(async () => {
    await limited?.stop();
  });

  it('enrollTotp: 10 per 10 minutes per address, then RATE_LIMITED with retryAfter', async () => {
    const email = 'budgeted@example.com';
    const password = 'one enrolment too many';
    await register(limited, { email, password });
    const token = (await graphqlAt<{ login: Login }>(limited.gateway.url, LOGIN, { email, password })).data!.login
      .accessToken;
    for (let i = 0; i < 10; i++) {
      expect((await graphqlAt(limited.gateway.url, ENROLL, {}, token)).errors).toBeUndefined();
    }
    const refused = await graphqlAt(limited.gateway.url, ENROLL, {}, token);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(refused.errors![0]!.extensions!.retryAfter).toEqual(expect.any(Number));
  });
});
