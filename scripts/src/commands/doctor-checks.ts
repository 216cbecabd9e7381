/**
 * Doctor's checks of what runs: Redis, each service's `/ready`, the composition the gateway serves
 * against the running subgraphs' SDL, and identity's published keys.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, type DefinitionNode } from 'graphql';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { PlatformConfig } from '@platform/kernel';
import { closeRedis, createRedis, jwksUrlOf, redisCheck } from '@platform/kernel/gateway';
import { createLogger } from '@platform/kernel/tools';
import { composeSupergraph, type SubgraphSdl } from '../artifacts.js';
import { fail, ok, reason, warn, type Finding } from './doctor-report.js';

const TIMEOUT_MS = 3000;

/** A service doctor talks to: its name, origin (`/ready` lives there) and GraphQL URL. */
export interface Endpoint {
  name: string;
  origin: string;
  graphql: string;
}

/** The gateway, where config says it listens (`gateway.port` on `host`; a wildcard host is asked on loopback). */
export function gatewayEndpoint(config: PlatformConfig): Endpoint {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${config.gateway.port}`;
  return { name: 'gateway', origin, graphql: `${origin}/graphql` };
}

/** A subgraph where the gateway reaches it (`services.<name>.url`). */
export function subgraphEndpoint(config: PlatformConfig, name: string): Endpoint {
  const graphql = config.services[name]!.url!;
  return { name, origin: new URL(graphql).origin, graphql };
}

/** Where an endpoint is configured, for fixes: the variable that moves it. */
function whereSet(endpoint: Endpoint): string {
  if (endpoint.name === 'gateway') return 'gateway.port (PLATFORM_GATEWAY__PORT)';
  const upper = endpoint.name.toUpperCase().replace(/-/g, '_');
  return `services.${endpoint.name}.url or .port (PLATFORM_SERVICES__${upper}__URL / __PORT)`;
}

interface ReadyAnswer {
  ready?: boolean;
  status?: string;
  checks?: Record<string, { ok: boolean; detail?: string; critical?: boolean }>;
}

/** `/ready` of one service: OK when ready, WARN when degraded (what is down), FAIL when down or unreachable. */
export async function readyCheck(endpoint: Endpoint): Promise<{ finding: Finding; answers: boolean }> {
  const check = `service ${endpoint.name}`;
  const url = `${endpoint.origin}/ready`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const fix = `start it (npm start runs every service), or point doctor where it runs: ${whereSet(endpoint)}`;
    return {
      finding: fail(check, `${endpoint.name} does not answer at ${url}: ${reason(error)}`, fix),
      answers: false,
    };
  }
  const body = (await response.json().catch(() => ({}))) as ReadyAnswer;
  const failing = Object.entries(body.checks ?? {})
    .filter(([, result]) => !result.ok)
    .map(([name, result]) => `${name}${result.detail ? ` (${result.detail})` : ''}`);
  if (!response.ok || body.ready === false) {
    const detail = `${endpoint.name} at ${endpoint.origin} is ${body.status ?? `HTTP ${response.status}`}${failing.length ? `: ${failing.join(', ')}` : ''}`;
    return {
      finding: fail(check, detail, `read its log; ${endpoint.origin}/ready lists each dependency`),
      answers: true,
    };
  }
  if (failing.length > 0) {
    const detail = `${endpoint.name} at ${endpoint.origin} is degraded: ${failing.join(', ')}`;
    return { finding: warn(check, detail, 'it serves what it can; bring back what is named'), answers: true };
  }
  return { finding: ok(check, `${endpoint.name} ready at ${endpoint.origin}`), answers: true };
}

/** Redis: advisory without one (one process holds the bus, caches and limits), required once configured. */
export async function redisFinding(config: PlatformConfig): Promise<Finding> {
  if (!config.redis.url) {
    const detail =
      'not configured: events, caches, rate limits and subscriptions stay within one process, jobs use the database';
    if (config.env !== 'production') return ok('redis', detail);
    return warn('redis', detail, 'set REDIS_URL before running more than one instance of any service');
  }
  const redis = createRedis(config.redis.url, {
    name: 'platformctl-doctor',
    logger: createLogger({ log: { ...config.log, level: 'silent' } }, 'doctor'),
    maxReconnectDelayMs: 500,
  });
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    while (redis.status !== 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const result = await redisCheck(redis);
    if (result.ok) return ok('redis', `answering at ${new URL(config.redis.url).host}`);
    return fail(
      'redis',
      `${new URL(config.redis.url).host}: ${result.detail ?? result.status}: events stop crossing instances, BullMQ jobs wait, caches and rate limits fall back to each process`,
      'start Redis or correct REDIS_URL; services reconnect on their own',
    );
  } catch (error) {
    return fail('redis', reason(error), 'start Redis or correct REDIS_URL');
  } finally {
    await closeRedis(redis, 1000);
  }
}

/** Federation's own definitions, which `_service` prints after the module's and schema/ leaves out. */
const FEDERATION_BUILT_IN = /^(link__|federation__|_)/;

/** An SDL without comments, formatting or federation's built-in definitions: what two schemas must share. */
function normalized(sdl: string): string {
  const document = parse(sdl);
  const definitions = document.definitions.flatMap((definition): DefinitionNode[] => {
    if (definition.kind === Kind.DIRECTIVE_DEFINITION) return [];
    if ('name' in definition && definition.name && FEDERATION_BUILT_IN.test(definition.name.value)) return [];
    if (definition.kind !== Kind.OBJECT_TYPE_EXTENSION) return [definition];
    // `extend type Query { _entities _service }`: federation's root fields.
    const fields = definition.fields?.filter((field) => !FEDERATION_BUILT_IN.test(field.name.value)) ?? [];
    return fields.length === 0 && !definition.directives?.length && !definition.interfaces?.length
      ? []
      : [{ ...definition, fields }];
  });
  return print({ ...document, definitions });
}

/**
 * The running subgraphs' SDL (`_service`, with the service credential) against schema/<name>.graphql,
 * and their composition against the supergraph the gateway serves.
 */
export async function compositionFinding(
  root: string,
  config: PlatformConfig,
  running: Endpoint[],
  missing: string[],
  credentialHeaders: Record<string, string>,
  generatedUrls: Record<string, string>,
): Promise<Finding> {
  const check = 'composition';
  if (running.length === 0) return warn(check, 'no subgraph answers: nothing to compare', 'start the services');
  const subgraphs: SubgraphSdl[] = [];
  const stale: string[] = [];
  for (const endpoint of running) {
    let sdl: string;
    try {
      const response = await fetch(endpoint.graphql, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...credentialHeaders },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const body = (await response.json()) as {
        data?: { _service?: { sdl?: string } };
        errors?: { message: string }[];
      };
      if (!body.data?._service?.sdl) throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
      sdl = body.data._service.sdl;
    } catch (error) {
      return fail(
        check,
        `${endpoint.name} did not give its SDL: ${reason(error)}`,
        'check the service credential (SERVICE_SECRET) matches the services’',
      );
    }
    const file = join(root, 'schema', `${endpoint.name}.graphql`);
    if (!existsSync(file) || normalized(readFileSync(file, 'utf8')) !== normalized(sdl)) stale.push(endpoint.name);
    subgraphs.push({ name: endpoint.name, sdl, url: generatedUrls[endpoint.name] ?? endpoint.graphql });
  }
  if (stale.length > 0) {
    return fail(
      check,
      `${stale.join(', ')} serve${stale.length === 1 ? 's' : ''} another schema than schema/ holds`,
      'run npm run generate after changing a module, then restart the services and the gateway',
    );
  }
  if (missing.length > 0) {
    return warn(
      check,
      `${subgraphs.length} running subgraph(s) match schema/; not composed without ${missing.join(', ')}`,
      `start ${missing.join(', ')}, then run doctor again`,
    );
  }
  const composed = composeSupergraph(subgraphs);
  if (!composed.supergraph) {
    return fail(
      check,
      `the running subgraphs do not compose: ${composed.errors[0]}`,
      'npm run platformctl -- compose shows every error',
    );
  }
  if (config.gateway.introspectAndCompose)
    return ok(check, `${subgraphs.length} subgraphs compose (the gateway composes them itself)`);
  const path = config.gateway.supergraphPath;
  if (!existsSync(path) || normalized(readFileSync(path, 'utf8')) !== normalized(composed.supergraph)) {
    return fail(
      check,
      `the gateway's supergraph ${path} is not what the running subgraphs compose`,
      'npm run generate, then restart the gateway',
    );
  }
  return ok(check, `${subgraphs.length} running subgraphs match schema/ and compose to the gateway's supergraph`);
}

