/**
 * platformctl: inspect, validate and test modules, compose the supergraph, run migrations, check,
 * prune, export and verify the audit log, list and rotate identity's signing keys, list modules'
 * jobs and retry dead ones, and diagnose a deployment (doctor).
 * Exit codes: 0 ok, 1 problems found, 2 usage errors. Errors are one or two plain lines; the
 * stack only with --verbose.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '@platform/kernel';
import { KERNEL_VERSION } from '@platform/kernel/tools';
import { generateArtifacts, SUPERGRAPH_FILE } from './artifacts.js';
import { auditGrantsCommand, auditPrune, auditVerify, type VerifyOptions } from './commands/audit.js';
import { doctor } from './commands/doctor.js';
import { reason } from './commands/doctor-report.js';
import { jobsList, jobsRetry } from './commands/jobs.js';
import { keysList, keysRotate } from './commands/keys.js';
import { listModules, moduleInfo, testModule, validateModules } from './commands/modules.js';
import { migrate } from './commands/migrate.js';
import { newModule } from './commands/new-module.js';
import { seed } from './commands/seed.js';
import { printServiceCredential } from './commands/service-credential.js';
import { findRoot, RootError } from './modules.js';
import { UsageError } from './usage.js';

process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('platformctl')
    .description('Inspect, validate and operate the platform modules')
    .version(KERNEL_VERSION, '-V, --version', 'print the kernel version')
    .option(
      '--root <dir>',
      'repository root holding subgraphs/ (default: found from the working directory, or PLATFORM_ROOT)',
    )
    .option('--verbose', 'print the stack of an unexpected error')
    .showHelpAfterError()
    .exitOverride();
  const root = (): string => findRoot(program.opts<{ root?: string }>().root ?? process.env.PLATFORM_ROOT);
  const run = (action: () => number | Promise<number>) => async () => setExit(await action());

  const modules = program.command('modules').description('module manifests').exitOverride();
  modules
    .command('list')
    .description('name, version, dependencies, permission and event counts of every module')
    .action(run(() => listModules(root())));
  modules
    .command('validate')
    .description('check manifests, dependencies, kernel ranges, cycles and schema rule coverage')
    .option('--manifests-only', 'skip importing src/module.ts and building schemas')
    .action((options: { manifestsOnly?: boolean }) =>
      run(() => validateModules(root(), { sources: !options.manifestsOnly }))(),
    );
  modules
    .command('info')
    .description("one module's manifest, dependencies and dependents")
    .argument('<name>', 'module name')
    .action((name: string) => run(() => moduleInfo(root(), name))());
  modules
    .command('test')
    .description("run one module's tests (subgraphs/<name>) through npm test; arguments after -- go to jest")
    .argument('<name>', 'module name')
    .argument('[jest...]', 'jest arguments, e.g. -- -t "creates a post"')
    .option('--only <text>', "only the module's test files whose path contains this, e.g. post.counts")
    .action((name: string, jestArgs: string[], options: { only?: string }) =>
      run(() => testModule(root(), name, jestArgs, options))(),
    );
  modules
    .command('new')
    .description('scaffold subgraphs/<name> from the module template, with its port in config/default.yaml')
    .argument('<name>', 'module name: one lower-case word, e.g. notes')
    .option('--resource <word>', "the template's entity, singular (default: the name made singular)")
    .action((name: string, options: { resource?: string }) => run(() => newModule(root(), name, options))());

  program
    .command('compose')
    .description(`compose the supergraph as npm run generate does (default: print it)`)
    .option('--out <file>', `write it to a file (the gateway reads ${SUPERGRAPH_FILE})`)
    .action((options: { out?: string }) =>
      run(async () => {
        const artifacts = await generateArtifacts(root());
        for (const warning of artifacts.warnings) console.error(`warning: ${warning}`);
        const supergraph = artifacts.files.get(SUPERGRAPH_FILE);
        if (artifacts.errors.length > 0 || !supergraph) {
          console.error('composition failed:');
          for (const error of artifacts.errors) console.error(`  - ${error}`);
          return 1;
        }
        if (options.out) {
          writeFileSync(resolve(options.out), supergraph);
          console.error(`wrote ${options.out}`);
        } else {
          process.stdout.write(supergraph);
        }
        return 0;
      })(),
    );

  program
    .command('migrate')
    .description('run pending migrations of every (or the named) module, in dependency order')
    .argument('[modules...]', 'only these modules')
    .option('--status', 'list applied and pending migrations instead of running them')
    .action((names: string[], options: { status?: boolean }) =>
      run(() => migrate(root(), names, { status: options.status ?? false, env: process.env }))(),
    );
  const audit = program.command('audit').description('the audit log').exitOverride();
  audit
    .command('verify')
    .description(
      'recompute the hash chain and check every checkpoint signature and the head; exit 1 and print the first break',
    )
    .option('--export <file>', 'also write the chain, its checkpoints and public keys to a file (JSON lines)')
    .option('--file <file>', 'verify an export offline instead of the database')
    .option(
      '--trust <kid>',
      'accept checkpoint signatures only by this key id (repeatable; default: modules.audit.trustedCheckpointKeys, else every known key)',
      (kid: string, kids: string[]) => [...kids, kid],
      [] as string[],
    )
    .action((options: VerifyOptions) => run(() => auditVerify(root(), process.env, options))());
  audit
    .command('grants')
    .description("print the SQL granting the audit service's role (and the pruning role) least privilege")
    .option('--role <role>', 'the role the audit service connects as')
    .option('--prune-role <role>', 'the role platformctl audit prune connects as')
    .action((options: { role?: string; pruneRole?: string }) =>
      run(() => auditGrantsCommand(root(), process.env, options))(),
    );
  audit
    .command('prune')
    .description('archive and delete records past retention (modules.audit.retentionDays), leaving a checkpoint')
    .option('--older-than-days <days>', 'prune records older than this instead of the configured retention')
    .action((options: { olderThanDays?: string }) => run(() => auditPrune(root(), process.env, options))());
  const keys = program.command('keys').description("identity's token signing keys").exitOverride();
  keys
    .command('list')
    .description('every signing key: state, when it signs, when it is removed, its key-encryption key')
    .action(run(() => keysList(root(), process.env)));
  keys
    .command('rotate')
    .description('a new signing key for every identity instance, signing after the publish lead')
    .option('--now', 'sign with it at once (a suspected leak); some verifiers may refuse new tokens briefly')
    .action((options: { now?: boolean }) => run(() => keysRotate(root(), process.env, options))());
  const jobs = program.command('jobs').description("modules' background jobs and schedules").exitOverride();
  jobs
    .command('list [modules...]')
    .description(
      'each module: job backend, queues with counts, schedules with last/next run, dead jobs with their error',
    )
    .option('--json', 'the reports as JSON, by module')
    .action((modules: string[], options: { json?: boolean }) =>
      run(() => jobsList(root(), process.env, modules, options))(),
    );
  jobs
    .command('retry <module> <id>')
    .description('a dead job of the module waits again, its tries starting over')
    .action((module: string, id: string) => run(() => jobsRetry(root(), process.env, module, id))());
  program
    .command('doctor')
    .description(
      'check config, modules, Redis, every service, migrations, outbox and queues, composition, JWKS and the audit chain; exit 1 on FAIL',
    )
    .option('--json', 'the findings as JSON')
    .action((options: { json?: boolean }) => run(() => doctor(root(), process.env, options))());
  program
    .command('service-credential')
    .description("print the services' credential (from SERVICE_SECRET): Prometheus' bearer token for /metrics")
    .action(run(() => printServiceCredential(root(), process.env)));
  program
    .command('seed')
    .description(
      'create or repair initial data idempotently: the administrator from SEED_ADMIN_EMAIL / SEED_ADMIN_PASSWORD with the admin role',
    )
    .option(
      '--adopt-existing',
      'take over an account with SEED_ADMIN_EMAIL that the seed did not create (its password becomes SEED_ADMIN_PASSWORD, its sessions end)',
    )
    .action((options: { adoptExisting?: boolean }) => run(() => seed(root(), process.env, options))());
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version "errors" are successful exits; everything else commander rejects is usage
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError || error instanceof RootError) {
      console.error(`platformctl: ${error.message}`);
      return 2;
    }
    // A bad setting: its lines already name the key and who set it.
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    const verbose = program.opts<{ verbose?: boolean }>().verbose ?? argv.includes('--verbose');
    if (verbose && error instanceof Error && error.stack) console.error(error.stack);
    else console.error(`platformctl: ${reason(error)}${verbose ? '' : ' (--verbose shows where)'}`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
