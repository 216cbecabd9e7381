import * as client from 'openid-client';
import type { Logger } from '@platform/kernel';
import { OIDC_PREFIX } from '../oidc/paths.js';
import type { SignInProviderConfig } from './provider-config.js';

/** Where a provider sends its users back, on the issuer's origin (the gateway forwards `/oidc/*` to identity). */
export const BROKER_CALLBACK = `${OIDC_PREFIX}/broker/:provider/callback`;

/** Discovery documents are read again after an hour (keys and endpoints a provider rotates). */
const METADATA_MAX_AGE_MS = 3_600_000;
/** Seconds a request to a provider (discovery, token, userinfo) may take. */
const PROVIDER_TIMEOUT_SEC = 10;

interface Discovered {
  at: number;
  config: Promise<client.Configuration>;
}

/**
 * The configured external providers, each an openid-client `Configuration` read from its
 * discovery document on first use (not at start: a provider being down must not stop identity),
 * kept an hour, and read again at once after a failure.
 */
export class ExternalProviders {
  readonly #providers: Readonly<Record<string, SignInProviderConfig>>;
  readonly #issuer: string;
  readonly #logger: Logger;
  readonly #discovered = new Map<string, Discovered>();

  /** `issuer`: the platform's own (the gateway's origin), where callbacks arrive. */
  constructor(providers: Readonly<Record<string, SignInProviderConfig>>, issuer: string, logger: Logger) {
    this.#providers = providers;
    this.#issuer = issuer.replace(/\/$/, '');
    this.#logger = logger;
  }

  /** Every provider, in config order. */
  list(): Array<{ id: string; name: string }> {
    return Object.entries(this.#providers).map(([id, { name }]) => ({ id, name }));
  }

  get(id: string): SignInProviderConfig | undefined {
    return Object.hasOwn(this.#providers, id) ? this.#providers[id] : undefined;
  }

  /** The redirect URI registered with provider `id`. */
  callbackUrl(id: string): string {
    return `${this.#issuer}${BROKER_CALLBACK.replace(':provider', id)}`;
  }

  /** Provider `id` as openid-client speaks to it. */
  async configuration(id: string): Promise<client.Configuration> {
    const provider = this.get(id);
    if (!provider) throw new Error(`no sign-in provider ${id}`);
    const known = this.#discovered.get(id);
    if (known && Date.now() - known.at < METADATA_MAX_AGE_MS) return known.config;
    const config = client.discovery(
      new URL(provider.issuer),
      provider.clientId,
      { redirect_uris: [this.callbackUrl(id)], response_types: ['code'] },
      provider.clientSecret ? client.ClientSecretBasic(provider.clientSecret) : client.None(),
      {
        timeout: PROVIDER_TIMEOUT_SEC,
        // The config allows http only for a loopback issuer (provider-config.ts).
        ...(provider.issuer.startsWith('http:') ? { execute: [client.allowInsecureRequests] } : {}),
      },
    );
    this.#discovered.set(id, { at: Date.now(), config });
    config.catch((error: unknown) => {
      if (this.#discovered.get(id)?.config === config) this.#discovered.delete(id);
      this.#logger.warn({ err: error, provider: id }, "a sign-in provider's discovery document could not be read");
    });
    return config;
  }
}
