import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { KERNEL_VERSION, parseManifest } from '@platform/kernel/tools';
import { format } from '../artifacts.js';
import { AUDIT_MODULE, AUDIT_TOPICS_FILE, renderAuditTopics } from '../audit-coverage.js';
import {
  addProjectReference,
  addServiceEntry,
  ConfigEditError,
  nextFreePort,
  readConfigFiles,
} from '../config-edits.js';
import { scanModules } from '../modules.js';
import { CATALOGUE_FILE, CATALOGUE_MODULE, renderCatalogue, renderPermissions } from '../permissions.js';
import { capitalize, plural, renderTemplate, singular, templateIdentifiers } from '../template.js';
import { UsageError } from '../usage.js';

/** The module template: `.tpl` files with `__token__` placeholders (see its README.md). */
export const MODULE_TEMPLATE = fileURLToPath(new URL('../../templates/module/', import.meta.url));
const KERNEL_PACKAGE = fileURLToPath(new URL('../../../kernel/package.json', import.meta.url));

const DEFAULT_CONFIG = 'config/default.yaml';
const BUILD_CONFIG = 'tsconfig.build.json';
/** What the generated package.json depends on, at the kernel's versions. */
const PACKAGE_DEPENDENCIES = [
  '@mikro-orm/core',
  '@mikro-orm/decorators',
  '@mikro-orm/migrations',
  'graphql',
  'type-graphql',
];

/** One word: it starts event topics, which allow no dashes, and env variables cannot spell one. */
const WORD = /^[a-z][a-z0-9]{1,31}$/;

/** Names a module may not take, and why. */
const RESERVED: Readonly<Record<string, string>> = {
  kernel: 'the kernel package is @platform/kernel',
  gateway: 'the gateway package is @platform/gateway, and SERVICE=gateway builds its container',
  scripts: 'the scripts package is @platform/scripts',
  e2e: 'the end-to-end tests package is @platform/e2e',
  test: 'test/ holds the end-to-end tests, and PLATFORM_ENV=test is the test configuration',
  platform: 'the root package and the platform logger are named platform',
  mail: 'identity writes mail to <dataDir>/mail, where this module would keep its database',
  public: "PostgreSQL's default schema is public, where this module would keep its tables",
};

/** Type names the module's schema has whatever its resource: GraphQL's own, and the kernel's and template's. */
const SCHEMA_TYPES = new Set([
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  'Query',
  'Mutation',
  'Subscription',
  'User',
  'PageInfo',
  'DateTimeISO',
]);
/** Members the template's resolver has beside the resource's queries: a resource named so would repeat one. */
const RESOLVER_MEMBERS = new Set(['author', 'constructor']);

export interface NewModuleOptions {
  /** The template's entity, one singular word; default: the module name made singular. */
  resource?: string;
  /** When the migration is dated; default: now. */
  now?: Date;
}

/** What `modules new` will write, computed and checked before anything is written. */
export interface ModulePlan {
  name: string;
  resource: string;
  port: number;
  /** New files, by path relative to the root. */
  files: Map<string, string>;
  /** Existing files changed, by path relative to the root. */
  edits: Array<{ file: string; before: string; after: string; summary: string }>;
  /** Things the user should know (skipped edits, assumptions). */
  notes: string[];
}

const nameProblem = (what: string, value: string): string =>
  /^[a-z][a-z0-9]*-/.test(value)
    ? `${what} "${value}" has a dash: event topics start with it and allow none, and PLATFORM_* variables cannot spell one; use one word such as "${value.replace(/-/g, '')}"`
    : `${what} "${value}" must be one word of 2-32 lower-case letters and digits, starting with a letter (e.g. notes)`;

/** The type and root-field names the template defines for `resource`. */
function schemaNames(resource: string): { types: string[]; fields: string[] } {
  const type = capitalize(resource);
  return {
    types: [type, `${type}Connection`, `${type}Edge`, `Create${type}Input`, `Update${type}Input`],
    fields: [
      `Query.${resource}`,
      `Query.${plural(resource)}`,
      ...['create', 'update', 'delete'].map((verb) => `Mutation.${verb}${type}`),
    ],
  };
}

/** Type names and Query/Mutation fields the committed subgraph schemas already define, with their file. */
function existingSchemaNames(root: string): Map<string, string> {
  const names = new Map<string, string>();
  const dir = join(root, 'schema');
  if (!existsSync(dir)) return names;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql') && f !== 'supergraph.graphql')) {
    let document;
    try {
      document = parse(readFileSync(join(dir, file), 'utf8'));
    } catch {
      continue; // a broken schema file is npm run generate's to report
    }
    for (const definition of document.definitions) {
      if (!('name' in definition) || !definition.name || definition.kind === Kind.DIRECTIVE_DEFINITION) continue;
      const type = definition.name.value;
      names.set(type, `schema/${file}`);
      if ((type === 'Query' || type === 'Mutation') && 'fields' in definition) {
        for (const field of definition.fields ?? []) names.set(`${type}.${field.name.value}`, `schema/${file}`);
      }
    }
  }
  return names;
}

