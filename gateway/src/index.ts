import './no-telemetry.js';

export { startGateway, type StartGatewayOptions } from './gateway.js';
export { ForwardingDataSource, type GatewayContext } from './data-source.js';
