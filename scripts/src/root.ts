import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: `explicit` if given, else the first directory holding `subgraphs/`
 * above the working directory, else the one above this script.
 */
export function findRoot(explicit: string | undefined, cwd: string = process.cwd()): string {
  if (explicit) {
    const root = resolve(cwd, explicit);
    if (!existsSync(join(root, 'subgraphs'))) throw new RootError(`${root} has no subgraphs/ folder`);
    return root;
  }
  const scriptRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  for (const start of [cwd, scriptRoot]) {
    let dir = resolve(start);
    for (;;) {
      if (existsSync(join(dir, 'subgraphs')) && statSync(join(dir, 'subgraphs')).isDirectory()) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new RootError(`no subgraphs/ folder above ${cwd}; pass --root <dir>`);
}

/** Raised when the repository root cannot be found (a usage error for the CLI). */
export class RootError extends Error {
  override name = 'RootError';
}
