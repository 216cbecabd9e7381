import { Histogram } from 'prom-client';
import type { ServiceMetrics } from './metrics.js';

/**
 * The gateway's calls to subgraphs: `subgraph_fetch_duration_seconds{subgraph,status}`, one
 * observation per HTTP call (a query plan makes one per fetch node), `status` the HTTP status or
 * `error` when no answer came (refused, reset, timed out). A subgraph's own view of the same calls
 * is its `http_request_duration_seconds{route="/graphql"}`; the gap between the two is the network
 * and the gateway's queueing.
 */
export class SubgraphFetchMetrics {
  readonly duration: Histogram<'subgraph' | 'status'>;

  /** `subgraphs`: each starts with an empty `status="200"` series, so dashboards see it before its first call. */
  constructor(metrics: ServiceMetrics, subgraphs: readonly string[]) {
    this.duration = new Histogram({
      name: 'subgraph_fetch_duration_seconds',
      help: "Duration of the gateway's HTTP calls to a subgraph, by subgraph and HTTP status (error: no answer)",
      labelNames: ['subgraph', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metrics.registry],
    });
    for (const subgraph of subgraphs) this.duration.zero({ subgraph, status: '200' });
  }

  /** `fetcher`, timing each call it makes to `subgraph`. */
  timed<Args extends unknown[], Answer extends { status: number }>(
    subgraph: string,
    fetcher: (...args: Args) => Promise<Answer>,
  ): (...args: Args) => Promise<Answer> {
    return async (...args) => {
      const end = this.duration.startTimer({ subgraph });
      try {
        const answer = await fetcher(...args);
        end({ status: String(answer.status) });
        return answer;
      } catch (error) {
        end({ status: 'error' });
        throw error;
      }
    };
  }
}
