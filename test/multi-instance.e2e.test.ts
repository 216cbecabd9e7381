import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloseCode, eventually, waitFor } from '@platform/kernel/testing';
import { Redis } from 'ioredis';
import {
  auditedPosts,
  chainPositions,
  createPost,
  kidOf,
  login,
  missingPosts,
  PASSWORD,
  POST_CREATED,
  PostWatcher,
  REGISTER,
  unpublishedPosts,
  unpublishedRows,
  WriteStream,
  type Session,
} from './fixtures/multi-instance/clients.js';
import { Cluster, SUBGRAPHS, type Instance } from './fixtures/multi-instance/cluster.js';
import { collect, openSocket, type TestSocket } from './fixtures/subscriptions-client.js';
import { errorCode, graphqlAt } from './helpers.js';

/**
 * Several instances of everything, one state: two gateways and two instances of each subgraph,
 * each a process of its own as in a deployment, on one PostgreSQL database and one Redis. Each
 * subgraph's pair sits behind a round-robin balancer (a Kubernetes Service), which the gateways
 * and the subgraphs use to reach it. Tokens verify everywhere, events and revocations cross
 * between the sets, the audit chain stays linear under concurrent appends from both audit
 * instances, and SIGKILLing one instance of every subgraph and a gateway during a stream of
 * writes loses no write that was answered with success, nor its audit record.
 *
 * PostgreSQL and Redis only (the embedded database is one process by construction): jest.config.mjs
 * selects this suite only when DATABASE_URL and REDIS_URL are set (.ci/run's second pass); run on
 * its own without them, it fails saying so.
 */
const { DATABASE_URL, REDIS_URL } = process.env;
if (!DATABASE_URL || !REDIS_URL) {
  throw new Error('test/multi-instance.e2e needs DATABASE_URL and REDIS_URL (a PostgreSQL server and Redis)');
}

/** How long before a rotated key signs (production: an hour, so every verifier's cached key set has it). */
const PUBLISH_LEAD_SEC = 8;

