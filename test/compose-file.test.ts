import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import { serviceCredential } from '@platform/kernel/gateway';
import {
  COMPOSE_FILE,
  DOCKERFILE,
  ROOT,
  defaultTarget,
  dockerCompose,
  dockerComposeVersion,
  dockerfileStages,
  imageEnvironment,
  imageRuntime,
  resolvedCompose,
  runCompose,
  serviceEnvironment,
  writeSecrets,
  type ComposeConfig,
} from './fixtures/compose/compose.js';

/**
 * docker-compose.yml and the Dockerfile, checked by real tools: Debian's docker-compose (1.29)
 * validates and resolves the Compose file (with every profile); dockerfile-utils (the parser
 * and validator behind VS Code's Docker support) lints the Dockerfile, and the rules below
 * hold what a review of them would ask. test/compose-topology.e2e runs what the file describes.
 */

const APPLICATION = ['identity', 'authz', 'audit', 'blog', 'gateway'] as const;
const MODULES = ['identity', 'authz', 'audit', 'blog'] as const;
const PROFILES = ['otel', 'prometheus', 'grafana'];
const DEFAULT_PORTS = parseYaml(readFileSync(join(ROOT, 'config/default.yaml'), 'utf8')) as {
  services: Record<string, { port: number }>;
  gateway: { port: number };
};
const portOf = (service: string): number =>
  service === 'gateway' ? DEFAULT_PORTS.gateway.port : DEFAULT_PORTS.services[service]!.port;

let tmp: string;
let secretsDir: string;
let envFile: string;
let config: ComposeConfig;

