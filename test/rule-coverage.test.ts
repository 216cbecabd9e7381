import 'reflect-metadata';
import { describe, it, expect } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { buildModuleSchema, SchemaRulesError, type ModuleDefinition } from '@platform/kernel/testing';
import { loadDefinition, scanModules } from '../scripts/src/modules.js';

/**
 * Every module's authorization covers its schema, as the kernel checks it at start: each
 * field has a rule, each entity it resolves has a guarded reference, and the rules check
 * exactly the permissions of its module.yaml. Each module is its own case, so one broken
 * module does not hide the others.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODULES = scanModules(ROOT).modules.filter((module) => module.hasEntry);

/** The problems `buildModuleSchema` refuses `definition` for (none when it builds). */
async function coverageProblems(definition: ModuleDefinition, permissions?: string[]): Promise<string[]> {
  try {
    await buildModuleSchema({
      module: definition.manifest.name,
      resolvers: definition.resolvers,
      orphanedTypes: definition.orphanedTypes,
      references: definition.references,
      rules: definition.rules,
      permissions: permissions ?? definition.manifest.permissions.map((p) => p.name),
    });
    return [];
  } catch (error) {
    if (error instanceof SchemaRulesError) return error.problems;
    throw error;
  }
}

describe('rule coverage of every module', () => {
  it('finds the platform modules', () => {
    expect(MODULES.map((module) => module.manifest.name)).toEqual(
      expect.arrayContaining(['identity', 'authz', 'audit', 'blog']),
    );
  });

  it.each(MODULES.map((module) => [module.manifest.name, module] as const))(
    '%s: every field, entity and permission is covered',
    async (_name, module) => {
      expect(await coverageProblems(await loadDefinition(module))).toEqual([]);
    },
  );

  it('fails for a real module once a rule or a permission goes missing', async () => {
    const identity = await loadDefinition(MODULES.find((module) => module.manifest.name === 'identity')!);
    const rules = identity.rules as Record<string, Record<string, unknown>>;
    const { users: _users, ...query } = rules.Query!;
    const withoutUsersRule = { ...identity, rules: { ...rules, Query: query } } as ModuleDefinition;
    const declared = identity.manifest.permissions.map((p) => p.name);
    expect(await coverageProblems(withoutUsersRule, [...declared, 'identity.user.export'])).toEqual([
      'Query.users has no rule',
      'module.yaml declares identity.user.export, which no rule uses',
    ]);
    expect(await coverageProblems({ ...identity, references: {} })).toEqual([
      'entity User (@key) has no reference: add references.User = { rule, resolve }',
    ]);
  });
});
