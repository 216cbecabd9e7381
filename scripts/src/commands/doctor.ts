/**
 * `platformctl doctor`: one report on the whole deployment as this configuration describes it:
 * config, modules and their rules, Redis, every service's readiness, each module's migrations,
 * outbox and queues, the composition against the running subgraphs, identity's keys and the audit
 * chain. One line per check (OK, WARN, FAIL), a fix under each that is not OK; exit 1 on any FAIL.
 */
import { ConfigError, type PlatformConfig } from '@platform/kernel';
import { loadConfig, withModuleRuntime, type ModuleDefinition } from '@platform/kernel/tools';
import { serviceCredential, SERVICE_CREDENTIAL_HEADER, serviceSecret } from '@platform/kernel/gateway';
import identity from '@platform/identity';
import { loadDefinition, scanModules } from '../modules.js';
import {
  compositionFinding,
  gatewayEndpoint,
  jwksFinding,
  readyCheck,
  redisFinding,
  subgraphEndpoint,
  type Endpoint,
} from './doctor-checks.js';
import {
  chainFinding,
  migrationsFinding,
  moduleData,
  NoDatabaseError,
  queuesFinding,
  type ModuleData,
} from './doctor-data.js';
import { fail, ok, reason, renderReport, type Finding } from './doctor-report.js';
import { moduleProblems } from './modules.js';

type Env = Record<string, string | undefined>;

/**
 * identity's signing key: from its internal route while it holds the embedded database, else its
 * table on PostgreSQL (only when identity's migrations are current: an offline runtime would apply them).
 */
async function signingKid(
  config: PlatformConfig,
  origin: string,
  headers: Record<string, string>,
  migrationsCurrent: boolean,
): Promise<string | undefined> {
  type Key = { kid: string; state: string };
  const response = await fetch(`${origin}/internal/signing-keys`, { headers, signal: AbortSignal.timeout(3000) }).catch(
    () => undefined,
  );
  let keys: Key[];
  if (response?.ok) keys = ((await response.json()) as { keys: Key[] }).keys;
  else if (migrationsCurrent && (config.database.url || config.services.identity?.databaseUrl)) {
    const quiet = { ...config, log: { ...config.log, level: 'error' as const } };
    keys = await withModuleRuntime(identity, quiet, async (_runtime, services) => services.keys.list());
  } else return undefined;
  return keys.find((key) => key.state === 'signing')?.kid;
}

/** Each module's data lines (and the audit chain's), with what could not be read as a FAIL naming it. */
async function dataFindings(
  config: PlatformConfig,
  definitions: ModuleDefinition[],
  endpoints: Map<string, Endpoint>,
  headers: Record<string, string>,
): Promise<{ findings: Finding[]; current: Set<string> }> {
  const findings: Finding[] = [];
  /** Modules whose migrations were read, none pending. */
  const current = new Set<string>();
  let audit: ModuleData | undefined;
  for (const definition of definitions) {
    const name = definition.manifest.name;
    const origin = endpoints.get(name)?.origin ?? '';
    try {
      const data = await moduleData(config, definition, origin, headers);
      findings.push(migrationsFinding(data, config), queuesFinding(data, config));
      if (data.migrations.pending.length === 0) current.add(name);
      if (name === 'audit') audit = data;
    } catch (error) {
      const embedded = !(config.services[name]?.databaseUrl ?? config.database.url);
      const fix = !embedded
        ? `check DATABASE_URL (or services.${name}.databaseUrl) and that PostgreSQL answers`
        : error instanceof NoDatabaseError
          ? 'npm start creates and migrates it (or npm run platformctl -- migrate)'
          : `while a process holds the embedded database, doctor asks ${name}'s service (${origin}): start it, or stop the other process`;
      findings.push(fail(`database ${name}`, `${name}'s database cannot be read: ${reason(error)}`, fix));
    }
  }
  if (audit) findings.push(chainFinding(audit));
  return { findings, current };
}

/** Runs every check; the findings in report order. */
export async function diagnose(root: string, env: Env): Promise<Finding[]> {
  let config: PlatformConfig;
  try {
    config = loadConfig({ env, cwd: root });
  } catch (error) {
    // One line per bad setting (a ConfigError lists them all), each naming who set it.
    const lines = error instanceof ConfigError ? error.message.split('\n') : [reason(error)];
    return lines.map((line) =>
      fail('config', line.replace(/^config: /, ''), 'correct the value in the file or variable named'),
    );
  }
  const database = config.database.url ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  const findings: Finding[] = [ok('config', `${config.env}, ${database}`)];

  const problems = await moduleProblems(root, { sources: true });
  const modules = scanModules(root).modules.filter(
    (module) => module.hasEntry && config.services[module.manifest.name],
  );
  findings.push(
    problems.length === 0
      ? ok('modules', `${modules.length} modules valid, every field guarded by a rule`)
      : fail(
          'modules',
          `${problems.length} problem(s): ${problems[0]}`,
          'npm run platformctl -- modules validate lists them all',
        ),
  );
  findings.push(await redisFinding(config));

  const endpoints = new Map(modules.map((m) => [m.manifest.name, subgraphEndpoint(config, m.manifest.name)]));
  const running: Endpoint[] = [];
  const missing: string[] = [];
  for (const endpoint of [...endpoints.values(), gatewayEndpoint(config)]) {
    const { finding, answers } = await readyCheck(endpoint);
    findings.push(finding);
    if (endpoint.name === 'gateway') continue;
    if (answers) running.push(endpoint);
    else missing.push(endpoint.name);
  }

  const headers = { [SERVICE_CREDENTIAL_HEADER]: serviceCredential(serviceSecret(config)) };
  const definitions = await Promise.all(modules.map((module) => loadDefinition(module)));
  const data = await dataFindings(config, definitions, endpoints, headers);
  findings.push(...data.findings);

  // The committed supergraph routes to the development URLs (npm run generate); the same here.
  const generated = loadConfig({ env: { PLATFORM_ENV: 'development' }, cwd: root }).services;
  const generatedUrls = Object.fromEntries(Object.entries(generated).map(([name, s]) => [name, s.url!]));
  findings.push(await compositionFinding(root, config, running, missing, headers, generatedUrls));
  const identityOrigin = endpoints.get(config.auth.tokenService)?.origin ?? '';
  const identityCurrent = data.current.has(config.auth.tokenService);
  findings.push(await jwksFinding(config, () => signingKid(config, identityOrigin, headers, identityCurrent)));
  return findings;
}

/** `doctor [--json]`: the report; exit 1 on any FAIL. */
export async function doctor(root: string, env: Env, options: { json?: boolean }): Promise<number> {
  const findings = await diagnose(root, env);
  const failed = findings.some((finding) => finding.status === 'FAIL');
  if (options.json) console.log(JSON.stringify({ ok: !failed, checks: findings }, null, 2));
  else console.log(renderReport(findings));
  return failed ? 1 : 0;
}