function checkName(root: string, name: string, taken: Map<string, string>): void {
  if (!WORD.test(name)) throw new UsageError(nameProblem('module name', name));
  if (Object.hasOwn(RESERVED, name)) throw new UsageError(`module name "${name}" is reserved: ${RESERVED[name]}`);
  const owner = taken.get(name);
  if (owner) throw new UsageError(`module "${name}" already exists (${owner})`);
  if (existsSync(join(root, 'subgraphs', name))) {
    throw new UsageError(`subgraphs/${name} already exists; choose another name or remove the folder`);
  }
}

function checkResource(root: string, resource: string): void {
  if (!WORD.test(resource)) throw new UsageError(nameProblem('resource', resource));
  const { types, fields } = schemaNames(resource);
  const type = capitalize(resource);
  const clash = SCHEMA_TYPES.has(type) || templateIdentifiers(MODULE_TEMPLATE).has(type) ? type : undefined;
  if (clash ?? RESOLVER_MEMBERS.has(resource)) {
    throw new UsageError(
      `resource "${resource}" would clash with ${clash ?? `the ${resource} field`}, which the module template or GraphQL already uses; choose another --resource`,
    );
  }
  const existing = existingSchemaNames(root);
  for (const name of [...types, ...fields]) {
    const file = existing.get(name);
    if (file) {
      throw new UsageError(
        `resource "${resource}" would define ${name}, which ${file} already has (subgraph names must not clash); choose another --resource`,
      );
    }
  }
}

/** `20261122T103000Z` without separators, as MikroORM names migrations. */
const migrationStamp = (now: Date): string => now.toISOString().replace(/\D/g, '').slice(0, 14);

