import { defineModule, permission } from '@platform/kernel';
import { __name__ConfigSchema } from './config.js';
import { migrations } from './migrations/index.js';
import { Permission } from './permissions.generated.js';
import { userDeletedConsumer } from './__resource__/identity-events.js';
import { __Resource__ } from './__resource__/__resource__.entity.js';
import { resolve__Resource__Reference } from './__resource__/__resource__.reference.js';
import { __Resource__Resolver } from './__resource__/__resource__.resolver.js';
import { rules } from './rules.js';
import { create__Name__Services } from './services.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  config: __name__ConfigSchema,
  entities: [__Resource__],
  migrations,
  resolvers: [__Resource__Resolver],
  references: {
    // Other subgraphs look a __resource__ up by id only on behalf of a caller who may read it.
    __Resource__: { rule: permission(Permission.__Resource__Read), resolve: resolve__Resource__Reference },
  },
  rules,
  services: create__Name__Services,
  consumers: [userDeletedConsumer],
  // Queues; the schedules of module.yaml name them as handlers and run once per deployment per tick.
  jobs: {
    'delete-expired-__resources__': {
      attempts: 3,
      timeoutMs: 10 * 60_000,
      async handler(_payload, runtime, services, job) {
        const days = runtime.config.retentionDays;
        if (days === null) return; // __resources__ are kept forever
        const cutoff = new Date(Date.now() - days * 86_400_000);
        const deleted = await services.__resources__.deleteCreatedBefore(runtime.em(), cutoff, { signal: job.signal });
        job.logger.info({ deleted, cutoff }, 'expired __resources__ deleted');
      },
    },
  },
});
