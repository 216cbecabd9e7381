import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import identity from '@platform/identity';
import { startTestSubgraph, testConfig, type TestSubgraph } from '@platform/kernel/testing';
import { platformctl } from './__tests__/platformctl-cli.js';

/** `keys list` rows: kid and state. */
const listed = (stdout: string): Array<[string, string]> =>
  stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s+/).slice(0, 2) as [string, string]);

type Keys = { jwks(): { keys: Array<{ kid: string }> }; current(): { kid: string }; refresh(): Promise<void> };

/** Each test spawns the CLI two to four times (seconds each on a loaded machine). */
const CLI_TEST_MS = 120_000;

describe('platformctl keys', () => {
  let handle: TestSubgraph | undefined;
  let env: Record<string, string>;
  let prepared: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    prepared = testConfig();
    const { config } = prepared;
    env = {
      DATA_DIR: config.dataDir,
      LOG_LEVEL: 'warn',
      PLATFORM_ENV: 'test',
      PLATFORM_SERVICES__IDENTITY__DB_SCHEMA: config.services.identity!.dbSchema!,
    };
  });
  afterAll(async () => {
    await handle?.stop();
    await prepared.cleanup();
  });

  it(
    'lists and rotates with identity stopped, on its database',
    async () => {
      const first = await platformctl(['keys', 'list'], env);
      expect(first).toMatchObject({ code: 0, stderr: '' });
      const [[initial, state]] = listed(first.stdout) as [[string, string]];
      expect(state).toBe('signing');

      const scheduled = await platformctl(['keys', 'rotate'], env);
      expect(scheduled.code).toBe(0);
      expect(scheduled.stdout).toContain(`replacing ${initial}`);
      expect(scheduled.stdout).toContain('after 3600 s in every JWKS');
      const after = listed((await platformctl(['keys', 'list'], env)).stdout);
      expect(after.map(([, s]) => s)).toEqual(['pending', 'signing']);
      expect(after[1]![0]).toBe(initial);
    },
    CLI_TEST_MS,
  );

  it(
    'rotates through a running identity too: at once with --now, seen by every instance after a refresh',
    async () => {
      // The same data directory and schema as the CLI's (testConfig gives every service port 0).
      handle = await startTestSubgraph(identity, { config: prepared.config });
      const keys = (handle.services as { keys: Keys }).keys;
      const port = String(new URL(handle.url).port);
      const before = keys.current().kid;

      const rotated = await platformctl(['keys', 'rotate', '--now'], {
        ...env,
        PLATFORM_SERVICES__IDENTITY__PORT: port,
      });
      expect(rotated.stderr).toBe('');
      expect(rotated.code).toBe(0);
      const kid = /new signing key (\S+)/.exec(rotated.stdout)![1]!;
      // On the embedded database the running identity made the key itself; on PostgreSQL the CLI
      // wrote the table and the instance reads it at its next refresh.
      await keys.refresh();
      expect(keys.current().kid).toBe(kid);
      expect(keys.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, before]));
      const jwks = (await (await fetch(`${handle.baseUrl}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      expect(jwks.keys[0]!.kid).toBe(kid);

      const list = await platformctl(['keys', 'list'], { ...env, PLATFORM_SERVICES__IDENTITY__PORT: port });
      expect(listed(list.stdout)[0]).toEqual([kid, 'signing']);
    },
    CLI_TEST_MS,
  );

  it(
    'refuses to rotate configured keys (exit 1), which are rotated in the secret store',
    async () => {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const signing = JSON.stringify([{ kid: 'configured-1', privateJwk: await exportJWK(privateKey) }]);
      const result = await platformctl(['keys', 'rotate'], {
        ...env,
        DATA_DIR: join(env.DATA_DIR!, 'configured'),
        PLATFORM_MODULES__IDENTITY__KEYS__SIGNING: signing,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('rotate them in the secret store');
    },
    CLI_TEST_MS,
  );
});
