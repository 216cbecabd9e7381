/**
 * Every registered namespace of texts (the kernel's and each module's) has every key in every
 * supported language, with the plural forms the language needs and the same placeholders as in
 * English; and every key the sources name literally exists. A catalog that lacks a key fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { catalogProblems, hasMessage, registeredCatalogs } from '@platform/kernel/testing';
// Each module registers its catalogs when it is loaded.
import '@platform/audit';
import '@platform/authz';
import '@platform/blog';
import '@platform/identity';

const root = join(import.meta.dirname, '..');

/** Source files (no tests) under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('__tests__'))
    .map((file) => join(dir, file));
}

/** The message keys a source names literally: `msg('ns:key')`, and identity's `text('key')`. */
function keysIn(file: string): string[] {
  // Without comments: their examples name keys of no catalog.
  const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const keys = [...code.matchAll(/\bmsg\(\s*'([a-z][a-z0-9-]*:[\w.]+)'/g)].map((match) => match[1]!);
  if (file.includes(join('subgraphs', 'identity')))
    keys.push(...[...code.matchAll(/\btext\(\s*'([\w.]+)'/g)].map((match) => `identity:${match[1]!}`));
  return keys;
}

describe('message catalogs', () => {
  const catalogs = registeredCatalogs();

  it("has the kernel's and identity's namespaces", () => {
    expect([...catalogs.keys()]).toEqual(expect.arrayContaining(['errors', 'identity']));
  });

  it.each([...catalogs.keys()])('%s is complete in every supported language', (namespace) => {
    expect(catalogProblems(namespace, catalogs.get(namespace)!)).toEqual([]);
  });

  it('has every key the sources name', () => {
    const dirs = [
      join(root, 'kernel/src'),
      join(root, 'gateway/src'),
      ...['identity', 'authz', 'audit', 'blog'].map((name) => join(root, 'subgraphs', name, 'src')),
    ];
    const named = dirs.flatMap(sources).flatMap((file) => keysIn(file).map((key) => ({ key, file })));
    expect(named.length).toBeGreaterThan(40);
    expect(named.filter(({ key }) => !hasMessage(key))).toEqual([]);
  });
});
