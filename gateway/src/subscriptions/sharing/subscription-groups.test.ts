import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { FormattedExecutionResult } from 'graphql';
import { type EffectivePermissions } from '@platform/kernel/gateway';
import { createLogger } from '@platform/kernel/testing';
import {
  SubscriptionGroups,
  type Carrier,
  type GroupSpec,
  type Membership,
  type StartCarrier,
} from './subscription-groups.js';

/**
 * SubscriptionGroups on its own: carriers stand in for upstream subscriptions (no subgraph), and
 * each member's socket is a list of the payloads written to it.
 */

const logger = createLogger({ log: { level: 'silent', pretty: false } }, 'gateway-test');
const set = (...permissions: string[]): EffectivePermissions => ({ all: false, permissions: new Set(permissions) });
const READERS: GroupSpec = { fingerprint: 'readers', permissions: set('blog.post.read') };
const MODERATORS: GroupSpec = { fingerprint: 'moderators', permissions: set('blog.post.read', 'blog.post.moderate') };
const NOBODY: GroupSpec = { fingerprint: 'nobody', permissions: set() };

/**
 * A carrier's completed results. Closing it (`return`) leaves a `next` already waiting pending,
 * as a completion in flight finishes after its subscription was closed.
 */
class FakeSource implements AsyncIterableIterator<FormattedExecutionResult> {
  readonly #queue: FormattedExecutionResult[] = [];
  #waiting: ((result: IteratorResult<FormattedExecutionResult>) => void) | undefined;
  closed = false;

