import {
  createEventBus,
  remoteRevocations,
  revocationHoldMs,
  RevocationList,
  RevocationSync,
  TokenVerifier,
  type EventBus,
  type Logger,
  type PlatformConfig,
} from '@platform/kernel';
import type { SocketRegistry } from './connections.js';

export interface GatewayAuth {
  verifier: TokenVerifier;
  revocations: RevocationList;
  /** Keeps `revocations` complete within the bound (undefined when identity's URL is unknown). */
  sync: RevocationSync | undefined;
  /** Where identity's public keys are read. */
  jwksUrl: string;
  /** The gateway's event bus (closed with the rest). */
  bus: EventBus;
  close(): Promise<void>;
}

/** identity's origin, from the configured key set URL or identity's service URL. */
function identityOrigin(config: PlatformConfig): string | undefined {
  const url = config.auth.jwksUrl ?? config.services.identity?.url;
  return url ? new URL(url).origin : undefined;
}

/**
 * Token verification for sockets, and the revocations that end them. The gateway listens on the
 * bus (a broadcast: every gateway instance hears every revocation, with Redis or in process) and
 * closes the revoked session's sockets at once; it also reads identity's revocations every third
 * of `auth.revocationBoundSec` (with the service credential), so a revocation the bus lost or
 * made before this instance started closes its sockets within the bound. A socket is also refused
 * at `connection_init` with a revoked token, and subgraphs check again at each event.
 */
export async function startGatewayAuth(
  config: PlatformConfig,
  sockets: SocketRegistry,
  logger: Logger,
  credential: string,
): Promise<GatewayAuth> {
  const origin = identityOrigin(config);
  const revocations = new RevocationList({ holdMs: revocationHoldMs(config) });
  const bus = createEventBus({ config, module: 'gateway', logger });
  const cleanups: Array<() => Promise<void> | void> = [() => bus.close()];
  let sync: RevocationSync | undefined;
  try {
    const listeners = await Promise.all([
      bus.listen('identity.session.revoked', (event) => {
        const { sessionId } = event.payload as { sessionId?: unknown };
        if (typeof sessionId !== 'string') return;
        revocations.revokeSession(sessionId);
        const closed = sockets.revokeSession(sessionId);
        if (closed > 0) logger.info({ sessionId, sockets: closed }, 'sockets of a revoked session closed');
      }),
      bus.listen('identity.user.deleted', (event) => {
        const { userId } = event.payload as { userId?: unknown };
        if (typeof userId !== 'string') return;
        const revokedAtMs = Date.parse(event.occurredAt);
        revocations.revokeUser(userId, undefined, revokedAtMs);
        sockets.revokeUser(userId, revokedAtMs);
      }),
    ]);
    cleanups.push(async () => {
      await Promise.all(listeners.map((listener) => listener.close()));
    });
    if (origin) {
      sync = new RevocationSync({
        revocations,
        source: remoteRevocations({ url: () => origin, credential }),
        logger,
        boundMs: config.auth.revocationBoundSec * 1000,
        onRevoked: ({ sessions, users }) => {
          for (const sessionId of sessions) sockets.revokeSession(sessionId);
          for (const user of users) sockets.revokeUser(user.id, user.revokedAtMs);
        },
      });
      await sync.start();
      const started = sync;
      cleanups.push(() => started.close());
    }
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw error;
  }
  const jwksUrl = config.auth.jwksUrl ?? `${origin ?? 'http://127.0.0.1:4001'}/.well-known/jwks.json`;
  const verifier = new TokenVerifier({
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    keys: { url: jwksUrl },
    revocations,
    freshness: sync,
    logger,
  });
  return {
    verifier,
    revocations,
    sync,
    jwksUrl,
    bus,
    close: async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
