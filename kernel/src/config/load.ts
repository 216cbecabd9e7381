import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue, type ConfigSource } from './config-error.js';
import { developmentSecretIssues } from './production.js';
import { platformConfigSchema, type EnvVariable, type PlatformConfig } from './schema.js';

export { ConfigError, renderConfigIssue, type ConfigIssue, type ConfigSource } from './config-error.js';

type Env = Record<string, string | undefined>;

/**
 * Where each value of the merged tree was set, by dotted key path (a later layer replaces an
 * earlier one's entry), so a bad value is reported with the file or variable to correct.
 */
export type ConfigSources = Map<string, { from: string; value: unknown; secret: boolean }>;

/** Each loaded config's sources, for problems found later in a module's own section (`moduleConfig`). */
const sourcesOf = new WeakMap<object, ConfigSources>();

/** Key names that hold secrets wherever they appear: their values are never echoed. */
const SECRET_KEY = /(secret|password|token|encryptionkey|signingkey|checkpointkey)s?$/i;
/** A URL with a password in it (`postgres://user:pw@host`): shown by name only. */
const URL_WITH_PASSWORD = /\/\/[^/@\s]*:[^/@\s]*@/;

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
export function envOverrides(
  env: Env,
  declared: Readonly<Record<string, EnvVariable>> = {},
  sources?: ConfigSources,
): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const [name, { path, secret }] of Object.entries({ ...declared, ...PLAIN_ENV_VARS })) {
    const raw = plainValue(env, name, path);
    if (raw === undefined) continue;
    setPath(tree, path.split('.'), secret ? raw : parseEnvValue(raw));
    const from = env[name] !== undefined ? name : `${name}_FILE (${env[`${name}_FILE`]})`;
    sources?.set(path, { from, value: raw, secret });
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || NOT_SETTINGS.has(name)) {
      continue;
    }
    const path = name.slice(ENV_PREFIX.length).split('__').filter(Boolean).map(camel);
    if (path.length === 0) continue;
    setPath(tree, path, parseEnvValue(raw));
    sources?.set(path.join('.'), { from: name, value: raw, secret: false });
  }
  return tree;
}

/** Records every leaf (scalars and whole lists) of a config file's tree as set by that file. */
function recordFile(tree: Record<string, unknown>, from: string, sources: ConfigSources, prefix = ''): void {
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value)) recordFile(value, from, sources, path);
    else sources.set(path, { from, value, secret: false });
  }
}

/**
 * The source of the value at `path` (or of the nearest enclosing value a layer set whole); for an
 * unknown key, the source of that key. Values of secrets and of URLs with passwords are left out.
 */
function sourceOf(
  sources: ConfigSources,
  path: string,
  secretPaths: ReadonlySet<string>,
  unknownKeys: readonly string[] = [],
): ConfigSource | undefined {
  const base = path.replace(/ \(its password\)$/, '');
  const candidates = unknownKeys.map((key) => (base ? `${base}.${key}` : key));
  for (let segments = base.split('.'); segments.length > 0 && segments[0] !== ''; segments = segments.slice(0, -1)) {
    candidates.push(segments.join('.'));
  }
  for (const candidate of candidates) {
    const found = sources.get(candidate);
    if (!found) continue;
    const hidden =
      found.secret ||
      secretPaths.has(candidate) ||
      SECRET_KEY.test(candidate.split('.').pop()!) ||
      base !== path ||
      (typeof found.value === 'string' && URL_WITH_PASSWORD.test(found.value));
    if (hidden) return { from: found.from };
    const shown = JSON.stringify(found.value) ?? String(found.value);
    return { from: found.from, value: shown.length > 80 ? `${shown.slice(0, 77)}...` : shown };
  }
  return undefined;
}

