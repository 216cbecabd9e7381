import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';

const generated = new Map<string, string>();

/** Where a generated secret is kept, so every service of one machine's deployment reads the same. */
export const serviceSecretFile = (dataDir: string): string => join(dataDir, 'service-secret');

/**
 * The secret the deployment's services share (`auth.serviceSecret`, from `SERVICE_SECRET` or
 * `SERVICE_SECRET_FILE`). Outside production, an unset secret is generated once under `dataDir`
 * (mode 0600) and read back by every service started on that directory, so `npm start` and
 * services started one by one in development agree without configuration. Production refuses
 * to start without one: instances on different machines would each generate their own.
 */
export function serviceSecret(config: Pick<PlatformConfig, 'auth' | 'dataDir' | 'env'>): string {
  if (config.auth.serviceSecret) return config.auth.serviceSecret;
  if (config.env === 'production') {
    throw new ConfigError([
      {
        path: 'auth.serviceSecret',
        message:
          'required in production: set SERVICE_SECRET or SERVICE_SECRET_FILE (32+ characters), the same for every service',
      },
    ]);
  }
  const file = serviceSecretFile(config.dataDir);
  const known = generated.get(file);
  if (known) return known;
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    secret = '';
  }
  if (secret.length < 32) {
    mkdirSync(config.dataDir, { recursive: true });
    const fresh = randomBytes(32).toString('base64url');
    try {
      // `wx`: when two services start at once, the first one's secret wins and the other reads it.
      writeFileSync(file, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
      secret = fresh;
    } catch {
      secret = readFileSync(file, 'utf8').trim();
    }
  }
  generated.set(file, secret);
  return secret;
}
