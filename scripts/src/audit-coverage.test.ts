import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format } from './artifacts.js';
import { AUDIT_TOPICS_FILE, renderAuditTopics } from './audit-coverage.js';
import { scanModules } from './modules.js';

const events = (publishes: string[]) => ({ publishes, consumes: [] });

describe('renderAuditTopics', () => {
  it("lists every module's published topics and the kernel's, sorted, once each", () => {
    const text = renderAuditTopics([
      { name: 'blog', events: events(['blog.post.deleted', 'blog.post.created']) },
      { name: 'notes', events: events(['notes.note.created', 'blog.post.created']) },
    ]);
    expect(text).toContain(
      "[\n  'blog.post.created',\n  'blog.post.deleted',\n  'kernel.credential.refused',\n  'kernel.mail.dead',\n  'kernel.mail.failed',\n  'kernel.mail.sent',\n  'notes.note.created',\n]",
    );
  });

  it("is what audit's committed file holds for this repository's modules", async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const file = `subgraphs/audit/${AUDIT_TOPICS_FILE}`;
    const manifests = scanModules(root).modules.map((module) => module.manifest);
    expect(await format(root, file, renderAuditTopics(manifests))).toBe(readFileSync(`${root}/${file}`, 'utf8'));
  });
});
