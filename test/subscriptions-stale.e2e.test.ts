import { describe, expect, it } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import { collect } from './fixtures/subscriptions-client.js';
import {
  gateway,
  platform,
  POST_CREATED,
  socket,
  tokens,
  useSubscriptionPlatform,
  type PostEvent,
} from './fixtures/subscriptions-suite.js';

/** Permissions cached for a second only, so a change nobody announced shows within a couple of seconds. */
const TTL_SEC = 1;
useSubscriptionPlatform({ auth: { permissionCacheTtlSec: TTL_SEC } });

/** Runs SQL in authz's own schema, behind its back: no event tells anyone. */
async function authzSql(sql: string): Promise<void> {
  const db = platform.subgraphs.authz!.runtime.db;
  await db.fork().execute(sql.replaceAll('{schema}', `"${db.schema}"`));
}

describe('a permission change the gateway never heard of', () => {
  it("moves shared subscribers within one cache lifetime, and they are refused with the permission's name", async () => {
    const members = [socket(tokens.writer), socket(tokens.reader)];
    const feeds = members.map((s) => collect<PostEvent>(s.client, POST_CREATED));
    await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(2));
    await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(2));

    // No authz event: only the caches' lifetime can reveal it (a lost event with no bus reset).
    await authzSql(`delete from {schema}."role_permission" where "permission" = 'blog.post.read'`);
    try {
      const started = Date.now();
      for (const feed of feeds) {
        await feed.done;
        expect(feed.results.at(-1)?.errors?.[0]?.extensions).toMatchObject({
          code: 'FORBIDDEN',
          permission: 'blog.post.read',
        });
      }
      // The gateway's sweep runs once per cache lifetime; the lookups it makes see the change.
      expect(Date.now() - started).toBeLessThan(4 * TTL_SEC * 1000 + 2_000);
    } finally {
      await authzSql(
        `insert into {schema}."role_permission" ("role_id", "permission")
         select "id", 'blog.post.read' from {schema}."role" where "name" in ('user', 'guest') and "built_in"
         on conflict do nothing`,
      );
    }
  });
});
