/**
 * `npm run api:check` / `npm run api:update`: one API Extractor report per entry point of
 * @platform/kernel (every key of "exports" in kernel/package.json, read at run time), made from
 * the built declarations (kernel/dist, `tsc -b kernel` first) and kept in kernel/api/<entry>.api.md.
 * `--check` (CI) fails when a report differs from the committed one, so a change to the kernel's
 * public surface is a reviewed decision; `--update` rewrites the reports.
 */
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  CompilerState,
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
  type IConfigFile,
} from '@microsoft/api-extractor';
import { findRoot, RootError } from './root.js';

/** One entry point of the kernel package: its report name and its built declaration file. */
export interface ApiEntry {
  /** The subpath in "exports" (".", "./testing", …). */
  subpath: string;
  /** The report's base name: "index" for ".", else the subpath without "./" ("/" → "-"). */
  name: string;
  /** The entry's declaration file, absolute. */
  types: string;
}

type ExportTarget = string | null | { [condition: string]: ExportTarget } | ExportTarget[];

/** The entry points of the package at `packageDir`, from its package.json "exports". */
export function kernelEntries(packageDir: string): ApiEntry[] {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { exports?: ExportTarget };
  const exports = pkg.exports;
  if (!exports || typeof exports !== 'object' || Array.isArray(exports)) {
    throw new Error(`${join(packageDir, 'package.json')}: "exports" is not a map of subpaths`);
  }
  return Object.entries(exports)
    .filter(([subpath]) => !subpath.includes('*') && subpath !== './package.json')
    .map(([subpath, target]) => {
      const types = typesOf(target);
      if (!types) throw new Error(`kernel/package.json: export "${subpath}" has no "types" condition`);
      const name = subpath === '.' ? 'index' : subpath.replace(/^\.\//, '').replaceAll('/', '-');
      return { subpath, name, types: join(packageDir, types) };
    });
}

function typesOf(target: ExportTarget): string | undefined {
  if (target === null || typeof target === 'string') return undefined;
  if (Array.isArray(target)) return target.map(typesOf).find(Boolean);
  const types = target.types;
  if (typeof types === 'string') return types;
  for (const nested of Object.values(target)) {
    const found = typesOf(nested);
    if (found) return found;
  }
  return undefined;
}

/** API Extractor settings: the report only (no doc model, rollup or tsdoc metadata), quiet about doc comments. */
function configFor(packageDir: string, entry: ApiEntry, reportFolder: string): IConfigFile {
  return {
    projectFolder: packageDir,
    mainEntryPointFilePath: entry.types,
    newlineKind: 'lf',
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'ES2024',
          lib: ['ES2024'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          experimentalDecorators: true,
          esModuleInterop: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: [entry.types],
      },
      skipLibCheck: true,
    },
    apiReport: {
      enabled: true,
      reportFileName: entry.name,
      reportFolder,
      reportTempFolder: reportFolder,
      // Types reachable from the entry but not exported by it are part of its surface too.
      includeForgottenExports: true,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: false },
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
        'ae-forgotten-export': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
        'ae-internal-missing-underscore': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
        'ae-unresolved-link': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
        'ae-undocumented': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None, addToApiReportFile: false } },
    },
  };
}

/** Generates each entry's report into `outDir`; returns the files written, by entry. */
export function generateReports(packageDir: string, entries: ApiEntry[], outDir: string): Map<ApiEntry, string> {
  const reports = new Map<ApiEntry, string>();
  let compilerState: CompilerState | undefined;
  for (const entry of entries) {
    if (!existsSync(entry.types)) {
      throw new Error(`${relative(process.cwd(), entry.types)} is missing: build the kernel first (npm run build)`);
    }
    const extractorConfig = ExtractorConfig.prepare({
      configObject: configFor(packageDir, entry, outDir),
      configObjectFullPath: undefined,
      packageJsonFullPath: join(packageDir, 'package.json'),
    });
    // One compiler analysis for every entry point.
    compilerState ??= CompilerState.create(extractorConfig, {
      additionalEntryPoints: entries.map((e) => e.types),
    });
    const result = Extractor.invoke(extractorConfig, {
      compilerState,
      // "local": write the report without judging it; the comparison with kernel/api is ours.
      localBuild: true,
      messageCallback: (message: ExtractorMessage) => {
        if (message.logLevel === ExtractorLogLevel.Error || message.logLevel === ExtractorLogLevel.Warning) {
          console.error(`[${entry.subpath}] ${message.logLevel}: ${message.formatMessageWithLocation(packageDir)}`);
        }
        message.handled = true;
      },
    });
    if (result.errorCount > 0) throw new Error(`API Extractor failed on entry "${entry.subpath}" (see above)`);
    reports.set(entry, join(outDir, `${entry.name}.api.md`));
  }
  return reports;
}

function main(argv: string[]): number {
  const mode = argv[0];
  if (argv.length !== 1 || (mode !== '--check' && mode !== '--update')) {
    console.error('usage: api-report --check | --update');
    return 2;
  }
  let root: string;
  try {
    root = findRoot(process.env.PLATFORM_ROOT);
  } catch (error) {
    if (error instanceof RootError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const packageDir = join(root, 'kernel');
  const apiDir = join(packageDir, 'api');
  const entries = kernelEntries(packageDir);
  const outDir = mkdtempSync(join(tmpdir(), 'platform-api-'));
  try {
    const reports = generateReports(packageDir, entries, outDir);
    const expected = new Set(entries.map((e) => `${e.name}.api.md`));
    const stale = existsSync(apiDir)
      ? readdirSync(apiDir).filter((f) => f.endsWith('.api.md') && !expected.has(f))
      : [];

    if (mode === '--update') {
      mkdirSync(apiDir, { recursive: true });
      for (const [entry, file] of reports) {
        const target = join(apiDir, `${entry.name}.api.md`);
        const next = readFileSync(file, 'utf8');
        const changed = !existsSync(target) || readFileSync(target, 'utf8') !== next;
        if (changed) writeFileSync(target, next);
        console.log(`${changed ? 'updated' : 'unchanged'}  ${relative(root, target)}  (${entry.subpath})`);
      }
      for (const file of stale) {
        unlinkSync(join(apiDir, file));
        console.log(`removed    ${relative(root, join(apiDir, file))}  (no such entry point any more)`);
      }
      return 0;
    }

    const problems: string[] = [];
    for (const [entry, file] of reports) {
      const target = join(apiDir, `${entry.name}.api.md`);
      const shown = relative(root, target);
      if (!existsSync(target)) {
        problems.push(`entry "${entry.subpath}": ${shown} is missing`);
        continue;
      }
      if (readFileSync(target, 'utf8') === readFileSync(file, 'utf8')) {
        console.log(`ok  ${shown}  (${entry.subpath})`);
        continue;
      }
      problems.push(`entry "${entry.subpath}": the public API differs from ${shown}`);
      const diff = spawnSync('diff', ['-u', '--label', shown, '--label', `${shown} (built)`, target, file], {
        encoding: 'utf8',
      });
      if (diff.stdout) console.error(diff.stdout);
    }
    for (const file of stale) {
      problems.push(`${relative(root, join(apiDir, file))} matches no entry point in kernel/package.json "exports"`);
    }
    if (problems.length > 0) {
      console.error('API reports are out of date:');
      for (const problem of problems) console.error(`  - ${problem}`);
      console.error(
        "If the change to the kernel's public surface is intended, run `npm run api:update` and commit kernel/api/ for review.",
      );
      return 1;
    }
    return 0;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