/**
 * identity's JWKS: reachable, each key parses (kid, alg, key material) with no kid twice, and the
 * key identity signs with (`signingKid`, when known) is among them.
 */
export async function jwksFinding(
  config: PlatformConfig,
  signingKid: () => Promise<string | undefined>,
): Promise<Finding> {
  const check = 'jwks';
  const url = jwksUrlOf(config);
  if (!url)
    return fail(
      check,
      `no JWKS URL: auth.tokenService ${config.auth.tokenService} has no services entry`,
      'set auth.jwksUrl or services.<token service>',
    );
  let keys: JWK[];
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    keys = ((await response.json()) as { keys?: JWK[] }).keys ?? [];
  } catch (error) {
    return fail(check, `${url}: ${reason(error)}`, 'start identity (services verify every token with these keys)');
  }
  if (keys.length === 0)
    return fail(check, `${url} lists no key`, 'npm run platformctl -- keys list; keys rotate creates one');
  const problems: string[] = [];
  const kids = new Set<string>();
  for (const [i, key] of keys.entries()) {
    const name = key.kid ?? `key ${i}`;
    if (!key.kid) problems.push(`${name} has no kid`);
    else if (kids.has(key.kid)) problems.push(`kid ${key.kid} twice`);
    else kids.add(key.kid);
    if (!key.alg) problems.push(`${name} has no alg`);
    try {
      await importJWK(key, key.alg);
      await calculateJwkThumbprint(key);
    } catch (error) {
      problems.push(`${name}: ${reason(error)}`);
    }
  }
  if (problems.length > 0)
    return fail(check, `${url}: ${problems.join('; ')}`, 'npm run platformctl -- keys rotate --now');
  let signing: string | undefined;
  try {
    signing = await signingKid();
  } catch (error) {
    return warn(
      check,
      `${keys.length} valid key(s); the signing key is unknown: ${reason(error)}`,
      'npm run platformctl -- keys list',
    );
  }
  if (signing && !kids.has(signing)) {
    return fail(
      check,
      `identity signs with ${signing}, which ${url} does not publish`,
      'npm run platformctl -- keys rotate --now',
    );
  }
  return ok(check, `${keys.length} valid key(s) at ${url}${signing ? `, signing with ${signing}` : ''}`);
}
