export { CloseCode } from './close-codes.js';
export {
  admitSocket,
  bearerToken,
  expiryTimer,
  sessionProblem,
  socketUser,
  SESSION_REVOKED,
  TOKEN_EXPIRED,
  TOKEN_INVALID,
  type Admission,
  type CloseReason,
  type SocketUser,
} from './connection.js';
export { EventStream, mapStream } from './event-stream.js';
export { guardSubscriptionFields } from './guard.js';
export { createPubSub, PlatformPubSub, publishedAtOf, type PubSubStats } from './pubsub.js';
export { ACCESS_DENIED_CODES, errorCodes, maskResult } from './results.js';
export { attachWebSocketServer, type AttachedSockets } from './socket-server.js';
export {
  serveSubgraphSubscriptions,
  type SubgraphSubscriptionsOptions,
  type SubscriptionServer,
  type SubscriptionServerStats,
} from './subgraph-server.js';
