// The accounts the subscriptions benchmark signs in with, and the role change it makes (see
// bench/subscriptions.ts).
import pg from 'pg';
import { latencyStats, round } from '../lib/load.js';
import { LOGIN, registerUsers } from '../login/users.js';
import type { MeasuredSockets } from './subscribers.js';

export async function graphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (!body.data || body.errors?.length) throw new Error(body.errors?.map((e) => e.message).join('; ') ?? 'no data');
  return body.data;
}

/** A writer account: registered, then signed in once its `user` role has arrived (an event away). */
export async function writerToken(url: string, runId: string): Promise<string> {
  const email = `subs-bench-${runId}@example.com`;
  const password = `subscriptions bench passphrase ${runId}`;
  await graphql(url, 'mutation ($input: RegisterInput!) { register(input: $input) { id } }', {
    input: { email, password, displayName: 'Bench Writer' },
  });
  for (let attempt = 0; ; attempt++) {
    const { login } = await graphql<{ login: { accessToken: string } }>(
      url,
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
      { email, password },
    );
    const { me } = await graphql<{ me: { permissions: string[] } }>(
      url,
      '{ me { permissions } }',
      {},
      login.accessToken,
    );
    if (me.permissions.includes('blog.post.create')) return login.accessToken;
    if (attempt > 100) throw new Error('the writer never got blog.post.create');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface ChangeStats {
  delivered: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * The `user` role gains `audit.event.read`, then loses it; a post goes out right after each
 * change. The writer becomes an administrator first, straight in authz's tables (the benchmark
 * has no other administrator), which authz reads for its own checks.
 */
export async function roleChanges(
  databaseUrl: string,
  url: string,
  token: string,
  createPost: (title: string) => Promise<{ id: string; sentAt: number }>,
  sockets: MeasuredSockets,
): Promise<Record<'granted' | 'revoked', ChangeStats>> {
  const { me } = await graphql<{ me: { id: string } }>(url, '{ me { id } }', {}, token);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  let userRole: string;
  try {
    await db.query(
      `insert into authz.role_assignment (user_id, role_id)
       select $1, id from authz.role where name = 'admin' and built_in on conflict do nothing`,
      [me.id],
    );
    userRole = (await db.query<{ id: string }>(`select id from authz.role where name = 'user' and built_in`)).rows[0]!
      .id;
  } finally {
    await db.end();
  }
  const change = async (mutation: string, title: string): Promise<ChangeStats> => {
    await graphql(url, mutation, { roleId: userRole, permission: 'audit.event.read' }, token);
    const post = await createPost(title);
    const times = Array.from((await sockets.collect(post.id, 60_000)).times, (at) => at - post.sentAt).filter(
      (ms) => !Number.isNaN(ms),
    );
    const stats = latencyStats(times);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return { delivered: times.length, p50: round(stats.p50), p99: round(stats.p99), max: round(stats.max) };
  };
  return {
    granted: await change(
      'mutation ($roleId: ID!, $permission: String!) { grantPermissions(roleId: $roleId, permissions: [$permission]) { id } }',
      'after a grant',
    ),
    revoked: await change(
      'mutation ($roleId: ID!, $permission: String!) { revokePermission(roleId: $roleId, permission: $permission) { id } }',
      'after a revocation',
    ),
  };
}

/** `count` accounts (registered two at a time: one password hash per core), each signed in once. */
export async function signedInUsers(url: string, count: number, runId: string): Promise<string[]> {
  const users = await registerUsers(url, count, `subs-${runId}`);
  const tokens: string[] = new Array<string>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const { login } = await graphql<{ login: { accessToken: string } }>(url, LOGIN, { ...users[i]! });
      tokens[i] = login.accessToken;
    }
  };
  await Promise.all([worker(), worker()]);
  return tokens;
}