/** Adds each issue's source (see {@link sourceOf}). */
function withSources(
  issues: ConfigIssue[],
  sources: ConfigSources,
  secretPaths: ReadonlySet<string>,
  unknownKeys: ReadonlyMap<ConfigIssue, string[]> = new Map(),
): ConfigIssue[] {
  return issues.map((issue) => {
    if (issue.source) return issue;
    const source = sourceOf(sources, issue.path, secretPaths, unknownKeys.get(issue));
    return source ? { ...issue, source } : issue;
  });
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

function readYaml(file: string, issues: ConfigIssue[], sources: ConfigSources, cwd: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    const parsed = parseYaml(readFileSync(file, 'utf8')) as unknown;
    if (parsed == null) return {};
    if (!isPlainObject(parsed)) {
      issues.push({ path: '', message: `${file} must contain a mapping` });
      return {};
    }
    // Relative to where the process runs (the repository root, usually); elsewhere, in full.
    const shown = relative(cwd, file);
    recordFile(parsed, shown.startsWith('..') || isAbsolute(shown) ? file : shown, sources);
    return parsed;
  } catch (error) {
    issues.push({ path: '', message: `${file}: ${(error as Error).message}` });
    return {};
  }
}

/** Formats zod issues as `a.b.c: message`, one per problem. */
export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return zodIssuesWithKeys(error, prefix).issues;
}

/** {@link zodIssues}, with the unknown keys each "unrecognized keys" issue names (to find who set them). */
function zodIssuesWithKeys(
  error: z.ZodError,
  prefix = '',
): { issues: ConfigIssue[]; unknownKeys: Map<ConfigIssue, string[]> } {
  const unknownKeys = new Map<ConfigIssue, string[]>();
  const issues = error.issues.map((zodIssue) => {
    const issue: ConfigIssue = {
      path: [prefix, ...zodIssue.path.map(String)].filter(Boolean).join('.'),
      message: zodIssue.message,
    };
    if (zodIssue.code === 'unrecognized_keys') unknownKeys.set(issue, zodIssue.keys);
    return issue;
  });
  return { issues, unknownKeys };
}

/** Paths whose values are secrets: the kernel's secret variables and those the config files declare. */
function secretPathsOf(declared: Readonly<Record<string, EnvVariable>>): Set<string> {
  return new Set(
    Object.values({ ...declared, ...PLAIN_ENV_VARS })
      .filter((variable) => variable.secret)
      .map((variable) => variable.path),
  );
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
  const cwd = options.cwd ?? process.cwd();
  const dir = findConfigDir(cwd, env);
  const root = dirname(dir);
  const issues: ConfigIssue[] = [];
  const sources: ConfigSources = new Map();
  let tree = readYaml(join(dir, 'default.yaml'), issues, sources, cwd);
  tree = deepMerge(tree, readYaml(join(dir, `${envName}.yaml`), issues, sources, cwd));
  const declared = declaredVariables(tree.environment, issues);
  tree = deepMerge(tree, envOverrides(env, declared, sources));
  const envFrom = env.PLATFORM_ENV !== undefined ? 'PLATFORM_ENV' : env.NODE_ENV !== undefined ? 'NODE_ENV' : '';
  tree = deepMerge(tree, { env: envName });
  if (envFrom) sources.set('env', { from: envFrom, value: envName, secret: false });
  if (options.overrides) tree = deepMerge(tree, options.overrides);
  const secretPaths = secretPathsOf(declared);

  const parsed = platformConfigSchema.safeParse(tree);
  if (!parsed.success) {
    const found = zodIssuesWithKeys(parsed.error);
    issues.push(...withSources(found.issues, sources, secretPaths, found.unknownKeys));
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);

  const config = parsed.data;
  const secrets = developmentSecretIssues(config);
  if (secrets.length > 0) throw new ConfigError(withSources(secrets, sources, secretPaths));
  if (!isAbsolute(config.dataDir)) config.dataDir = resolve(root, config.dataDir);
  if (!isAbsolute(config.gateway.supergraphPath)) {
    config.gateway.supergraphPath = resolve(root, config.gateway.supergraphPath);
  }
  for (const [name, service] of Object.entries(config.services)) {
    service.dbSchema ??= name.replace(/-/g, '_');
    service.url ??= `http://localhost:${service.port}/graphql`;
  }
  sourcesOf.set(config, sources);
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
  if (!parsed.success) {
    const found = zodIssuesWithKeys(parsed.error, `modules.${name}`);
    const sources = sourcesOf.get(config);
    throw new ConfigError(
      sources ? withSources(found.issues, sources, secretPathsOf(config.environment), found.unknownKeys) : found.issues,
    );
  }
  return parsed.data;
}
