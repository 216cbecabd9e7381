import { startGateway } from '@platform/gateway';
import { startSubgraph, type PlatformConfig } from '@platform/kernel';
import {
  createEmbeddedClusters,
  createLogger,
  embeddedDataDir,
  JWKS_PATH,
  ModuleRegistry,
  startInOrder,
  type ModuleDefinition,
  type ServiceHandle,
  type SubgraphHandle,
} from '@platform/kernel/tools';

export interface RunningPlatform {
  gateway: ServiceHandle & { url: string };
  subgraphs: Record<string, SubgraphHandle>;
  stop(): Promise<void>;
}

/**
 * The whole supergraph in one process (the `npm start` default and the end-to-end tests):
 * every module validated together, started in dependency order, then the gateway pointed at
 * them. `stop()` stops the gateway first, then the modules in reverse order.
 */
export async function startPlatform(config: PlatformConfig, modules: ModuleDefinition[]): Promise<RunningPlatform> {
  const registry = new ModuleRegistry<ModuleDefinition>();
  for (const module of modules) registry.register(module);
  registry.validate();
  const ordered = registry.ordered();
  // One initdb for every module without a cluster yet (joining what `npm start` began early);
  // each module opens its own as soon as it is in place, and reports it if creating it failed.
  createEmbeddedClusters(ordered.flatMap((module) => embeddedDataDir(config, module.manifest.name) ?? [])).catch(
    () => {},
  );

  const subgraphs: Record<string, SubgraphHandle> = {};
  let gateway: (ServiceHandle & { url: string }) | undefined;
  // Modules whose dependencies are all up start together (embedded databases initialise in
  // parallel); each level waits for the previous one, so migrations still run in dependency order.
  const levels = dependencyLevels(ordered);
  const stop = await startInOrder<ModuleDefinition[] | 'gateway'>([...levels, 'gateway'], async (item) => {
    if (item === 'gateway') {
      // Every module is up and subscribed: events recorded while starting (seeds) flow now.
      for (const handle of Object.values(subgraphs)) handle.releaseEvents();
      const services = Object.fromEntries(
        Object.entries(config.services).map(([name, service]) => [
          name,
          { ...service, url: subgraphs[name]?.url ?? service.url },
        ]),
      );
      gateway = await startGateway({ config: { ...config, services } });
      return gateway.stop;
    }
    // Modules started after the token service fetch its keys from where it really listens (port 0 in tests).
    const tokenService = subgraphs[config.auth.tokenService];
    const moduleConfig =
      tokenService && !config.auth.jwksUrl
        ? { ...config, auth: { ...config.auth, jwksUrl: `${tokenService.baseUrl}${JWKS_PATH}` } }
        : config;
    const started = await Promise.allSettled(
      item.map((module) =>
        startSubgraph(module, {
          config: moduleConfig,
          registryValidated: true,
          holdEvents: true,
          // The permission service may start after a module that asks it (identity), on a port picked then.
          permissionServiceUrl: () => subgraphs[config.auth.permissionService]?.baseUrl,
        }),
      ),
    );
    const handles = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.allSettled(handles.map((handle) => handle.stop()));
      throw failed.reason;
    }
    for (const handle of handles) subgraphs[handle.name] = handle;
    return async () => {
      await Promise.all(handles.map((handle) => handle.stop()));
    };
  });
  createLogger(config, 'platform').debug({ modules: Object.keys(subgraphs) }, 'platform started');
  return { gateway: gateway!, subgraphs, stop };
}

/** Groups modules (already in dependency order) so each group depends only on earlier groups. */
export function dependencyLevels(ordered: ModuleDefinition[]): ModuleDefinition[][] {
  const level = new Map<string, number>();
  const levels: ModuleDefinition[][] = [];
  for (const module of ordered) {
    const deps = Object.keys(module.manifest.dependencies).map((name) => level.get(name) ?? -1);
    const mine = Math.max(-1, ...deps) + 1;
    level.set(module.manifest.name, mine);
    (levels[mine] ??= []).push(module);
  }
  return levels;
}