function packageJson(name: string): string {
  const kernel = JSON.parse(readFileSync(KERNEL_PACKAGE, 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const dependencies: Record<string, string> = { '@platform/kernel': kernel.version };
  for (const dependency of PACKAGE_DEPENDENCIES) dependencies[dependency] = kernel.dependencies[dependency]!;
  return `${JSON.stringify(
    {
      name: `@platform/${name}`,
      version: '0.1.0',
      private: true,
      type: 'module',
      exports: {
        '.': { '@platform/source': './src/module.ts', types: './dist/module.d.ts', default: './dist/module.js' },
      },
      scripts: {
        build: 'tsc -b',
        start: 'node --import ../../scripts/register.mjs src/main.ts',
        'start:prod': 'node dist/main.js',
      },
      dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
    },
    null,
    2,
  )}\n`;
}

/**
 * Checks the name and resource and computes every file and edit `modules new` makes, without
 * writing anything. Every refusal is a UsageError saying what to change.
 */
export async function planModule(root: string, name: string, options: NewModuleOptions = {}): Promise<ModulePlan> {
  const discovery = scanModules(root);
  const taken = new Map<string, string>();
  for (const module of discovery.modules) taken.set(module.manifest.name, `subgraphs/${module.dir}`);
  // A module whose manifest is invalid still holds its name.
  for (const problem of discovery.problems) {
    if (problem.kind !== 'no-manifest' && !taken.has(problem.module)) taken.set(problem.module, dirname(problem.file));
  }
  checkName(root, name, taken);
  const resource = options.resource ?? singular(name);
  checkResource(root, resource);

  const notes: string[] = [];
  const identity = discovery.modules.find((module) => module.manifest.name === 'identity');
  if (!identity) notes.push('identity was not found under subgraphs/: module.yaml assumes identity ^0.1.0');
  const tokens = {
    name,
    Name: capitalize(name),
    resource,
    Resource: capitalize(resource),
    resources: plural(resource),
    Resources: capitalize(plural(resource)),
    migration: `Migration${migrationStamp(options.now ?? new Date())}_${plural(resource)}`,
    kernelVersion: KERNEL_VERSION,
    identityVersion: identity?.manifest.version ?? '0.1.0',
    // Not a token: the conventional folder of test helpers (tsconfig.json excludes it).
    tests: '__tests__',
  };
  const dir = `subgraphs/${name}`;
  const files = new Map<string, string>();
  for (const [path, text] of renderTemplate(MODULE_TEMPLATE, tokens)) files.set(`${dir}/${path}`, text);
  files.set(`${dir}/package.json`, packageJson(name));
  const manifest = parseManifest(parseYaml(files.get(`${dir}/module.yaml`)!), `${dir}/module.yaml`);
  files.set(`${dir}/src/permissions.generated.ts`, renderPermissions(manifest));
  for (const [file, text] of files) files.set(file, await format(root, file, text));

  const edits: ModulePlan['edits'] = [];
  let port: number;
  try {
    const configs = readConfigFiles(root);
    const configured = (configs.get(DEFAULT_CONFIG)?.services as Record<string, { port?: unknown }> | undefined)?.[
      name
    ];
    if (typeof configured?.port === 'number') {
      port = configured.port;
      notes.push(`${DEFAULT_CONFIG} already has services.${name} (port ${port}); kept as it is`);
    } else {
      port = nextFreePort(configs);
      const path = join(root, DEFAULT_CONFIG);
      if (!existsSync(path)) throw new UsageError(`${DEFAULT_CONFIG} not found: is ${root} the repository root?`);
      const before = readFileSync(path, 'utf8');
      edits.push({
        file: DEFAULT_CONFIG,
        before,
        after: addServiceEntry(before, name, port),
        summary: `services.${name}: port ${port}`,
      });
    }
    for (const [file, tree] of configs) {
      const services = tree.services as Record<string, unknown> | undefined;
      if (file !== DEFAULT_CONFIG && services && Object.keys(services).length > 0 && !(name in services)) {
        notes.push(`${file} lists services but not ${name}: add services.${name} there if that environment needs it`);
      }
    }
    const buildPath = join(root, BUILD_CONFIG);
    if (existsSync(buildPath)) {
      const before = readFileSync(buildPath, 'utf8');
      const after = await format(root, BUILD_CONFIG, addProjectReference(before, dir));
      if (after !== before) edits.push({ file: BUILD_CONFIG, before, after, summary: `builds ${dir}` });
    } else {
      notes.push(`no ${BUILD_CONFIG}: add ${dir} to whatever builds the packages`);
    }
  } catch (error) {
    if (error instanceof ConfigEditError) throw new UsageError(error.message);
    throw error;
  }

  // Registry outputs of npm run generate that list every module, rewritten as it would: authz's
  // permission catalogue (grants are checked against it) and the topics audit records.
  const manifests = [...discovery.modules.map((module) => module.manifest), manifest];
  const registries: Array<{ owner: string; file: string; render: () => string; summary: string }> = [
    {
      owner: CATALOGUE_MODULE,
      file: CATALOGUE_FILE,
      render: () => renderCatalogue(manifests),
      summary: `regenerated: lists ${manifest.permissions.map((p) => p.name).join(', ')}`,
    },
    {
      owner: AUDIT_MODULE,
      file: AUDIT_TOPICS_FILE,
      render: () => renderAuditTopics(manifests),
      summary: `regenerated: audit records ${manifest.events.publishes.join(', ')}`,
    },
  ];
  for (const registry of registries) {
    const owner = discovery.modules.find((module) => module.manifest.name === registry.owner);
    if (!owner) continue;
    const file = `subgraphs/${owner.dir}/${registry.file}`;
    const path = join(root, file);
    if (!existsSync(path)) {
      notes.push(`${file} not found: npm run generate writes it`);
      continue;
    }
    const before = readFileSync(path, 'utf8');
    const after = await format(root, file, registry.render());
    if (after !== before) edits.push({ file, before, after, summary: registry.summary });
  }
  return { name, resource, port, files, edits, notes };
}

/**
 * Writes a plan: the module folder (which must not exist yet), then the edits, each only if
 * its file is still as planned. On any failure everything written is undone.
 */
export function applyPlan(root: string, plan: ModulePlan): void {
  const moduleDir = join(root, 'subgraphs', plan.name);
  mkdirSync(moduleDir); // fails if the folder appeared since the plan was made
  const done: ModulePlan['edits'] = [];
  try {
    for (const [file, text] of plan.files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text, { flag: 'wx' });
    }
    for (const edit of plan.edits) {
      const path = join(root, edit.file);
      if ((existsSync(path) ? readFileSync(path, 'utf8') : '') !== edit.before) {
        throw new UsageError(`${edit.file} changed while the module was being created; run the command again`);
      }
      writeFileSync(path, edit.after);
      done.push(edit);
    }
  } catch (error) {
    for (const edit of done.reverse()) writeFileSync(join(root, edit.file), edit.before);
    rmSync(moduleDir, { recursive: true, force: true });
    throw error;
  }
}

/** `modules new <name>`: scaffolds subgraphs/<name> from the module template and says what to do next. */
export async function newModule(root: string, name: string, options: NewModuleOptions = {}): Promise<number> {
  const plan = await planModule(root, name, options);
  applyPlan(root, plan);
  const columns = (rows: Array<[string, string]>): string[] => {
    const width = Math.max(...rows.map(([left]) => left.length));
    return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
  };
  const steps: Array<[string, string]> = [
    ['npm install', `links the new workspace (@platform/${plan.name}) and records it in package-lock.json`],
    ['npm run generate', `schema/${plan.name}.graphql and the supergraph`],
    [`npm test -- subgraphs/${plan.name}`, "the module's own tests"],
    ['npx platformctl modules validate', 'manifests, dependencies and rule coverage'],
  ];
  console.log(
    [
      `Created module ${plan.name} (resource ${plan.resource}, port ${plan.port}): ${plan.files.size} files in subgraphs/${plan.name}/`,
      ...[...plan.files.keys()].sort().map((file) => `  ${file}`),
      `Edited ${plan.edits.length} files outside it (nothing else was touched):`,
      ...columns(plan.edits.map((edit) => [edit.file, edit.summary])),
      ...plan.notes.map((note) => `note: ${note}`),
      '',
      'Next steps:',
      ...columns(steps),
      '',
      `Then let roles grant ${plan.name}.${plan.resource}.* through authz (admin holds them already);`,
      'see docs/extension-points.md.',
    ].join('\n'),
  );
  return 0;
}
