/** What a redacted value is replaced with: the key stays, so the record shows something was there. */
export const REDACTED = '[redacted]';

/** Key fragments (lower case, without separators) that mark a value as a secret. */
const SECRET_KEY_PARTS = [
  'password',
  'passphrase',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'apikey',
  'privatekey',
  'credential',
];

/** A JSON Web Token, or a bearer credential, wherever it appears as a value. */
const SECRET_VALUE = /^(bearer\s+\S+|eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*)$/i;

const MAX_DEPTH = 32;

/** Whether a payload key names a secret (`password`, `refresh_token`, `apiKey`, `tokenHash`…). */
export function isSecretKey(key: string): boolean {
  const normalised = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_KEY_PARTS.some((part) => normalised.includes(part));
}

/**
 * Text PostgreSQL can store: no NUL characters (text and jsonb refuse them) and no lone UTF-16
 * surrogates (jsonb refuses their escapes); each becomes U+FFFD.
 */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

export interface ScrubResult {
  value: Record<string, unknown>;
  /** JSON paths of what was redacted, for the log (never the values). */
  redacted: string[];
}

/**
 * A payload as audit may keep it: secrets redacted (the kernel already refuses events with
 * secret-looking keys; this is the second line), text made storable, nesting bounded, and
 * anything that is not JSON dropped. Never throws: a record is always made.
 */
export function scrubMetadata(payload: unknown): ScrubResult {
  const redacted: string[] = [];
  const walk = (value: unknown, path: string, depth: number): unknown => {
    if (value === null || typeof value === 'boolean') return value;
    if (typeof value === 'number') return Number.isFinite(value) ? value : null;
    if (typeof value === 'string') {
      if (SECRET_VALUE.test(value.trim())) {
        redacted.push(path);
        return REDACTED;
      }
      return storableText(value);
    }
    if (typeof value !== 'object') return null;
    if (depth >= MAX_DEPTH) return '[too deep]';
    if (Array.isArray(value)) return value.map((item, index) => walk(item, `${path}[${index}]`, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === undefined) continue;
      const name = storableText(key);
      if (isSecretKey(key)) {
        redacted.push(`${path}.${name}`);
        out[name] = REDACTED;
      } else {
        out[name] = walk(item, `${path}.${name}`, depth + 1);
      }
    }
    return out;
  };
  const value =
    payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? (walk(payload, '$', 0) as Record<string, unknown>)
      : payload === undefined
        ? {}
        : { value: walk(payload, '$.value', 1) };
  return { value, redacted };
}
