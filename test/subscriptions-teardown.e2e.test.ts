import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { eventually } from '@platform/kernel/testing';
import { collect, openSocket } from './fixtures/subscriptions-client.js';
import { startSecondProcess, type SecondProcess } from './second-process.js';
import {
  createPost,
  gateway,
  platform,
  POST_CREATED,
  tokens,
  useSubscriptionPlatform,
  socketAt,
  type PostEvent,
  userIds,
} from './fixtures/subscriptions-suite.js';

/** What a feed failed with: graphql-ws hands over a CloseEvent, GraphQL errors or an Error. */
function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  const event = error as { code?: unknown; reason?: unknown } | null;
  if (event && typeof event === 'object' && 'code' in event)
    return `closed ${String(event.code)} ${String(event.reason)}`;
  return JSON.stringify(error);
}

/**
 * Nothing left behind: 1,000 connect/subscribe/disconnect cycles end with every counter at zero
 * (200 with `gateway.subscriptions.sharing` off: nothing there outlives its socket by design),
 * and (on Redis) events cross from one gateway and blog process to another.
 */
describe.each([
  { sharing: true, CYCLES: 1000 },
  { sharing: false, CYCLES: 200 },
])('gateway.subscriptions.sharing: $sharing', ({ sharing, CYCLES }) => {
  useSubscriptionPlatform({}, { sharing });

  describe('teardown', () => {
    it(`leaves no socket, subscription, pub/sub stream or channel behind after ${CYCLES} connect/subscribe/disconnect cycles`, async () => {
      const blog = platform.subgraphs.blog!;
      /** No socket, subscription, upstream socket, pub/sub stream or channel, in the gateway or in blog. */
      const nothingLeft = async (): Promise<void> => {
        expect(gateway.subscriptionStats()).toEqual({
          sockets: 0,
          connections: 0,
          subscriptions: 0,
          upstreamSockets: 0,
        });
        expect(blog.subscriptionStats()).toEqual({
          connections: 0,
          subscriptions: 0,
          pubsub: { streams: 0, channels: 0 },
        });
      };
      await eventually(nothingLeft);
      const BATCH = 50;
      // Half the sockets run an operation with a per-caller field (`email`) under distinct user
      // agents: each its own group and upstream subscription. The other half share one group
      // (guests hold the same permissions), carried by two upstream subscriptions; without sharing,
      // each its own too.
      const PER_CALLER = 'subscription { postCreated { id author { email } } }';
      for (let done = 0; done < CYCLES; done += BATCH) {
        const batch = Array.from({ length: BATCH }, (_, i) =>
          openSocket(platform.gateway.url, undefined, `cycle-${done + i}`),
        );
        const feeds = batch.map((s, i) => collect(s.client, i % 2 === 0 ? PER_CALLER : POST_CREATED));
        // Every cycle really subscribed, all the way to blog's pub/sub.
        await eventually(
          async () => expect(blog.subscriptionStats().pubsub.streams).toBe(sharing ? BATCH / 2 + 2 : BATCH),
          10_000,
        );
        // None failed; a failure says what it was (a close code, a refusal).
        const failed = feeds.flatMap((feed) => (feed.error === undefined ? [] : [describeFailure(feed.error)]));
        expect({ done, failed: failed.slice(0, 3), count: failed.length }).toEqual({ done, failed: [], count: 0 });
        await Promise.all(batch.map((s) => s.dispose()));
      }
      await eventually(nothingLeft, 10_000);
      if (process.env.REDIS_URL) {
        // No Redis channel subscription left either.
        const redis = new Redis(process.env.REDIS_URL);
        try {
          const channel = `${blog.runtime.platform.redis.keyPrefix}:pubsub:blog.postCreated`;
          expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
        } finally {
          redis.disconnect();
        }
      }
      const metrics = await (await fetch(`${platform.gateway.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/graphql_ws_connections_active\{[^}]*\} 0/);
      expect(metrics).toMatch(/graphql_subscriptions_active\{[^}]*\} 0/);
    }, 120_000);
  });

  // Across processes: once, with sharing on (the second process runs the default).
  if (sharing && process.env.REDIS_URL) {
    describe('across processes on Redis', () => {
      let second: SecondProcess | undefined;

      afterAll(async () => {
        await second?.stop();
      });

      it('delivers a post created through gateway 1 / blog 1 to a subscriber on gateway 2 / blog 2', async () => {
        second = await startSecondProcess(platform);
        const redis = new Redis(process.env.REDIS_URL!);
        try {
          const channel = `${platform.subgraphs.blog!.runtime.platform.redis.keyPrefix}:pubsub:blog.postCreated`;
          const numsub = async (): Promise<number> => {
            const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
            return Number(count);
          };
          expect(await numsub()).toBe(0);
          const remote = socketAt(second.gatewayUrl, tokens.reader);
          const feed = collect<PostEvent>(remote.client, POST_CREATED);
          // Blog 2 (the other process) subscribed its channel; blog 1 has no subscriber.
          await eventually(async () => expect(await numsub()).toBe(1), 10_000);
          expect(platform.subgraphs.blog!.subscriptionStats().pubsub.channels).toBe(0);
          const id = await createPost('Across processes');
          const [event] = await feed.next(1);
          expect(event!.data!.postCreated).toEqual({
            id,
            title: 'Across processes',
            author: { id: userIds.writer, displayName: 'Writer' },
          });
          // Each instance publishes nothing twice: exactly one delivery.
          await sleep(300);
          expect(feed.results).toHaveLength(1);
          await remote.dispose();
          await eventually(async () => expect(await numsub()).toBe(0), 10_000);
          const clients = await redis.client('LIST');
          expect(String(clients)).toContain('name=blog-pubsub-sub');
        } finally {
          redis.disconnect();
        }
      }, 60_000);
    });
  }
});
