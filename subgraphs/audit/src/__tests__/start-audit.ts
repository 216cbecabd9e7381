import { randomUUID } from 'node:crypto';
import { type EventMeta, type PlatformEvent } from '@platform/kernel';
import {
  createEvent,
  StaticPermissions,
  startTestSubgraph,
  waitFor,
  type TestSubgraph,
} from '@platform/kernel/testing';
import { auditTables, type AuditTables } from '../chain/chain.store.js';
import type { AuditConfig } from '../config.js';
import audit from '../module.js';
import { Permission } from '../permissions.generated.js';
import type { AuditServices } from '../services.js';

export type AuditTestHandle = TestSubgraph<AuditConfig, AuditServices>;
export type Errors = Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;

/** The callers of a suite. */
export interface Callers {
  /** Holds audit.event.read. */
  reader: string;
  /** Holds audit.event.read and audit.event.verify. */
  auditor: string;
  /** Signed in, granted nothing. */
  nobody: string;
}

export const newCallers = (): Callers => ({ reader: randomUUID(), auditor: randomUUID(), nobody: randomUUID() });

/** The `x-test-user` header names the caller; no header is a guest. */
export const as = (userId: string): Record<string, string> => ({ 'x-test-user': userId });

/** Boots audit on a real database (and the bus the config asks for) with fixed permissions. */
export function startAudit(callers: Callers, overrides: Record<string, unknown> = {}): Promise<AuditTestHandle> {
  return startTestSubgraph(audit, {
    authenticate: (req) => {
      const id = req.headers['x-test-user'];
      return typeof id === 'string' ? { id } : undefined;
    },
    permissions: new StaticPermissions({
      byUser: {
        [callers.reader]: [Permission.EventRead],
        [callers.auditor]: [Permission.EventRead, Permission.EventVerify],
      },
    }),
    overrides,
  });
}

export const tablesOf = (handle: AuditTestHandle): AuditTables => auditTables(handle.runtime.db.schema);

/** An event as a module would publish it (source = the topic's module). */
export function event(topic: string, payload: Record<string, unknown>, meta: Partial<EventMeta> = {}): PlatformEvent {
  return createEvent(topic.split('.')[0]!, topic, payload, meta);
}

/** How many records the chain holds. */
export async function recordCount(handle: AuditTestHandle): Promise<number> {
  const [row] = await handle.runtime
    .em()
    .execute<Array<{ n: number }>>(`select count(*)::int as n from ${tablesOf(handle).events}`);
  return row!.n;
}

/** Publishes events on the module's bus and waits until audit has recorded `expected` more records. */
export async function publishAndWait(handle: AuditTestHandle, events: PlatformEvent[], expected = events.length) {
  const before = await recordCount(handle);
  await handle.runtime.bus.publish(events);
  await waitFor(async () => (await recordCount(handle)) >= before + expected, `${expected} audit records`);
}

/**
 * Runs `sql` as a superuser would, with the append-only triggers of `table` disabled for that
 * transaction only: how an attacker with database access, not the service, changes records.
 */
export async function asSuperuser(handle: AuditTestHandle, table: string, sql: string, params: unknown[] = []) {
  await handle.runtime.em().transactional(async (tx) => {
    await tx.execute(`alter table ${table} disable trigger user`);
    await tx.execute(sql, params, 'run');
    await tx.execute(`alter table ${table} enable trigger user`);
  });
}

export const codeOf = (errors: Errors): unknown => errors?.[0]?.extensions?.code;
export const fieldsOf = (errors: Errors): unknown =>
  (errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);
