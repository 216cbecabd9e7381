import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, envOverrides, loadConfig, moduleConfig, type LoadConfigOptions } from './load.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const load = (env: Record<string, string>, options: Omit<LoadConfigOptions, 'env' | 'cwd'> = {}) =>
  loadConfig({ env, cwd: ROOT, ...options });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads config/default.yaml with derived service defaults', () => {
    const config = load({ PLATFORM_ENV: 'test' });
    expect(config.env).toBe('test');
    expect(config.gateway.port).toBe(4000);
    expect(config.http.requestTimeoutMs).toBe(30000);
    expect(config.database.url).toBeNull();
    expect(config.services.blog).toEqual({ port: 4004, dbSchema: 'blog', url: 'http://localhost:4004/graphql' });
    // The platform's modules, and any a team added with `platformctl modules new`.
    expect(Object.keys(config.services)).toEqual(expect.arrayContaining(['audit', 'authz', 'blog', 'identity']));
    expect(config.gateway.supergraphPath).toBe(join(ROOT, 'schema/supergraph.graphql'));
  });

  it.each([
    // [env, path, expected]: <env>.yaml overrides default.yaml
    [{ PLATFORM_ENV: 'test' }, 'log.level', 'silent'],
    [{ PLATFORM_ENV: 'test' }, 'http.shutdownTimeoutMs', 1000],
    [{ PLATFORM_ENV: 'production' }, 'host', '0.0.0.0'],
    [{ PLATFORM_ENV: 'production' }, 'gateway.introspection', false],
    [{ PLATFORM_ENV: 'production' }, 'gateway.explorer', 'off'],
    [{}, 'gateway.explorer', 'sandbox'],
    [{ PLATFORM_ENV: 'production' }, 'http.cors.origins', []],
    [{ NODE_ENV: 'production' }, 'env', 'production'],
    [{}, 'env', 'development'],
    [{}, 'demoData', true],
    [{ PLATFORM_ENV: 'test', NODE_ENV: 'production' }, 'env', 'test'],
  ])('with %j, %s is %j', (env, path, expected) => {
    expect(get(load(env), path)).toEqual(expected);
  });

  it.each([
    // [variable, value, path, expected]
    ['PLATFORM_GATEWAY__PORT', '4100', 'gateway.port', 4100],
    ['PLATFORM_HTTP__BODY_LIMIT', '2mb', 'http.bodyLimit', '2mb'],
    [
      'PLATFORM_HTTP__CORS__ORIGINS',
      '[https://a.example, https://b.example]',
      'http.cors.origins',
      ['https://a.example', 'https://b.example'],
    ],
    ['PLATFORM_SERVICES__BLOG__PORT', '5004', 'services.blog.port', 5004],
    ['PLATFORM_SERVICES__BLOG__PORT', '5004', 'services.blog.url', 'http://localhost:5004/graphql'],
    ['PLATFORM_GATEWAY__EXPLORER', 'graphiql', 'gateway.explorer', 'graphiql'],
    ['PLATFORM_GATEWAY__EXPLORER', 'off', 'gateway.explorer', 'off'],
    ['PLATFORM_TRACING__SAMPLE_RATIO', '0.25', 'tracing.sampleRatio', 0.25],
    ['PLATFORM_MODULES__BLOG__MAX_TITLE', '80', 'modules.blog.maxTitle', 80],
    ['DATABASE_URL', 'postgres://u:p@db:5432/platform', 'database.url', 'postgres://u:p@db:5432/platform'],
    ['DATABASE_URL', '', 'database.url', null],
    ['REDIS_URL', 'redis://redis:6379', 'redis.url', 'redis://redis:6379'],
    ['SMTP_URL', 'smtp://mail:25', 'smtp.url', 'smtp://mail:25'],
    ['DATA_DIR', '/srv/data', 'dataDir', '/srv/data'],
    ['DATA_DIR', 'data/here', 'dataDir', join(ROOT, 'data/here')],
    ['LOG_LEVEL', 'debug', 'log.level', 'debug'],
    [
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'http://127.0.0.1:4318/v1/traces',
      'tracing.otlpEndpoint',
      'http://127.0.0.1:4318/v1/traces',
    ],
  ])('%s=%s sets %s to %j', (name, value, path, expected) => {
    expect(get(load({ PLATFORM_ENV: 'test', [name]: value }), path)).toEqual(expected);
  });

  it('PLATFORM_* variables win over plain variables for the same key', () => {
    const config = load({ PLATFORM_ENV: 'test', LOG_LEVEL: 'debug', PLATFORM_LOG__LEVEL: 'warn' });
    expect(config.log.level).toBe('warn');
  });

  it('overrides win over the environment', () => {
    const config = load(
      { PLATFORM_ENV: 'test', PLATFORM_GATEWAY__PORT: '4100' },
      { overrides: { gateway: { port: 0 } } },
    );
    expect(config.gateway.port).toBe(0);
  });

  it('does not treat PLATFORM_ENV, PLATFORM_CONFIG_DIR or PLATFORM_ROOT as config keys', () => {
    expect(
      envOverrides({
        PLATFORM_ENV: 'test',
        PLATFORM_CONFIG_DIR: '/x',
        PLATFORM_ROOT: '/app',
        PLATFORM_LOG__LEVEL: 'warn',
      }),
    ).toEqual({
      log: { level: 'warn' },
    });
  });

  it('resolves the default relative dataDir against the repository root', () => {
    expect(load({ PLATFORM_ENV: 'test' }).dataDir).toBe(join(ROOT, 'var'));
    expect(loadConfig({ env: { PLATFORM_ENV: 'test' }, cwd: join(ROOT, 'kernel', 'src') }).dataDir).toBe(
      join(ROOT, 'var'),
    );
  });

  it('reports every problem at once, each with its key path', () => {
    const error = configError(() =>
      load({ PLATFORM_ENV: 'test', PLATFORM_GATEWAY__PORT: '70000', LOG_LEVEL: 'loud', REDIS_URL: 'not a url' }),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual(['gateway.port', 'log.level', 'redis.url']);
    for (const path of ['gateway.port', 'log.level', 'redis.url']) expect(error.message).toContain(path);
  });

  it.each([
    ['PLATFORM_ENV', 'staging', 'env'],
    ['PLATFORM_HTTP__BODY_LIMIT', 'lots', 'http.bodyLimit'],
    ['PLATFORM_SERVICES__BLOG__PORT', 'abc', 'services.blog.port'],
    ['PLATFORM_SERVICES__BLOG__DB_SCHEMA', 'Blog-Schema', 'services.blog.dbSchema'],
    ['PLATFORM_GATEWAY__PROT', '1', 'gateway'], // unknown key: reported on its parent
    ['PLATFORM_DATABASE__POOL_MAX', '0', 'database.poolMax'],
    ['PLATFORM_TRACING__SAMPLE_RATIO', '2', 'tracing.sampleRatio'],
  ])('%s=%s is rejected at %j', (name, value, path) => {
    const error = configError(() => load({ PLATFORM_ENV: 'test', [name]: value }));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe(path);
  });

  it('says what replaced gateway.sandbox when an old config still sets it', () => {
    const error = configError(() => load({ PLATFORM_ENV: 'test', PLATFORM_GATEWAY__SANDBOX: 'true' }));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({
      path: 'gateway.sandbox',
      message: expect.stringContaining('gateway.sandbox was replaced by gateway.explorer: sandbox | graphiql | off'),
    });
  });

  it('returns a deeply frozen object', () => {
    const config = load({ PLATFORM_ENV: 'test' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.services.blog)).toBe(true);
    expect(Object.isFrozen(config.http.cors.origins)).toBe(true);
    expect(() => {
      (config.gateway as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  describe('with PLATFORM_CONFIG_DIR', () => {
    const dir = mkdtempSync(join(tmpdir(), 'platform-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads that directory and resolves dataDir against its parent', () => {
      writeFileSync(join(dir, 'default.yaml'), readDefault());
      writeFileSync(join(dir, 'test.yaml'), 'gateway:\n  port: 4999\n');
      const config = loadConfig({ env: { PLATFORM_ENV: 'test', PLATFORM_CONFIG_DIR: dir }, cwd: '/' });
      expect(config.gateway.port).toBe(4999);
      expect(config.dataDir).toBe(join(dir, '..', 'var'));
    });

    it('reports malformed YAML as a ConfigError', () => {
      writeFileSync(join(dir, 'test.yaml'), 'gateway: [unclosed\n');
      const error = configError(() => loadConfig({ env: { PLATFORM_ENV: 'test', PLATFORM_CONFIG_DIR: dir } }));
      expect(error.issues[0]!.message).toContain('test.yaml');
    });
  });
});

describe('production refuses development secrets', () => {
  const OWN = 'a secret of our own, long enough: 7f3a9c1e5b2d4f6a';
  const kek = Buffer.from('dev-only-kek-not-for-production!').toString('base64');

  it('names every secret setting holding a development default, never its value', () => {
    const error = configError(() =>
      load({
        PLATFORM_ENV: 'production',
        SERVICE_SECRET: 'dev-only-service-secret-not-for-production-0000000000',
        DATABASE_URL: 'postgres://platform:dev-only-postgres-password@db:5432/platform',
        REDIS_URL: 'redis://:postgres@cache:6379',
        SMTP_URL: `smtp://mailer:${encodeURIComponent(OWN)}@mail:587`,
        SEED_ADMIN_EMAIL: 'root@example.com',
        SEED_ADMIN_PASSWORD: 'dev-admin-change-me',
        SIGNING_KEY_ENCRYPTION_KEY: kek,
      }),
    );
    expect(error.issues.map((issue) => issue.path).sort()).toEqual([
      'auth.serviceSecret',
      'database.url (its password)',
      'modules.identity.keys.encryptionKey',
      'modules.identity.seedAdmin.password',
      'redis.url (its password)',
    ]);
    expect(error.message).toContain('is a development default');
    expect(error.message).not.toContain('dev-only-postgres-password');
    expect(error.message).not.toContain('dev-admin-change-me');
  });

  it('accepts secrets of its own in production, and development values outside production', () => {
    const own = {
      SERVICE_SECRET: OWN,
      DATABASE_URL: `postgres://platform:${encodeURIComponent(OWN)}@db:5432/platform`,
      SEED_ADMIN_PASSWORD: OWN,
      SIGNING_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    expect(load({ PLATFORM_ENV: 'production', ...own }).auth.serviceSecret).toBe(OWN);
    expect(load({ PLATFORM_ENV: 'development', SEED_ADMIN_PASSWORD: 'dev-admin-change-me' }).env).toBe('development');
  });
});

describe('moduleConfig', () => {
  const schema = z.object({ maxTitle: z.number().int().positive().default(200), tagline: z.string() }).strict();

  it('validates the module section with its own schema and applies defaults', () => {
    const config = load({ PLATFORM_ENV: 'test', PLATFORM_MODULES__BLOG__TAGLINE: 'hello' });
    expect(moduleConfig(config, 'blog', schema)).toEqual({ maxTitle: 200, tagline: 'hello' });
  });

  it('reports problems under modules.<name>', () => {
    const config = load({ PLATFORM_ENV: 'test', PLATFORM_MODULES__BLOG__MAX_TITLE: '-1' });
    const error = configError(() => moduleConfig(config, 'blog', schema));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['modules.blog.maxTitle', 'modules.blog.tagline']);
  });
});

function get(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], object);
}

/** The repository's own defaults, so this test follows the schema as it grows. */
function readDefault(): string {
  return readFileSync(join(ROOT, 'config', 'default.yaml'), 'utf8');
}

describe('environment variables a module declares (`environment` in the config files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'platform-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A config directory of a deployment whose module `notes` declares two variables.
  writeFileSync(
    join(dir, 'default.yaml'),
    readFileSync(join(ROOT, 'config/default.yaml'), 'utf8').replace(
      /^environment:\n/m,
      'environment:\n  NOTES_TOKEN: { path: modules.notes.token, secret: true }\n  NOTES_LIMIT: { path: modules.notes.limit }\n',
    ),
  );
  const loadHere = (env: Record<string, string>) => loadConfig({ env: { PLATFORM_CONFIG_DIR: dir, ...env } });

  it('sets their paths, reads secrets as written and from <NAME>_FILE, parses the rest as YAML', () => {
    const file = join(dir, 'token');
    writeFileSync(file, '0123 4567\n');
    const config = loadHere({ PLATFORM_ENV: 'test', NOTES_TOKEN_FILE: file, NOTES_LIMIT: '25' });
    expect(config.modules.notes).toEqual({ token: '0123 4567', limit: 25 });
    expect(config.environment.NOTES_TOKEN).toEqual({ path: 'modules.notes.token', secret: true });
  });

  it('refuses a declared secret holding a development default in production, by path', () => {
    const error = configError(() =>
      loadHere({
        PLATFORM_ENV: 'production',
        SERVICE_SECRET: 'an-operator-chosen-secret-of-enough-length-0123456789',
        SEED_ADMIN_PASSWORD: 'An operator-chosen passphrase 9',
        SIGNING_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        NOTES_TOKEN: 'change-me',
      }),
    );
    expect(error.issues.map((issue) => issue.path)).toContain('modules.notes.token');
  });

  it('reports a malformed declaration with its key path', () => {
    writeFileSync(join(dir, 'test.yaml'), 'environment:\n  notes_lower: { path: modules.notes.x }\n');
    const error = configError(() => loadHere({ PLATFORM_ENV: 'test' }));
    expect(error.issues.map((issue) => issue.path)).toContain('environment.notes_lower');
  });
});

describe('a bad value is reported with whoever set it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'platform-sources-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'default.yaml'), readDefault());
  const loadHere = (env: Record<string, string>) =>
    configError(() => loadConfig({ env: { PLATFORM_CONFIG_DIR: dir, ...env } }));

  it.each([
    // [variables, the one line expected]
    [
      { PLATFORM_HTTP__BODY_LIMIT: 'banana' },
      'config: http.bodyLimit from PLATFORM_HTTP__BODY_LIMIT = "banana": expected a number of bytes, or with a unit: 512kb, 4mb',
    ],
    [{ LOG_LEVEL: 'loud' }, 'config: log.level from LOG_LEVEL = "loud": '],
    [{ PLATFORM_GATEWAY__PROT: '1' }, 'config: gateway from PLATFORM_GATEWAY__PROT = "1": Unrecognized key: "prot"'],
    [{ PLATFORM_ENV: 'staging' }, 'config: env from PLATFORM_ENV = "staging": '],
  ])('%j gives %j', (env, line) => {
    const error = loadHere({ PLATFORM_ENV: 'test', ...env });
    expect(error.message.split('\n')).toEqual([expect.stringContaining(line)]);
    expect(error.message).not.toContain('Error');
    expect(error.issues[0]!.source).toBeDefined();
  });

  it('names the file that set a value from YAML, relative to the repository root', () => {
    const repo = mkdtempSync(join(tmpdir(), 'platform-repo-'));
    try {
      mkdirSync(join(repo, 'config'));
      writeFileSync(join(repo, 'config', 'default.yaml'), readDefault());
      writeFileSync(join(repo, 'config', 'test.yaml'), 'gateway:\n  port: lots\n');
      const error = configError(() => loadConfig({ env: { PLATFORM_ENV: 'test' }, cwd: repo }));
      expect(error.message).toBe(
        'config: gateway.port from config/test.yaml = "lots": Invalid input: expected number, received string',
      );
      // Outside the repository (PLATFORM_CONFIG_DIR elsewhere), the file's own path.
      writeFileSync(join(dir, 'test.yaml'), 'gateway:\n  port: lots\n');
      expect(loadHere({ PLATFORM_ENV: 'test' }).issues[0]!.source).toEqual({
        from: join(dir, 'test.yaml'),
        value: '"lots"',
      });
    } finally {
      rmSync(repo, { recursive: true, force: true });
      rmSync(join(dir, 'test.yaml'), { force: true });
    }
  });

  it('never echoes a secret or a URL carrying a password, but names the variable', () => {
    const error = loadHere({
      PLATFORM_ENV: 'production',
      SERVICE_SECRET: 'dev-only-service-secret-not-for-production-0000000000',
      DATABASE_URL: 'postgres://platform:dev-only-pw@db:5432/platform',
      SEED_ADMIN_PASSWORD: 'An operator-chosen passphrase 9',
      SIGNING_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    const lines = error.message.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config: auth\.serviceSecret from SERVICE_SECRET: is a development default/),
        expect.stringMatching(/^config: database\.url \(its password\) from DATABASE_URL: is a development default/),
      ]),
    );
    expect(error.message).not.toContain('dev-only');
  });

  it('names the variable behind a problem in a module section', () => {
    const config = loadConfig({
      env: { PLATFORM_CONFIG_DIR: dir, PLATFORM_ENV: 'test', PLATFORM_MODULES__NOTES__LIMIT: 'x' },
    });
    const error = configError(() => moduleConfig(config, 'notes', z.object({ limit: z.number().int() }).strict()));
    expect(error.message).toBe(
      'config: modules.notes.limit from PLATFORM_MODULES__NOTES__LIMIT = "x": Invalid input: expected number, received string',
    );
  });
});
