import { ConflictError, type PlatformConfig } from '@platform/kernel';
import { loadConfig, withModuleRuntime } from '@platform/kernel/tools';
import { serviceCredential, SERVICE_CREDENTIAL_HEADER, serviceSecret } from '@platform/kernel/gateway';
import identity from '@platform/identity';
import { table } from '../table.js';

type Env = Record<string, string | undefined>;

/** A key as identity lists it (`SigningKeys.list()`), over HTTP or in-process. */
interface KeyInfo {
  kid: string;
  state: string;
  origin: string;
  createdAt: string | Date;
  activatesAt: string | Date;
  retiredAt: string | Date | null;
  removeAfter: string | Date | null;
  kekId: string | null;
  usable: boolean;
}

interface Rotated {
  kid: string;
  previousKid: string;
  activatesAt: string | Date;
}

/** The signing keys' routes on a running identity (see subgraphs/identity/src/keys/signing-keys.routes.ts). */
const SIGNING_KEYS_PATH = '/internal/signing-keys';

/**
 * Runs `direct` on identity's database. The embedded database admits one process: when a
 * running identity holds it, `remote` asks that identity over its internal route instead (with
 * the service credential). On PostgreSQL the database is always used directly; running
 * instances see the change at their next refresh (`modules.identity.keys.refreshIntervalSec`).
 */
async function onIdentity<T>(
  config: PlatformConfig,
  direct: (keys: IdentityKeys, settings: { publishLeadSec: number; refreshIntervalSec: number }) => Promise<T>,
  remote: (url: (path: string) => string, headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  try {
    return await withModuleRuntime(identity, config, (runtime, services) => direct(services.keys, runtime.config.keys));
  } catch (error) {
    if (config.database.url || !/is in use by/.test((error as Error).message)) throw error;
  }
  const base = config.services.identity?.url ?? 'http://localhost:4001/graphql';
  const headers = { [SERVICE_CREDENTIAL_HEADER]: serviceCredential(serviceSecret(config)) };
  return remote((path) => new URL(path, base).toString(), headers);
}

type IdentityKeys = {
  list(): KeyInfo[];
  rotate(options: { activateAfterSec?: number }): Promise<Rotated>;
};

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json()) as T & { errors?: Array<{ message: string }> };
  if (response.status === 409) throw new ConflictError(body.errors?.[0]?.message ?? 'conflict');
  if (!response.ok) throw new Error(`identity answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

const iso = (value: string | Date | null): string =>
  value === null ? '-' : new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `keys list`: every signing key with its state, times and key-encryption key; nothing private. */
export async function keysList(root: string, env: Env): Promise<number> {
  const config = loadConfig({ env, cwd: root });
  const keys = await onIdentity(
    config,
    async (keys) => keys.list(),
    async (url, headers) => (await answer<{ keys: KeyInfo[] }>(await fetch(url(SIGNING_KEYS_PATH), { headers }))).keys,
  );
  const rows = keys.map((key) => [
    key.kid,
    key.state,
    key.origin,
    iso(key.createdAt),
    iso(key.activatesAt),
    iso(key.retiredAt),
    iso(key.removeAfter),
    key.kekId === null ? '-' : key.usable ? key.kekId : `${key.kekId} (cannot decrypt)`,
  ]);
  console.log(table(['kid', 'state', 'origin', 'created', 'signs from', 'retired', 'removed after', 'kek'], rows));
  return 0;
}

/**
 * `keys rotate`: a new signing key, published at once by every instance and signing after the
 * publish lead (`modules.identity.keys.publishLeadSec`), so no verifier meets an unknown kid;
 * with `--now` it signs at once (a suspected leak): verifiers fetch the JWKS again on the unknown
 * kid, but for up to a refresh interval some may refuse the new tokens. The old key keeps
 * verifying until its tokens have expired either way.
 */
export async function keysRotate(root: string, env: Env, options: { now?: boolean }): Promise<number> {
  const config = loadConfig({ env, cwd: root });
  let rotated: Rotated;
  let lead: string;
  try {
    rotated = await onIdentity(
      config,
      async (keys, settings) => {
        lead = `${settings.publishLeadSec} s`;
        return keys.rotate({ activateAfterSec: options.now ? 0 : settings.publishLeadSec });
      },
      async (url, headers) => {
        lead = 'the publish lead';
        const path = `${SIGNING_KEYS_PATH}/rotate${options.now ? '?activate=now' : ''}`;
        return answer<Rotated>(await fetch(url(path), { method: 'POST', headers }));
      },
    );
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    console.error(`platformctl: ${error.message}`);
    return 1;
  }
  console.log(`new signing key ${rotated.kid} (replacing ${rotated.previousKid}), published now`);
  console.log(
    options.now
      ? `signs from ${iso(rotated.activatesAt)} (now); other identity instances switch at their next refresh`
      : `signs from ${iso(rotated.activatesAt)}, after ${lead!} in every JWKS; ${rotated.previousKid} signs until then`,
  );
  return 0;
}