beforeAll(() => {
  dockerCompose(); // fails with how to install it
  tmp = mkdtempSync(join(tmpdir(), 'compose-file-'));
  secretsDir = join(tmp, 'secrets');
  envFile = join(tmp, 'compose.env');
  writeSecrets(secretsDir);
  config = resolvedCompose(secretsDir, envFile, PROFILES);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('docker-compose.yml, validated by docker-compose', () => {
  it(`passes \`docker-compose config -q\`, alone and with the profiles ${PROFILES.join(', ')}`, () => {
    expect(dockerComposeVersion()).toMatch(/^\d+\.\d+/);
    for (const profiles of [[], ...PROFILES.map((p) => [p]), PROFILES]) {
      const run = runCompose(
        [...profiles.flatMap((p) => ['--profile', p]), 'config', '-q'],
        { SECRETS_DIR: secretsDir },
        envFile,
      );
      expect({ profiles, status: run.status, stderr: run.stderr }).toEqual({ profiles, status: 0, stderr: '' });
    }
  });

  it('has no top-level name (docker-compose 1.x refuses it)', () => {
    const raw = parseYaml(readFileSync(COMPOSE_FILE, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(raw)).not.toContain('name');
    expect(Object.keys(raw)).not.toContain('version');
  });

  it('refuses to run without the secrets, saying to run scripts/compose-secrets.sh', () => {
    const run = runCompose(['config', '-q'], {}, envFile);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('SECRETS_DIR');
    expect(run.stderr).toContain('run scripts/compose-secrets.sh first');
  });

  it('runs PostgreSQL, Redis, the one-shot migrate and every application service; observability only in profiles', () => {
    const always = Object.entries(config.services)
      .filter(([, service]) => !service.profiles)
      .map(([name]) => name);
    expect(always.sort()).toEqual(['audit', 'authz', 'blog', 'gateway', 'identity', 'migrate', 'postgres', 'redis']);
    expect(config.services['otel-collector']!.profiles).toEqual(['otel']);
    expect(config.services.prometheus!.profiles).toEqual(['prometheus']);
    expect(config.services.grafana!.profiles).toEqual(['grafana']);
  });

  it.each(APPLICATION)('%s: built from the Dockerfile with its SERVICE and PORT, ready-checked on /ready', (name) => {
    const service = config.services[name]!;
    expect(service.build).toMatchObject({ context: ROOT, args: { SERVICE: name, PORT: String(portOf(name)) } });
    expect(service.build!.target ?? defaultTarget()).toBe('service');
    expect(service.image).toBe(`platform/${name}`);
    const test = service.healthcheck!.test as string[];
    expect(test[0]).toBe('CMD');
    expect(test.join(' ')).toContain("process.env.HEALTHCHECK_PORT + '/ready'");
    // The image's HEALTHCHECK_PORT is the PORT it was built with.
    expect(imageEnvironment('service', service.build!.args).HEALTHCHECK_PORT).toBe(String(portOf(name)));
  });

  it.each(APPLICATION)('%s: finds identity, authz and identity’s key set by their service names', (name) => {
    const env = serviceEnvironment(config.services[name]!);
    for (const module of MODULES) {
      expect(env[`PLATFORM_SERVICES__${module.toUpperCase()}__URL`]).toBe(`http://${module}:${portOf(module)}/graphql`);
    }
    expect(env.PLATFORM_AUTH__JWKS_URL).toBe(`http://identity:${portOf('identity')}/.well-known/jwks.json`);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    // Every host a service is told about is one of the file's services, never itself on localhost.
    for (const value of Object.values(env)) {
      for (const match of value.matchAll(/[a-z]+:\/\/(?:[^@/\s]*@)?([^:/\s]+)/g)) {
        expect(Object.keys(config.services)).toContain(match[1]);
      }
    }
  });

  it('starts in order of readiness: data stores healthy → migrate completed → identity healthy → modules → gateway', () => {
    const dependsOn = (name: string) =>
      Object.fromEntries(Object.entries(config.services[name]!.depends_on ?? {}).map(([k, v]) => [k, v.condition]));
    expect(dependsOn('migrate')).toEqual({ postgres: 'service_healthy', redis: 'service_healthy' });
    expect(config.services.migrate!.restart).toBe('no');
    for (const module of MODULES) {
      expect(dependsOn(module)).toMatchObject({
        postgres: 'service_healthy',
        redis: 'service_healthy',
        migrate: 'service_completed_successfully',
        ...(module === 'identity' ? {} : { identity: 'service_healthy' }),
      });
    }
    expect(dependsOn('gateway')).toEqual(Object.fromEntries(MODULES.map((m) => [m, 'service_healthy'])));
    expect(config.services.postgres!.healthcheck!.test).toEqual([
      'CMD',
      'pg_isready',
      '-U',
      'platform',
      '-d',
      'platform',
    ]);
    expect(config.services.redis!.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('migrate runs platformctl migrate then seed from the platformctl image, with the seed administrator', () => {
    const migrate = config.services.migrate!;
    expect(migrate.build?.target).toBe('platformctl');
    expect(migrate.image).toBe('platform/platformctl');
    expect(migrate.entrypoint).toEqual(['/bin/sh', '-c', 'platformctl migrate && platformctl seed']);
    const env = serviceEnvironment(migrate);
    expect(env.SEED_ADMIN_EMAIL).toBe('admin@example.com');
    expect(env.SEED_ADMIN_PASSWORD_FILE).toBe('/run/secrets/seed_admin_password');
    for (const module of MODULES) {
      expect(serviceEnvironment(config.services[module]!).PLATFORM_DATABASE__MIGRATE_ON_START).toBe('false');
    }
  });

  it('hands secrets over as Compose secrets only: files under SECRETS_DIR, read through <VAR>_FILE', () => {
    expect(Object.keys(config.secrets!).sort()).toEqual(readdirSync(secretsDir).sort());
    for (const [name, secret] of Object.entries(config.secrets!)) {
      expect(secret.file).toBe(join(secretsDir, name));
    }
    for (const [name, service] of Object.entries(config.services)) {
      const env = serviceEnvironment(service);
      const mounted = new Set((service.secrets ?? []).map((s) => s.target ?? s.source));
      for (const [key, value] of Object.entries(env)) {
        // No secret in plain text: passwords, the service secret, database URLs with credentials.
        expect({ name, key, plain: /(PASSWORD|SECRET|ENCRYPTION_KEY)$/.test(key) }).toEqual({
          name,
          key,
          plain: false,
        });
        expect({ name, key, credentials: /:\/\/[^/\s]*:[^@/\s]*@/.test(value) }).toEqual({
          name,
          key,
          credentials: false,
        });
        // Every *_FILE names a secret this service mounts.
        if (/_FILE$/.test(key) && value.startsWith('/run/secrets/')) {
          expect({ name, key, mounted: mounted.has(value.slice('/run/secrets/'.length)) }).toEqual({
            name,
            key,
            mounted: true,
          });
        }
      }
    }
    const files = (name: string) => serviceEnvironment(config.services[name]!);
    for (const module of MODULES) {
      expect(files(module)).toMatchObject({
        DATABASE_URL_FILE: '/run/secrets/database_url',
        SERVICE_SECRET_FILE: '/run/secrets/service_secret',
      });
    }
    expect(files('gateway').SERVICE_SECRET_FILE).toBe('/run/secrets/service_secret');
    expect(files('gateway').DATABASE_URL_FILE).toBeUndefined();
    expect(files('identity').SIGNING_KEY_ENCRYPTION_KEY_FILE).toBe('/run/secrets/signing_key_encryption_key');
    expect(files('postgres').POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres_password');
  });

  it('scripts/compose-secrets.sh writes every secret once, consistent with each other, private on the host', () => {
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
    const read = (name: string) => readFileSync(join(secretsDir, name), 'utf8');
    expect(read('database_url')).toBe(`postgres://platform:${read('postgres_password')}@postgres:5432/platform`);
    expect(read('service_secret').length).toBeGreaterThanOrEqual(32);
    expect(Buffer.from(read('signing_key_encryption_key'), 'base64')).toHaveLength(32);
    // Prometheus' bearer token is the credential every service accepts on /metrics.
    expect(read('metrics_credential')).toBe(serviceCredential(read('service_secret')));
    const before = read('service_secret');
    expect(writeSecrets(secretsDir)).toContain('kept');
    expect(read('service_secret')).toBe(before);
  });

  it('prometheus scrapes every service’s /metrics with the service credential as bearer token', () => {
    const prometheus = config.services.prometheus!;
    expect((prometheus.secrets ?? []).map((s) => s.source)).toEqual(['metrics_credential']);
    const scrape = parseYaml(readFileSync(join(ROOT, 'deploy/compose/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        authorization?: { type?: string; credentials_file?: string };
        static_configs: Array<{ targets: string[] }>;
      }>;
    };
    const platform = scrape.scrape_configs.find((job) => job.job_name === 'platform')!;
    expect(platform.metrics_path ?? '/metrics').toBe('/metrics');
    expect(platform.authorization).toEqual({ type: 'Bearer', credentials_file: '/run/secrets/metrics_credential' });
    expect(platform.static_configs.flatMap((c) => c.targets).sort()).toEqual(
      APPLICATION.map((name) => `${name}:${portOf(name)}`).sort(),
    );
    expect(JSON.stringify(prometheus.volumes)).toContain('deploy/compose/prometheus.yml');
  });

  it('grafana provisions the prometheus service as its data source; otel receives OTLP/HTTP on 4318', () => {
    const datasources = parseYaml(
      readFileSync(join(ROOT, 'deploy/compose/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: Array<{ type: string; url: string }> };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    expect(JSON.stringify(config.services.grafana!.volumes)).toContain('deploy/compose/grafana/provisioning');
    const collector = parseYaml(readFileSync(join(ROOT, 'deploy/compose/otel-collector.yaml'), 'utf8')) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      service: { pipelines: { traces: { receivers: string[] } } };
    };
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(collector.service.pipelines.traces.receivers).toContain('otlp');
    // Off unless asked for: an empty endpoint is no export (tracing.otlpEndpoint null).
    for (const name of APPLICATION) {
      expect(serviceEnvironment(config.services[name]!).OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBe('');
    }
    const traced = resolvedCompose(secretsDir, envFile, ['otel']);
    expect(traced.services['otel-collector']).toBeDefined();
    const withEndpoint = runCompose(
      ['--profile', 'otel', 'config'],
      { SECRETS_DIR: secretsDir, OTLP_TRACES_ENDPOINT: 'http://otel-collector:4318/v1/traces' },
      envFile,
    );
    expect(withEndpoint.stdout).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: http://otel-collector:4318/v1/traces');
  });

  it('publishes the gateway only (subgraphs and internal routes stay on the Compose network)', () => {
    const published = Object.entries(config.services)
      .filter(([name, service]) => service.ports && !service.profiles && name !== 'postgres')
      .map(([name]) => name);
    expect(published).toEqual(['gateway']);
  });
});

describe('the Dockerfile', () => {
  const content = readFileSync(DOCKERFILE, 'utf8');
  const stages = dockerfileStages(content);
  const text = (stage: string) =>
    stages
      .get(stage)!
      .map((i) => i.getTextContent())
      .join('\n');

  it('passes dockerfile-utils’ validation with every check an error', () => {
    const all = ValidationSeverity.ERROR;
    const problems = validate(content, {
      deprecatedMaintainer: all,
      directiveCasing: all,
      emptyContinuationLine: all,
      instructionCasing: all,
      instructionCmdMultiple: all,
      instructionEntrypointMultiple: all,
      instructionHealthcheckMultiple: all,
      instructionJSONInSingleQuotes: all,
      instructionWorkdirRelative: all,
    });
    expect(problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });

  it('lint: pinned base image, npm ci only, exec-form CMD/ENTRYPOINT, no cd in RUN, no secrets', () => {
    expect(content).toMatch(/^ARG NODE_IMAGE=node:22[-.\w]*$/m);
    expect(content).not.toMatch(/\bnpm (install|i)\b/);
    expect(content).not.toMatch(/RUN[^\n]*(\bcd\s)/);
    expect(content).not.toMatch(/:latest\b/);
    expect(content).not.toMatch(/SECRET|PASSWORD|ENCRYPTION_KEY/);
    for (const [name, instructions] of stages) {
      for (const instruction of instructions) {
        if (['CMD', 'ENTRYPOINT'].includes(instruction.getKeyword())) {
          expect({ name, json: (instruction.getArgumentsContent() ?? '').trim().startsWith('[') }).toEqual({
            name,
            json: true,
          });
        }
      }
    }
  });

  it('installs dependencies from the lockfile and package.json files alone, before any source is copied', () => {
    expect(text('manifests')).toMatch(/-name package\.json/);
    expect(text('deps')).toMatch(/COPY --from=manifests/);
    expect(text('deps')).toMatch(/RUN npm ci\b/);
    expect(text('deps')).not.toMatch(/COPY \. /);
    expect(text('service-deps')).toMatch(/npm ci --omit=dev .*--workspace/);
    expect(text('platformctl-deps')).toMatch(/npm ci --omit=dev .*--workspace scripts/);
  });

  it.each(['service', 'platformctl'])(
    'the %s image runs as a non-root user, with production dependencies only',
    (target) => {
      const runtime = imageRuntime(target);
      expect(runtime.user).toBe('node');
      expect(runtime.workdir).toBe('/app');
      const froms = text(target);
      expect(froms).not.toMatch(/COPY --from=(deps|build) \/app\/node_modules/);
      expect(imageEnvironment(target, { SERVICE: 'blog', PORT: '4004' })).toMatchObject({
        NODE_ENV: 'production',
        PLATFORM_ENV: 'production',
        DATA_DIR: '/data',
        APOLLO_TELEMETRY_DISABLED: 'true',
      });
    },
  );

  it('the service image is the default target, has a HEALTHCHECK on /ready and runs main.js; platformctl is its entrypoint', () => {
    expect(defaultTarget(content)).toBe('service');
    expect(text('service')).toMatch(/HEALTHCHECK [^\n]*\\\n\s*CMD \[[^\n]*\/ready/);
    expect(imageRuntime('service').cmd).toEqual(['node', 'main.js']);
    expect(text('service-files')).toContain('ln -s "$dir/dist/main.js" /out/main.js');
    // What a service reads at run time: config, schemas, the kernel's and its own compiled output, its manifest.
    expect(text('service-files')).toMatch(/cp -a --parents config schema kernel\/dist "\$dir\/dist" \/out\//);
    expect(text('service-files')).toContain('"$dir/module.yaml"');
    // The gateway's GraphiQL bundle, built by `npm run build` in the build stage.
    expect(text('build')).toMatch(/RUN npm run build/);
    expect(text('service-files')).toContain(
      'if [ "$dir" = gateway ]; then cp -a --parents gateway/explorer/dist /out/; fi',
    );
    expect(imageRuntime('platformctl').entrypoint).toEqual(['platformctl']);
    expect(text('platformctl')).toContain('ln -s /app/scripts/bin/platformctl.mjs /usr/local/bin/platformctl');
  });

  it('.dockerignore keeps secrets, node_modules and build output out of the context; .gitignore keeps secrets out of git', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['secrets', '**/node_modules', '**/dist', '.env', '.git']));
    expect(ignored).toEqual(expect.arrayContaining(['test/*', '!test/package.json', 'bench/*', '!bench/package.json']));
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('/secrets/');
  });
});
