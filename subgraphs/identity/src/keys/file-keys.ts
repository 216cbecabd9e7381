import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Logger } from '@platform/kernel';

/** A key file of earlier versions: `DATA_DIR/identity/keys/<kid>.json`, mode 0600. */
export interface KeyFile {
  kid: string;
  createdAt: string;
  privateJwk: JWK;
}

/** A usable key file and where it is. */
export interface FoundKeyFile {
  file: string;
  kid: string;
  createdAt: number;
  privateJwk: JWK;
}

/**
 * The key files in `dir` (none when it does not exist). Unusable files are skipped with a warning
 * that quotes nothing of them, and left in place for the operator.
 */
export async function readKeyFiles(dir: string, logger: Logger): Promise<FoundKeyFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: FoundKeyFile[] = [];
  for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
    const file = join(dir, name);
    try {
      const data = parseKeyFile(await readFile(file, 'utf8'));
      if ((await calculateJwkThumbprint(data.privateJwk)) !== data.kid)
        throw new Error('kid is not the key thumbprint');
      found.push({ file, kid: data.kid, createdAt: Date.parse(data.createdAt), privateJwk: data.privateJwk });
      const mode = (await stat(file)).mode & 0o777;
      if (mode & 0o077) logger.warn({ file, mode: mode.toString(8) }, 'signing key file is readable by others');
    } catch (error) {
      logger.warn({ file, reason: (error as Error).message }, 'unusable signing key file skipped');
    }
  }
  return found;
}

/** Deletes a key file once its key is in the database (encrypted), where it is kept from then on. */
export async function removeKeyFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Reads a key file; errors never quote the content (V8's JSON errors would, and it is a private key). */
function parseKeyFile(text: string): KeyFile {
  let data: Partial<KeyFile>;
  try {
    data = JSON.parse(text) as Partial<KeyFile>;
  } catch {
    throw new Error('not valid JSON');
  }
  if (
    typeof data.kid !== 'string' ||
    Number.isNaN(Date.parse(String(data.createdAt))) ||
    typeof data.privateJwk !== 'object' ||
    data.privateJwk === null
  ) {
    throw new Error('expected { kid, createdAt, privateJwk }');
  }
  return data as KeyFile;
}
