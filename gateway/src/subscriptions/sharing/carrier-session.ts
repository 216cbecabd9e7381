import { randomUUID } from 'node:crypto';
import type { GraphQLDataSource, ServiceMap } from '@apollo/gateway';
import { context as otelContext } from '@opentelemetry/api';
import { PERMISSIONS_EXTENSION } from '@platform/kernel/gateway';
import type { SocketSession } from '../federated.js';
import { UNAVAILABLE } from '../upstream.js';
import type { Carrier, GroupSpec } from './group-state.js';
import type { SharedFetches } from './shared-fetches.js';

/**
 * What a group's carrier lends the federated path: its upstream connections and credentials
 * (in shared-answer mode for a shared group), the group's say on which upstream events to
 * complete, and data sources whose answers are shared by completions of the same event with the
 * same credentials and, for a shared group, checked to be for the event's permission set.
 */
export function carrierSession(carrier: Carrier, spec: GroupSpec, fetches: SharedFetches): SocketSession {
  // The gateway's data sources are the same for every event: wrapped once.
  let verified: { of: ServiceMap; services: ServiceMap } | undefined;
  const checked = (services: ServiceMap): ServiceMap => {
    if (!spec.fingerprint) return services;
    if (verified?.of !== services) verified = { of: services, services: verifiedServices(services, carrier) };
    return verified.services;
  };
  return {
    upstream: carrier.upstream,
    gatewayContext: () => ({
      ...carrier.identity,
      requestId: randomUUID(),
      trace: otelContext.active(),
      ...(spec.fingerprint ? { sharedAnswer: true } : {}),
    }),
    delivered: (field, publishedAt) => carrier.report({ field, publishedAt }),
    accept: carrier.accept,
    services: (services, eventKey) => fetches.services(checked(services), eventKey),
  };
}

/**
 * The data sources of a shared group's completions: each answer must have been made for the same
 * permission set as the event it completes (the subgraph names the set it used, when it used
 * one); any other is dropped and the group told, so no result mixes two sets.
 */
function verifiedServices(services: ServiceMap, carrier: Carrier): ServiceMap {
  return Object.fromEntries(
    Object.entries(services).map(([name, source]): [string, GraphQLDataSource] => [
      name,
      {
        process: async (options) => {
          const response = await source.process(options);
          const used = response.extensions?.[PERMISSIONS_EXTENSION];
          if (used === undefined || used === carrier.answerFingerprint()) return response;
          carrier.mismatch();
          // In place of an answer made for another permission set: the masked internal error.
          return UNAVAILABLE as typeof response;
        },
      },
    ]),
  );
}
