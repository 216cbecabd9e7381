import type { Request } from 'express';
import { RemotePermissions } from '../auth/remote-permissions.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import {
  jwksUrlOf,
  startRevocations,
  verifierJwksUrl,
  type AccessTokenProvider,
  type Revocations,
} from '../contracts/access-tokens.js';
import { permissionServiceOrigin } from '../contracts/permissions.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import type { PermissionResolver } from '../graphql/permissions.js';
import { healthOf, jwksCheck } from '../health/checks.js';
import type { Readiness } from '../health/health.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { ModuleDefinition, ModuleRuntime } from '../module/define.js';
import type { Teardown } from './teardown.js';

export type Authenticate = (req: Request) => Promise<AuthenticatedUser | undefined> | AuthenticatedUser | undefined;

export interface AuthOptions {
  readiness: Readiness;
  metrics: ServiceMetrics;
  teardown: Teardown;
  /** The deployment's service credential, for the token and permission services' internal routes. */
  credential: string;
  /** Answers `ctx.can()` instead of the permission service (tests). */
  permissions?: PermissionResolver;
  /** Where the permission service is, when not where the config says (the in-process platform). */
  permissionServiceUrl?: () => string | undefined;
  /** Resolves the caller instead of the token verifier (tests). */
  authenticate?: Authenticate;
}

/** How a service knows who calls and what they may do. */
export interface ServiceAuth {
  verifier: TokenVerifier;
  revocations: Revocations;
  permissions: PermissionResolver;
  authenticate: Authenticate;
  /** What the module implements of the access-token contract (the token service itself). */
  tokens: AccessTokenProvider | undefined;
}

/**
 * Connects a module to the kernel's two auth contracts: permissions (computed in process by the
 * module that implements them, else asked of the permission service over HTTP and cached), and
 * access tokens (verified against the token service's keys, read in process by the module that
 * issues them, with revocations kept complete within the bound).
 */
export async function connectAuth<Config, Services>(
  module: ModuleDefinition<Config, Services>,
  runtime: ModuleRuntime<Config>,
  services: Services,
  options: AuthOptions,
): Promise<ServiceAuth> {
  const permissions = options.permissions ?? (await connectPermissions(module, runtime, services, options));
  const tokens = module.contracts?.accessTokens?.(runtime, services);
  const { platform, bus, logger } = runtime;
  const { metrics, readiness, teardown } = options;
  const revocations = await startRevocations({
    config: platform,
    bus,
    logger,
    source: tokens?.revocations,
    credential: options.credential,
    onFailure: () => metrics.dependencyErrors.inc({ dependency: platform.auth.tokenService }),
  });
  teardown.add(() => revocations.close());
  const { sync } = revocations;
  if (sync) readiness.register('revocations', () => sync.status(), { critical: false });
  const jwksUrl = jwksUrlOf(platform);
  if (!tokens && jwksUrl) readiness.register('jwks', () => jwksCheck(jwksUrl), { critical: false });
  const verifier = new TokenVerifier({
    issuer: platform.auth.issuer,
    audience: platform.auth.audience,
    keys: tokens ? { local: () => tokens.keys() } : { url: verifierJwksUrl(platform) },
    revocations: revocations.list,
    freshness: sync,
    logger,
  });
  const authenticate = options.authenticate ?? ((req: Request) => verifier.authenticate(req));
  return { verifier, revocations, permissions, authenticate, tokens };
}

/** The module's own permissions, or the permission service's over HTTP (its events drop cached answers at once). */
async function connectPermissions<Config, Services>(
  module: ModuleDefinition<Config, Services>,
  runtime: ModuleRuntime<Config>,
  services: Services,
  options: AuthOptions,
): Promise<PermissionResolver> {
  const local = module.contracts?.permissions?.(runtime, services);
  if (local) return local;
  const { platform, bus, logger } = runtime;
  const service = platform.auth.permissionService;
  const url = options.permissionServiceUrl ?? (() => permissionServiceOrigin(platform));
  const remote = new RemotePermissions({
    url,
    bus,
    service,
    logger,
    ttlMs: platform.auth.permissionCacheTtlSec * 1000,
    credential: options.credential,
    onFailure: () => options.metrics.dependencyErrors.inc({ dependency: service }),
  });
  await remote.start();
  options.teardown.add(() => remote.close());
  options.readiness.register(service, () => healthOf(url()), { critical: false });
  return remote;
}
