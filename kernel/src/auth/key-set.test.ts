import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from 'pino';
import { AuthenticationError } from '../errors.js';
import { AUDIENCE, ISSUER, JwksServer, newKey, signToken } from './__tests__/token-fixtures.js';
import { InvalidTokenError } from './invalid-token.error.js';
import type { RemoteKeySource } from './key-set.js';
import { TokenVerifier } from './token-verifier.js';

/** Remote JWKS behaviour, against a real HTTP server: caching, rotation, cooldown, outages. */
describe('TokenVerifier with a remote JWKS', () => {
  const servers: JwksServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  async function setup(
    keys: Omit<RemoteKeySource, 'url'> = {},
  ): Promise<{ server: JwksServer; verifier: TokenVerifier; key: Awaited<ReturnType<typeof newKey>> }> {
    const key = await newKey();
    const server = await JwksServer.start([key.publicJwk]);
    servers.push(server);
    const verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { url: server.url, ...keys } });
    return { server, verifier, key };
  }

  async function reasonOf(action: Promise<unknown>): Promise<string> {
    const error = await action.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toBeInstanceOf(InvalidTokenError);
    return (error as InvalidTokenError).reason;
  }

  it('fetches the key set once and serves later tokens from the cache', async () => {
    const { server, verifier, key } = await setup();
    for (let i = 0; i < 3; i++) await verifier.verify(await signToken(key));
    expect(server.hits).toBe(1);
  });

  it('accepts a token signed by a rotated-in key after refetching the set', async () => {
    const { server, verifier, key } = await setup({ cooldownMs: 0 });
    await verifier.verify(await signToken(key));
    const next = await newKey();
    server.keys = [key.publicJwk, next.publicJwk];
    await expect(verifier.verify(await signToken(next))).resolves.toBeDefined();
    expect(server.hits).toBe(2);
    // The old key keeps working until identity stops publishing it.
    await expect(verifier.verify(await signToken(key))).resolves.toBeDefined();
  });

  it('refetches once for an unknown kid, then rejects it', async () => {
    const { server, verifier, key } = await setup({ cooldownMs: 0 });
    await verifier.verify(await signToken(key));
    expect(await reasonOf(verifier.verify(await signToken(await newKey('garbage'))))).toBe('unknown-key');
    expect(server.hits).toBe(2);
  });

  it('does not refetch for unknown kids during the cooldown, so garbage cannot hammer identity', async () => {
    const { server, verifier, key } = await setup({ cooldownMs: 60_000 });
    await verifier.verify(await signToken(key));
    for (let i = 0; i < 5; i++) {
      expect(await reasonOf(verifier.verify(await signToken(await newKey(`garbage-${i}`))))).toBe('unknown-key');
    }
    expect(server.hits).toBe(1);
  });

  describe('when identity is down', () => {
    it('keeps accepting cached keys and rejects uncached ones', async () => {
      const { server, verifier, key } = await setup({ cooldownMs: 0 });
      await verifier.verify(await signToken(key));
      await server.stop();
      await expect(verifier.verify(await signToken(key))).resolves.toBeDefined();
      expect(await reasonOf(verifier.verify(await signToken(await newKey())))).toBe('unknown-key');
    });

    it('serves the last fetched set even once it is past its max age, and warns once', async () => {
      const { server, key } = await setup();
      const warn = jest.fn();
      const verifier = new TokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: { url: server.url, cacheMaxAgeMs: 0, cooldownMs: 0 },
        logger: { warn } as unknown as Logger,
      });
      await verifier.verify(await signToken(key));
      await server.stop();
      await expect(verifier.verify(await signToken(key))).resolves.toBeDefined();
      await expect(verifier.verify(await signToken(key))).resolves.toBeDefined();
      expect(await reasonOf(verifier.verify(await signToken(await newKey())))).toBe('unknown-key');
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('rejects every token while it has never reached identity, and recovers when identity is up', async () => {
      const { server, verifier, key } = await setup();
      await server.stop();
      expect(await reasonOf(verifier.verify(await signToken(key)))).toBe('keys-unavailable');
      await server.resume();
      await expect(verifier.verify(await signToken(key))).resolves.toBeDefined();
    });

    it('fetches again after the outage and learns keys rotated in meanwhile', async () => {
      const { server, verifier, key } = await setup({ cooldownMs: 0 });
      await verifier.verify(await signToken(key));
      await server.stop();
      await expect(verifier.verify(await signToken(key))).resolves.toBeDefined();
      const next = await newKey();
      server.keys = [key.publicJwk, next.publicJwk];
      await server.resume();
      await expect(verifier.verify(await signToken(next))).resolves.toBeDefined();
    });

    it('rejects with keys-unavailable when the fetch times out and nothing is cached', async () => {
      const { server, verifier, key } = await setup({ timeoutMs: 200 });
      server.hang = true;
      expect(await reasonOf(verifier.verify(await signToken(key)))).toBe('keys-unavailable');
    });

    it('rejects with keys-unavailable when identity answers with an error', async () => {
      const key = await newKey();
      const verifier = new TokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        // Same server, a path it answers with 404.
        keys: { url: (await setup()).server.url.replace('jwks.json', 'missing.json') },
      });
      expect(await reasonOf(verifier.verify(await signToken(key)))).toBe('keys-unavailable');
    });
  });
});
