import { dropTestSchema, testConfig } from '@platform/kernel/testing';
import type { ModuleDefinition } from '@platform/kernel';
import identity from '@platform/identity';
import authz from '@platform/authz';
import audit from '@platform/audit';
import blog from '@platform/blog';
import { startPlatform, type RunningPlatform } from '../scripts/src/platform.js';

export const MODULES = [identity, authz, audit, blog] as ModuleDefinition[];

export interface TestPlatform extends RunningPlatform {
  /** POST to the gateway's /graphql. */
  graphql(body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** The whole supergraph in-process on free ports and a private database, for one suite. */
export async function startTestPlatform(overrides: Record<string, unknown> = {}): Promise<TestPlatform> {
  const { config, cleanup } = testConfig({ gateway: { port: 0 }, ...overrides });
  const platform = await startPlatform(config, MODULES);
  return {
    ...platform,
    graphql: (body, headers = {}) =>
      fetch(platform.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    stop: async () => {
      for (const handle of Object.values(platform.subgraphs)) await dropTestSchema(handle.runtime.db);
      await platform.stop();
      await cleanup();
    },
  };
}
