/**
 * WebSocket close codes of the platform's graphql-ws endpoints (gateway and subgraphs). They
 * reuse graphql-ws's reserved codes with the meaning that library gives them, so its client
 * reacts sensibly: 4401 and 4429 are fatal (no automatic reconnect with the same credentials),
 * 4403 is retried, and a retry with a revoked token is then refused with 4401.
 */
export const CloseCode = {
  /** The access token is invalid, or expired while the socket was open: sign in or refresh, then reconnect. */
  Unauthorized: 4401,
  /** The session was revoked (logout, revokeSession, password change) or the user deleted. */
  SessionRevoked: 4403,
  /** No `connection_init` within `connectionInitTimeoutMs` (graphql-ws's own code). */
  InitTimeout: 4408,
  /** The user already holds `maxConnectionsPerUser` sockets. */
  TooManyConnections: 4429,
  /** The server is shutting down; reconnect (to another instance). */
  GoingAway: 1001,
  /** Sessions cannot be checked right now (identity unreachable beyond the revocation bound): retry later. */
  TryAgainLater: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
