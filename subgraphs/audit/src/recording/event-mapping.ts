import { createHash } from 'node:crypto';
import { isUuid, type PlatformEvent } from '@platform/kernel';
import { canonicalJson, type ChainRecord } from '../chain/canonical.js';
import { scrubMetadata, storableText } from './scrub.js';

/** A record before the chain gives it a position, an id and a hash. */
export type AuditDraft = Omit<ChainRecord, 'id' | 'seq' | 'recordedAt' | 'hash'>;

/** Where a topic's target is, when the `<resource>Id` convention does not say it. */
export const TARGETS: Readonly<Record<string, { type: string; key: string }>> = {
  // Sign-ins and credentials are about the account; revocations and reuse about the session.
  'identity.login.succeeded': { type: 'user', key: 'userId' },
  'identity.login.failed': { type: 'user', key: 'userId' },
  'identity.password.changed': { type: 'user', key: 'userId' },
  'identity.password.reset_requested': { type: 'user', key: 'userId' },
  'identity.refresh.reused': { type: 'session', key: 'sessionId' },
  // API keys (docs/identity.md); a service account is a user.
  'identity.apikey.created': { type: 'apikey', key: 'keyId' },
  'identity.apikey.revoked': { type: 'apikey', key: 'keyId' },
  'identity.serviceaccount.created': { type: 'user', key: 'userId' },
  // A grant changes a role; an assignment changes what a user may do.
  'authz.grant.changed': { type: 'role', key: 'roleId' },
  'authz.assignment.created': { type: 'user', key: 'userId' },
  'authz.assignment.deleted': { type: 'user', key: 'userId' },
  // Memberships change what a user may do; switching changes a session (docs/tenancy.md).
  'identity.organization.member_added': { type: 'user', key: 'userId' },
  'identity.organization.member_role_changed': { type: 'user', key: 'userId' },
  'identity.organization.member_removed': { type: 'user', key: 'userId' },
  'identity.organization.switched': { type: 'session', key: 'sessionId' },
};

/** Column widths of audit_event (see the migrations). */
const LIMITS = { targetType: 64, targetId: 128, requestId: 128, traceId: 32, ip: 64, userAgent: 1024 } as const;

const camel = (segment: string): string => segment.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function idValue(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * What an event is about. The convention: the per-topic table above; else the payload's
 * `<resource>Id` for a `module.resource.verb` topic (`blog.post.*` → post `postId`); else the
 * first `…Id` key in alphabetical order (`fooId` → `foo`); else nothing.
 */
export function targetOf(topic: string, payload: Record<string, unknown>): { type: string; id: string } | undefined {
  const known = TARGETS[topic];
  if (known) {
    const id = idValue(payload[known.key]);
    return id === undefined ? undefined : { type: known.type, id };
  }
  const resource = topic.split('.')[1];
  if (resource) {
    const id = idValue(payload[`${camel(resource)}Id`]);
    if (id !== undefined) return { type: resource, id };
  }
  for (const key of Object.keys(payload).sort()) {
    const id = /^([a-z][A-Za-z0-9]*)Id$/.exec(key) ? idValue(payload[key]) : undefined;
    if (id !== undefined) return { type: key.slice(0, -2), id };
  }
  return undefined;
}

/** The event id as a uuid; a malformed one gets a stable uuid derived from it, so deduplication holds. */
export function sourceEventId(event: Partial<PlatformEvent>): string {
  if (isUuid(event.id)) return event.id.toLowerCase();
  let basis: string;
  try {
    basis = typeof event.id === 'string' ? `id:${event.id}` : `event:${canonicalJson(event)}`;
  } catch {
    basis = `event:${String(event.topic)}:${String(event.occurredAt)}`;
  }
  const hex = createHash('sha256').update(basis).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface Mapped {
  draft: AuditDraft;
  /** What had to be changed to store the event (for the log; values never included). */
  notes: string[];
}

/**
 * Turns an event into an audit record: action = topic; target by the convention of
 * {@link targetOf}; actor, request id, trace id, IP and user agent from the event's meta;
 * metadata = the payload with secrets redacted. Never throws, whatever the event holds: what
 * cannot be stored as it is (an actor id that is not a uuid, an overlong value, an invalid
 * timestamp) is dropped, cut or replaced, and named in `notes`.
 */
export function mapEvent(event: PlatformEvent, now: () => Date = () => new Date()): Mapped {
  const notes: string[] = [];
  const payload =
    event.payload !== null && typeof event.payload === 'object' && !Array.isArray(event.payload)
      ? (event.payload as Record<string, unknown>)
      : {};
  const meta = (event.meta !== null && typeof event.meta === 'object' ? event.meta : {}) as Record<string, unknown>;
  const scrubbed = scrubMetadata(event.payload);
  if (scrubbed.redacted.length > 0) notes.push(`redacted ${scrubbed.redacted.join(', ')}`);

  const text = (name: keyof typeof LIMITS, value: unknown): string | null => {
    if (value === undefined || value === null || value === '') return null;
    const limit = LIMITS[name];
    const clean = storableText(String(value));
    if (clean.length <= limit) return clean;
    notes.push(`${name} cut to ${limit} characters`);
    return clean.slice(0, limit);
  };

  let actorId: string | null = null;
  if (isUuid(meta.actorId)) actorId = meta.actorId.toLowerCase();
  else if (meta.actorId !== undefined && meta.actorId !== null) notes.push('actorId is not a uuid; dropped');

  // An API key acting for the actor: named beside them, in the record's metadata.
  let metadata = scrubbed.value;
  if (actorId && isUuid(meta.actorKeyId)) {
    metadata = { ...metadata, actorApiKeyId: meta.actorKeyId.toLowerCase() };
  }
  // The organization the actor was active in (their token's `org`): docs/tenancy.md.
  if (actorId && isUuid(meta.organizationId)) {
    metadata = { ...metadata, actorOrganizationId: meta.organizationId.toLowerCase() };
  }

  let occurredAt = typeof event.occurredAt === 'string' ? new Date(event.occurredAt) : new Date(NaN);
  if (Number.isNaN(occurredAt.getTime()) || occurredAt.getUTCFullYear() > 9999 || occurredAt.getUTCFullYear() < 1) {
    notes.push('occurredAt is not a valid time; the time of recording is used');
    occurredAt = now();
  }

  const target = targetOf(String(event.topic), payload);
  return {
    draft: {
      eventId: sourceEventId(event),
      action: storableText(String(event.topic)),
      actorId,
      targetType: text('targetType', target?.type),
      targetId: text('targetId', target?.id),
      metadata,
      requestId: text('requestId', meta.requestId),
      traceId: text('traceId', meta.traceId),
      ip: text('ip', meta.ip),
      userAgent: text('userAgent', meta.userAgent),
      occurredAt,
    },
    notes,
  };
}