  push(value: FormattedExecutionResult): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting({ value, done: false });
    else this.#queue.push(value);
  }

  next(): Promise<IteratorResult<FormattedExecutionResult>> {
    const value = this.#queue.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  async return(): Promise<IteratorResult<FormattedExecutionResult>> {
    this.closed = true;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A carrier's upstream: events pushed here go through `accept`, as federatedSubscribe does. */
interface FakeCarrier {
  carrier: Carrier;
  source: FakeSource;
  /** Sends one upstream event; resolves once the group had the chance to deliver it. */
  event(event: FormattedExecutionResult): Promise<void>;
}

let groups: SubscriptionGroups;
let carriers: FakeCarrier[];
const memberships: Membership[] = [];

function setUp(): void {
  carriers = [];
  groups = new SubscriptionGroups({
    urls: {},
    logger,
    keepAliveMs: 0,
    onSocket: () => {},
    serialize: (result) => JSON.stringify(result),
    delivered: () => {},
  });
}

const settle = (): Promise<unknown> => new Promise((resolve) => setImmediate(resolve));

const start: StartCarrier = (carrier) => {
  const source = new FakeSource();
  carriers.push({
    carrier,
    source,
    event: async (event) => {
      if (carrier.accept(event)) source.push(event);
      await settle();
    },
  });
  return source;
};

/** A member whose socket records what it is sent. */
function member(
  key: string,
  spec: GroupSpec,
  sessionId: string,
  stale?: () => void,
): { sent: string[]; membership: Membership } {
  const sent: string[] = [];
  const membership = groups.join(key, spec, start, {
    send: (payload) => {
      sent.push(payload);
      return true;
    },
    closeSocket: () => {},
    identity: { requestId: sessionId, authorization: `Bearer ${sessionId}` },
    sessionId,
    stale,
  });
  memberships.push(membership);
  return { sent, membership };
}

const post = (id: string, fingerprint = 'readers'): FormattedExecutionResult => ({
  data: { postCreated: { id } },
  extensions: { publishedAt: 1, permissions: fingerprint },
});
const live = (): FakeCarrier[] => carriers.filter((fake) => !fake.source.closed);
const leave = async (membership: Membership): Promise<void> => {
  await membership.stream.return();
};

afterEach(async () => {
  await Promise.all(memberships.splice(0).map(leave));
  jest.useRealTimers();
});

describe('a shared group', () => {
  it('is carried by two of its members, and each event is delivered once', async () => {
    setUp();
    const members = ['a', 'b', 'c'].map((session) => member('g', READERS, session));
    expect(live()).toHaveLength(2);
    expect(new Set(live().map((fake) => fake.carrier.identity.authorization)).size).toBe(2);
    expect(live().every((fake) => fake.carrier.identity.sharedAnswer)).toBe(true);
    // Both carriers bring the same event: one delivery.
    for (const fake of live()) await fake.event(post('p1'));
    for (const { sent } of members) expect(sent).toEqual([JSON.stringify(post('p1'))]);
  });

  it('replaces a carrier whose member leaves, and still delivers an event that carrier had accepted', async () => {
    setUp();
    const [a, , c] = ['a', 'b', 'c'].map((session) => member('g', READERS, session));
    const first = live().find((fake) => fake.carrier.identity.authorization === 'Bearer a')!;
    // `a`'s carrier accepts an event and is still completing it when `a` leaves.
    expect(first.carrier.accept(post('p2'))).toBe(true);
    await leave(a!.membership);
    expect(first.source.closed).toBe(true);
    // The other carrier skips it (already accepted); the first still delivers it once completed.
    for (const fake of live()) await fake.event(post('p2'));
    expect(c!.sent).toEqual([]);
    first.source.push(post('p2'));
    await settle();
    expect(c!.sent).toEqual([JSON.stringify(post('p2'))]);
    // Two carriers again, none of them the member who left.
    expect(live()).toHaveLength(2);
    expect(live().map((fake) => fake.carrier.identity.authorization)).not.toContain('Bearer a');
  });

  it('holds every member when an answer comes for another permission set, and gives it only to those who hold that set', async () => {
    setUp();
    const stale: string[] = [];
    const [a, b] = ['a', 'b'].map((session) => member('g', READERS, session, () => stale.push(session)));
    // The subgraph heard of a change before the gateway: its answer is for the moderators' set.
    await live()[0]!.event(post('p3', 'moderators'));
    expect(a!.sent).toEqual([]);
    expect(b!.sent).toEqual([]);
    expect(stale.sort()).toEqual(['a', 'b']);
    // Looked up again: `a` is a moderator now, `b` is not.
    a!.membership.release('moderators', MODERATORS, start);
    b!.membership.release('g', READERS, start);
    expect(a!.sent).toEqual([JSON.stringify(post('p3', 'moderators'))]);
    expect(b!.sent).toEqual([]);
    // `b`'s group still has a carrier, and answers for its set reach it again.
    const carrier = live().find((fake) => fake.carrier.identity.authorization === 'Bearer b')!;
    await carrier.event(post('p4'));
    expect(b!.sent).toEqual([JSON.stringify(post('p4'))]);
  });
});

describe('a member whose permissions are looked up again', () => {
  it('gets the events held meanwhile when its set did not change', async () => {
    setUp();
    const [a] = ['a', 'b'].map((session) => member('g', READERS, session));
    a!.membership.hold();
    await live()[0]!.event(post('p4'));
    expect(a!.sent).toEqual([]);
    a!.membership.release('g', READERS, start);
    expect(a!.sent).toEqual([JSON.stringify(post('p4'))]);
  });

  it('moves to the group of its new set, with the held events when it only gained permissions', async () => {
    setUp();
    const [a, b] = ['a', 'b'].map((session) => member('g', READERS, session));
    a!.membership.hold();
    await live()[0]!.event(post('p5'));
    a!.membership.release('moderators', MODERATORS, start);
    expect(a!.sent).toEqual([JSON.stringify(post('p5'))]);
    expect(a!.membership.key).toBe('moderators');
    // Its new group is carried by itself; the old one by the member left (and, a few seconds
    // more, by `a`'s old upstream subscription, for members still on their way).
    expect(
      live()
        .map((fake) => fake.carrier.identity.authorization)
        .sort(),
    ).toEqual(['Bearer a', 'Bearer a', 'Bearer b']);
    await live()
      .find((fake) => fake.carrier.identity.authorization === 'Bearer b')!
      .event(post('p6'));
    expect(b!.sent).toHaveLength(2);
    expect(a!.sent).toHaveLength(1);
  });

  it('moves without the held events when it lost a permission', async () => {
    setUp();
    const [a] = ['a', 'b'].map((session) => member('g', READERS, session));
    a!.membership.hold();
    await live()[0]!.event(post('p7'));
    a!.membership.release('nobody', NOBODY, start);
    expect(a!.sent).toEqual([]);
    expect(a!.membership.key).toBe('nobody');
  });

  it("is bridged by its old group's carriers to its new group, each event once", async () => {
    setUp();
    const [a, b] = ['a', 'b'].map((session) => member('g', READERS, session, () => {}));
    const [oldA, oldB] = live();
    // Everyone's set changed (a role gained a permission): the old group's carriers answer for the new set.
    await oldA!.event(post('p8', 'moderators'));
    for (const each of [a, b]) each!.membership.release('moderators', MODERATORS, start);
    expect(a!.sent).toEqual([JSON.stringify(post('p8', 'moderators'))]);
    expect(b!.sent).toEqual(a!.sent);
    // The new group's own carriers are not in place yet: an event reaches it through the old ones only.
    await oldB!.event(post('p9', 'moderators'));
    expect(a!.sent).toHaveLength(2);
    // Then through both: still once.
    const fresh = live().filter((fake) => fake !== oldA && fake !== oldB);
    expect(fresh.length).toBeGreaterThan(0);
    await fresh[0]!.event(post('p9', 'moderators'));
    await oldA!.event(post('p10', 'moderators'));
    await fresh[0]!.event(post('p10', 'moderators'));
    expect(a!.sent.map((payload) => JSON.parse(payload).data.postCreated.id)).toEqual(['p8', 'p9', 'p10']);
    expect(b!.sent).toEqual(a!.sent);
  });

  it('ends at its terminal answer: a member joining while the refusing upstream completes gets its own group and answer', async () => {
    setUp();
    const refusal: FormattedExecutionResult = {
      data: null,
      errors: [{ message: 'Forbidden', extensions: { code: 'FORBIDDEN', permission: 'blog.post.read' } }],
      extensions: { permissions: 'nobody' },
    };
    const a = member('nobody', NOBODY, 'a');
    const [first] = live();
    // The subgraph refuses; its upstream subscription has not completed yet (the source stays open).
    await first!.event(refusal);
    expect(a.sent).toEqual([JSON.stringify(refusal)]);
    const before = carriers.length;
    // b's set changed the same way a moment later: it must not join the group that already answered.
    const b = member('nobody', NOBODY, 'b');
    expect(carriers.length).toBeGreaterThan(before);
    await carriers.at(-1)!.event(refusal);
    expect(b.sent).toEqual([JSON.stringify(refusal)]);
  });

  it('is bridged back into a group that lingers without carriers, until that group has new ones', async () => {
    // Only the clock moves (no timer fires): 'g' is older than a bridge lasts when everyone moves back.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask', 'performance'] });
    setUp();
    const [a, b] = ['a', 'b'].map((session) => member('g', READERS, session, () => {}));
    const [gA] = live();
    jest.setSystemTime(Date.now() + 60_000);
    // A role gains a permission: everyone moves to 'moderators'; 'g' lingers, empty, while it bridges them.
    await gA!.event(post('p11', 'moderators'));
    for (const each of [a, b]) each!.membership.release('moderators', MODERATORS, start);
    const moderators = live().filter((fake) => fake.carrier.answerFingerprint() === 'moderators' && fake !== gA);
    expect(moderators.length).toBeGreaterThan(0);
    // The role loses it again at once: everyone moves back to 'g', which has no carrier of its own
    // left in place (its old ones only answer for the moment, as orphans).
    for (const fake of live()) if (!moderators.includes(fake)) fake.source.closed = true;
    await moderators[0]!.event(post('p12', 'readers'));
    for (const each of [a, b]) each!.membership.release('g', READERS, start);
    expect(a!.membership.key).toBe('g');
    // The next event reaches only the upstream subscriptions in place: the 'moderators' carriers'.
    await moderators[0]!.event(post('p13', 'readers'));
    expect(a!.sent.map((payload) => JSON.parse(payload).data.postCreated.id)).toEqual(['p11', 'p12', 'p13']);
    expect(b!.sent).toEqual(a!.sent);
    // Then 'g's new carriers bring it too: still once.
    const fresh = live().filter((fake) => fake !== gA && !moderators.includes(fake));
    expect(fresh.length).toBeGreaterThan(0);
    await fresh[0]!.event(post('p13', 'readers'));
    await fresh[0]!.event(post('p14', 'readers'));
    expect(a!.sent.map((payload) => JSON.parse(payload).data.postCreated.id)).toEqual(['p11', 'p12', 'p13', 'p14']);
  });
});
