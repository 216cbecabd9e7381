// A service run as a process (runMain) that fails outside any handler once it is up: a timer
// throws (CRASH=throw) or a promise nobody awaits rejects (CRASH=reject). Spawned by
// process-failures.test.ts; MODULE_DIR holds its module.yaml, the rest is the usual config.
import 'reflect-metadata';
import { join } from 'node:path';
import { Query, Resolver } from 'type-graphql';
import { publicAccess } from '../../graphql/rules.js';
import { StaticPermissions } from '../../graphql/permissions.js';
import { defineModule } from '../../module/define.js';
import { runMain } from '../../service/main.js';
import { startSubgraph } from '../../service/subgraph.js';

@Resolver()
class PingResolver {
  @Query(() => String)
  ping(): string {
    return 'pong';
  }
}

const crashy = defineModule({
  manifest: join(process.env.MODULE_DIR!, 'module.yaml'),
  entities: [],
  migrations: [],
  resolvers: [PingResolver],
  rules: { Query: { ping: publicAccess } },
  hooks: {
    // Proof that the graceful shutdown ran after the failure.
    onStop: (runtime) => runtime.logger.info('crashy onStop hook ran'),
  },
});

await runMain(async () => {
  const handle = await startSubgraph(crashy, { permissions: new StaticPermissions({}) });
  setTimeout(() => {
    if (process.env.CRASH === 'reject') void Promise.reject(new RangeError('nobody awaited this promise'));
    else throw new Error('a timer exploded');
  }, 20);
  return handle;
});
