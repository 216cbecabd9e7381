import { describe, expect, it } from '@jest/globals';
import { decodeJwt, SignJWT } from 'jose';
import WebSocket from 'ws';
import { eventually } from '@platform/kernel/testing';
import { collect } from './fixtures/subscriptions-client.js';
import {
  createPost,
  gateway,
  gql,
  LIMITS,
  platform,
  POST_CREATED,
  READER,
  signIn,
  socket,
  tokens,
  useSubscriptionPlatform,
  type PostEvent,
  WITHIN_MS,
} from './fixtures/subscriptions-suite.js';

/**
 * Sockets and their sessions: closed with the documented codes when a token is invalid or
 * expires or a session is revoked (within a second), and the per-user and per-socket limits.
 */
useSubscriptionPlatform();

describe('sockets end with their sessions', () => {
  it('refuses an invalid token with 4401', async () => {
    const s = socket('not-a-token');
    expect((await s.closed).code).toBe(4401);
  });

  it('closes a socket within a second of its session being logged out (4403)', async () => {
    const session = await signIn(READER.email, READER.password);
    const s = socket(session.accessToken);
    await s.connected;
    const started = Date.now();
    const out = await gql('mutation ($t: String) { logout(refreshToken: $t) }', { t: session.refreshToken });
    expect(out.errors).toBeUndefined();
    const closed = await s.closed;
    expect(closed.code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
    // The revoked token cannot open a new socket either.
    expect((await socket(session.accessToken).closed).code).toBe(4401);
  });

  it("closes the revoked session (4403) and tells the user's other sessions (mySessionRevoked)", async () => {
    const a = await signIn(READER.email, READER.password);
    const b = await signIn(READER.email, READER.password);
    const sa = socket(a.accessToken);
    const sb = socket(b.accessToken);
    const mine = collect<{ mySessionRevoked: { sessionId: string; reason: string } }>(
      sa.client,
      'subscription { mySessionRevoked { sessionId reason revokedAt } }',
    );
    await sb.connected;
    await eventually(async () => expect(platform.subgraphs.identity!.subscriptionStats().subscriptions).toBe(1));
    const sessionB = (decodeJwt(b.accessToken) as { sid: string }).sid;
    const started = Date.now();
    const revoked = await gql('mutation ($id: ID!) { revokeSession(id: $id) }', { id: sessionB }, a.accessToken);
    expect(revoked.errors).toBeUndefined();
    expect((await sb.closed).code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
    const [event] = await mine.next(1);
    expect(event!.data!.mySessionRevoked).toMatchObject({ sessionId: sessionB, reason: 'revoked_by_user' });
    await sa.dispose();
  });

  it('closes a socket when its access token expires (4401)', async () => {
    const session = await signIn(READER.email, READER.password);
    const claims = decodeJwt(session.accessToken) as { sid: string; iss: string; aud: string };
    const { kid, privateKey } = (
      platform.subgraphs.identity!.services as {
        keys: { current(): { kid: string; privateKey: Parameters<SignJWT['sign']>[0] } };
      }
    ).keys.current();
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .setSubject(session.id)
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .setIssuedAt(now)
      .setExpirationTime(now + 2)
      .sign(privateKey);
    const s = socket(shortLived);
    const feed = collect(s.client, POST_CREATED);
    await s.connected;
    const closed = await s.closed;
    expect(closed).toEqual({ code: 4401, reason: 'Access token expired' });
    expect(Date.now()).toBeGreaterThanOrEqual((now + 2) * 1000);
    await feed.done;
  });
});

describe('limits', () => {
  it('refuses a socket over the per-user connection limit with 4429', async () => {
    const sockets = Array.from({ length: LIMITS.maxConnectionsPerUser }, () => socket(tokens.writer));
    await Promise.all(sockets.map((s) => s.connected));
    const extra = socket(tokens.writer);
    expect(await extra.closed).toEqual({ code: 4429, reason: 'Too many connections: at most 3 per user' });
    await Promise.all(sockets.map((s) => s.dispose()));
    // Freed slots can be used again.
    const again = socket(tokens.writer);
    await again.connected;
    await again.dispose();
  });

  it('refuses an operation over the per-connection limit with RATE_LIMITED and keeps the others', async () => {
    const s = socket(tokens.reader);
    const feeds = Array.from({ length: LIMITS.maxSubscriptionsPerConnection }, () =>
      collect<PostEvent>(s.client, POST_CREATED),
    );
    await eventually(async () =>
      expect(gateway.subscriptionStats().subscriptions).toBe(LIMITS.maxSubscriptionsPerConnection),
    );
    const extra = collect(s.client, POST_CREATED);
    await extra.done;
    expect((extra.error as Array<{ extensions?: Record<string, unknown> }>)[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      limit: LIMITS.maxSubscriptionsPerConnection,
    });
    const id = await createPost('Still delivered');
    for (const feed of feeds) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
    await s.dispose();
  });

  it('does not count a socket that left while its token was being checked', async () => {
    const url = platform.gateway.url.replace(/^http/, 'ws');
    await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<void>((resolve) => {
            const raw = new WebSocket(url, 'graphql-transport-ws');
            raw.once('open', () => {
              raw.send(
                JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.writer}` } }),
              );
              raw.terminate();
            });
            raw.once('close', () => resolve());
          }),
      ),
    );
    await eventually(async () => expect(gateway.subscriptionStats().connections).toBe(0));
    const sockets = Array.from({ length: LIMITS.maxConnectionsPerUser }, () => socket(tokens.writer));
    await Promise.all(sockets.map((s) => s.connected));
  });

  it('closes a socket that sends no connection_init in time (4408)', async () => {
    const raw = new WebSocket(platform.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => raw.once('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4408);
  });
});
