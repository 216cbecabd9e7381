import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { buildModuleSchema, loadConfig, SchemaRulesError } from '@platform/kernel/tools';
import { scanModules, loadDefinition, registryOf, type DiscoveredModule } from './modules.js';
import { CATALOGUE_FILE, CATALOGUE_MODULE, renderCatalogue, renderPermissions } from './permissions.js';
import { AUDIT_MODULE, AUDIT_TOPICS_FILE, renderAuditTopics } from './audit-coverage.js';
import { API_DOCS_FILE, renderApiDocs, type ModuleApi } from './api-docs.js';
import { ruleNamesOf } from './api-access.js';

export const SUPERGRAPH_FILE = 'schema/supergraph.graphql';
const SDL_HEADER = '# Generated from the module sources by npm run generate. Do not edit.';
const SUPERGRAPH_HEADER = '# Composed from schema/<module>.graphql by npm run generate. Do not edit.';

/** Everything the generator produces, in memory, keyed by path relative to the root. */
export interface Artifacts {
  files: Map<string, string>;
  /** Generated files on disk that no module produces any more (e.g. a removed module's SDL). */
  orphans: string[];
  /** Problems that prevent generation; when non-empty, nothing may be written. */
  errors: string[];
  /** Problems worth showing that do not affect the artifacts (`modules validate` fails on them). */
  warnings: string[];
}

export interface SubgraphSdl {
  name: string;
  sdl: string;
  url: string;
}

/**
 * Builds one module's federation SDL from its type-graphql classes (no database, no port), with
 * what docs/api.md says of its fields: rules, references, permissions.
 */
async function moduleSdl(module: DiscoveredModule): Promise<{ sdl: string; api: Omit<ModuleApi, 'sdl'> }> {
  const definition = await loadDefinition(module);
  const { sdl } = await buildModuleSchema({
    module: module.manifest.name,
    resolvers: definition.resolvers,
    orphanedTypes: definition.orphanedTypes,
    references: definition.references,
    rules: definition.rules,
    permissions: definition.manifest.permissions.map((p) => p.name),
  });
  // The rules file's exports name the module's own checks (identity's `isSelf`) in docs/api.md.
  const rulesFile = join(dirname(module.entryPath), 'rules.ts');
  const ruleExports = existsSync(rulesFile)
    ? ((await import(pathToFileURL(rulesFile).href)) as Record<string, unknown>)
    : {};
  const api = {
    name: module.manifest.name,
    rules: (definition.rules ?? {}) as Record<string, unknown>,
    references: (definition.references ?? {}) as ModuleApi['references'],
    ruleNames: ruleNamesOf(ruleExports),
    permissions: definition.manifest.permissions,
  };
  return { sdl, api };
}

function describe(module: string, error: unknown): string[] {
  if (error instanceof SchemaRulesError) return error.problems.map((p) => `${module}: ${p}`);
  const message = error instanceof Error ? error.message : String(error);
  return [`${module}: ${message}`];
}

