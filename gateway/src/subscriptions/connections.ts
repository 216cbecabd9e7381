import { CloseCode, SESSION_REVOKED, type CloseReason, type SocketUser } from '@platform/kernel/gateway';

/** One client socket, as the registry knows it. */
export interface RegisteredSocket {
  readonly user: SocketUser | undefined;
  close(reason: CloseReason): void;
}

export const TOO_MANY_CONNECTIONS = (max: number): CloseReason => ({
  code: CloseCode.TooManyConnections,
  reason: `Too many connections: at most ${max} per user`,
});

/**
 * The gateway's open client sockets by user, for the per-user connection limit and for closing a
 * revoked session's sockets as soon as the revocation is heard.
 */
export class SocketRegistry {
  readonly #byUser = new Map<string, Set<RegisteredSocket>>();
  readonly #all = new Set<RegisteredSocket>();
  readonly #maxPerUser: number;

  constructor(maxPerUser: number) {
    this.#maxPerUser = maxPerUser;
  }

  get size(): number {
    return this.#all.size;
  }

  /** Adds a socket; false (nothing added) when its user already holds the maximum. */
  add(socket: RegisteredSocket): boolean {
    const userId = socket.user?.id;
    if (userId) {
      const mine = this.#byUser.get(userId) ?? new Set();
      if (mine.size >= this.#maxPerUser) return false;
      mine.add(socket);
      this.#byUser.set(userId, mine);
    }
    this.#all.add(socket);
    return true;
  }

  remove(socket: RegisteredSocket): void {
    if (!this.#all.delete(socket)) return;
    const userId = socket.user?.id;
    if (!userId) return;
    const mine = this.#byUser.get(userId);
    mine?.delete(socket);
    if (mine?.size === 0) this.#byUser.delete(userId);
  }

  /** Closes (4403) every socket of a revoked session. */
  revokeSession(sessionId: string): number {
    const id = sessionId.toLowerCase();
    return this.#closeWhere((user) => user.sessionId === id);
  }

  /** Closes (4403) a user's sockets whose tokens were issued up to `revokedAtMs`. */
  revokeUser(userId: string, revokedAtMs: number): number {
    const id = userId.toLowerCase();
    return this.#closeWhere((user) => user.id === id && user.iat <= Math.floor(revokedAtMs / 1000));
  }

  #closeWhere(matches: (user: SocketUser) => boolean): number {
    let closed = 0;
    for (const socket of [...this.#all]) {
      if (socket.user && matches(socket.user)) {
        socket.close(SESSION_REVOKED);
        closed++;
      }
    }
    return closed;
  }
}
