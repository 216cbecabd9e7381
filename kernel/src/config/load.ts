import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { developmentSecretIssues } from './production.js';
import { platformConfigSchema, type EnvVariable, type PlatformConfig } from './schema.js';

export { ConfigError, type ConfigIssue } from './config-error.js';

type Env = Record<string, string | undefined>;

/**
 * The kernel's plain variables operators expect, mapped to config paths (modules add theirs under
 * `environment` in config/default.yaml). Everything else is `PLATFORM_<SECTION>__<KEY>`: `__`
 * separates levels, `_` inside a level becomes camelCase (`PLATFORM_HTTP__BODY_LIMIT=2mb` sets
 * `http.bodyLimit`). Secrets are taken as written: a YAML reading could turn one into a number
 * or a list.
 */
export const PLAIN_ENV_VARS: Readonly<Record<string, EnvVariable>> = {
  DATABASE_URL: { path: 'database.url', secret: false },
  REDIS_URL: { path: 'redis.url', secret: false },
  SMTP_URL: { path: 'smtp.url', secret: false },
  DATA_DIR: { path: 'dataDir', secret: false },
  LOG_LEVEL: { path: 'log.level', secret: false },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: { path: 'tracing.otlpEndpoint', secret: false },
  SERVICE_SECRET: { path: 'auth.serviceSecret', secret: true },
  S3_ACCESS_KEY_ID: { path: 'files.s3.accessKeyId', secret: true },
  S3_SECRET_ACCESS_KEY: { path: 'files.s3.secretAccessKey', secret: true },
};

export const ENV_PREFIX = 'PLATFORM_';

/** `PLATFORM_*` variables that choose what is loaded (or where platformctl works), not settings. */
const NOT_SETTINGS: ReadonlySet<string> = new Set(['PLATFORM_ENV', 'PLATFORM_CONFIG_DIR', 'PLATFORM_ROOT']);

const camel = (segment: string): string =>
  segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Environment values are YAML scalars: `true`, `42`, `null`, `[a, b]` all parse. */
function parseEnvValue(raw: string): unknown {
  if (raw === '') return null;
  try {
    return parseYaml(raw) as unknown;
  } catch {
    return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge where arrays and scalars of `over` replace those of `base`. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/**
 * A plain variable's value, or the content of the file its `<NAME>_FILE` twin names (how
 * container platforms hand over secrets: `SERVICE_SECRET_FILE=/run/secrets/service-secret`).
 */
function plainValue(env: Env, name: string, path: string): string | undefined {
  if (env[name] !== undefined) return env[name];
  const file = env[`${name}_FILE`];
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError([{ path, message: `${name}_FILE: ${(error as Error).message}` }]);
  }
}

/**
 * The overrides the environment asks for, as a partial config tree: the kernel's plain variables,
 * those `declared` (the config files' `environment`), and `PLATFORM_*`.
 */
export function envOverrides(env: Env, declared: Readonly<Record<string, EnvVariable>> = {}): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const [name, { path, secret }] of Object.entries({ ...declared, ...PLAIN_ENV_VARS })) {
    const raw = plainValue(env, name, path);
    if (raw !== undefined) setPath(tree, path.split('.'), secret ? raw : parseEnvValue(raw));
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || NOT_SETTINGS.has(name)) {
      continue;
    }
    const path = name.slice(ENV_PREFIX.length).split('__').filter(Boolean).map(camel);
    if (path.length > 0) setPath(tree, path, parseEnvValue(raw));
  }
  return tree;
}

/** The config files' `environment` (validated again with the whole config; what is malformed is reported then). */
function declaredVariables(section: unknown, issues: ConfigIssue[]): Record<string, EnvVariable> {
  if (section === undefined) return {};
  const parsed = platformConfigSchema.shape.environment.safeParse(section);
  if (parsed.success) return parsed.data;
  issues.push(...zodIssues(parsed.error, 'environment'));
  return {};
}

/** Finds `config/` by walking up from `start` (the repository root or the container's /app). */
export function findConfigDir(start: string, env: Env): string {
  if (env.PLATFORM_CONFIG_DIR) return resolve(env.PLATFORM_CONFIG_DIR);
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'config', 'default.yaml'))) return join(dir, 'config');
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError([{ path: '', message: `no config/default.yaml above ${start}` }]);
    dir = parent;
  }
}

function readYaml(file: string, issues: ConfigIssue[]): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    const parsed = parseYaml(readFileSync(file, 'utf8')) as unknown;
    if (parsed == null) return {};
    if (!isPlainObject(parsed)) {
      issues.push({ path: '', message: `${file} must contain a mapping` });
      return {};
    }
    return parsed;
  } catch (error) {
    issues.push({ path: '', message: `${file}: ${(error as Error).message}` });
    return {};
  }
}

/** Formats zod issues as `a.b.c: message`, one per problem. */
export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

export interface LoadConfigOptions {
  env?: Env;
  cwd?: string;
  /** Applied after files and environment (tests use this for ports and schemas). */
  overrides?: Record<string, unknown>;
}

/**
 * Loads `config/default.yaml`, then `config/<env>.yaml`, then environment variables, then
 * `overrides`; validates the result and reports every problem at once. The environment
 * name comes from `PLATFORM_ENV`, else `NODE_ENV`, else `development`.
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<PlatformConfig> {
  const env = options.env ?? process.env;
  const envName = env.PLATFORM_ENV ?? env.NODE_ENV ?? 'development';
  const dir = findConfigDir(options.cwd ?? process.cwd(), env);
  const issues: ConfigIssue[] = [];
  let tree = readYaml(join(dir, 'default.yaml'), issues);
  tree = deepMerge(tree, readYaml(join(dir, `${envName}.yaml`), issues));
  tree = deepMerge(tree, envOverrides(env, declaredVariables(tree.environment, issues)));
  tree = deepMerge(tree, { env: envName });
  if (options.overrides) tree = deepMerge(tree, options.overrides);

  const parsed = platformConfigSchema.safeParse(tree);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);

  const config = parsed.data;
  const secrets = developmentSecretIssues(config);
  if (secrets.length > 0) throw new ConfigError(secrets);
  const root = dirname(dir);
  if (!isAbsolute(config.dataDir)) config.dataDir = resolve(root, config.dataDir);
  if (!isAbsolute(config.gateway.supergraphPath)) {
    config.gateway.supergraphPath = resolve(root, config.gateway.supergraphPath);
  }
  for (const [name, service] of Object.entries(config.services)) {
    service.dbSchema ??= name.replace(/-/g, '_');
    service.url ??= `http://localhost:${service.port}/graphql`;
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a module's own section (`modules.<name>`) with that module's schema; problems
 * are reported with their full key path.
 */
export function moduleConfig<S extends z.ZodType>(config: PlatformConfig, name: string, schema: S): z.infer<S> {
  const parsed = schema.safeParse(config.modules[name] ?? {});
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error, `modules.${name}`));
  return parsed.data;
}
