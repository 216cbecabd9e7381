const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export interface AuditGrantOptions {
  /** The module's schema (`services.audit.dbSchema`, default `audit`). */
  schema: string;
  /** The role the audit service connects as. */
  role: string;
  /** The role `platformctl audit prune` connects as: the service's grants plus DELETE on records. */
  pruneRole?: string | null;
}

/**
 * The least-privilege grants for a PostgreSQL deployment where migrations run as the schema's
 * owner and the service connects as `role`: it reads everything, appends records only through
 * `audit_append()` (no INSERT on records, no UPDATE on the head), writes checkpoints and its
 * public key, and deletes nothing. `pruneRole` may also DELETE records, which the append-only
 * trigger allows only for records a prune checkpoint covers, in the prune job's transaction.
 * Printed by `platformctl audit grants`; docs/audit.md shows them for the default schema.
 */
export function auditGrants(options: AuditGrantOptions): string[] {
  const s = quote(options.schema);
  const grantsFor = (role: string): string[] => {
    const r = quote(role);
    return [
      `grant usage on schema ${s} to ${r};`,
      `grant select on ${s}."audit_event", ${s}."audit_chain_head", ${s}."audit_checkpoint", ${s}."audit_signing_key" to ${r};`,
      `grant insert on ${s}."audit_checkpoint", ${s}."audit_signing_key" to ${r};`,
      `grant usage on sequence ${s}."audit_checkpoint_id_seq" to ${r};`,
      `grant execute on function ${s}."audit_chain_lock"(), ${s}."audit_append"(varchar, jsonb) to ${r};`,
      // The kernel's own tables in the schema: the event outbox, handled events, the migration log.
      `grant select, insert, update, delete on ${s}."outbox", ${s}."processed_event" to ${r};`,
      `grant usage on all sequences in schema ${s} to ${r};`,
      `grant select on ${s}."mikro_orm_migrations" to ${r};`,
    ];
  };
  const statements = grantsFor(options.role);
  if (options.pruneRole) {
    statements.push(
      ...grantsFor(options.pruneRole),
      `grant delete on ${s}."audit_event" to ${quote(options.pruneRole)};`,
    );
  }
  return statements;
}
