import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalJson, type ChainRecord } from '../chain/canonical.js';

/** The first line of an archive: enough to check its records on their own. */
export interface ArchiveHeader {
  type: 'audit-archive';
  version: 1;
  firstSeq: number;
  lastSeq: number;
  /** The hash the first record chains from (a checkpoint's, or the genesis hash). */
  previousHash: string;
}

/** One archived record per line, as canonical JSON, timestamps as ISO strings. */
export function archiveLine(record: ChainRecord): string {
  return canonicalJson({
    ...record,
    occurredAt: record.occurredAt.toISOString(),
    recordedAt: record.recordedAt.toISOString(),
  });
}

export const archiveName = (firstSeq: number, lastSeq: number): string =>
  `audit-${String(firstSeq).padStart(12, '0')}-${String(lastSeq).padStart(12, '0')}.jsonl`;

/**
 * Writes an archive (or an export) durably: to a temporary file, owner-only, fsynced, then renamed
 * into place (and the folder fsynced), so a crash leaves either no file or a complete one, never
 * half of one.
 */
export class ArchiveWriter {
  readonly path: string;
  readonly #tmp: string;
  readonly #hash = createHash('sha256');
  #file: Awaited<ReturnType<typeof open>> | undefined;

  constructor(dir: string, name: string) {
    this.path = join(dir, name);
    // Not the pid alone: processes in containers share pids (1), and an archive directory may be shared.
    this.#tmp = `${this.path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  }

  get name(): string {
    return basename(this.path);
  }

  /** Creates the temporary file and writes the header line (canonical JSON). */
  async open(header: ArchiveHeader | Record<string, unknown>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.#file = await open(this.#tmp, 'w', 0o600);
    await this.write(canonicalJson(header));
  }

  async write(line: string): Promise<void> {
    const text = `${line}\n`;
    this.#hash.update(text, 'utf8');
    await this.#file!.write(text, null, 'utf8');
  }

  /** Makes the archive durable and returns the sha256 (hex) of its content. */
  async commit(): Promise<string> {
    await this.#file!.sync();
    await this.#file!.close();
    this.#file = undefined;
    await rename(this.#tmp, this.path);
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return this.#hash.digest('hex');
  }

  async abort(): Promise<void> {
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
    await rm(this.#tmp, { force: true });
  }
}
