import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import type { Logger } from '@platform/kernel';
import { Semaphore } from './semaphore.js';

/** argon2id cost parameters, as in config `modules.identity.password`. */
export interface Argon2Params {
  /** KiB of memory per hash. */
  memoryCost: number;
  /** Passes over memory. */
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasherOptions extends Partial<Argon2Params> {
  /**
   * Hashes and verifications running at once; the rest queue. Default: one fewer than the cores
   * (at least one), so a burst of logins never takes every core from the requests around it.
   */
  maxConcurrent?: number;
  /** Where a malformed stored hash is reported (never the hash or the password). */
  logger?: Logger;
}

/** OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane. */
export const DEFAULT_ARGON2_PARAMS: Readonly<Argon2Params> = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
});

/** `$argon2id$v=19$m=19456,p=1,t=2$<salt>$<hash>`: the PHC string argon2 produces (parameters in any order). */
const PHC =
  /^\$(argon2(?:id|i|d))\$(?:v=(\d+)\$)?([a-z]+=[^$,]+(?:,[a-z]+=[^$,]+)*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** What a stored hash says about how it was made. */
export interface Argon2HashInfo extends Argon2Params {
  type: 'argon2id' | 'argon2i' | 'argon2d';
  version: number;
}

/** Reads the algorithm and parameters of a PHC string, or null when it is not a well-formed argon2 hash. */
export function parseArgon2Hash(hash: string): Argon2HashInfo | null {
  const match = PHC.exec(hash);
  if (!match) return null;
  const [, type, version, paramList] = match;
  const params = new Map(paramList!.split(',').map((pair) => pair.split('=') as [string, string]));
  const [m, t, p] = ['m', 't', 'p'].map((key) => Number(params.get(key)));
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(t) || !Number.isSafeInteger(p)) return null;
  return {
    type: type as Argon2HashInfo['type'],
    version: Number(version ?? 0x10),
    memoryCost: m!,
    timeCost: t!,
    parallelism: p!,
  };
}

/**
 * argon2id hashing with a bound on concurrent work: one hash costs ~20–28 ms of a core, so a
 * burst of logins queues here rather than stretching every request's latency.
 *
 * Passwords are NFKC-normalized before hashing and verifying (NIST SP 800-63B), so the same
 * password typed on different keyboards or systems matches.
 */
export class PasswordHasher {
  readonly params: Readonly<Argon2Params>;
  private readonly semaphore: Semaphore;
  private readonly logger: Logger | undefined;
  /** Random salt and digest with the configured cost: verifying against it costs what a real check costs. */
  private readonly dummyHash: string;

  constructor(options: PasswordHasherOptions = {}) {
    this.params = Object.freeze({
      memoryCost: options.memoryCost ?? DEFAULT_ARGON2_PARAMS.memoryCost,
      timeCost: options.timeCost ?? DEFAULT_ARGON2_PARAMS.timeCost,
      parallelism: options.parallelism ?? DEFAULT_ARGON2_PARAMS.parallelism,
    });
    this.semaphore = new Semaphore(options.maxConcurrent ?? Math.max(1, availableParallelism() - 1));
    this.logger = options.logger?.child({ component: 'password-hasher' });
    const b64 = (bytes: number): string => randomBytes(bytes).toString('base64').replace(/=+$/, '');
    const { memoryCost, timeCost, parallelism } = this.params;
    this.dummyHash = `$argon2id$v=19$m=${memoryCost},t=${timeCost},p=${parallelism}$${b64(16)}$${b64(32)}`;
  }

  /** Operations running and waiting, for metrics. */
  get load(): { running: number; queued: number } {
    return { running: this.semaphore.running, queued: this.semaphore.queued };
  }

  /** A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt. */
  hash(password: string): Promise<string> {
    return this.semaphore.run(() => argon2.hash(normalize(password), { type: argon2.argon2id, ...this.params }));
  }

  /**
   * Whether `password` matches `hash`. A stored hash that cannot be read is a data problem, not
   * the user's: it yields false and a warning, never an exception.
   */
  async verify(hash: string, password: string): Promise<boolean> {
    const parsed = parseArgon2Hash(hash);
    if (!parsed) {
      this.logger?.warn({ reason: 'not an argon2 PHC string' }, 'stored password hash is malformed');
      return false;
    }
    try {
      return await this.semaphore.run(() => argon2.verify(hash, normalize(password)));
    } catch (error) {
      this.logger?.warn({ reason: (error as Error).message, type: parsed.type }, 'stored password hash is malformed');
      return false;
    }
  }

  /**
   * True when the hash was made with another algorithm or other parameters than configured:
   * after a successful login the caller stores a fresh hash, so raising the cost in config
   * upgrades accounts as their owners sign in.
   */
  needsRehash(hash: string): boolean {
    const parsed = parseArgon2Hash(hash);
    if (!parsed || parsed.type !== 'argon2id') return true;
    try {
      return argon2.needsRehash(hash, { ...this.params, version: 0x13 });
    } catch {
      return true;
    }
  }

  /**
   * A full-cost verification that always fails. Call it when the account does not exist, so an
   * unknown email takes as long as a wrong password and response time does not reveal which.
   */
  async dummyVerify(password: string): Promise<false> {
    try {
      await this.semaphore.run(() => argon2.verify(this.dummyHash, normalize(password)));
    } catch {
      // Cannot happen with a hash built here; the answer is false either way.
    }
    return false;
  }
}

function normalize(password: string): string {
  return password.normalize('NFKC');
}
