// The supergraph every system suite shares, as `npm start` runs it: each service live, ready and
// measured, and one cross-subgraph query through the gateway.
import { describe, expect, it } from '@jest/globals';
import { systemStack } from './stack.js';

const stack = systemStack();

describe('the system stack (npm start)', () => {
  it.each([['gateway', stack.gateway], ...Object.entries(stack.subgraphs)])(
    '%s answers /healthz, /ready and /metrics',
    async (_name, origin) => {
      expect((await fetch(`${origin}/healthz`)).status).toBe(200);
      expect((await fetch(`${origin}/ready`)).status).toBe(200);
      const metrics = await fetch(`${origin}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# HELP /m);
    },
  );

  it('answers a query that spans the blog and identity subgraphs', async () => {
    const response = await fetch(`${stack.gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ posts(first: 2) { edges { node { title author { displayName } } } } }' }),
    });
    const body = (await response.json()) as {
      data?: { posts: { edges: Array<{ node: { title: string; author: { displayName: string } } }> } };
    };
    expect(body.data?.posts.edges).toHaveLength(2);
    for (const { node } of body.data!.posts.edges) expect(node.author.displayName).toEqual(expect.any(String));
  });
});
