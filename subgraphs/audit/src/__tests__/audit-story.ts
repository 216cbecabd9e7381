import { afterAll, beforeAll, expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { type PlatformEvent } from '@platform/kernel';
import {
  as,
  event,
  newCallers,
  publishAndWait,
  startAudit,
  tablesOf,
  type AuditTestHandle,
  type Callers,
} from './start-audit.js';

export const BASE = Date.UTC(2001, 0, 1);
export const at = (minute: number): string => new Date(BASE + minute * 60_000).toISOString();
export const USER = randomUUID();
export const ADMIN = randomUUID();
export const SESSION = randomUUID();
export const ROLE = randomUUID();
export const POST = randomUUID();
export const CLIENT = { ip: '10.1.2.3', userAgent: 'jest-agent' };

/** One of everything, a minute apart, in 2001 (so time filters see only these). */
export const STORY: PlatformEvent[] = [
  event(
    'identity.user.created',
    { userId: USER, email: 'u@example.com', displayName: 'U', via: 'registration' },
    { actorId: USER, requestId: 'req-register', ...CLIENT },
  ),
  event('identity.login.failed', { userId: null, reason: 'unknown_email' }, { requestId: 'req-fail', ...CLIENT }),
  event('identity.login.succeeded', { userId: USER, sessionId: SESSION }, { actorId: USER, ...CLIENT }),
  event('authz.role.created', { roleId: ROLE, name: 'editor' }, { actorId: ADMIN }),
  event('authz.assignment.created', { userId: USER, roleId: ROLE, roleName: 'editor' }, { actorId: ADMIN }),
  event('blog.post.created', { postId: POST, authorId: USER }, { actorId: USER }),
  event('blog.post.updated', { postId: POST, authorId: USER, changed: ['title'] }, { actorId: USER }),
  event(
    'identity.session.revoked',
    { userId: USER, sessionId: SESSION, reason: 'logout' },
    { actorId: USER, requestId: 'req-logout', traceId: 'c'.repeat(32), ...CLIENT },
  ),
].map((e, minute) => ({ ...e, occurredAt: at(minute) }));

export interface Page {
  edges: Array<{ node: { id: string; action: string }; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export const EVENTS = `query ($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { node { id action } cursor }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;
export const VERIFY = `{ verifyAuditChain { valid checked firstBrokenId reason } }`;

/** A suite's audit with the story recorded, and how its tests read it. */
export interface StorySuite {
  callers: Callers;
  handle(): AuditTestHandle;
  /** Record id of each STORY event, by event id. */
  recordOf: Map<string, string>;
  page(variables: Record<string, unknown>, caller?: string): Promise<Page>;
  /** Every record id, as the API should list them: most recently recorded first. */
  newestFirst(): Promise<string[]>;
  verify(): Promise<{ valid: boolean; checked: number; firstBrokenId: string | null; reason: string | null }>;
}

/**
 * Boots audit on a real database for the calling suite (beforeAll/afterAll) and records the
 * story in it.
 */
export function storySuite(): StorySuite {
  const callers = newCallers();
  let handle: AuditTestHandle;
  /** Record id of each STORY event, by event id. */
  const recordOf = new Map<string, string>();

  const page = async (variables: Record<string, unknown>, caller = callers.reader): Promise<Page> => {
    const { body } = await handle.query<{ auditEvents: Page }>(EVENTS, variables, as(caller));
    expect(body.errors).toBeUndefined();
    return body.data!.auditEvents;
  };
  /** Every record id, as the API should list them: most recently recorded first. */
  const newestFirst = async (): Promise<string[]> =>
    (
      await handle.runtime
        .em()
        .execute<Array<{ id: string }>>(`select id from ${tablesOf(handle).events} order by seq desc`)
    ).map((row) => row.id);
  const verify = async () => {
    const { body } = await handle.query<{
      verifyAuditChain: { valid: boolean; checked: number; firstBrokenId: string | null; reason: string | null };
    }>(VERIFY, undefined, as(callers.auditor));
    expect(body.errors).toBeUndefined();
    return body.data!.verifyAuditChain;
  };

  beforeAll(async () => {
    handle = await startAudit(callers);
    await publishAndWait(handle, STORY);
    const rows = await handle.runtime
      .em()
      .execute<Array<{ id: string; event_id: string }>>(`select id, event_id from ${tablesOf(handle).events}`);
    for (const row of rows) recordOf.set(row.event_id, row.id);
  });

  afterAll(async () => {
    await handle?.stop();
  });

  return { callers, handle: () => handle, recordOf, page, newestFirst, verify };
}
