import { startGateway } from '@platform/gateway';
import {
  createLogger,
  ModuleRegistry,
  startInOrder,
  startSubgraph,
  type ModuleDefinition,
  type PlatformConfig,
  type ServiceHandle,
  type SubgraphHandle,
} from '@platform/kernel';

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

  const subgraphs: Record<string, SubgraphHandle> = {};
  let gateway: (ServiceHandle & { url: string }) | undefined;
  const items: Array<ModuleDefinition | 'gateway'> = [...registry.ordered(), 'gateway'];
  const stop = await startInOrder(items, async (item) => {
    if (item === 'gateway') {
      const services = Object.fromEntries(
        Object.entries(config.services).map(([name, service]) => [
          name,
          { ...service, url: subgraphs[name]?.url ?? service.url },
        ]),
      );
      gateway = await startGateway({ config: { ...config, services } });
      return gateway.stop;
    }
    const handle = await startSubgraph(item, { config, registryValidated: true });
    subgraphs[item.manifest.name] = handle;
    return handle.stop;
  });
  createLogger(config, 'platform').debug({ modules: Object.keys(subgraphs) }, 'platform started');
  return { gateway: gateway!, subgraphs, stop };
}
