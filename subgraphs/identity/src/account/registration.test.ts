import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { join } from 'node:path';
import { isUuid } from '@platform/kernel';
import {
  StaticPermissions,
  extractLinkToken,
  readOutbox,
  startTestSubgraph,
  waitForMail,
  type OutboxMessage,
  type TestSubgraph,
} from '@platform/kernel/testing';
import identity from '../module.js';
import type { IdentityServices } from '../services.js';
import type { IdentityConfig } from '../config.js';

/**
 * Registration and the email flows answer the same whether or not an address has an account:
 * a taken address gets a registration-shaped answer and its owner a mail; the work that only
 * leads to mail happens after the answer.
 */
type Handle = TestSubgraph<IdentityConfig, IdentityServices>;

const OWNER_PASSWORD = 'owner passphrase for tests';
const OTHER_PASSWORD = 'somebody else entirely 9';
const USER_FIELDS = 'id email displayName emailVerified createdAt updatedAt';
const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { ${USER_FIELDS} } }`;

interface Registered {
  id: string;
  email: string;
  displayName: string | null;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
}
interface Body<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

let handle: Handle;

async function gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<Body<T>> {
  return (await handle.query<T>(query, variables)).body;
}

const register = (email: string, password: string, displayName?: string) =>
  gql<{ register: Registered }>(REGISTER, { input: { email, password, displayName } });

const outboxDir = (): string => join(handle.runtime.platform.dataDir, 'mail');

async function mailsTo(to: string): Promise<OutboxMessage[]> {
  return (await readOutbox(outboxDir())).filter((mail) => mail.to.includes(to));
}

/** Waits until `count` mails to `to` are in the outbox (they are sent by a job, after the answer). */
const mailed = (to: string, count = 1) => waitForMail(outboxDir(), to, { count });

/** `identity.registration.duplicate` events in identity's outbox: the accounts they are about. */
async function duplicateEvents(): Promise<string[]> {
  const rows = await handle.runtime
    .em()
    .execute<Array<{ userId: string }>>(
      `select payload->>'userId' as "userId" from "${handle.runtime.db.schema}".outbox where topic = ? order by seq`,
      ['identity.registration.duplicate'],
    );
  return rows.map((row) => row.userId);
}

/** Holds every mail before it is queued until `release()`: what a request does before answering cannot wait for it. */
function holdMail(): { release(): void } {
  const mail = handle.runtime.mail;
  const send = mail.send.bind(mail);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  mail.send = async (message) => {
    await gate;
    return send(message);
  };
  return {
    release() {
      mail.send = send;
      release();
    },
  };
}

beforeAll(async () => {
  handle = (await startTestSubgraph(identity, { permissions: new StaticPermissions() })) as Handle;
});

afterAll(async () => {
  await handle?.stop();
});

describe('register with an address that already has an account', () => {
  let owner: Registered;

  beforeAll(async () => {
    const body = await register('taken@example.com', OWNER_PASSWORD, 'The Owner');
    expect(body.errors).toBeUndefined();
    owner = body.data!.register;
    await mailed('taken@example.com');
  });

  it('answers like a new registration, with nothing of the real account, and mails the owner instead', async () => {
    const fresh = await register('fresh@example.com', OTHER_PASSWORD, 'Someone Else');
    const again = await register(' TAKEN@Example.COM ', OTHER_PASSWORD, ' Someone  Else ');
    expect(again.errors).toBeUndefined();
    expect(Object.keys(again.data!.register)).toEqual(Object.keys(fresh.data!.register));
    const answer = again.data!.register;
    expect(answer).toEqual({
      id: expect.any(String),
      email: 'taken@example.com',
      displayName: 'Someone Else',
      emailVerified: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(isUuid(answer.id)).toBe(true);
    expect(answer.id).not.toBe(owner.id);
    expect(Date.parse(answer.createdAt)).toBeGreaterThan(Date.parse(owner.createdAt));

    const notice = await mailed('taken@example.com', 2);
    expect(await mailsTo('taken@example.com')).toHaveLength(2);
    expect(notice.subject).toBe('Someone tried to register with your email address at Platform');
    expect(notice.text).toMatch(/^Hi The Owner,/);
    expect(notice.text).toMatch(/sign in with your password/);
    expect(notice.text).toContain('/reset-password');
    expect(extractLinkToken(notice.text)).toBeNull();
    expect(notice.html).toContain('Reset your password');

    expect(await duplicateEvents()).toEqual([owner.id]);
    // The account is untouched: its password still works, the caller's does not.
    const login = `mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { user { id displayName } } }`;
    const asOwner = await gql<{ login: { user: { id: string } } }>(login, {
      e: 'taken@example.com',
      p: OWNER_PASSWORD,
    });
    expect(asOwner.data?.login.user).toEqual({ id: owner.id, displayName: 'The Owner' });
    const asCaller = await gql(login, { e: 'taken@example.com', p: OTHER_PASSWORD });
    expect(asCaller.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The id in the answer belongs to nothing, and a new account is not shown to others either.
    const user = (id: string) => gql(`query ($id: ID!) { user(id: $id) { id } }`, { id });
    expect(await user(answer.id)).toEqual({ data: { user: null } });
    expect(await user(fresh.data!.register.id)).toEqual({ data: { user: null } });
  });

  it('refuses invalid input exactly as for a new address', async () => {
    const taken = await register('taken@example.com', 'password1234', 'x'.repeat(101));
    const fresh = await register('never-seen@example.com', 'password1234', 'x'.repeat(101));
    expect(taken.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(taken.errors).toEqual(fresh.errors);
  });

  it('hashes the password either way, and answers before the owner is mailed', async () => {
    const { hasher } = handle.services;
    const hash = hasher.hash.bind(hasher);
    let hashes = 0;
    hasher.hash = (password) => {
      hashes += 1;
      return hash(password);
    };
    const held = holdMail();
    try {
      const before = (await mailsTo('taken@example.com')).length;
      expect((await register('taken@example.com', OTHER_PASSWORD)).errors).toBeUndefined();
      expect(hashes).toBe(1);
      expect(await mailsTo('taken@example.com')).toHaveLength(before);
      expect((await register('also-fresh@example.com', OTHER_PASSWORD)).errors).toBeUndefined();
      expect(hashes).toBe(2);
      held.release();
      await mailed('taken@example.com', before + 1);
    } finally {
      held.release();
      hasher.hash = hash;
    }
  });
});

describe('two registrations racing for one new address', () => {
  it('answers the one the unique index refused like a success, and mails the owner', async () => {
    const { accounts, hasher } = handle.services;
    const email = 'race@example.com';
    const hash = hasher.hash.bind(hasher);
    let winner: { id: string } | undefined;
    // The first registration has found no account and hashes its password; the other one
    // registers the address in the meantime, so the first one's insert hits the unique index.
    hasher.hash = async (password) => {
      hasher.hash = hash;
      winner = await accounts.register(handle.runtime.em(), { email, password: OWNER_PASSWORD, displayName: 'Winner' });
      return hash(password);
    };
    try {
      const loser = await register(email, OTHER_PASSWORD, 'Loser');
      expect(loser.errors).toBeUndefined();
      expect(winner).toBeDefined();
      expect(loser.data!.register).toMatchObject({ email, displayName: 'Loser', emailVerified: false });
      expect(loser.data!.register.id).not.toBe(winner!.id);
    } finally {
      hasher.hash = hash;
    }
    await mailed(email, 2);
    const subjects = (await mailsTo(email)).map((mail) => mail.subject);
    expect(subjects).toHaveLength(2);
    expect(subjects).toEqual(expect.arrayContaining([expect.stringMatching(/verify/i)]));
    expect(subjects).toEqual(expect.arrayContaining([expect.stringMatching(/tried to register/i)]));
    expect(await duplicateEvents()).toContain(winner!.id);
  });
});

describe('resendVerificationEmail', () => {
  it('answers true for any address, before writing a new link; mails only unverified accounts', async () => {
    const email = 'resend@example.com';
    expect((await register(email, OWNER_PASSWORD)).errors).toBeUndefined();
    await mailed(email);
    const firstLink = extractLinkToken((await mailsTo(email))[0]!.text);

    const resend = (address: string) =>
      gql(`mutation ($e: String!) { resendVerificationEmail(email: $e) }`, { e: address });
    const held = holdMail();
    try {
      expect(await resend(email)).toEqual({ data: { resendVerificationEmail: true } });
      expect(await resend('nobody-at-all@example.com')).toEqual({ data: { resendVerificationEmail: true } });
      expect(await resend('not an address')).toEqual({ data: { resendVerificationEmail: true } });
      expect(await mailsTo(email)).toHaveLength(1);
    } finally {
      held.release();
    }
    await mailed(email, 2);
    const secondLink = extractLinkToken((await mailsTo(email))[1]!.text);
    const verify = (token: string | null) =>
      gql(`mutation ($t: String!) { verifyEmail(token: $t) { emailVerified } }`, { t: token });
    // One valid link at a time: the new one replaced the first.
    expect((await verify(firstLink)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await verify(secondLink)).toEqual({ data: { verifyEmail: { emailVerified: true } } });

    // Verified now: still true, and no mail.
    expect(await resend(email)).toEqual({ data: { resendVerificationEmail: true } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await mailsTo(email)).toHaveLength(2);
  });
});
