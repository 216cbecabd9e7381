import type { Router } from 'express';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { EventBus, Subscription } from '../events/bus.js';
import { RevocationList, type RevocationSnapshot } from '../auth/revocation-list.js';
import { remoteRevocations, REVOCATIONS_PATH, RevocationSync, type RevocationSource } from '../auth/revocation-sync.js';
export { REVOCATIONS_PATH };
import { serviceOrigin } from './locate.js';

/**
 * The access-token contract. One module issues the platform's access tokens (identity; which one
 * is `auth.tokenService`). Every other service, and the gateway, reaches it the same way:
 * - its public keys at {@link JWKS_PATH} (or `auth.jwksUrl`), for verifying tokens;
 * - the revocations of the last access-token lifetime at {@link REVOCATIONS_PATH} (`?since=<ms>`,
 *   service credential), read every third of `auth.revocationBoundSec`;
 * - its events `<service>.session.revoked` `{ sessionId }` and `<service>.user.deleted`
 *   `{ userId }`, heard at once on the bus.
 * The module that issues tokens declares them with `defineModule({ contracts: { accessTokens } })`:
 * the kernel then serves both routes for it and reads its keys and revocations in process.
 */
export interface AccessTokenProvider {
  /** The public keys tokens are signed with (those about to sign included). */
  keys(): JSONWebKeySet | Promise<JSONWebKeySet>;
  /** Revocations made since `sinceMs` (all those still in force without it). */
  revocations: RevocationSource;
}

export const JWKS_PATH = '/.well-known/jwks.json';

/** The events a token issuer announces revocations with. */
export function revocationTopics(config: PlatformConfig): { sessionRevoked: string; userDeleted: string } {
  const service = config.auth.tokenService;
  return { sessionRevoked: `${service}.session.revoked`, userDeleted: `${service}.user.deleted` };
}

/** How long a revocation matters: no access token issued before it outlives this. */
export const revocationHoldMs = (config: PlatformConfig): number => (config.auth.accessTokenTtlSec + 60) * 1000;

/** The token issuer's origin: from `auth.jwksUrl`, else where `services.<auth.tokenService>` is. */
export function tokenServiceOrigin(config: PlatformConfig): string | undefined {
  return config.auth.jwksUrl ? new URL(config.auth.jwksUrl).origin : serviceOrigin(config, config.auth.tokenService);
}

/** Where the token issuer's public keys are read. */
export function jwksUrlOf(config: PlatformConfig): string | undefined {
  if (config.auth.jwksUrl) return config.auth.jwksUrl;
  const origin = tokenServiceOrigin(config);
  return origin ? `${origin}${JWKS_PATH}` : undefined;
}

/**
 * Where a token verifier reads the keys: the token service's, or, where its address is not known
 * (a lone test service on a free port), a loopback port nothing listens on, so verifying a token
 * fails at once.
 */
export const verifierJwksUrl = (config: PlatformConfig): string =>
  jwksUrlOf(config) ?? `http://127.0.0.1:0${JWKS_PATH}`;

/** What a service learned was revoked (a session, or every session of a user before a moment). */
export interface Revoked {
  sessions: string[];
  users: Array<{ id: string; revokedAtMs: number }>;
}

export interface RevocationsOptions {
  config: PlatformConfig;
  bus: EventBus;
  logger: Logger;
  /** Where revocations are read: the issuer's own database in the issuer, else its route (below). */
  source?: RevocationSource;
  /** The deployment's service credential, for the issuer's internal route. */
  credential: string;
  /** Hears every revocation as it arrives, by event or by read (the gateway closes sockets). */
  onRevoked?: (revoked: Revoked) => void;
  /** Hears each failed read. */
  onFailure?: (error: unknown) => void;
}

/** A service's revocations: the list its token verifier checks, and what keeps it complete. */
export interface Revocations {
  readonly list: RevocationList;
  /** Undefined when the issuer's address is not known (a lone test service): events only. */
  readonly sync: RevocationSync | undefined;
  close(): Promise<void>;
}

/**
 * Keeps one service's revocation list complete, the same way in every subgraph and the gateway:
 * the issuer's events (a broadcast: every instance hears each) make a revocation hold at once,
 * and a read of the issuer's revocations every third of `auth.revocationBoundSec` makes sure
 * none is missed for longer than that, bus or no bus.
 */
export async function startRevocations(options: RevocationsOptions): Promise<Revocations> {
  const { config, bus, logger, onRevoked } = options;
  const list = new RevocationList({ holdMs: revocationHoldMs(config) });
  const topics = revocationTopics(config);
  const listeners: Subscription[] = [];
  let sync: RevocationSync | undefined;
  const close = async (): Promise<void> => {
    sync?.close();
    await Promise.all(listeners.splice(0).map((listener) => listener.close()));
  };
  try {
    listeners.push(
      await bus.listen(topics.sessionRevoked, (event) => {
        const { sessionId } = event.payload as { sessionId?: unknown };
        if (typeof sessionId !== 'string') return;
        list.revokeSession(sessionId);
        onRevoked?.({ sessions: [sessionId], users: [] });
      }),
      await bus.listen(topics.userDeleted, (event) => {
        const { userId } = event.payload as { userId?: unknown };
        if (typeof userId !== 'string') return;
        const revokedAtMs = Date.parse(event.occurredAt);
        list.revokeUser(userId, undefined, revokedAtMs);
        onRevoked?.({ sessions: [], users: [{ id: userId, revokedAtMs }] });
      }),
    );
    const origin = tokenServiceOrigin(config);
    const source =
      options.source ?? (origin ? remoteRevocations({ url: () => origin, credential: options.credential }) : undefined);
    if (source) {
      sync = new RevocationSync({
        revocations: list,
        source,
        logger,
        boundMs: config.auth.revocationBoundSec * 1000,
        onRevoked,
        onFailure: options.onFailure,
      });
      await sync.start();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { list, sync, close };
}

/** The issuer's answer at {@link REVOCATIONS_PATH}. */
export type RevocationsAnswer = RevocationSnapshot & { asOfMs: number };

/**
 * The issuer's side of the contract, served by the kernel for the module that provides it:
 * its public keys (cached briefly by callers, refetched on an unknown kid), and the revocations
 * since `?since=<ms>` (services only: the kernel checks the service credential on /internal/*;
 * the gateway does not route it).
 */
export function serveAccessTokens(router: Router, provider: AccessTokenProvider): void {
  router.get(JWKS_PATH, async (_req, res, next) => {
    try {
      res.set('cache-control', 'public, max-age=300').json(await provider.keys());
    } catch (error) {
      next(error);
    }
  });
  router.get(REVOCATIONS_PATH, async (req, res, next) => {
    const since =
      typeof req.query.since === 'string' && /^\d{1,15}$/.test(req.query.since) ? Number(req.query.since) : undefined;
    try {
      const { snapshot, asOfMs } = await provider.revocations(since);
      const answer: RevocationsAnswer = { ...snapshot, asOfMs };
      res.set('cache-control', 'no-store').json(answer);
    } catch (error) {
      next(error);
    }
  });
}
