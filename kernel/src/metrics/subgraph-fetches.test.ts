import { describe, expect, it } from '@jest/globals';
import { ServiceMetrics } from './metrics.js';
import { SubgraphFetchMetrics } from './subgraph-fetches.js';

/** The number of calls observed with `labels`, from the histogram's `_count` series (undefined: no series). */
const count = async (fetches: SubgraphFetchMetrics, labels: Record<string, string>): Promise<number | undefined> =>
  (await fetches.duration.get()).values.find(
    (v) =>
      v.metricName === 'subgraph_fetch_duration_seconds_count' && JSON.stringify(v.labels) === JSON.stringify(labels),
  )?.value;

describe('SubgraphFetchMetrics', () => {
  it('starts each subgraph at 0 and times each call by its HTTP status, or error when none came', async () => {
    const metrics = new ServiceMetrics('gateway');
    const fetches = new SubgraphFetchMetrics(metrics, ['identity', 'blog']);
    expect(await count(fetches, { subgraph: 'identity', status: '200' })).toBe(0);
    expect(await count(fetches, { subgraph: 'blog', status: '200' })).toBe(0);

    const answers = [{ status: 200 }, { status: 503 }];
    const blog = fetches.timed('blog', async (url: string) => {
      if (url === 'down') throw new Error('ECONNREFUSED');
      return answers.shift()!;
    });
    await expect(blog('up')).resolves.toEqual({ status: 200 });
    await expect(blog('up')).resolves.toEqual({ status: 503 });
    await expect(blog('down')).rejects.toThrow('ECONNREFUSED');
    expect(await count(fetches, { subgraph: 'blog', status: '200' })).toBe(1);
    expect(await count(fetches, { subgraph: 'blog', status: '503' })).toBe(1);
    expect(await count(fetches, { subgraph: 'blog', status: 'error' })).toBe(1);
    expect(await count(fetches, { subgraph: 'identity', status: '200' })).toBe(0);
  });
});
