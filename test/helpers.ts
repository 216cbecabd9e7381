import { dropTestSchema, testConfig } from '@platform/kernel/testing';
import type { ModuleDefinition } from '@platform/kernel/testing';
import { discoverModules } from '../scripts/src/modules.js';
import { startPlatform, type RunningPlatform } from '../scripts/src/platform.js';

/**
 * Every module in the repository, found as `npm start` finds them: the platform's four and any a
 * team added (`platformctl modules new`), so the end-to-end suites run the supergraph as it ships.
 */
export const MODULES: ModuleDefinition[] = await discoverModules();

export interface TestPlatform extends RunningPlatform {
  /** POST to the gateway's /graphql. */
  graphql(body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** The whole supergraph in-process on free ports and a private database, for one suite. */
export async function startTestPlatform(overrides: Record<string, unknown> = {}): Promise<TestPlatform> {
  const { config, cleanup } = testConfig({ gateway: { port: 0 }, ...overrides });
  const platform = await startPlatform(config, MODULES);
  return {
    ...platform,
    graphql: (body, headers = {}) =>
      fetch(platform.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    stop: async () => {
      for (const handle of Object.values(platform.subgraphs)) await dropTestSchema(handle.runtime.db);
      await platform.stop();
      await cleanup();
    },
  };
}

/** A GraphQL response body as tests read it. */
export interface GraphQLBody<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** POSTs one operation to a GraphQL endpoint, as the caller whose access token is given. */
export async function graphqlAt<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLBody<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLBody<T>;
}

/** The error code of a response's first error. */
export const errorCode = (body: GraphQLBody<unknown>): unknown => body.errors?.[0]?.extensions?.code;

/** Signs in through the gateway: the access token and the user's id. */
export async function signIn(
  platform: TestPlatform,
  email: string,
  password: string,
): Promise<{ accessToken: string; id: string }> {
  const body = await graphqlAt<{ login: { accessToken: string; user: { id: string } } }>(
    platform.gateway.url,
    `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { id } } }`,
    { email, password },
  );
  if (body.errors) throw new Error(`login ${email}: ${JSON.stringify(body.errors)}`);
  return { accessToken: body.data!.login.accessToken, id: body.data!.login.user.id };
}

/** Registers an account through the gateway. */
export async function register(
  platform: TestPlatform,
  account: { email: string; password: string; displayName?: string },
): Promise<void> {
  const body = await graphqlAt(
    platform.gateway.url,
    `mutation ($input: RegisterInput!) { register(input: $input) { id } }`,
    {
      input: account,
    },
  );
  if (body.errors) throw new Error(`register ${account.email}: ${JSON.stringify(body.errors)}`);
}
