import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  API_KEY_EXCHANGE_PATH,
  currentRequest,
  errorBody,
  isWellFormedApiKey,
  looksLikeApiKey,
  SERVICE_CREDENTIAL_HEADER,
  tokenServiceOrigin,
  type Logger,
  type PlatformConfig,
  type TokenVerifier,
} from '@platform/kernel/gateway';

export interface ApiKeyEdgeOptions {
  config: PlatformConfig;
  /** The gateway's verifier: a cached exchange is re-checked against revocations before reuse. */
  verifier: TokenVerifier;
  credential: string;
  /** Longest an exchange is reused; default 60 s (also how often a key's last use is recorded). */
  reuseMs?: number;
  /** Keys whose exchanges are remembered; default 10 000. */
  maxEntries?: number;
  fetch?: typeof fetch;
}

/** Trades an API key for an access token restricted to it; undefined for a key that is not valid. */
export interface ApiKeyExchanger {
  exchange(key: string, clientIp?: string): Promise<string | undefined>;
}

/**
 * The API key request headers carry, or a socket's `connection_init` payload (the same names):
 * `x-api-key: <key>` or `authorization: Bearer <key>`; `conflict` when a key comes with another
 * credential (or twice).
 */
export function apiKeyOf(params: Readonly<Record<string, unknown>> | undefined): {
  key?: string;
  conflict?: boolean;
} {
  const header = params?.['x-api-key'];
  const authorization = params?.authorization;
  const bearer = typeof authorization === 'string' ? BEARER_KEY.exec(authorization)?.[1] : undefined;
  const fromBearer = bearer !== undefined && looksLikeApiKey(bearer) ? bearer : undefined;
  if (header === undefined && fromBearer === undefined) return {};
  if (typeof header !== 'string' && header !== undefined) return { conflict: true };
  if (header !== undefined && authorization !== undefined) return { conflict: true };
  return { key: (header ?? fromBearer)!.trim() };
}

interface Exchange {
  accessToken: string;
  /** Epoch ms after which the exchange is not reused. */
  until: number;
}

const BEARER_KEY = /^Bearer +(\S+) *$/i;
const INVALID = 'Invalid API key';

/**
 * API keys at the edge. A client sends its key as `X-API-Key: <key>` or `Authorization: Bearer
 * <key>`; the gateway trades it with the token service (identity's internal exchange route, with
 * the service credential) for a short-lived access token restricted to the key's permissions and
 * forwards that instead, so every subgraph authenticates and authorizes the call as it does any
 * other: the key's token names the key (`akid`) and its permissions (`perm`), and each permission
 * check answers the owner's permissions ∩ the key's.
 *
 * A key that fails its checksum is refused here (UNAUTHENTICATED) without any lookup. Exchanges
 * are reused for at most `reuseMs` and while their token is valid and not revoked (the gateway's
 * revocation list), so a revoked key stops working as soon as its revocation reaches the gateway
 * (its event, or the periodic read within `auth.revocationBoundSec`).
 */
export function apiKeyExchanger(options: ApiKeyEdgeOptions): ApiKeyExchanger {
  const { config, verifier, credential } = options;
  const reuseMs = options.reuseMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const exchanges = new Map<string, Exchange>();

  const remember = (id: string, exchange: Exchange): void => {
    exchanges.delete(id);
    exchanges.set(id, exchange);
    // Oldest first: a Map iterates in insertion order.
    while (exchanges.size > maxEntries) exchanges.delete(exchanges.keys().next().value!);
  };

  const exchange = async (key: string, clientIp?: string): Promise<string | undefined> => {
    const id = createHash('sha256').update(key).digest('base64url');
    const cached = exchanges.get(id);
    if (cached && cached.until > Date.now()) {
      try {
        await verifier.verify(cached.accessToken);
        return cached.accessToken;
      } catch {
        exchanges.delete(id);
      }
    }
    const origin = tokenServiceOrigin(config);
    if (!origin) throw new Error(`the token service (${config.auth.tokenService})'s address is not known`);
    const url = `${origin}${API_KEY_EXCHANGE_PATH}`;
    const ip = clientIp ?? currentRequest()?.ip;
    const response = await doFetch(url, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        [SERVICE_CREDENTIAL_HEADER]: credential,
        'x-api-key': key,
        ...(ip ? { 'x-api-key-client-ip': ip } : {}),
      },
      signal: AbortSignal.timeout(5_000),
    });
    if (response.status === 401) {
      await response.body?.cancel();
      exchanges.delete(id);
      return undefined;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the token service answered ${response.status} to an API key exchange (POST ${url})`);
    }
    const body = (await response.json()) as { accessToken?: unknown; expiresAt?: unknown };
    if (typeof body.accessToken !== 'string' || typeof body.expiresAt !== 'number') {
      throw new Error(`the token service sent a malformed API key exchange (POST ${url})`);
    }
    // Reused until shortly before the token expires, so a forwarded token never lapses in flight.
    remember(id, { accessToken: body.accessToken, until: Math.min(Date.now() + reuseMs, body.expiresAt - 10_000) });
    return body.accessToken;
  };
  return { exchange };
}

/** The `/graphql` middleware: a key in `X-API-Key` or `Authorization: Bearer` is traded for its token. */
export function apiKeyEdge(exchanger: ApiKeyExchanger, logger: Logger): RequestHandler {
  const refuse = (res: Response, message = INVALID): void => {
    res.status(401).json(errorBody(message, 'UNAUTHENTICATED'));
  };

  return (req: Request, res: Response, next: NextFunction) => {
    const { key, conflict } = apiKeyOf(req.headers);
    if (conflict) return refuse(res, 'Send one credential: an API key or an access token');
    if (key === undefined) return next();
    if (!isWellFormedApiKey(key)) return refuse(res);
    exchanger
      .exchange(key)
      .then((accessToken) => {
        if (!accessToken) return refuse(res);
        req.headers.authorization = `Bearer ${accessToken}`;
        delete req.headers['x-api-key'];
        next();
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'API key exchange failed');
        res.status(503).json(errorBody('API keys cannot be checked right now', 'UNAVAILABLE'));
      });
  };
}
