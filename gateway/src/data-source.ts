import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Context } from '@opentelemetry/api';
import { injectTraceHeaders } from '@platform/kernel';

/** What the gateway keeps of an incoming request to pass on to subgraphs. */
export interface GatewayContext {
  requestId: string;
  authorization?: string;
  /** The caller's address as the gateway saw it (behind trusted proxies: the original client). */
  clientIp?: string;
  userAgent?: string;
  /** The OpenTelemetry context of the incoming request (its server span). */
  trace: Context;
}

/**
 * Calls one subgraph, forwarding the caller's `Authorization`, the request id and the W3C
 * trace context, so the subgraph authenticates the same user and its logs and spans join the
 * gateway's; and the client's address and user agent (as `X-Forwarded-For`, which subgraphs
 * trust from private addresses only), for sessions, rate limits and audit records.
 */
export class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers || !context || !('requestId' in context)) return;
    const gateway = context as GatewayContext;
    headers.set('x-request-id', gateway.requestId);
    if (gateway.authorization) headers.set('authorization', gateway.authorization);
    if (gateway.clientIp) headers.set('x-forwarded-for', gateway.clientIp);
    if (gateway.userAgent) headers.set('user-agent', gateway.userAgent);
    for (const [name, value] of Object.entries(injectTraceHeaders({}, gateway.trace))) headers.set(name, value);
  }
}
