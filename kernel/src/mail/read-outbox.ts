import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMail, type ParsedMail } from './mime.js';

/** A message read back from the outbox directory. */
export interface OutboxMessage extends ParsedMail {
  /** Absolute path of the `.eml` file. */
  file: string;
}

/**
 * Every message in the outbox, oldest first (file names sort by time), so tests and developers
 * can follow a link without an SMTP server: `(await readOutbox(dir)).filter((m) => m.to === email).at(-1)`.
 * A missing directory means no mail yet.
 */
export async function readOutbox(outboxDir: string): Promise<OutboxMessage[]> {
  let names: string[];
  try {
    names = await readdir(outboxDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names.filter((name) => name.endsWith('.eml') && !name.startsWith('.')).sort();
  return Promise.all(
    files.map(async (name) => {
      const file = join(outboxDir, name);
      return { file, ...parseMail(await readFile(file)) };
    }),
  );
}

/**
 * The value of `param` in the first link of a mail body that has it (`…/verify-email?token=abc` → `abc`),
 * or null. Works on the text body and on HTML (where `&` is written `&amp;`).
 */
export function extractLinkToken(body: string, param = 'token'): string | null {
  const text = body.replace(/&amp;/g, '&');
  for (const [candidate] of text.matchAll(/https?:\/\/[^\s<>"')]+/g)) {
    try {
      const value = new URL(candidate).searchParams.get(param);
      if (value) return value;
    } catch {
      // Not a URL after all; try the next one.
    }
  }
  return null;
}

export interface WaitForMailOptions {
  /** Wait until this many messages to the recipient are in the outbox; default 1. */
  count?: number;
  /** Only messages this accepts count (e.g. by subject). */
  match?: (message: OutboxMessage) => boolean;
  /** Default 15 s: a mail is a job, sent after the answer. */
  timeoutMs?: number;
}

/**
 * Waits for mail to `to` (an address, matched case-insensitively within the To header) in the
 * outbox, and answers the newest such message once `count` of them are there. Mail is sent by a
 * job after the request answered, so a test reads the outbox through this, never right away.
 */
export async function waitForMail(
  outboxDir: string,
  to: string,
  options: WaitForMailOptions = {},
): Promise<OutboxMessage> {
  const { count = 1, match = () => true, timeoutMs = 15_000 } = options;
  const address = to.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = (await readOutbox(outboxDir)).filter(
      (message) => message.to.toLowerCase().includes(address) && match(message),
    );
    if (mails.length >= count) return mails.at(-1)!;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${count} mail(s) to ${to} in ${outboxDir} (found ${mails.length})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
