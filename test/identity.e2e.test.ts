import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, base64url, type CryptoKey } from 'jose';
import type { IdentityServices } from '../subgraphs/identity/src/services.js';
import { startSubgraph } from '@platform/kernel';
import {
  MemoryBroker,
  MemoryEventBus,
  StaticPermissions,
  eventually,
  extractLinkToken,
  readOutbox,
  waitForMail,
} from '@platform/kernel/testing';
import blog from '@platform/blog';
import { serviceSecret } from '@platform/kernel/gateway';
import { startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Identity as a frontend uses it: every call through the gateway, authenticated by the access
 * tokens identity issues and every subgraph verifies.
 */
interface Body<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

let platform: TestPlatform;
let services: IdentityServices;

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<Body<T>> {
  const response = await platform.graphql({ query, variables }, token ? { authorization: `Bearer ${token}` } : {});
  return (await response.json()) as Body<T>;
}

const code = (body: Body<unknown>) => body.errors?.[0]?.extensions?.code;

const LOGIN = `mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken expiresIn user { id email } }
}`;
const REFRESH = `mutation ($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }`;
const ME = `{ me { id email emailVerified } }`;

async function login(email: string, password: string): Promise<Tokens> {
  const body = await gql<{ login: Tokens }>(LOGIN, { email, password });
  expect(body.errors).toBeUndefined();
  return body.data!.login;
}

const outboxDir = (): string => join(platform.subgraphs.identity!.runtime.platform.dataDir, 'mail');

/** Mail identity wrote to its outbox for `to`, oldest first. */
async function mailsTo(to: string) {
  return (await readOutbox(outboxDir())).filter((mail) => mail.to.includes(to));
}

/** Waits for `count` mails to `to` (a job sends them after the answer); answers the newest. */
const mailed = (to: string, count = 1) => waitForMail(outboxDir(), to, { count });

beforeAll(async () => {
  platform = await startTestPlatform();
  services = platform.subgraphs.identity!.services as IdentityServices;
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

describe('the account lifecycle through the gateway', () => {
  it('register → verify from the outbox → login → me → refresh → reuse revokes → login → changePassword', async () => {
    const email = 'frontend@example.com';
    const password = 'my first passphrase';
    const registered = await gql<{ register: { id: string; email: string; emailVerified: boolean } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { id email emailVerified } }`,
      { input: { email, password, displayName: 'Front End' } },
    );
    expect(registered.errors).toBeUndefined();
    expect(registered.data!.register).toMatchObject({ email, emailVerified: false });

    // Mail goes out after the answer.
    const token = extractLinkToken((await mailed(email)).text);
    expect(await mailsTo(email)).toHaveLength(1);
    const verified = await gql(`mutation ($token: String!) { verifyEmail(token: $token) { emailVerified } }`, {
      token,
    });
    expect(verified).toEqual({ data: { verifyEmail: { emailVerified: true } } });

    const first = await login(email, password);
    expect((await gql(ME, {}, first.accessToken)).data).toEqual({
      me: { id: registered.data!.register.id, email, emailVerified: true },
    });

    const rotated = await gql<{ refreshToken: Tokens }>(REFRESH, { token: first.refreshToken });
    expect(rotated.errors).toBeUndefined();
    const second = rotated.data!.refreshToken;
    expect(code(await gql(REFRESH, { token: first.refreshToken }))).toBe('UNAUTHENTICATED');
    // The reuse ended the session: the pair issued by the rotation is dead too.
    expect(code(await gql(REFRESH, { token: second.refreshToken }))).toBe('UNAUTHENTICATED');
    await eventually(async () => expect(code(await gql(ME, {}, second.accessToken))).toBe('UNAUTHENTICATED'), 1000);

    const laptop = await login(email, password);
    const phone = await login(email, password);
    const changed = await gql(
      `mutation ($old: String!, $new: String!) { changePassword(currentPassword: $old, newPassword: $new) }`,
      { old: password, new: 'my second passphrase' },
      laptop.accessToken,
    );
    expect(changed).toEqual({ data: { changePassword: true } });
    await eventually(async () => expect(code(await gql(ME, {}, phone.accessToken))).toBe('UNAUTHENTICATED'), 1000);
    expect(code(await gql(REFRESH, { token: phone.refreshToken }))).toBe('UNAUTHENTICATED');
    expect((await gql(ME, {}, laptop.accessToken)).errors).toBeUndefined();
  });

  it('answers register for an address that has an account like a new registration, and mails the owner', async () => {
    const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { id email displayName emailVerified } }`;
    const email = 'owner-e2e@example.com';
    const owner = await gql<{ register: { id: string } }>(REGISTER, {
      input: { email, password: 'the owner passphrase', displayName: 'Owner' },
    });
    expect(owner.errors).toBeUndefined();
    await mailed(email);

    const again = await gql<{ register: { id: string } }>(REGISTER, {
      input: { email: 'Owner-E2E@example.com', password: 'a curious passphrase', displayName: 'Curious' },
    });
    expect(again).toEqual({
      data: { register: { id: expect.any(String), email, displayName: 'Curious', emailVerified: false } },
    });
    expect(again.data!.register.id).not.toBe(owner.data!.register.id);
    const notice = await mailed(email, 2);
    expect(await mailsTo(email)).toHaveLength(2);
    expect(notice.subject).toMatch(/Someone tried to register with your email address/);
    expect(notice.text).toMatch(/^Hi Owner,/);
  });

  it('answers a password reset for an unknown address exactly like for a known one', async () => {
    const unknown = await gql(`mutation { requestPasswordReset(email: "nobody-here@example.com") }`);
    const known = await gql(`mutation { requestPasswordReset(email: "frontend@example.com") }`);
    expect(unknown).toEqual(known);
    expect(known).toEqual({ data: { requestPasswordReset: true } });
  });

  it('locks an account after 5 wrong passwords, also against the right one', async () => {
    // Unique per run: with REDIS_URL the throttle's counters and lockout history live in Redis.
    const email = `locked-${Date.now()}@example.com`;
    const password = 'the right passphrase';
    await gql(`mutation ($input: RegisterInput!) { register(input: $input) { id } }`, { input: { email, password } });
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      expect(code(await gql(LOGIN, { email, password: `wrong passphrase ${attempt}` }))).toBe('UNAUTHENTICATED');
    }
    const sixth = await gql(LOGIN, { email, password: 'wrong passphrase 6' });
    expect(code(sixth)).toBe('RATE_LIMITED');
    expect(sixth.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
    expect(code(await gql(LOGIN, { email, password }))).toBe('RATE_LIMITED');
  });
});

describe('tokens every subgraph refuses', () => {
  let user: { id: string; tokens: Tokens };

  beforeAll(async () => {
    const email = 'tokens@example.com';
    const password = 'token test passphrase';
    const body = await gql<{ register: { id: string } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { id } }`,
      { input: { email, password } },
    );
    user = { id: body.data!.register.id, tokens: await login(email, password) };
  });

  /** A query that needs identity and blog (and authz for roles): each checks the token itself. */
  const EVERYWHERE = `{ me { id } posts(first: 1) { totalCount } }`;

  async function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const { kid, privateKey } = services.keys.current() as { kid: string; privateKey: CryptoKey };
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: claims.sid ?? randomSession(), ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT', ...header })
      .setSubject(String(claims.sub ?? user.id))
      .setIssuer(String(claims.iss ?? platform.subgraphs.identity!.runtime.platform.auth.issuer))
      .setAudience(String(claims.aud ?? platform.subgraphs.identity!.runtime.platform.auth.audience))
      .setIssuedAt(Number(claims.iat ?? now))
      .setExpirationTime(Number(claims.exp ?? now + 600))
      .sign(privateKey);
  }
  const randomSession = () => '00000000-0000-4000-8000-00000000abcd';

  it('accepts the real token', async () => {
    expect((await gql(EVERYWHERE, {}, user.tokens.accessToken)).errors).toBeUndefined();
  });

  it.each([
    ['expired', () => sign({ iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 60 })],
    ['from another issuer', () => sign({ iss: 'https://evil.example.com' })],
    ['for another audience', () => sign({ aud: 'someone-else' })],
    [
      'tampered (payload changed after signing)',
      async () => {
        const [header, payload, signature] = user.tokens.accessToken.split('.');
        const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as Record<string, unknown>;
        claims.sub = '00000000-0000-4000-8000-000000000001';
        return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
      },
    ],
    [
      'unsigned (alg: none)',
      async () => {
        const [, payload] = user.tokens.accessToken.split('.');
        return `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`;
      },
    ],
    [
      'HS256 with the public key as the secret',
      async () => {
        const jwks = services.keys.jwks() as unknown as { keys: Array<Record<string, unknown>> };
        const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
        const [, payload] = user.tokens.accessToken.split('.');
        const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as Record<string, unknown>;
        return new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: String(jwks.keys[0]!.kid), typ: 'JWT' })
          .sign(secret);
      },
    ],
  ])('refuses a token %s with UNAUTHENTICATED, in identity and in blog', async (_name, make) => {
    const token = await make();
    const body = await gql(EVERYWHERE, {}, token);
    expect(code(body)).toBe('UNAUTHENTICATED');
    expect(body.errors!.every((error) => error.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
    expect(body.data?.me ?? null).toBeNull();
  });

  it('is refused by a subgraph started after the session ended, which heard no broadcast', async () => {
    const email = 'late-start@example.com';
    const password = 'late start passphrase';
    await gql(`mutation ($input: RegisterInput!) { register(input: $input) { id } }`, { input: { email, password } });
    const ended = await login(email, password);
    const live = await login(email, password);
    expect(
      await gql(
        `mutation ($token: String) { logout(refreshToken: $token) }`,
        { token: ended.refreshToken },
        ended.accessToken,
      ),
    ).toEqual({
      data: { logout: true },
    });

    const identityHandle = platform.subgraphs.identity!;
    const config = identityHandle.runtime.platform;
    // Its own in-memory broker: nothing identity broadcast reaches it, before or after it starts.
    const bus = new MemoryEventBus({ broker: new MemoryBroker(), logger: identityHandle.logger });
    const late = await startSubgraph(blog, {
      config: {
        ...config,
        // Its own embedded database (the running blog holds the platform's).
        dataDir: mkdtempSync(join(tmpdir(), 'platform-late-')),
        // The same deployment: the platform's service secret (identity's revocations need it).
        auth: {
          ...config.auth,
          serviceSecret: serviceSecret(config),
          jwksUrl: `${identityHandle.baseUrl}/.well-known/jwks.json`,
        },
      },
      port: 0,
      bus,
      registryValidated: true,
      permissions: new StaticPermissions({ guest: ['blog.post.read'], user: ['blog.post.read'] }),
    });
    try {
      const ask = async (token: string) => {
        const response = await fetch(late.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ posts(first: 1) { totalCount } }' }),
        });
        return (await response.json()) as Body;
      };
      expect(code(await ask(ended.accessToken))).toBe('UNAUTHENTICATED');
      expect((await ask(live.accessToken)).errors).toBeUndefined();
    } finally {
      await late.stop();
      await bus.close();
      rmSync(late.runtime.platform.dataDir, { recursive: true, force: true });
    }
  });

  it('stops a deleted user’s token within a second, in every subgraph', async () => {
    expect((await gql(EVERYWHERE, {}, user.tokens.accessToken)).errors).toBeUndefined();
    await services.accounts.deleteUser(platform.subgraphs.identity!.runtime.em(), user.id);
    // The spec's bound: revocation reaches every service within a second (over the event bus).
    await eventually(async () => {
      const body = await gql(`{ posts(first: 1) { totalCount } }`, {}, user.tokens.accessToken);
      expect(code(body)).toBe('UNAUTHENTICATED');
    }, 1000);
    expect(code(await gql(ME, {}, user.tokens.accessToken))).toBe('UNAUTHENTICATED');
  });
});