describe('several instances of everything, one state (PostgreSQL and Redis)', () => {
  let cluster: Cluster;
  let gatewayA: Instance;
  let gatewayB: Instance;
  const sockets: TestSocket[] = [];
  const accounts = {
    writer: { email: 'writer@multi.example.com', displayName: 'Writer' },
    reader: { email: 'reader@multi.example.com', displayName: 'Reader' },
    leaver: { email: 'leaver@multi.example.com', displayName: 'Leaver' },
  };
  const sessions = {} as Record<keyof typeof accounts, Session>;

  /** The chain is one line (positions 1..n, each once) and `platformctl audit verify` finds it intact. */
  const expectLinearChain = async (): Promise<void> => {
    const { count, distinct, min, max } = await chainPositions(cluster);
    expect({ distinct, span: max - min + 1 }).toEqual({ distinct: count, span: count });
    const verify = await cluster.platformctl(['audit', 'verify']);
    expect({ code: verify.code, out: verify.stdout.trim(), err: verify.stderr.trim() }).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^audit chain valid: \d+ records checked/),
    });
  };

  beforeAll(async () => {
    cluster = new Cluster({
      databaseUrl: DATABASE_URL!,
      redisUrl: REDIS_URL!,
      // Keys in identity's database: re-read every second, a new one signing 8 s after it is
      // published. For identity's instances and for platformctl alike (the one that rotates sets when
      // the new key signs).
      env: {
        PLATFORM_MODULES__IDENTITY__KEYS__REFRESH_INTERVAL_SEC: '1',
        PLATFORM_MODULES__IDENTITY__KEYS__PUBLISH_LEAD_SEC: String(PUBLISH_LEAD_SEC),
      },
    });
    const started = Date.now();
    await cluster.start();
    console.log(`started in ${Date.now() - started} ms`);
    [gatewayA, gatewayB] = cluster.gateways as [Instance, Instance];
    // Registered through either gateway; identity's event gives each the `user` role (authz, either instance).
    for (const [i, [name, account]] of Object.entries(accounts).entries()) {
      const gateway = i % 2 === 0 ? gatewayA : gatewayB;
      const body = await graphqlAt(gateway.url, REGISTER, { input: { ...account, password: PASSWORD } });
      expect(body.errors).toBeUndefined();
      await eventually(async () => {
        const session = await login(gateway.url, account.email);
        const me = await graphqlAt<{ me: { roles: Array<{ name: string }> } }>(
          gateway.url,
          '{ me { roles { name } } }',
          {},
          session.accessToken,
        );
        expect({ me: me.data?.me, errors: me.errors }).toMatchObject({ me: { roles: [{ name: 'user' }] } });
        sessions[name as keyof typeof accounts] = session;
      }, 20_000);
    }
  }, 150_000);

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await cluster?.stop();
  }, 60_000);

  it('verifies a token issued by identity-1 on every instance of every subgraph and on both gateways', async () => {
    const issued = await login(cluster.instances.identity[0]!.url, accounts.writer.email);
    const forged = `${issued.accessToken.slice(0, -6)}AAAAAA`;
    for (const instance of SUBGRAPHS.flatMap((name) => cluster.instances[name])) {
      const ok = await graphqlAt(instance.url, '{ __typename }', {}, issued.accessToken);
      expect({ instance: instance.name, errors: ok.errors }).toEqual({ instance: instance.name, errors: undefined });
      const refused = await graphqlAt(instance.url, '{ __typename }', {}, forged);
      expect({ instance: instance.name, code: errorCode(refused) }).toEqual({
        instance: instance.name,
        code: 'UNAUTHENTICATED',
      });
    }
    // What each instance makes of the caller: identity's know the user, audit's refuse a permission
    // they lack (FORBIDDEN, not UNAUTHENTICATED), blog's grant one they hold (as authz, through its
    // balancer, says); through each gateway, the user with roles (authz) and posts (blog).
    for (const instance of cluster.instances.identity) {
      const me = await graphqlAt<{ me: { id: string } }>(instance.url, '{ me { id } }', {}, issued.accessToken);
      expect(me.data?.me.id).toBe(issued.id);
    }
    for (const instance of cluster.instances.audit) {
      const events = await graphqlAt(instance.url, '{ auditEvents(first: 1) { totalCount } }', {}, issued.accessToken);
      expect({ instance: instance.name, code: errorCode(events) }).toEqual({
        instance: instance.name,
        code: 'FORBIDDEN',
      });
    }
    for (const instance of cluster.instances.blog) {
      await createPost(instance.url, `Straight to ${instance.name}`, issued.accessToken);
    }
    for (const gateway of [gatewayA, gatewayB]) {
      const me = await graphqlAt<{ me: { id: string; roles: Array<{ name: string }>; posts: { totalCount: number } } }>(
        gateway.url,
        '{ me { id roles { name } posts(first: 1) { totalCount } } }',
        {},
        issued.accessToken,
      );
      expect(me.errors).toBeUndefined();
      expect(me.data?.me).toMatchObject({ id: issued.id, roles: [{ name: 'user' }] });
      expect(me.data!.me.posts.totalCount).toBeGreaterThanOrEqual(2);
    }
    // Concurrent requests through each gateway open new connections to audit's balancer (one
    // keep-alive socket carries one request at a time). The instances all start at once, so the
    // connections a gateway opened first may have found one audit instance not yet listening and
    // gone to the other; these do not.
    for (const gateway of [gatewayA, gatewayB]) {
      const burst = await Promise.all(
        Array.from({ length: 6 }, () =>
          graphqlAt(gateway.url, '{ auditEvents(first: 1) { totalCount } }', {}, issued.accessToken),
        ),
      );
      expect(burst.map(errorCode)).toEqual(Array.from({ length: 6 }, () => 'FORBIDDEN'));
    }
    // Both instances of every subgraph served connections through their balancer.
    for (const name of SUBGRAPHS) {
      expect({ name, used: cluster.balancers[name].backends.map((b) => b.connections > 0) }).toEqual({
        name,
        used: [true, true],
      });
    }
  }, 60_000);

  it('honours a signing-key rotation everywhere: both identity instances sign with the new key, every service verifies old and new tokens', async () => {
    const [identity1, identity2] = cluster.instances.identity as [Instance, Instance];
    const before = await login(identity1.url, accounts.writer.email);
    const oldKid = kidOf(before.accessToken);
    const rotate = await cluster.platformctl(['keys', 'rotate']);
    expect({ code: rotate.code, err: rotate.stderr.trim() }).toEqual({ code: 0, err: '' });
    const newKid = /new signing key (\S+)/.exec(rotate.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    // Published by both instances at their next refresh, long before it signs.
    await eventually(async () => {
      for (const instance of [identity1, identity2]) {
        const jwks = (await (await fetch(`${instance.baseUrl}/.well-known/jwks.json`)).json()) as {
          keys: Array<{ kid: string }>;
        };
        expect({ instance: instance.name, kids: jwks.keys.map((key) => key.kid).sort() }).toEqual({
          instance: instance.name,
          kids: [newKid, oldKid].sort(),
        });
      }
    }, 10_000);
    // After the lead, each instance signs with it.
    const issued: Session[] = [];
    for (const instance of [identity1, identity2]) {
      await eventually(
        async () => {
          const session = await login(instance.url, accounts.writer.email);
          expect({ instance: instance.name, kid: kidOf(session.accessToken) }).toEqual({
            instance: instance.name,
            kid: newKid,
          });
          issued.push(session);
        },
        (PUBLISH_LEAD_SEC + 10) * 1000,
      );
    }
    // New tokens (from either instance) and the old one verify on every instance of every
    // subgraph, and on both gateways (a socket's connection_init). A verifier fetches the key set
    // again on an unknown kid, at most every 30 s: allow for that.
    const verifiesEverywhere = async (token: string): Promise<void> => {
      for (const instance of SUBGRAPHS.flatMap((name) => cluster.instances[name])) {
        const body = await graphqlAt(instance.url, '{ __typename }', {}, token);
        expect({ instance: instance.name, errors: body.errors }).toEqual({
          instance: instance.name,
          errors: undefined,
        });
      }
      for (const gateway of [gatewayA, gatewayB]) {
        const socket = openSocket(gateway.url, token);
        try {
          const outcome = await Promise.race([socket.connected.then(() => 'connected'), socket.closed]);
          expect({ gateway: gateway.name, outcome }).toEqual({ gateway: gateway.name, outcome: 'connected' });
        } finally {
          await socket.dispose();
        }
      }
    };
    await eventually(async () => {
      for (const session of issued) await verifiesEverywhere(session.accessToken);
    }, 60_000);
    await verifiesEverywhere(before.accessToken);
    await verifiesEverywhere(sessions.reader.accessToken);
  }, 120_000);

  it('delivers a post created through gateway A to a subscriber on gateway B, once', async () => {
    const socket = openSocket(gatewayB.url, sessions.reader.accessToken);
    sockets.push(socket);
    await socket.connected;
    const feed = collect<{ postCreated: { id: string; title: string; author: { id: string } } }>(
      socket.client,
      POST_CREATED,
    );
    // The subscription reached a blog instance (through the balancer): its Redis channel has a subscriber.
    const redis = new Redis(REDIS_URL!);
    try {
      const channel = `${cluster.redisPrefix}:pubsub:blog.postCreated`;
      await eventually(
        async () => expect((await redis.pubsub('NUMSUB', channel))[1]).toBeGreaterThanOrEqual(1),
        15_000,
      );
    } finally {
      redis.disconnect();
    }
    const id = await createPost(gatewayA.url, 'Across the gateways', sessions.writer.accessToken);
    await waitFor(() => feed.results.some((result) => result.data?.postCreated.id === id), 'postCreated on gateway B');
    const [event] = feed.results.filter((result) => result.data?.postCreated.id === id);
    expect(event!.data!.postCreated).toEqual({
      id,
      title: 'Across the gateways',
      author: { id: sessions.writer.id, displayName: 'Writer' },
    });
    await sleep(1000);
    expect(feed.results.filter((result) => result.data?.postCreated.id === id)).toHaveLength(1);
    await socket.dispose();
  }, 60_000);

  it('closes a socket on gateway B when its session signs out through gateway A', async () => {
    const session = await login(gatewayA.url, accounts.leaver.email);
    const socket = openSocket(gatewayB.url, session.accessToken);
    sockets.push(socket);
    await socket.connected;
    const feed = collect(socket.client, POST_CREATED);
    const logout = await graphqlAt(
      gatewayA.url,
      'mutation ($token: String) { logout(refreshToken: $token) }',
      { token: session.refreshToken },
      session.accessToken,
    );
    expect(logout).toEqual({ data: { logout: true } });
    const closed = await Promise.race([
      socket.closed,
      sleep(15_000).then(() => ({ code: -1, reason: 'still open after 15 s' })),
    ]);
    expect(closed.code).toBe(CloseCode.SessionRevoked);
    expect(feed.results).toEqual([]);
    // Every instance refuses the token now (each learns of the revocation on its own).
    await eventually(async () => {
      for (const instance of SUBGRAPHS.flatMap((name) => cluster.instances[name])) {
        const refused = await graphqlAt(instance.url, '{ __typename }', {}, session.accessToken);
        expect({ instance: instance.name, code: errorCode(refused) }).toEqual({
          instance: instance.name,
          code: 'UNAUTHENTICATED',
        });
      }
      const me = await graphqlAt(gatewayB.url, '{ me { id } }', {}, session.accessToken);
      expect(errorCode(me)).toBe('UNAUTHENTICATED');
    }, 15_000);
  }, 60_000);

  it('keeps the audit chain linear while both audit instances record concurrent writes through both gateways', async () => {
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        createPost(i % 2 === 0 ? gatewayA.url : gatewayB.url, `Concurrent ${i}`, sessions.writer.accessToken),
      ),
    );
    await eventually(async () => {
      const audited = await auditedPosts(cluster);
      expect(ids.filter((id) => !audited.has(id))).toEqual([]);
    }, 30_000);
    // Whichever audit instance recorded each (one consumer group, its entries shared between the
    // members), the chain is one line, and verifies.
    await expectLinearChain();
    const keys = await cluster.sql('select kid from audit.audit_signing_key');
    expect(keys).toHaveLength(2); // one checkpoint key per audit instance, each registered
  }, 60_000);

  it('loses no accepted write and no audit record when one instance of each subgraph and a gateway are SIGKILLed mid-stream', async () => {
    // A subscriber on the gateway that survives: it gets each post once, including those whose
    // events the kill stranded, published when blog-1's claims lapse.
    const watcher = new PostWatcher(gatewayB.url, sessions.reader.accessToken);
    sockets.push(watcher.socket);
    await watcher.start();
    const stream = new WriteStream([gatewayA, gatewayB], sessions.writer.accessToken);
    const { accepted, refused } = stream;
    const killed = { at: Infinity };
    let frozenAt = Infinity;
    let stranded = new Set<string>();
    try {
      await eventually(async () => expect(accepted.length).toBeGreaterThanOrEqual(20), 30_000);
      // Set 1 is cut off from Redis first (a partition: nothing it sends arrives): blog-1 goes on
      // committing posts with their events, claimed for its own relay, which cannot publish them.
      // Killed then, it leaves them for blog-2's relay once the claims lapse; audit-1 leaves what
      // it had read for audit-2 to take over. Both lapse 30 s after the cut, so blog-2 may get
      // one event twice at once (a stream entry claimed from blog-1, and the outbox row published
      // again): its feed announces it once all the same.
      frozenAt = Date.now();
      cluster.redisLinks[0]!.freeze();
      // Claimed rows still unpublished seconds after they were written are blog-1's.
      await eventually(async () => {
        const ids = new Set(accepted.map((write) => write.id));
        expect((await unpublishedPosts(cluster, 2)).filter((id) => ids.has(id)).length).toBeGreaterThanOrEqual(3);
      }, 20_000);
      const victims = [gatewayA, ...SUBGRAPHS.map((name) => cluster.instances[name][0]!)];
      killed.at = Date.now();
      const how = await Promise.all(victims.map((victim) => victim.kill()));
      expect(how).toEqual(victims.map(() => 'SIGKILL'));
      stranded = new Set(await unpublishedPosts(cluster));
      // Writes go on through the surviving gateway and instances.
      await eventually(
        async () => expect(accepted.filter((write) => write.at > killed.at + 1000).length).toBeGreaterThan(20),
        30_000,
      );
    } catch (error) {
      const distinct = [...new Set(refused)].slice(0, 10).join('\n');
      const message = `${(error as Error).message}\n${refused.length} writes refused, e.g.:\n${distinct}`;
      throw new Error(`${message}\n${cluster.logsOfLiving()}`, { cause: error });
    } finally {
      await stream.stop();
      console.log(`writers stopped ${Date.now() - killed.at} ms after the kill`);
    }
    const ids = accepted.map((write) => write.id);
    // Among the accepted writes, some whose events the kill stranded in blog-1's claims.
    const strandedAccepted = ids.filter((id) => stranded.has(id));
    console.log(
      `${accepted.length} writes accepted (${accepted.filter((w) => w.at > killed.at).length} after the kill, ` +
        `${strandedAccepted.length} with their event stranded by it), ${refused.length} refused`,
    );
    expect(strandedAccepted.length).toBeGreaterThan(0);

    // Every accepted write is there, through the surviving gateway.
    expect(await missingPosts(gatewayB.url, ids, sessions.writer.accessToken)).toEqual([]);

    // And its audit record, once the killed instances' claims lapse (outbox lease, stream entries).
    const waitStarted = Date.now();
    await eventually(async () => {
      const audited = await auditedPosts(cluster);
      expect(ids.filter((id) => !audited.has(id))).toEqual([]);
    }, 100_000);
    console.log(
      `every accepted write audited ${Date.now() - killed.at} ms after the kill (${Date.now() - waitStarted} ms waited)`,
    );
    // Nothing left behind in any outbox.
    await eventually(async () => {
      for (const name of SUBGRAPHS)
        expect({ name, rows: await unpublishedRows(cluster, name) }).toEqual({ name, rows: 0 });
    }, 30_000);
    await expectLinearChain();
    await eventually(
      async () => expect(watcher.delivered.filter((id) => strandedAccepted.includes(id)).length).toBeGreaterThan(0),
      10_000,
    );
    await watcher.stop();
    console.log(
      `the subscriber on gateway B got ${watcher.delivered.length} postCreated events over ${watcher.subscriptions} subscriptions`,
    );
    // Announced once each. The cut leaves live feeds at least once for what was on the wire as it
    // fell: a command of blog-1's that Redis ran but whose answer was lost (its feed announced a
    // post and cannot know it did; blog-2 announces it again once blog-1's claim lapses). Such a
    // post was first delivered as the link froze; no other may come twice.
    const duplicates = watcher.duplicates();
    if (duplicates.length > 0) console.log(`delivered twice: ${JSON.stringify(duplicates)}, the cut at ${frozenAt}`);
    expect(duplicates.filter(({ first }) => Math.abs(first - frozenAt) > 1000)).toEqual([]);
  }, 180_000);
});
