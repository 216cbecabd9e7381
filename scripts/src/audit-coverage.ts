import { KERNEL_TOPIC_PREFIX, KERNEL_TOPICS, type Manifest } from '@platform/kernel';

/** The module that records every event: its manifest must consume all of them. */
export const AUDIT_MODULE = 'audit';

export interface AuditCoverage {
  /** Published by some module but not consumed by audit: it would never be recorded. */
  errors: string[];
  /** Consumed by audit but published by no module (a removed module, or a typo). */
  warnings: string[];
}

/**
 * Audit records exactly the topics its `events.consumes` lists, and must record every event a
 * module publishes: each published topic missing there is an error, so `npm run generate` (and
 * CI's check) fails until it is added. The kernel's own topics (`kernel.…`, recorded in every
 * module's outbox, declared by no manifest) count as published by `kernel`. Without an audit
 * module there is nothing to check.
 */
export function auditCoverage(manifests: ReadonlyArray<Pick<Manifest, 'name' | 'events'>>): AuditCoverage {
  const audit = manifests.find((manifest) => manifest.name === AUDIT_MODULE);
  if (!audit) return { errors: [], warnings: [] };
  const consumed = new Set(audit.events.consumes);
  const published = new Map<string, string>(KERNEL_TOPICS.map((topic) => [topic, KERNEL_TOPIC_PREFIX]));
  for (const manifest of manifests) {
    for (const topic of manifest.events.publishes) published.set(topic, manifest.name);
  }
  const errors = [...published]
    .filter(([topic]) => !consumed.has(topic))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([topic, module]) =>
        `${AUDIT_MODULE}: module.yaml events.consumes lacks ${topic} (published by ${module}); every published event is audited`,
    );
  const warnings = [...consumed]
    .filter((topic) => !published.has(topic))
    .sort()
    .map((topic) => `${AUDIT_MODULE}: module.yaml events.consumes lists ${topic}, which no module publishes`);
  return { errors, warnings };
}
