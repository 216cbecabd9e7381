import { randomUUID } from 'node:crypto';
import { StaticPermissions, startTestSubgraph, type PlatformConfig, type TestSubgraph } from '@platform/kernel/testing';
import type { BlogConfig } from '../config.js';
import blog from '../module.js';
import { Post } from '../post/post.entity.js';
import { Permission } from '../permissions.generated.js';
import type { BlogServices } from '../services.js';

export type BlogTestHandle = TestSubgraph<BlogConfig, BlogServices>;
export type Errors = Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;

const WRITER = [Permission.PostRead, Permission.PostCreate, Permission.PostUpdate, Permission.PostDelete];

/** The callers of a suite: what each holds mirrors the built-in roles of authz. */
export interface Callers {
  /** A plain user (the `user` role): reads, writes and edits their own posts. */
  author: string;
  /** Another plain user. */
  other: string;
  /** A user who also moderates. */
  moderator: string;
  /** Signed in, but granted nothing. */
  nobody: string;
  /** Holds every permission, as the `admin` role does. */
  admin: string;
}

export const newCallers = (): Callers => ({
  author: randomUUID(),
  other: randomUUID(),
  moderator: randomUUID(),
  nobody: randomUUID(),
  admin: randomUUID(),
});

/** The `x-test-user` header names the caller; no header is a guest. */
export const as = (userId: string): Record<string, string> => ({ 'x-test-user': userId });

/**
 * Boots blog on a real database with fixed permissions: guests read, users write, moderators
 * moderate. `blog` is blog's config section (`modules.blog`); `config` a whole prepared config
 * (`testConfig`), for instances sharing one database and Redis.
 */
export function startBlog(
  callers: Callers,
  options: { blog?: Partial<BlogConfig>; config?: PlatformConfig } = {},
): Promise<BlogTestHandle> {
  return startTestSubgraph(blog, {
    ...(options.config ? { config: options.config } : { overrides: { modules: { blog: options.blog ?? {} } } }),
    authenticate: (req) => {
      const id = req.headers['x-test-user'];
      return typeof id === 'string' ? { id } : undefined;
    },
    permissions: new StaticPermissions({
      guest: [Permission.PostRead],
      byUser: {
        [callers.author]: WRITER,
        [callers.other]: WRITER,
        [callers.moderator]: [...WRITER, Permission.PostModerate],
      },
      all: [callers.admin],
    }),
  });
}

export interface OutboxRow {
  topic: string;
  payload: Record<string, unknown>;
  meta: Record<string, unknown>;
}

/** blog's recorded events, oldest first, optionally only those about one post. */
export function outbox(handle: BlogTestHandle, postId?: string): Promise<OutboxRow[]> {
  const table = `"${handle.runtime.db.schema}".outbox`;
  return handle.runtime
    .em()
    .execute<OutboxRow[]>(
      `select topic, payload, meta from ${table} where topic like 'blog.%'` +
        (postId ? ` and payload->>'postId' = ?` : '') +
        ' order by seq',
      postId ? [postId] : [],
    );
}

export const codeOf = (errors: Errors): unknown => errors?.[0]?.extensions?.code;

/** The fields a BAD_USER_INPUT names. */
export const fieldsOf = (errors: Errors): unknown =>
  (errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);

/** A post as the API shows it. */
export interface PostView {
  id: string;
  title: string;
  content: string;
  createdAt: string;
  updatedAt: string;
  author: { id: string };
}

const POST_FIELDS = 'id title content createdAt updatedAt author { id }';
export const CREATE = `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`;
export const POST = `query ($id: ID!) { post(id: $id) { ${POST_FIELDS} } }`;

/** A post by `writer`, created through the API. */
export async function createPost(handle: BlogTestHandle, writer: string, title = 'A post'): Promise<PostView> {
  const { body } = await handle.query<{ createPost: PostView }>(
    CREATE,
    { input: { title, content: 'Text.' } },
    as(writer),
  );
  if (body.errors) throw new Error(`createPost failed: ${JSON.stringify(body.errors)}`);
  return body.data!.createPost;
}

/** How many posts and events are stored: what a refused request must leave as it was. */
export async function writtenState(handle: BlogTestHandle): Promise<[posts: number, events: number]> {
  return [await handle.runtime.em().count(Post, {}), (await outbox(handle)).length];
}

/**
 * How many SQL statements requests made blog run: the sum, over statement kinds, of the
 * `db_query_duration_seconds` count the kernel's ORM logger records for every statement
 * MikroORM sends (raw SQL included), read from /metrics. Background work (the outbox relay,
 * event handlers) is labelled `source="background"` and left out.
 */
export async function requestStatements(handle: BlogTestHandle): Promise<number> {
  const text = await (await fetch(`${handle.baseUrl}/metrics`)).text();
  let total = 0;
  for (const [, labels, count] of text.matchAll(/^db_query_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    if (labels!.includes('source="request"')) total += Number(count);
  }
  return total;
}

/**
 * Runs `operation` and says how many statements it cost (requests must not overlap meanwhile),
 * less those of reading /metrics itself (the `jobs_waiting` gauge asks the job store).
 */
export async function countStatements<T>(
  handle: BlogTestHandle,
  operation: () => Promise<T>,
): Promise<{ result: T; statements: number }> {
  const scrape = -(await requestStatements(handle)) + (await requestStatements(handle));
  const before = await requestStatements(handle);
  const result = await operation();
  return { result, statements: (await requestStatements(handle)) - before - scrape };
}