/** Composes subgraphs into the supergraph SDL, or returns every composition error. */
export function composeSupergraph(subgraphs: SubgraphSdl[]): { supergraph?: string; errors: string[] } {
  if (subgraphs.length === 0) return { errors: ['no subgraph has a src/module.ts to compose'] };
  const errors: string[] = [];
  const services = [];
  for (const { name, sdl, url } of subgraphs) {
    try {
      services.push({ name, url, typeDefs: parse(sdl) });
    } catch (error) {
      errors.push(`${name}: SDL does not parse: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) return { errors };
  const result = composeServices(services);
  if (result.errors) return { errors: result.errors.map((e) => `composition: ${e.message}`) };
  return { supergraph: result.supergraphSdl, errors: [] };
}

/** Formats as `prettier --write` would, including leaving alone what `.prettierignore` excludes. */
export async function format(root: string, file: string, text: string): Promise<string> {
  const prettier = await import('prettier');
  const filepath = join(root, file);
  const ignorePath = join(root, '.prettierignore');
  const info = await prettier.getFileInfo(filepath, existsSync(ignorePath) ? { ignorePath } : {});
  if (info.ignored) return text.endsWith('\n') ? text : `${text}\n`;
  const options = (await prettier.resolveConfig(filepath)) ?? {};
  return prettier.format(text, { singleQuote: true, trailingComma: 'all', ...options, filepath });
}

/** Generated files currently on disk under `schema/` (the folder is the generator's). */
function generatedOnDisk(root: string): string[] {
  const dir = join(root, 'schema');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .map((f) => `schema/${f}`);
}

/**
 * Produces, in memory, every generated file: permission constants per module, each
 * subgraph's SDL and the composed supergraph. Routing URLs come from the development config
 * so the output does not depend on the environment it runs in.
 */
export async function generateArtifacts(root: string): Promise<Artifacts> {
  const discovery = scanModules(root);
  const errors: string[] = [];
  // A folder without module.yaml is not (yet) a module: nothing to generate from it.
  const warnings: string[] = [];
  for (const p of discovery.problems) {
    (p.kind === 'no-manifest' ? warnings : errors).push(
      `${p.module}: ${p.file}${p.path ? ` ${p.path}` : ''}: ${p.message}`,
    );
  }
  warnings.push(
    ...registryOf(discovery.modules)
      .problems()
      .map((p) => `${p.module}: ${p.message}`),
  );
  const files = new Map<string, string>();
  const modules = [...discovery.modules].sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));

  for (const module of modules) {
    try {
      files.set(`subgraphs/${module.dir}/src/permissions.generated.ts`, renderPermissions(module.manifest));
    } catch (error) {
      errors.push(...describe(module.manifest.name, error));
    }
  }

  const catalogueOwner = modules.find((module) => module.manifest.name === CATALOGUE_MODULE);
  if (catalogueOwner) {
    files.set(
      `subgraphs/${catalogueOwner.dir}/${CATALOGUE_FILE}`,
      renderCatalogue(modules.map((module) => module.manifest)),
    );
  }

  const audit = modules.find((module) => module.manifest.name === AUDIT_MODULE);
  if (audit) {
    files.set(
      `subgraphs/${audit.dir}/${AUDIT_TOPICS_FILE}`,
      renderAuditTopics(modules.map((module) => module.manifest)),
    );
  }

  let urls: Record<string, { url?: string } | undefined> = {};
  try {
    urls = loadConfig({ env: { PLATFORM_ENV: 'development' }, cwd: root }).services;
  } catch (error) {
    errors.push(`config: ${(error as Error).message}`);
  }
  const subgraphs: SubgraphSdl[] = [];
  const apis: ModuleApi[] = [];
  for (const module of modules) {
    const name = module.manifest.name;
    if (!module.hasEntry) {
      warnings.push(`${name}: no src/module.ts yet, so no schema/${name}.graphql`);
      continue;
    }
    try {
      const { sdl, api } = await moduleSdl(module);
      apis.push({ ...api, sdl });
      const url = urls[name]?.url;
      if (!url) throw new Error(`config/default.yaml has no services.${name} entry (its port and URL)`);
      subgraphs.push({ name, sdl, url });
      files.set(`schema/${name}.graphql`, `${SDL_HEADER}\n\n${sdl}`);
    } catch (error) {
      errors.push(...describe(name, error));
    }
  }
  if (errors.length === 0) {
    const composed = composeSupergraph(subgraphs);
    errors.push(...composed.errors);
    if (composed.supergraph) {
      files.set(SUPERGRAPH_FILE, `${SUPERGRAPH_HEADER}\n\n${composed.supergraph}`);
      files.set(API_DOCS_FILE, renderApiDocs(composed.supergraph, apis));
    }
  }

  for (const [file, text] of files) files.set(file, await format(root, file, text));
  const orphans = generatedOnDisk(root).filter((file) => !files.has(file));
  return { files, orphans, errors, warnings };
}

export interface Comparison {
  stale: string[];
  missing: string[];
}

/** Which generated files differ from what is on disk. */
export function compareWithDisk(root: string, files: Map<string, string>): Comparison {
  const stale: string[] = [];
  const missing: string[] = [];
  for (const [file, text] of files) {
    const path = join(root, file);
    if (!existsSync(path)) missing.push(file);
    else if (readFileSync(path, 'utf8') !== text) stale.push(file);
  }
  return { stale, missing };
}

/** Writes the files that changed and removes orphans; returns the paths touched. */
export function writeArtifacts(root: string, artifacts: Artifacts): { written: string[]; removed: string[] } {
  const { stale, missing } = compareWithDisk(root, artifacts.files);
  const written = [...missing, ...stale].sort();
  for (const file of written) {
    const path = join(root, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, artifacts.files.get(file)!);
  }
  for (const file of artifacts.orphans) rmSync(join(root, file));
  return { written, removed: artifacts.orphans };
}
