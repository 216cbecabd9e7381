import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { eventually } from '@platform/kernel/testing';
import { supergraphFromFile } from './supergraph.js';

const dir = mkdtempSync(join(tmpdir(), 'supergraph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('supergraphFromFile', () => {
  it('reloads a changed file only once every subgraph it names passed the health check', async () => {
    const path = join(dir, 'supergraph.graphql');
    writeFileSync(path, 'schema one');
    const updates: string[] = [];
    const checked: string[] = [];
    let healthy = false;
    const manager = supergraphFromFile(path, pino({ level: 'silent' }));
    const { supergraphSdl, cleanup } = (await manager.initialize({
      update: (sdl: string) => void updates.push(sdl),
      healthCheck: async (sdl: string) => {
        checked.push(sdl);
        if (!healthy) throw new Error('subgraph blog did not answer');
      },
      getDataSource: () => {
        throw new Error('not used');
      },
    })) as { supergraphSdl: string; cleanup: () => Promise<void> };
    try {
      expect(supergraphSdl).toBe('schema one');
      // A subgraph of the new file is down: the previous schema stays.
      writeFileSync(path, 'schema two');
      await eventually(async () => expect(checked).toEqual(['schema two']));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(updates).toEqual([]);
      // Healthy now: the next change is served.
      healthy = true;
      writeFileSync(path, 'schema three');
      await eventually(async () => expect(updates).toEqual(['schema three']));
    } finally {
      await cleanup();
    }
  });
});
