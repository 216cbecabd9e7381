import type { Logger, ModuleConsumer, ModuleRuntime, PlatformEvent } from '@platform/kernel';
import { mapEvent } from './event-mapping.js';
import type { ChainRecord } from '../chain/canonical.js';
import { ChainHeadError } from '../chain/chain.store.js';
import type { AuditRecorder } from './recorder.js';

/**
 * Audit's one consumer group: every event on the bus passes through it, and those a module
 * publishes (src/topics.generated.ts, which `npm run generate` writes from every module's
 * `events.publishes`) are recorded. One group, one pattern (`*`): on Redis a group is one
 * cursor over the stream.
 */
export const CONSUMER_GROUP = 'audit.record';

/**
 * Deliveries before an event is dead-lettered. Recording fails only when audit's database does
 * (mapping never throws), so retries outlast a database restart: with the bus's backoff (capped at
 * 30 s) this is about twenty minutes.
 */
export const MAX_ATTEMPTS = 50;

/** Audit's consumer as the kernel runs it (module.ts): every event, one group, patient retries. */
export const recordingConsumer: ModuleConsumer<unknown, { consumer: AuditConsumer }> = {
  topic: '*',
  group: CONSUMER_GROUP,
  maxAttempts: MAX_ATTEMPTS,
  handler: (event, _runtime, services) => services.consumer.handle(event),
};

/** Records what the bus delivers to {@link recordingConsumer}. */
export class AuditConsumer {
  readonly #recorder: AuditRecorder;
  readonly #topics: ReadonlySet<string>;
  readonly #logger: Logger;
  readonly #onRecorded: ((record: ChainRecord) => void) | undefined;

  constructor(deps: {
    runtime: ModuleRuntime;
    recorder: AuditRecorder;
    topics: readonly string[];
    /** Told of each newly stored record, after its commit (feeds `auditEventRecorded`). */
    onRecorded?: (record: ChainRecord) => void;
  }) {
    this.#onRecorded = deps.onRecorded;
    this.#recorder = deps.recorder;
    this.#topics = new Set(deps.topics);
    this.#logger = deps.runtime.logger.child({ component: 'audit-recorder' });
  }

  /** Records one event if it is audited; throws only when it could not be stored (the bus retries). */
  async handle(event: PlatformEvent): Promise<void> {
    const topic = typeof event?.topic === 'string' ? event.topic : undefined;
    if (!topic || !this.#topics.has(topic)) {
      this.#logger.debug({ topic, eventId: event?.id }, 'event no module declares; not audited');
      return;
    }
    const { draft, notes } = mapEvent(event);
    let result;
    try {
      result = await this.#recorder.append(draft);
    } catch (error) {
      // Tampering, not an outage: say so loudly on every attempt (the bus retries and only warns).
      if (error instanceof ChainHeadError) {
        this.#logger.error(
          { eventId: draft.eventId, topic, reason: error.message },
          'audit chain head does not fit the chain: nothing is recorded until it is checked (platformctl audit verify)',
        );
      }
      throw error;
    }
    if (notes.length > 0) this.#logger.warn({ eventId: draft.eventId, topic, notes }, 'event stored with changes');
    if (result.recorded) {
      this.#logger.debug({ eventId: draft.eventId, topic, seq: result.record.seq }, 'audit event recorded');
      this.#onRecorded?.(result.record);
    } else {
      this.#logger.debug({ eventId: draft.eventId, topic }, 'event already recorded; redelivery ignored');
    }
  }
}
