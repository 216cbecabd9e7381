import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import type { IdentityServices } from '../subgraphs/identity/src/services.js';
import { errorCode, graphqlAt, register, signIn, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Avatars as a browser meets them, through the gateway only: ask for an upload URL, send the
 * bytes to it (on the gateway's own origin, `/files/identity/…`), attach the upload to the
 * profile, read the avatar back by its signed URL; and every refusal on the way.
 */
const ALICE = { email: 'alice@example.com', password: 'alice passphrase 1', displayName: 'Alice' };
const BOB = { email: 'bob@example.com', password: 'bob passphrase 11', displayName: 'Bob' };

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(56, 7)]);
const GIF = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(30, 1)]);

const CREATE_UPLOAD = `mutation ($input: CreateUploadInput!) {
  createUpload(input: $input) { id url method headers { name value } expiresAt }
}`;
const ATTACH = `mutation ($id: ID) { updateProfile(input: { avatarUploadId: $id }) { id avatarUrl } }`;

interface Ticket {
  id: string;
  url: string;
  method: string;
  headers: Array<{ name: string; value: string }>;
  expiresAt: string;
}

let platform: TestPlatform;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

/** A URL the API handed out, as a browser on the gateway's origin resolves it. */
const onGateway = (url: string): string => new URL(url, platform.gateway.baseUrl).toString();

async function createUpload(token: string, contentType: string, byteSize: number): Promise<Ticket> {
  const body = await gql<{ createUpload: Ticket }>(
    CREATE_UPLOAD,
    { input: { purpose: 'AVATAR', contentType, byteSize } },
    token,
  );
  expect(body.errors).toBeUndefined();
  return body.data!.createUpload;
}

function send(ticket: Ticket, bytes: Buffer, headers?: Record<string, string>): Promise<Response> {
  return fetch(onGateway(ticket.url), {
    method: ticket.method,
    headers: headers ?? Object.fromEntries(ticket.headers.map(({ name, value }) => [name, value])),
    body: bytes,
  });
}

async function avatarUrlOf(token: string): Promise<string | null> {
  const body = await gql<{ me: { avatarUrl: string | null } }>('{ me { avatarUrl } }', {}, token);
  expect(body.errors).toBeUndefined();
  return body.data!.me.avatarUrl;
}

