import type { EntityManager, EventMeta } from '@platform/kernel';
import type { __Resource__Field } from './__resource__/__resource__.inputs.js';

/** Every event __name__ publishes (topic → payload): ids and field names, never content. */
export interface __Name__Events {
  '__name__.__resource__.created': { __resource__Id: string; authorId: string };
  /** `changed`: the fields whose value changed. */
  '__name__.__resource__.updated': { __resource__Id: string; authorId: string; changed: __Resource__Field[] };
  /** `reason`: `requested` through the API; `author_deleted` when identity deleted the author. */
  '__name__.__resource__.deleted': {
    __resource__Id: string;
    authorId: string;
    reason: 'requested' | 'author_deleted';
  };
}

export type __Name__Topic = keyof __Name__Events;

/**
 * Records an event in the outbox within the caller's transaction: it is relayed once that
 * transaction commits, and never if it rolls back. During a request the kernel fills `meta`
 * (request id, actor, client) itself.
 */
export type Emit = <T extends __Name__Topic>(
  em: EntityManager,
  topic: T,
  payload: __Name__Events[T],
  meta?: Partial<EventMeta>,
) => Promise<void>;
