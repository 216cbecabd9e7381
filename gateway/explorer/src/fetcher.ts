/**
 * GraphiQL's fetcher for the gateway: queries and mutations over HTTP, subscriptions over
 * graphql-ws on the same path, each socket's `connection_init` carrying the headers editor's
 * contents (so `Authorization` reaches the gateway, which cannot read headers on a WebSocket).
 */
import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';

type Outcome = Awaited<ReturnType<Fetcher>>;

/**
 * A socket that never opened fails with a bare DOM `Event` ("{ isTrusted: true }" in the result
 * pane); say what happened instead. Close events are explained by the toolkit already.
 */
function explained(error: unknown, socketUrl: string): unknown {
  if (error instanceof Error || (error as { code?: unknown })?.code !== undefined) return error;
  if ((error as { type?: unknown })?.type === 'error') {
    return new Error(
      `The WebSocket to ${socketUrl} could not be opened: the gateway refused the upgrade or is unreachable (the browser console says which).`,
    );
  }
  return error;
}

async function* explainedStream<T>(stream: AsyncIterable<T>, socketUrl: string): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    throw explained(error, socketUrl);
  }
}

export function gatewayFetcher(endpoint: URL): Fetcher {
  const socket = new URL(endpoint);
  socket.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
  const fetcher = createGraphiQLFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
    // The gateway answers with one JSON result (no @defer/@stream).
    enableIncrementalDelivery: false,
  });
  return async (params, options) => {
    const outcome: Outcome = await fetcher(params, options);
    if (outcome && typeof outcome === 'object' && Symbol.asyncIterator in outcome) {
      return explainedStream(outcome as AsyncIterable<never>, socket.href) as Outcome;
    }
    return outcome;
  };
}
