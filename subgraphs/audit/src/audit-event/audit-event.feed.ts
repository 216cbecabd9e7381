import type { EventStream, Logger, PlatformPubSub } from '@platform/kernel';
import type { ChainRecord } from '../chain/canonical.js';

/** The pub/sub topic of `auditEventRecorded`. */
export const AUDIT_EVENT_RECORDED_TOPIC = 'audit.eventRecorded';

/** What travels to subscribers: the record's id (read afresh per subscriber, under their rules) and its action (for the filter). */
export interface RecordedEvent {
  id: string;
  action: string;
}

/**
 * Feeds `auditEventRecorded` and `securityEvents`: the consumer that stores each event (one audit replica per event,
 * a consumer group) announces it after the commit, once for the fleet; every instance's
 * subscribers get it, filtered by their `action` argument.
 */
export class AuditEventFeed {
  readonly #pubsub: PlatformPubSub;
  readonly #logger: Logger;

  constructor(deps: { pubsub: PlatformPubSub; logger: Logger }) {
    this.#pubsub = deps.pubsub;
    this.#logger = deps.logger.child({ component: 'audit-feed' });
  }

  /** Announces a stored record; a failure is logged, never fails the recording. */
  announce(record: Pick<ChainRecord, 'id' | 'action'>): void {
    const payload: RecordedEvent = { id: record.id, action: record.action };
    this.#pubsub
      .publish(AUDIT_EVENT_RECORDED_TOPIC, payload)
      .catch((error: unknown) => this.#logger.warn({ err: error, id: record.id }, 'auditEventRecorded not published'));
  }

  /** Records from now on, only `action`'s when given. */
  stream(action?: string | null): EventStream<RecordedEvent> {
    return this.streamOf(action ? new Set([action]) : undefined);
  }

  /** Records from now on whose action is one of `actions` (all records without it). */
  streamOf(actions?: ReadonlySet<string>): EventStream<RecordedEvent> {
    return this.#pubsub.subscribe<RecordedEvent>(
      AUDIT_EVENT_RECORDED_TOPIC,
      actions ? (event) => actions.has(event.action) : undefined,
    );
  }
}
