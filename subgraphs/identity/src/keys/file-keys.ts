import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { EntityManager, Logger } from '@platform/kernel';
import type { KeyEncryption } from './key-encryption.js';
import { importSigningKey } from './key-material.js';
import { KeyStore, type KeyRow } from './key-store.js';

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

/**
 * Moves the key files of earlier versions (`DATA_DIR/identity/keys/<kid>.json`) into the table,
 * encrypted, then deletes them: an upgraded instance's tokens stay valid, and the files are read
 * once (a key pruned later does not come back from its file).
 */
export async function importKeyFiles(
  dir: string,
  options: {
    db: { fork(): EntityManager; schema: string };
    encryption: KeyEncryption;
    logger: Logger;
    now: () => number;
  },
): Promise<void> {
  const files = await readKeyFiles(dir, options.logger);
  if (!files.length) return;
  const store = new KeyStore(options.db.schema);
  const now = options.now();
  const rows: KeyRow[] = [];
  for (const file of files) {
    const { publicJwk } = await importSigningKey(file.kid, file.createdAt, file.privateJwk);
    const { jwe, kekId } = await options.encryption.encrypt(file.kid, file.privateJwk);
    // It was signing until now: active from its creation, retired no earlier than its import.
    const at = { createdAt: file.createdAt, activatesAt: file.createdAt, publishedAt: Math.max(now, file.createdAt) };
    rows.push({ kid: file.kid, publicJwk, privateJwe: jwe, kekId, origin: 'imported', ...at });
  }
  const inserted = await options.db.fork().transactional(async (tx) => {
    await store.lock(tx);
    const kids: string[] = [];
    for (const row of rows) if (await store.insert(tx, row)) kids.push(row.kid);
    return kids;
  });
  for (const file of files) {
    await rm(file.file, { force: true });
    const imported = inserted.includes(file.kid);
    options.logger.info({ kid: file.kid, file: file.file, imported }, 'signing key file moved into the database');
  }
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
