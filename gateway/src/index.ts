import './no-telemetry.js';

export { startGateway, type GatewayHandle, type StartGatewayOptions } from './gateway.js';
export type { GatewaySubscriptionStats } from './subscriptions/server.js';
export { ForwardingDataSource, type GatewayContext } from './data-source.js';
