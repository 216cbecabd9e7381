import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { auditCoverage } from './audit-coverage.js';
import { scanModules } from './modules.js';

const events = (publishes: string[], consumes: string[] = []) => ({ publishes, consumes });

describe('auditCoverage', () => {
  it('requires audit to consume every published event, and warns about what nobody publishes', () => {
    const result = auditCoverage([
      { name: 'blog', events: events(['blog.post.created', 'blog.post.deleted']) },
      { name: 'audit', events: events([], ['blog.post.created', 'kernel.credential.refused', 'notes.note.created']) },
    ]);
    expect(result.errors).toEqual([
      'audit: module.yaml events.consumes lacks blog.post.deleted (published by blog); every published event is audited',
    ]);
    expect(result.warnings).toEqual([
      'audit: module.yaml events.consumes lists notes.note.created, which no module publishes',
    ]);
  });

  it("requires the kernel's own topics too, which every module records and no manifest declares", () => {
    expect(auditCoverage([{ name: 'audit', events: events([], []) }]).errors).toEqual([
      'audit: module.yaml events.consumes lacks kernel.credential.refused (published by kernel); every published event is audited',
    ]);
  });

  it('checks nothing without an audit module', () => {
    expect(auditCoverage([{ name: 'blog', events: events(['blog.post.created']) }])).toEqual({
      errors: [],
      warnings: [],
    });
  });

  it("holds for this repository's modules", () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    expect(auditCoverage(scanModules(root).modules.map((module) => module.manifest))).toEqual({
      errors: [],
      warnings: [],
    });
  });
});
