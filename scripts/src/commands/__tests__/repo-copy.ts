import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { scanModules } from '../../modules.js';

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');

/**
 * A temporary stand-in for the repository, for commands that write into it: its config, committed
 * schemas, build and lint settings, every module's manifest (no sources), and `node_modules`
 * linked to the real one so code placed in it resolves the kernel and its dependencies.
 *
 * Modules named in `without` are left out, with every trace `modules new` leaves of them (their
 * service in config, build reference, schema, topics in audit's manifest): the tests scaffold
 * `notes` whether or not the repository they run in already has a `notes` module (the README's
 * own walk-through makes one).
 */
export function repoCopy(options: { without?: readonly string[] } = {}): string {
  const without = new Set(options.without ?? []);
  const root = mkdtempSync(join(tmpdir(), 'new-module-'));
  cpSync(join(REPO, 'config'), join(root, 'config'), { recursive: true });
  cpSync(join(REPO, 'schema'), join(root, 'schema'), { recursive: true });
  for (const file of ['tsconfig.build.json', '.prettierrc.json', '.prettierignore', 'eslint.config.js']) {
    cpSync(join(REPO, file), join(root, file));
  }
  for (const module of scanModules(REPO).modules) {
    if (without.has(module.manifest.name)) continue;
    mkdirSync(join(root, 'subgraphs', module.dir), { recursive: true });
    cpSync(module.manifestPath, join(root, 'subgraphs', module.dir, 'module.yaml'));
    // The registry outputs that list every module (authz's catalogue, audit's topics): `modules new` rewrites them.
    for (const file of ['src/catalogue.generated.ts', 'src/topics.generated.ts']) {
      const path = join(dirname(module.manifestPath), file);
      if (existsSync(path)) cpSync(path, join(root, 'subgraphs', module.dir, file), { recursive: true });
    }
  }
  for (const name of without) forget(root, name);
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

/** Undoes in the copy what `modules new <name>` and `npm run generate` wrote outside the module's folder. */
function forget(root: string, name: string): void {
  const edit = (file: string, change: (text: string) => string): void => {
    const path = join(root, file);
    if (existsSync(path)) writeFileSync(path, change(readFileSync(path, 'utf8')));
  };
  for (const file of readdirSync(join(root, 'config')).filter((f) => /\.ya?ml$/.test(f))) {
    edit(join('config', file), (text) => {
      const document = parseDocument(text);
      if (!document.hasIn(['services', name])) return text;
      document.deleteIn(['services', name]);
      return document.toString();
    });
  }
  edit('tsconfig.build.json', (text) =>
    text
      .split('\n')
      .filter((line) => !line.includes(`"subgraphs/${name}"`))
      .join('\n')
      .replace(/,(\s*\])/, '$1'),
  );
  // The generated registries: their lines that name the module's topics or permissions.
  for (const file of ['subgraphs/audit/src/topics.generated.ts', 'subgraphs/authz/src/catalogue.generated.ts']) {
    edit(file, (text) =>
      text
        .replace(new RegExp(`\\n  \\{\\n    name: '${name}\\.[^}]*\\},`, 'g'), '')
        .split('\n')
        .filter((line) => !line.trim().startsWith(`'${name}.`) && !line.trim().startsWith(`{ name: '${name}.`))
        .join('\n'),
    );
  }
  rmSync(join(root, 'schema', `${name}.graphql`), { force: true });
}

/** Every file under `root` (not following links) with its text, by relative path. */
export function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) files.set(relative(root, path), readFileSync(path, 'utf8'));
    }
  };
  if (existsSync(root)) walk(root);
  return files;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with Node 22 first on PATH; never rejects. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  };
  delete env.PLATFORM_ROOT;
  return new Promise((done) => {
    execFile(
      command,
      args,
      { env, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The real platformctl, as `npx platformctl` runs it. */
export const platformctl = (args: string[]): Promise<Run> =>
  run(
    'node',
    ['--import', join(REPO, 'scripts', 'register.mjs'), join(REPO, 'scripts', 'src', 'platformctl.ts'), ...args],
    {
      cwd: REPO,
    },
  );
