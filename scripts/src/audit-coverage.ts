import { KERNEL_TOPICS, type Manifest } from '@platform/kernel/tools';

/** The module that records every event. */
export const AUDIT_MODULE = 'audit';
/** Where the list of topics it records goes, in its folder: written by `npm run generate`. */
export const AUDIT_TOPICS_FILE = 'src/topics.generated.ts';

/**
 * The source of audit's `src/topics.generated.ts`: every topic a module publishes (its
 * `events.publishes`) and the kernel's own (`kernel.…`, recorded in every module's outbox), sorted.
 * Audit records exactly these, so a new module's events are audited once `npm run generate` (or
 * `modules new`) has rewritten the file: nobody edits audit's manifest for it.
 */
export function renderAuditTopics(manifests: ReadonlyArray<Pick<Manifest, 'name' | 'events'>>): string {
  const topics = new Set<string>(KERNEL_TOPICS);
  for (const manifest of manifests) for (const topic of manifest.events.publishes) topics.add(topic);
  const lines = [...topics].sort().map((topic) => `  ${JSON.stringify(topic).replace(/"/g, "'")},`);
  return [
    '// Generated from every module.yaml by npm run generate. Do not edit.',
    '',
    '/** Every topic a module (or the kernel) publishes: what audit records, sorted. */',
    `export const AUDITED_TOPICS: readonly string[] = [${lines.length > 0 ? `\n${lines.join('\n')}\n` : ''}];`,
    '',
  ].join('\n');
}