beforeAll(async () => {
  platform = await startTestPlatform();
  for (const [name, account] of Object.entries({ alice: ALICE, bob: BOB })) {
    await register(platform, account);
    const { accessToken, id } = await signIn(platform, account.email, account.password);
    tokens[name] = accessToken;
    ids[name] = id;
  }
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

describe('avatars through the gateway', () => {
  it('uploads straight to storage, attaches the upload and serves it back by a signed URL', async () => {
    expect(await avatarUrlOf(tokens.alice!)).toBeNull();
    const ticket = await createUpload(tokens.alice!, 'image/png', PNG.length);
    expect(ticket.method).toBe('PUT');
    expect(ticket.headers).toEqual([{ name: 'Content-Type', value: 'image/png' }]);
    expect(ticket.url).toMatch(/^\/files\/identity\/avatars\//);
    expect(new Date(ticket.expiresAt).getTime()).toBeGreaterThan(Date.now());

    expect((await send(ticket, PNG)).status).toBe(200);
    const attached = await gql<{ updateProfile: { id: string; avatarUrl: string } }>(
      ATTACH,
      { id: ticket.id },
      tokens.alice,
    );
    expect(attached.errors).toBeUndefined();
    expect(attached.data!.updateProfile.avatarUrl).toMatch(/^\/files\/identity\/avatars\//);

    const url = await avatarUrlOf(tokens.alice!);
    const image = await fetch(onGateway(url!));
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('x-content-type-options')).toBe('nosniff');
    // An app on another origin may show it (helmet's default, same-origin, would block the <img>).
    expect(image.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(image.headers.get('content-disposition')).toMatch(/^inline; filename="[0-9a-f-]+"$/);
    expect(Buffer.from(await image.arrayBuffer())).toEqual(PNG);

    // The profile update is recorded for audit, naming the avatar and nothing of its URL.
    const { db } = platform.subgraphs.identity!.runtime;
    const rows = await db
      .fork()
      .execute<Array<{ payload: unknown }>>(
        `select payload from "${db.schema}".outbox where topic = 'identity.user.updated'`,
      );
    const payloads = rows.map((row) => (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload));
    expect(payloads).toContainEqual({ userId: ids.alice, changed: ['avatar'] });
  });

  it('replacing an avatar deletes the old image', async () => {
    const before = await avatarUrlOf(tokens.alice!);
    expect((await fetch(onGateway(before!))).status).toBe(200);
    const ticket = await createUpload(tokens.alice!, 'image/gif', GIF.length);
    expect((await send(ticket, GIF)).status).toBe(200);
    expect((await gql(ATTACH, { id: ticket.id }, tokens.alice)).errors).toBeUndefined();

    const after = await avatarUrlOf(tokens.alice!);
    const image = await fetch(onGateway(after!));
    expect(image.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(GIF);
    expect((await fetch(onGateway(before!))).status).toBe(404);
  });

  it('refuses types outside the list, sizes over the limit, and guests', async () => {
    for (const input of [
      { purpose: 'AVATAR', contentType: 'image/svg+xml', byteSize: 100 },
      { purpose: 'AVATAR', contentType: 'text/html', byteSize: 100 },
      { purpose: 'AVATAR', contentType: 'image/png', byteSize: 2 * 1024 * 1024 + 1 },
      { purpose: 'AVATAR', contentType: 'image/png', byteSize: 0 },
    ]) {
      const body = await gql(CREATE_UPLOAD, { input }, tokens.alice);
      expect(errorCode(body)).toBe('BAD_USER_INPUT');
    }
    const guest = await gql(CREATE_UPLOAD, { input: { purpose: 'AVATAR', contentType: 'image/png', byteSize: 10 } });
    expect(errorCode(guest)).toBe('UNAUTHENTICATED');
  });

  it('refuses uploads that break what was signed: size (413), type (415), signature (403)', async () => {
    const ticket = await createUpload(tokens.bob!, 'image/png', PNG.length);
    expect((await send(ticket, Buffer.concat([PNG, PNG]))).status).toBe(413);
    expect((await send(ticket, PNG, { 'Content-Type': 'image/svg+xml' })).status).toBe(415);
    const tampered = { ...ticket, url: ticket.url.replace(/max=\d+/, 'max=999999') };
    expect((await send(tampered, Buffer.concat([PNG, PNG]))).status).toBe(403);
    // Nothing of those was kept: there is nothing to attach.
    const attach = await gql(ATTACH, { id: ticket.id }, tokens.bob);
    expect(errorCode(attach)).toBe('BAD_USER_INPUT');
  });

  it("refuses to attach someone else's upload, an upload never sent, and bytes that are not the image declared", async () => {
    const alices = await createUpload(tokens.alice!, 'image/png', PNG.length);
    expect((await send(alices, PNG)).status).toBe(200);
    const stolen = await gql(ATTACH, { id: alices.id }, tokens.bob);
    expect(errorCode(stolen)).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(ATTACH, { id: 'not-an-id' }, tokens.bob))).toBe('BAD_USER_INPUT');

    const unsent = await createUpload(tokens.bob!, 'image/png', PNG.length);
    expect(errorCode(await gql(ATTACH, { id: unsent.id }, tokens.bob))).toBe('BAD_USER_INPUT');

    // Declared and sent as a PNG, but the bytes are HTML: the stored bytes decide.
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const disguised = await createUpload(tokens.bob!, 'image/png', html.length);
    expect((await send(disguised, html)).status).toBe(200);
    const refused = await gql(ATTACH, { id: disguised.id }, tokens.bob);
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(await avatarUrlOf(tokens.bob!)).toBeNull();
  });

  it("forwards only a configured module's files", async () => {
    for (const path of ['/files/nowhere/a.png', '/files/identity/..%2F..%2Fservice-secret', '/files/identity']) {
      expect((await fetch(`${platform.gateway.baseUrl}${path}`)).status).toBe(404);
    }
    expect((await fetch(`${platform.gateway.baseUrl}/files/identity/a.png`, { method: 'DELETE' })).status).toBe(404);
  });

  it('prunes uploads never attached once they lapsed, and keeps attached ones', async () => {
    const identity = platform.subgraphs.identity!;
    const uploads = (identity.services as IdentityServices).uploads;
    const lapsed = await createUpload(tokens.alice!, 'image/png', PNG.length);
    expect((await send(lapsed, PNG)).status).toBe(200);
    const avatar = await avatarUrlOf(tokens.alice!);

    expect(await uploads.pruneExpired(identity.runtime.em(), new Date(Date.now() - 60_000))).toBe(0);
    // Two hours on, the URL and its grace are long past.
    const pruned = await uploads.pruneExpired(identity.runtime.em(), new Date(Date.now() + 2 * 3_600_000));
    expect(pruned).toBeGreaterThanOrEqual(1);
    expect(errorCode(await gql(ATTACH, { id: lapsed.id }, tokens.alice))).toBe('BAD_USER_INPUT');
    expect((await fetch(onGateway(avatar!))).status).toBe(200);
  });

  it('deleting a user deletes their avatar', async () => {
    const ticket = await createUpload(tokens.bob!, 'image/png', PNG.length);
    expect((await send(ticket, PNG)).status).toBe(200);
    expect((await gql(ATTACH, { id: ticket.id }, tokens.bob)).errors).toBeUndefined();
    const url = await avatarUrlOf(tokens.bob!);
    expect((await fetch(onGateway(url!))).status).toBe(200);

    const identity = platform.subgraphs.identity!;
    await (identity.services as IdentityServices).accounts.deleteUser(identity.runtime.em(), ids.bob!);
    await eventually(async () => expect((await fetch(onGateway(url!))).status).toBe(404));
  });
});
