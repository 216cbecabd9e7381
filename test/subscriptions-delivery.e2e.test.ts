import { afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { MessageType, parseMessage } from 'graphql-ws';
import { eventually } from '@platform/kernel/testing';
import { collect, execute } from './fixtures/subscriptions-client.js';
import {
  CREATE_POST,
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
  type PostEvent,
  userIds,
  WITHIN_MS,
  WRITER,
} from './fixtures/subscriptions-suite.js';

/**
 * Subscriptions through the gateway as a frontend uses them: a real graphql-ws client on the
 * gateway's /graphql, events completed across subgraphs, each subscriber answered with its own
 * permissions, identical callers sharing, operations over the socket, and who may subscribe.
 * Delivery, permissions and teardown are proved with sharing on (the default) and off
 * (`gateway.subscriptions.sharing: false`); what is about sharing, or not about subscriptions, once.
 */
describe.each([true, false])('gateway.subscriptions.sharing: %s', (sharing) => {
  useSubscriptionPlatform({}, { sharing });

  describe('postCreated through the gateway', () => {
    it("delivers A's new post to B with its author from identity", async () => {
      const b = socket(tokens.reader);
      await b.connected;
      const feed = collect<{ postCreated: { id: string; title: string; author: { id: string; displayName: string } } }>(
        b.client,
        POST_CREATED,
      );
      await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
      const id = await createPost('Hello subscribers');
      const [event] = await feed.next(1);
      expect(event!.errors).toBeUndefined();
      expect(event!.data!.postCreated).toEqual({
        id,
        title: 'Hello subscribers',
        author: { id: userIds.writer, displayName: 'Writer' },
      });
      const metrics = await (await fetch(`${platform.gateway.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/graphql_ws_connections_active\{[^}]*\} 1/);
      expect(metrics).toMatch(/graphql_subscriptions_active\{[^}]*\} 1/);
      expect(metrics).toMatch(/graphql_subscription_events_total\{[^}]*field="postCreated"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/graphql_subscription_delivery_seconds_count\{[^}]*field="postCreated"[^}]*\} [1-9]/);
      feed.unsubscribe();
      await b.dispose();
    });
  });

  describe('every event to every subscriber', () => {
    it('delivers every post, in order, to users, guests and several sockets of one user', async () => {
      const sockets = [
        socket(tokens.writer),
        socket(tokens.reader),
        socket(tokens.reader),
        socket(tokens.admin),
        socket(undefined, 'a-browser'),
        socket(undefined, 'another-browser'),
      ];
      const feeds = sockets.map((s) => collect<PostEvent>(s.client, POST_CREATED));
      await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(6));
      // Shared: {writer, reader, reader} and the guests carried by two each, {admin} by one. Plain: one each.
      const upstream = sharing ? 5 : 6;
      await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(upstream));
      expect(gateway.subscriptionStats().upstreamSockets).toBe(upstream);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await createPost(`Post ${i} for everyone`));
      for (const feed of feeds) {
        const results = await feed.next(5);
        expect(results.map((result) => result.errors)).toEqual(Array(5).fill(undefined));
        expect(results.map((result) => result.data!.postCreated.id)).toEqual(ids);
      }
      await sleep(200);
      for (const feed of feeds) expect(feed.results).toHaveLength(5);
    });
  });

  describe('credentials never mix', () => {
    it("completes one event per subscriber with that subscriber's own permissions", async () => {
      // `email` is visible to the user themself and to holders of identity.user.read only.
      const query = 'subscription { postCreated { id author { id email } } }';
      type WithEmail = { postCreated: { id: string; author: { id: string; email: string } } };
      const sockets = { writer: socket(tokens.writer), reader: socket(tokens.reader), admin: socket(tokens.admin) };
      const feeds = Object.fromEntries(
        Object.entries(sockets).map(([name, s]) => [name, collect<WithEmail>(s.client, query)]),
      ) as Record<keyof typeof sockets, ReturnType<typeof collect<WithEmail>>>;
      await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(3));
      const id = await createPost('Whose email');
      const [writer] = await feeds.writer.next(1);
      const [admin] = await feeds.admin.next(1);
      const [reader] = await feeds.reader.next(1);
      expect(writer!.data!.postCreated.author).toEqual({ id: userIds.writer, email: WRITER.email });
      expect(admin!.data!.postCreated.author).toEqual({ id: userIds.writer, email: WRITER.email });
      expect(writer!.data!.postCreated.id).toBe(id);
      // email is non-null, so its denial nulls the whole event for the reader (GraphQL's null bubbling).
      expect(reader!.data ?? null).toBeNull();
      expect(JSON.stringify(reader)).not.toContain(WRITER.email);
      expect(reader!.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });
  });

  if (sharing) {
    describe('sharing', () => {
      it('serves guests from one group whatever their agent, carried by two upstream subscriptions', async () => {
        const guests = Array.from({ length: 20 }, () => socket(undefined, 'same-browser'));
        const other = socket(undefined, 'another-browser');
        const feeds = guests.map((s) => collect<PostEvent>(s.client, POST_CREATED));
        const otherFeed = collect<PostEvent>(other.client, POST_CREATED);
        await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(21));
        await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(2));
        expect(gateway.subscriptionStats().upstreamSockets).toBe(2);
        const id = await createPost('For everyone');
        for (const feed of [...feeds, otherFeed]) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
        // One leaving does not end the others' subscription.
        await guests[0]!.dispose();
        const next = await createPost('Still shared');
        expect((await feeds[1]!.next(2))[1]!.data!.postCreated.id).toBe(next);
      });

      it("serves one caller's sockets running a per-caller operation from one upstream subscription", async () => {
        // Same token, address and agent: nobody else's answers, so one subscription serves all three.
        const mine = [socket(tokens.reader), socket(tokens.reader), socket(tokens.reader)];
        mine.forEach((s) => collect(s.client, 'subscription { mySessionRevoked { sessionId } }'));
        await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(3));
        await eventually(async () => expect(platform.subgraphs.identity!.subscriptionStats().subscriptions).toBe(1));
        // Another user's socket gets its own.
        const theirs = socket(tokens.writer);
        collect(theirs.client, 'subscription { mySessionRevoked { sessionId } }');
        await eventually(async () => expect(platform.subgraphs.identity!.subscriptionStats().subscriptions).toBe(2));
      });
    });

    describe('shared frames', () => {
      /** A bare graphql-transport-ws socket, to see the exact frames the gateway writes. */
      async function rawSocket(userAgent: string): Promise<{ ws: WebSocket; frames: string[] }> {
        const ws = new WebSocket(platform.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
          headers: { 'user-agent': userAgent },
        });
        const frames: string[] = [];
        ws.on('message', (data: Buffer) => frames.push(data.toString()));
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
        await eventually(async () => expect(frames.map((f) => JSON.parse(f).type)).toContain('connection_ack'));
        frames.length = 0;
        raw.push(ws);
        return { ws, frames };
      }
      const raw: WebSocket[] = [];
      afterEach(() => raw.splice(0).forEach((ws) => ws.close()));

      it("writes each operation its own id around the group's one serialized result, valid for graphql-ws", async () => {
        const { ws, frames } = await rawSocket('frames-browser');
        const real = socket(undefined, 'frames-browser');
        for (const id of ['a', 'b'])
          ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: POST_CREATED } }));
        const feed = collect<PostEvent & { postCreated: { author: { displayName: string } } }>(
          real.client,
          POST_CREATED,
        );
        await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(3));
        // Same permissions (guests), same operation: one group for all three, carried by two upstream subscriptions.
        await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(2));
        const id = await createPost('Framed');
        const [viaClient] = await feed.next(1);
        expect(viaClient!.data!.postCreated).toMatchObject({ id, title: 'Framed', author: { displayName: 'Writer' } });
        await eventually(async () => expect(frames).toHaveLength(2));
        const messages = frames.map((frame) => parseMessage(frame));
        expect(messages.map((m) => (m as { id: string }).id).sort()).toEqual(['a', 'b']);
        for (const message of messages) {
          expect(message.type).toBe(MessageType.Next);
          expect((message as { payload: unknown }).payload).toEqual(viaClient);
        }

        // Completing one operation ends only its frames; the socket's other operation and the client keep theirs.
        ws.send(JSON.stringify({ id: 'a', type: 'complete' }));
        await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(2));
        frames.length = 0;
        const next = await createPost('Framed again');
        expect((await feed.next(2))[1]!.data!.postCreated.id).toBe(next);
        await eventually(async () => expect(frames).toHaveLength(1));
        await sleep(200);
        expect(frames.map((frame) => parseMessage(frame))).toEqual([
          {
            id: 'b',
            type: MessageType.Next,
            payload: { data: { postCreated: expect.objectContaining({ id: next }) } },
          },
        ]);
      });
    });

    describe('operations over the socket', () => {
      it('runs queries and mutations through the gateway as the socket user', async () => {
        const s = socket(tokens.writer);
        const me = await execute<{ me: { id: string; displayName: string } }>(s.client, '{ me { id displayName } }');
        expect(me.data!.me).toEqual({ id: userIds.writer, displayName: 'Writer' });
        const created = await execute<{ createPost: { id: string; author: { displayName: string } } }>(
          s.client,
          'mutation ($input: CreatePostInput!) { createPost(input: $input) { id author { displayName } } }',
          { input: { title: 'Over the socket', content: 'Body' } },
        );
        expect(created.errors).toBeUndefined();
        expect(created.data!.createPost.author.displayName).toBe('Writer');
        await s.dispose();
      });

      it('answers anonymous sockets as guests: reads yes, writes FORBIDDEN naming the permission', async () => {
        const s = socket();
        const posts = await execute<{ posts: { totalCount: number } }>(s.client, '{ posts(first: 1) { totalCount } }');
        expect(posts.data!.posts.totalCount).toBeGreaterThan(0);
        const write = await execute(s.client, CREATE_POST, { input: { title: 'Anonymous', content: 'Body' } });
        expect(write.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'blog.post.create' });
        await s.dispose();
      });

      it('validates operations against the supergraph', async () => {
        const s = socket(tokens.reader);
        const bad = collect(s.client, 'subscription { postCreated { nope } }');
        await bad.done;
        expect(JSON.stringify(bad.error)).toContain('Cannot query field \\"nope\\"');
        await s.dispose();
      });
    });
  } else {
    describe('each subscription on its own', () => {
      it('gives every socket its own upstream subscription, with its own credentials', async () => {
        const guests = Array.from({ length: 5 }, () => socket(undefined, 'same-browser'));
        const feeds = guests.map((s) => collect<PostEvent>(s.client, POST_CREATED));
        await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(5));
        await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(5));
        await eventually(async () => expect(gateway.subscriptionStats().upstreamSockets).toBe(5));
        // One socket's subscriptions share its upstream socket to a subgraph.
        const two = socket(tokens.reader);
        collect(two.client, POST_CREATED);
        collect(two.client, POST_CREATED);
        await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(7));
        await eventually(async () => expect(gateway.subscriptionStats().upstreamSockets).toBe(6));
        const id = await createPost('For each of them');
        for (const feed of feeds) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
        await guests[0]!.dispose();
        await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(6));
        // The subgraph sees the subscription end before the gateway's upstream socket reports closed.
        await eventually(async () => expect(gateway.subscriptionStats().upstreamSockets).toBe(5));
      });
    });
  }

  describe('who may subscribe to what', () => {
    it('lets guests follow new posts (the guest role holds blog.post.read)', async () => {
      const s = socket();
      const feed = collect<PostEvent>(s.client, POST_CREATED);
      await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
      const id = await createPost('For guests too');
      const [event] = await feed.next(1);
      expect(event!.data!.postCreated.id).toBe(id);
      await s.dispose();
    });

    it('refuses auditEventRecorded without audit.event.read, naming it', async () => {
      for (const token of [undefined, tokens.reader]) {
        const s = socket(token);
        const audit = collect(s.client, 'subscription { auditEventRecorded { id } }');
        await audit.done;
        expect(audit.results[0]?.errors?.[0]?.extensions).toMatchObject({
          code: 'FORBIDDEN',
          permission: 'audit.event.read',
        });
        await s.dispose();
      }
    });

    it('streams audit records to an administrator, filtered by action', async () => {
      const s = socket(tokens.admin);
      const audit = collect<{ auditEventRecorded: { action: string; targetId: string; actor: { id: string } } }>(
        s.client,
        'subscription ($action: String) { auditEventRecorded(action: $action) { action targetId actor { id } } }',
        { action: 'blog.post.created' },
      );
      await eventually(async () => expect(platform.subgraphs.audit!.subscriptionStats().subscriptions).toBe(1));
      // A login is audited too, but is not the action asked for.
      await signIn(READER.email, READER.password);
      const id = await createPost('Audited');
      const [event] = await audit.next(1);
      expect(event!.data!.auditEventRecorded).toEqual({
        action: 'blog.post.created',
        targetId: id,
        actor: { id: userIds.writer },
      });
      await sleep(200);
      expect(audit.results).toHaveLength(1);
      await s.dispose();
    });

    it('refuses mySessionRevoked to anonymous sockets', async () => {
      const s = socket();
      const mine = collect(s.client, 'subscription { mySessionRevoked { sessionId } }');
      await mine.done;
      expect(mine.results[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      await s.dispose();
    });

    it('stops delivering posts within a second of the roles losing blog.post.read', async () => {
      const roles = await gql<{ roles: { edges: Array<{ node: { id: string; name: string } }> } }>(
        '{ roles(first: 50) { edges { node { id name } } } }',
        {},
        tokens.admin,
      );
      // Signed-in users hold the guest role's permissions too: both lose it.
      const roleIds = roles
        .data!.roles.edges.filter((e) => ['user', 'guest'].includes(e.node.name))
        .map((e) => e.node.id);
      expect(roleIds).toHaveLength(2);
      const s = socket(tokens.reader);
      const feed = collect<PostEvent>(s.client, POST_CREATED);
      await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1));
      await createPost('Before the change');
      await feed.next(1);
      try {
        for (const roleId of roleIds) {
          const revoked = await gql(
            'mutation ($roleId: ID!) { revokePermission(roleId: $roleId, permission: "blog.post.read") { id } }',
            { roleId },
            tokens.admin,
          );
          expect(revoked.errors).toBeUndefined();
        }
        await sleep(WITHIN_MS);
        await createPost('After the change', tokens.admin);
        const results = await feed.next(2);
        expect(results[1]!.data ?? null).toBeNull();
        expect(results[1]!.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'blog.post.read' });
        await feed.done;
        expect(feed.completed).toBe(true);
      } finally {
        for (const roleId of roleIds) {
          await gql(
            'mutation ($roleId: ID!) { grantPermissions(roleId: $roleId, permissions: ["blog.post.read"]) { id } }',
            { roleId },
            tokens.admin,
          );
        }
        await s.dispose();
      }
    });
  });

  describe('nothing left behind', () => {
    it('closes every upstream subscription and socket once its clients leave', async () => {
      const PER_CALLER = 'subscription { postCreated { id author { email } } }';
      const sockets = [socket(tokens.writer), socket(tokens.reader), socket(tokens.admin), socket(), socket()];
      // The writer and the administrator may read the author's email: their own subscriptions, with data.
      const queries = [PER_CALLER, POST_CREATED, PER_CALLER, POST_CREATED, POST_CREATED];
      const feeds = sockets.map((s, i) => collect<PostEvent>(s.client, queries[i]!));
      await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(5));
      // Shared: the writer and the administrator alone, the reader alone, the two guests carried by two.
      await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(5));
      const id = await createPost('Before leaving');
      for (const feed of feeds) expect((await feed.next(1))[0]!.data!.postCreated.id).toBe(id);
      await Promise.all(sockets.map((s) => s.dispose()));
      // A member that moved group a moment ago may keep its old upstream subscription a few seconds (a bridge).
      await eventually(
        async () =>
          expect(gateway.subscriptionStats()).toEqual({
            sockets: 0,
            connections: 0,
            subscriptions: 0,
            upstreamSockets: 0,
          }),
        10_000,
      );
      await eventually(
        async () =>
          expect(platform.subgraphs.blog!.subscriptionStats()).toEqual({
            connections: 0,
            subscriptions: 0,
            pubsub: { streams: 0, channels: 0 },
          }),
        10_000,
      );
    });
  });
});
