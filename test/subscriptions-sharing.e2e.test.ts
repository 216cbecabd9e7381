import { beforeEach, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { eventually } from '@platform/kernel/testing';
import { collect } from './fixtures/subscriptions-client.js';
import {
  createPost,
  gateway,
  gql,
  platform,
  POST_CREATED,
  READER,
  signIn,
  socket,
  tokens,
  useSubscriptionPlatform,
  userIds,
  WITHIN_MS,
  WRITER,
  type PostEvent,
} from './fixtures/subscriptions-suite.js';

/**
 * Shared answers: sockets whose callers hold the same permission set, running an operation with
 * no per-caller field, share one group, carried upstream by two of its members in shared-answer
 * mode. Members come and go, carriers are revoked, permissions change: nobody misses an event,
 * and nobody gets an answer meant for another permission set.
 */
useSubscriptionPlatform();

type AuthorEvent = { postCreated: { id: string; title: string; author: { id: string; displayName: string } } };

const blogSubscriptions = (): number => platform.subgraphs.blog!.subscriptionStats().subscriptions;

// A member that moved group leaves its old upstream subscription running for a few seconds (it
// bridges the move): each test starts once the previous one's are gone, so counts are its own.
beforeEach(async () => {
  await eventually(async () => expect(blogSubscriptions()).toBe(0), 10_000);
});

/** Waits for the gateway to hold `sockets` subscriptions, carried by `upstream` subscriptions in blog. */
async function subscribed(sockets: number, upstream: number): Promise<void> {
  await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(sockets));
  await eventually(async () => expect(blogSubscriptions()).toBe(upstream));
}

