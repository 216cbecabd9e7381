import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { createEvent, type PlatformEvent } from '../events/event.js';
import { MemoryBroker, MemoryEventBus } from '../events/memory-bus.js';
import { waitFor } from '../testing/wait.js';
import { startConsumers } from './consumers.js';
import type { ModuleConsumer, ModuleRuntime } from './define.js';

const logger = pino({ level: 'silent' });

function runtimeWith(bus: MemoryEventBus): ModuleRuntime {
  return { bus, logger, manifest: { name: 'notes' } } as unknown as ModuleRuntime;
}

describe('startConsumers', () => {
  it('subscribes each consumer with its group and options, hands it runtime and services, and stops after in-flight handlers', async () => {
    const bus = new MemoryEventBus({ logger, broker: new MemoryBroker() });
    const runtime = runtimeWith(bus);
    const services = { seen: [] as string[] };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    const consumers: Array<ModuleConsumer<unknown, typeof services>> = [
      {
        topic: 'identity.user.deleted',
        group: 'notes.identity-user-deleted',
        async handler(event, given, own) {
          expect(given).toBe(runtime);
          own.seen.push(event.topic);
          await held;
          finished = true;
        },
      },
      {
        topic: 'notes.*',
        group: 'notes.feed',
        live: true,
        handler: async (event: PlatformEvent, _runtime, own) => {
          own.seen.push(event.topic);
        },
      },
    ];
    const stop = await startConsumers(consumers, runtime, services);
    await bus.publish([
      createEvent('notes', 'notes.note.created', { noteId: 'n' }),
      createEvent('identity', 'identity.user.deleted', { userId: 'u' }),
    ]);
    await waitFor(() => services.seen.length === 2, 'both consumers to run');
    expect([...services.seen].sort()).toEqual(['identity.user.deleted', 'notes.note.created']);

    const stopped = stop();
    setTimeout(release, 20);
    await stopped;
    expect(finished).toBe(true); // the handler in flight finished before stop resolved
    await bus.publish(createEvent('notes', 'notes.note.created', { noteId: 'm' }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(services.seen).toHaveLength(2);
    await bus.close();
  });

  it('refuses two consumers in one group, subscribing nothing', async () => {
    const bus = new MemoryEventBus({ logger, broker: new MemoryBroker() });
    const handler = async (): Promise<void> => {};
    await expect(
      startConsumers(
        [
          { topic: 'a.b.c', group: 'notes.g', handler },
          { topic: 'a.b.d', group: 'notes.g', handler },
        ],
        runtimeWith(bus),
        {},
      ),
    ).rejects.toThrow('notes: two consumers share the group "notes.g"');
    await bus.close();
  });
});
