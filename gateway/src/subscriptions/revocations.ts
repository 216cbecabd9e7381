import { type Logger, type PlatformConfig } from '@platform/kernel';
import {
  createEventBus,
  jwksUrlOf,
  startRevocations,
  TokenVerifier,
  verifierJwksUrl,
  type EventBus,
  type RevocationList,
  type RevocationSync,
} from '@platform/kernel/gateway';
import type { SocketRegistry } from './connections.js';

export interface GatewayAuth {
  verifier: TokenVerifier;
  revocations: RevocationList;
  /** Keeps `revocations` complete within the bound (undefined when the token service's address is unknown). */
  sync: RevocationSync | undefined;
  /** Where the token service's public keys are read (undefined when its address is unknown). */
  jwksUrl: string | undefined;
  /** The gateway's event bus (closed with the rest). */
  bus: EventBus;
  close(): Promise<void>;
}

/**
 * Token verification for sockets, and the revocations that end them: the kernel's access-token
 * contract, as every subgraph uses it (startRevocations), plus closing the revoked sessions'
 * sockets as each revocation arrives, by event (every gateway instance hears each) or by the
 * periodic read, so a revocation the bus lost or made before this instance started closes its
 * sockets within the bound. A socket is also refused at `connection_init` with a revoked token,
 * and subgraphs check again at each event.
 */
export async function startGatewayAuth(
  config: PlatformConfig,
  sockets: SocketRegistry,
  logger: Logger,
  credential: string,
): Promise<GatewayAuth> {
  const bus = createEventBus({ config, module: 'gateway', logger });
  let revocations: Awaited<ReturnType<typeof startRevocations>>;
  try {
    revocations = await startRevocations({
      config,
      bus,
      logger,
      credential,
      onRevoked: ({ sessions, users }) => {
        let closed = 0;
        for (const sessionId of sessions) closed += sockets.revokeSession(sessionId);
        for (const user of users) sockets.revokeUser(user.id, user.revokedAtMs);
        if (closed > 0) logger.info({ sessions, sockets: closed }, 'sockets of revoked sessions closed');
      },
    });
  } catch (error) {
    await bus.close();
    throw error;
  }
  const jwksUrl = jwksUrlOf(config);
  const verifier = new TokenVerifier({
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    keys: { url: verifierJwksUrl(config) },
    revocations: revocations.list,
    freshness: revocations.sync,
    logger,
  });
  return {
    verifier,
    revocations: revocations.list,
    sync: revocations.sync,
    jwksUrl,
    bus,
    close: async () => {
      await revocations.close();
      await bus.close();
    },
  };
}
