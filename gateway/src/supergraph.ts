import { readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import type { SupergraphManager } from '@apollo/gateway';
import type { Logger } from '@platform/kernel';

/**
 * Serves the committed supergraph file and hot-reloads it when it changes (after a health
 * check of the subgraphs it names); a broken file is logged and the previous schema kept.
 */
export function supergraphFromFile(path: string, logger: Logger): SupergraphManager {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    async initialize({ update, healthCheck }) {
      const initial = await readFile(path, 'utf8');
      let current = initial;
      watcher = watch(path, () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          readFile(path, 'utf8')
            .then(async (next) => {
              if (next === current || next.trim() === '') return;
              // Every subgraph the new file names must answer before the gateway plans with it.
              await healthCheck(next);
              update(next);
              current = next;
              logger.info({ path }, 'supergraph reloaded');
            })
            .catch((error: unknown) =>
              logger.error(
                { err: error, path },
                'supergraph reload failed (unreadable, invalid, or a subgraph it names did not answer its health check); keeping the previous one',
              ),
            );
        }, 100);
      });
      return {
        supergraphSdl: initial,
        cleanup: async () => {
          clearTimeout(timer);
          watcher?.close();
        },
      };
    },
  };
}
