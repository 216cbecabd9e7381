import type { GraphQLDataSource, ServiceMap } from '@apollo/gateway';
import type { GatewayContext } from '../../data-source.js';

type Response = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** How long an event's entity answers stay shareable: long enough for every subscriber's completion. */
const KEEP_MS = 5_000;

/**
 * Completing one event for many subscribers asks the same subgraphs the same questions (e.g. the
 * post's `author` from identity, once per subscriber). Subscribers with the SAME credentials
 * (authorization, address, agent: everything that could change an answer) share one call per
 * event and question; anyone else asks for themselves, so users' permissions never mix. Each
 * subscriber gets its own copy of the answer, which the gateway then mutates freely.
 */
export class SharedFetches {
  readonly #answers = new Map<string, Promise<Response>>();

  /** Fetches made in place of the subgraphs', for the completion of the event `eventKey`. */
  services(services: ServiceMap, eventKey: string | undefined): ServiceMap {
    if (eventKey === undefined) return services;
    return Object.fromEntries(
      Object.entries(services).map(([name, source]) => [name, this.#shared(name, source, eventKey)]),
    );
  }

  #shared(name: string, source: GraphQLDataSource, eventKey: string): GraphQLDataSource {
    return {
      process: async (options) => {
        const context = options.context as Partial<GatewayContext>;
        const key = JSON.stringify([
          eventKey,
          name,
          options.request.query,
          options.request.variables,
          context.authorization ?? null,
          context.clientIp ?? null,
          context.userAgent ?? null,
        ]);
        let answer = this.#answers.get(key);
        if (!answer) {
          answer = source.process(options);
          this.#answers.set(key, answer);
          const forget = (): void => {
            setTimeout(() => this.#answers.delete(key), KEEP_MS).unref();
          };
          answer.then(forget, () => this.#answers.delete(key));
        }
        // Only the GraphQL parts: the HTTP side of the answer is not needed here (nor cloneable).
        const { data, errors, extensions } = await answer;
        return structuredClone({ data, errors, extensions });
      },
    };
  }
}
