import {
  causedBy,
  handleOnce,
  isUuid,
  type Logger,
  type ModuleRuntime,
  type PlatformEvent,
  type Subscription,
} from '@platform/kernel';
import type { __Resource__Service } from './__resource__.service.js';

/**
 * The consumer group of every __name__ replica for identity's deletions: one replica handles
 * each event. One pattern per group (on Redis a group is one cursor over the stream), so another
 * topic gets a group of its own.
 */
export const CONSUMER_GROUP = '__name__.identity-user-deleted';

/**
 * A deleted user's __resources__ go with them. Delivery is at least once: `handleOnce` records
 * the event id with the deletions in one transaction, so a redelivered event changes nothing,
 * and the events recorded meanwhile name the request that deleted the user (`causedBy`).
 */
export class IdentityEventConsumer {
  readonly #runtime: ModuleRuntime;
  readonly #service: __Resource__Service;
  readonly #logger: Logger;
  #subscription: Subscription | undefined;

  constructor(deps: { runtime: ModuleRuntime; service: __Resource__Service }) {
    this.#runtime = deps.runtime;
    this.#service = deps.service;
    this.#logger = deps.runtime.logger.child({ component: 'identity-events' });
  }

  async start(): Promise<void> {
    this.#subscription = await this.#runtime.bus.subscribe('identity.user.deleted', (event) => this.userDeleted(event), {
      group: CONSUMER_GROUP,
    });
  }

  /** Stops consuming; handlers in flight finish first, so it must run before the database closes. */
  async stop(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  async userDeleted(event: PlatformEvent): Promise<void> {
    const { userId } = event.payload;
    if (!isUuid(userId)) {
      // A redelivery cannot fix a bad payload: logged and acknowledged rather than retried.
      this.#logger.error({ eventId: event.id, topic: event.topic }, 'event without a valid userId skipped');
      return;
    }
    let removed = 0;
    await handleOnce(this.#runtime.db, '__name__.__resource__.on-user-deleted', event, async (em) => {
      removed = await this.#service.deleteByAuthor(em, userId.toLowerCase(), causedBy(event));
    });
    if (removed > 0) this.#logger.info({ userId, removed, eventId: event.id }, '__resources__ of a deleted user removed');
  }
}