describe('callers holding the same permissions', () => {
  it('share one group carried by two upstream subscriptions, whoever they are', async () => {
    // The writer and the reader both hold the `user` role only; the reader twice (two sessions).
    const again = await signIn(READER.email, READER.password);
    const members = [socket(tokens.writer), socket(tokens.reader), socket(again.accessToken)];
    const feeds = members.map((s) => collect<AuthorEvent>(s.client, POST_CREATED));
    await subscribed(3, 2);
    expect(gateway.subscriptionStats().upstreamSockets).toBe(2);

    const id = await createPost('Shared by the users');
    for (const feed of feeds) {
      const [event] = await feed.next(1);
      expect(event!.errors).toBeUndefined();
      expect(event!.data!.postCreated).toEqual({
        id,
        title: 'Shared by the users',
        author: { id: userIds.writer, displayName: 'Writer' },
      });
    }
  });

  it('does not share with a caller holding other permissions', async () => {
    const user = socket(tokens.reader);
    const admin = socket(tokens.admin);
    const feeds = [collect<PostEvent>(user.client, POST_CREATED), collect<PostEvent>(admin.client, POST_CREATED)];
    // A group of one has one carrier: two groups, two upstream subscriptions.
    await subscribed(2, 2);
    const id = await createPost('Two groups');
    for (const feed of feeds) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
  });

  it('keeps delivering to the members left as carriers leave, one at a time', async () => {
    const again = await signIn(READER.email, READER.password);
    const members = [socket(tokens.writer), socket(tokens.reader), socket(again.accessToken)];
    const feeds = members.map((s) => collect<PostEvent>(s.client, POST_CREATED));
    await subscribed(3, 2);
    // Two of the three carry; whichever they are, two leave and the third keeps getting every post.
    for (const leaving of [0, 1]) {
      await members[leaving]!.dispose();
      const id = await createPost(`After member ${leaving} left`);
      const results = await feeds[2]!.next(leaving + 1);
      expect(results[leaving]!.data!.postCreated.id).toBe(id);
    }
    await eventually(async () => expect(blogSubscriptions()).toBe(1));
    expect(feeds[2]!.results.every((result) => result.errors === undefined)).toBe(true);
  });

  it("closes only a revoked carrier's own socket: the rest of its group keeps its events", async () => {
    // A group of two: both members carry it.
    const revoked = await signIn(READER.email, READER.password);
    const leaving = socket(revoked.accessToken);
    const staying = socket(tokens.writer);
    const feed = collect<PostEvent>(staying.client, POST_CREATED);
    collect<PostEvent>(leaving.client, POST_CREATED);
    await subscribed(2, 2);
    const before = await createPost('Before the revocation');
    expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(before);

    const started = Date.now();
    const sessionId = (decodeJwt(revoked.accessToken) as { sid: string }).sid;
    const out = await gql('mutation ($id: ID!) { revokeSession(id: $id) }', { id: sessionId }, revoked.accessToken);
    expect(out.errors).toBeUndefined();
    expect((await leaving.closed).code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);

    const after = await createPost('After the revocation');
    const results = await feed.next(2);
    expect(results[1]!.data!.postCreated.id).toBe(after);
    expect(feed.completed).toBe(false);
    await eventually(async () => expect(blogSubscriptions()).toBe(1));
  });

  it('moves a member whose permissions change to the group of its new set, without missing an event', async () => {
    const roles = await gql<{ roles: { edges: Array<{ node: { id: string; name: string } }> } }>(
      '{ roles(first: 50) { edges { node { id name } } } }',
      {},
      tokens.admin,
    );
    const adminRole = roles.data!.roles.edges.find((edge) => edge.node.name === 'admin')!.node.id;
    const reader = socket(tokens.reader);
    const writer = socket(tokens.writer);
    const admin = socket(tokens.admin);
    const readerFeed = collect<PostEvent>(reader.client, POST_CREATED);
    const others = [collect<PostEvent>(writer.client, POST_CREATED), collect<PostEvent>(admin.client, POST_CREATED)];
    // {reader, writer} (two carriers) and {admin} (one).
    await subscribed(3, 3);
    const first = await createPost('Before the role');
    expect((await readerFeed.next(1))[0]!.data!.postCreated.id).toBe(first);

    const assign = 'mutation ($u: ID!, $r: ID!) { assignRole(userId: $u, roleId: $r) { id } }';
    const unassign = 'mutation ($u: ID!, $r: ID!) { unassignRole(userId: $u, roleId: $r) { id } }';
    try {
      expect((await gql(assign, { u: userIds.reader, r: adminRole }, tokens.admin)).errors).toBeUndefined();
      // Now {writer} (one carrier) and {admin, reader} (two): the reader left its group for the admin's.
      const second = await createPost('With the role');
      const results = await readerFeed.next(2);
      expect(results[1]!.data!.postCreated.id).toBe(second);
      for (const feed of others) expect((await feed.next(2))[1]!.data!.postCreated.id).toBe(second);
      await eventually(async () => expect(blogSubscriptions()).toBe(3));
    } finally {
      await gql(unassign, { u: userIds.reader, r: adminRole }, tokens.admin);
    }
    const third = await createPost('Without the role again');
    expect((await readerFeed.next(3))[2]!.data!.postCreated.id).toBe(third);
    expect(readerFeed.results.every((result) => result.errors === undefined)).toBe(true);
    expect(readerFeed.completed).toBe(false);
  });
});

describe('per-caller fields', () => {
  it('are never shared: each caller is answered with their own credentials', async () => {
    // `email` is the user's own (isSelf) or for identity.user.read holders: tagged perCaller.
    const query = 'subscription { postCreated { id author { id email } } }';
    type WithEmail = { postCreated: { id: string; author: { id: string; email: string } } };
    const again = await signIn(WRITER.email, WRITER.password);
    const sockets = [socket(tokens.writer), socket(again.accessToken), socket(tokens.reader)];
    const feeds = sockets.map((s) => collect<WithEmail>(s.client, query));
    // Every caller its own upstream subscription, though the three hold the same permissions.
    await subscribed(3, 3);
    await createPost('Whose email, again');
    const [writer, writerAgain, reader] = await Promise.all(feeds.map(async (feed) => (await feed.next(1))[0]!));
    expect(writer!.data!.postCreated.author.email).toBe(WRITER.email);
    expect(writerAgain!.data!.postCreated.author.email).toBe(WRITER.email);
    expect(reader!.data ?? null).toBeNull();
    expect(JSON.stringify(reader)).not.toContain(WRITER.email);
  });
});
