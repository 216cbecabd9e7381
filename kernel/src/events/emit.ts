import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
import type { ModuleEvents } from './outbox.js';
import type { EventMeta } from './event.js';

/**
 * Records one of a module's events in its outbox, inside the caller's transaction (published
 * only if, and once, it commits). `Events` is the module's event map, topic → payload, declared
 * once in its `events.ts`:
 *
 * ```ts
 * export interface BlogEvents {
 *   'blog.post.created': { postId: string; authorId: string };
 * }
 * const emit: Emit<BlogEvents> = emitter(runtime.events);
 * await emit(tx, 'blog.post.created', { postId, authorId }); // topic and payload checked by tsc
 * ```
 *
 * During a request the kernel fills `meta` (request id, actor, client) itself; pass it to name
 * what caused an event recorded outside one (`causedBy(event)` in a consumer).
 */
export type Emit<Events extends EventMap<Events>> = <Topic extends keyof Events & string>(
  em: EntityManager,
  topic: Topic,
  payload: Events[Topic],
  meta?: Partial<EventMeta>,
) => Promise<void>;

/** A module's event map: each topic it publishes to what its payload carries (plain JSON objects). */
export type EventMap<Events> = { [Topic in keyof Events]: object };

/** `runtime.events`, typed by the module's event map: `emitter<BlogEvents>(runtime.events)`. */
export function emitter<Events extends EventMap<Events>>(events: ModuleEvents): Emit<Events> {
  return (em, topic, payload, meta) => events.record(em, topic, payload, meta);
}
