import type { ConfigIssue } from './config-error.js';
import type { PlatformConfig } from './schema.js';

/**
 * What marks a secret as a development default: the values this repository ships for
 * development (`config/development.yaml`'s `dev-admin-change-me`, the Kubernetes dev overlay's
 * `dev-only-…`, examples' `change-me`) and the usual placeholders.
 */
const DEVELOPMENT_MARKERS = [
  /dev-only/i,
  /change-?me/i,
  /not-for-production/i,
  /insecure/i,
  /^(postgres|password|secret|redis)$/i,
];

/** The settings that hold a secret, or a URL whose password is one. */
function secretsOf(config: PlatformConfig): Array<{ path: string; value: string }> {
  const found: Array<{ path: string; value: string }> = [];
  const add = (path: string, value: unknown): void => {
    if (typeof value === 'string' && value !== '') found.push({ path, value });
  };
  const addUrlPassword = (path: string, url: string | null | undefined): void => {
    if (!url) return;
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) found.push({ path: `${path} (its password)`, value: password });
    } catch {
      // not a URL: the schema reports it
    }
  };
  add('auth.serviceSecret', config.auth.serviceSecret);
  add('files.s3.secretAccessKey', config.files?.s3.secretAccessKey);
  addUrlPassword('database.url', config.database.url);
  addUrlPassword('redis.url', config.redis.url);
  addUrlPassword('smtp.url', config.smtp.url);
  for (const [name, service] of Object.entries(config.services)) {
    addUrlPassword(`services.${name}.databaseUrl`, service.databaseUrl);
  }
  // The secrets modules declare with their environment variables (identity's admin password, key-encryption key).
  for (const { path, secret } of Object.values(config.environment)) {
    if (secret) add(path, valueAt(config, path));
  }
  return found;
}

function valueAt(config: PlatformConfig, path: string): unknown {
  let node: unknown = config;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The value as written and, when it reads as base64 (a key), what it decodes to. */
function readings(value: string): string[] {
  const decoded = /^[A-Za-z0-9+/_-]{16,}={0,2}$/.test(value) ? Buffer.from(value, 'base64').toString('latin1') : '';
  return decoded ? [value, decoded] : [value];
}

/**
 * In production, every secret setting that holds a development default, by path (never the
 * value): a deployment started from the dev overlay's Secrets or an example file must not run as
 * a production one.
 */
export function developmentSecretIssues(config: PlatformConfig): ConfigIssue[] {
  if (config.env !== 'production') return [];
  return secretsOf(config)
    .filter(({ value }) =>
      readings(value).some((reading) => DEVELOPMENT_MARKERS.some((marker) => marker.test(reading))),
    )
    .map(({ path }) => ({
      path,
      message:
        'is a development default (a value this repository ships for development or a placeholder): set a secret of your own for production',
    }));
}
