// The GraphQL the login benchmark sends: registering users and classifying login answers.
export const LOGIN =
  'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken expiresIn } }';
export const REGISTER = 'mutation Register($input: RegisterInput!) { register(input: $input) { id } }';
export const JSON_HEADERS = { 'content-type': 'application/json' };

export interface User {
  email: string;
  password: string;
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A login is good when it is a 2xx whose body has data.login.accessToken and no `errors`. */
export function classifyLogin(status: number, body: string): string | null {
  if (status < 200 || status >= 300) return `http ${status}`;
  let parsed: GraphQLBody;
  try {
    parsed = JSON.parse(body) as GraphQLBody;
  } catch {
    return 'body is not JSON';
  }
  if (parsed.errors?.length)
    return `graphql ${parsed.errors[0]?.extensions?.code ?? parsed.errors[0]?.message ?? 'error'}`;
  const login = parsed.data?.login as { accessToken?: unknown } | undefined;
  return typeof login?.accessToken === 'string' ? null : 'no accessToken';
}

export async function graphql(url: string, query: string, variables: Record<string, unknown>): Promise<GraphQLBody> {
  const response = await fetch(url, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as GraphQLBody;
  if (!response.ok || body.errors?.length) {
    throw new Error(`${response.status}: ${body.errors?.map((error) => error.message).join('; ') ?? 'no body'}`);
  }
  return body;
}

/** Registers `count` users, two at a time (one argon2 hash per core). */
export async function registerUsers(graphqlUrl: string, count: number, runId: string): Promise<User[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    email: `bench-${runId}-${i}@example.com`,
    password: `login bench passphrase ${runId} ${i}`,
  }));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const i = next++;
      const { email, password } = users[i]!;
      await graphql(graphqlUrl, REGISTER, { input: { email, password, displayName: `Bench User ${i}` } });
    }
  };
  await Promise.all([worker(), worker()]);
  return users;
}
