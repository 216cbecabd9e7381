export {
  causedBy,
  createEvent,
  assertTopic,
  topicMatcher,
  topicMatches,
  type EventMeta,
  type PlatformEvent,
} from './event.js';
export {
  retryDelay,
  DEFAULT_MAX_ATTEMPTS,
  type DeadLetter,
  type EventBus,
  type EventHandler,
  type RetryOptions,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
export { MemoryBroker, MemoryEventBus, type MemoryEventBusOptions } from './memory-bus.js';
export { RedisEventBus, type RedisEventBusOptions } from './redis-bus.js';
export { createEventBus, type CreateEventBusOptions } from './create.js';
export { handleOnce } from './handle-once.js';
export { eventMigrations, recordEvents, OutboxRelay, type OutboxRelayOptions } from './outbox.js';
export { Migration20260101000000_kernel_events } from './migrations/Migration20260101000000_kernel_events.js';
export { KernelTopic, KERNEL_TOPICS, KERNEL_TOPIC_PREFIX } from './kernel-topics.js';
export { emitter, type Emit, type EventMap } from './emit.js';
