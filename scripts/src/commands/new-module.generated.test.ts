import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModuleSchema } from '@platform/kernel/testing';
import { composeSupergraph } from '../artifacts.js';
import { loadDefinition, scanModules } from '../modules.js';
import { platformctl, REPO, repoCopy, run, snapshot } from './__tests__/repo-copy.js';

/**
 * What `modules new` makes is a working module, checked the way the repository checks its own.
 * Scaffolded into a temporary copy of the repository (never into the real one, which others may
 * be running), it passes the kernel's rule-coverage check and platformctl's validation, composes
 * with the committed subgraphs, type-checks, lints, is formatted, and its own generated test suite
 * passes on a real database.
 */
describe('a module made by platformctl modules new', () => {
  let root: string;
  let sdl: string;

  beforeAll(async () => {
    root = repoCopy({ without: ['notes'] });
    const made = await platformctl(['modules', 'new', 'notes', '--root', root]);
    expect(made).toMatchObject({ code: 0, stderr: '' });
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("builds its subgraph schema, which the kernel refuses when a field, entity or permission isn't covered", async () => {
    const module = scanModules(root).modules.find((m) => m.manifest.name === 'notes')!;
    const definition = await loadDefinition(module);
    ({ sdl } = await buildModuleSchema({
      module: 'notes',
      resolvers: definition.resolvers,
      orphanedTypes: definition.orphanedTypes,
      references: definition.references,
      rules: definition.rules,
      permissions: definition.manifest.permissions.map((p) => p.name),
    }));
    expect(sdl).toContain('type Note @key(fields: "id")');
    expect(sdl).toContain('type User @key(fields: "id", resolvable: false)');
  });

  it('passes platformctl modules validate: manifests, dependencies, rule coverage, audited events', async () => {
    const validated = await platformctl(['modules', 'validate', '--root', root]);
    expect(validated).toMatchObject({ code: 0, stderr: '' });
  });

  it('composes with the committed subgraphs into a supergraph', () => {
    const committed = readdirSync(join(root, 'schema'))
      .filter((file) => file.endsWith('.graphql') && file !== 'supergraph.graphql')
      .map((file) => ({
        name: file.replace(/\.graphql$/, ''),
        sdl: readFileSync(join(root, 'schema', file), 'utf8'),
        url: `http://localhost/${file}`,
      }));
    expect(committed.map((subgraph) => subgraph.name)).toEqual(expect.arrayContaining(['identity', 'blog']));
    const { supergraph, errors } = composeSupergraph([
      ...committed,
      { name: 'notes', sdl, url: 'http://localhost:4005/graphql' },
    ]);
    expect(errors).toEqual([]);
    expect(supergraph).toMatch(/createNote\(input: CreateNoteInput!\): Note! @join__field\(graph: NOTES\)/);
  });

  it('type-checks, lints and is formatted as the repository requires', async () => {
    writeFileSync(
      join(root, 'tsconfig.check.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, declaration: false, sourceMap: false },
        include: ['subgraphs/notes/src'],
      }),
    );
    const typecheck = await run('tsc', ['-p', 'tsconfig.check.json'], { cwd: root, timeoutMs: 120_000 });
    expect(typecheck.stdout + typecheck.stderr).toBe('');
    expect(typecheck.code).toBe(0);

    const lint = await run('eslint', ['--max-warnings', '0', 'subgraphs/notes'], { cwd: root });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.code).toBe(0);

    const prettier = await import('prettier');
    for (const [file, text] of snapshot(join(root, 'subgraphs', 'notes'))) {
      const filepath = join(root, 'subgraphs', 'notes', file);
      const options = (await prettier.resolveConfig(filepath)) ?? {};
      expect({ file, formatted: await prettier.check(text, { ...options, filepath }) }).toEqual({
        file,
        formatted: true,
      });
    }
  }, 180_000);

  it('passes its own test suite', async () => {
    // The repository's Jest setup (swc with decorator metadata, export conditions), rooted in the copy.
    writeFileSync(
      join(root, 'jest.config.mjs'),
      `import base from ${JSON.stringify(join(REPO, 'jest.config.mjs'))};\n` +
        `export default { ...base, rootDir: ${JSON.stringify(root)}, roots: ['<rootDir>/subgraphs'], ` +
        `setupFiles: [${JSON.stringify(join(REPO, 'test', 'setup-env.mjs'))}], maxWorkers: 1 };\n`,
    );
    const jest = await run(
      'node',
      [
        '--experimental-vm-modules',
        '--no-warnings=ExperimentalWarning',
        join(REPO, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--ci',
        '--config',
        'jest.config.mjs',
        'subgraphs/notes',
      ],
      { cwd: root, timeoutMs: 150_000 },
    );
    expect({ code: jest.code, output: jest.stderr }).toEqual({ code: 0, output: expect.stringContaining('PASS') });
    expect(jest.stderr).toMatch(/Tests: +\d+ passed, \d+ total/);
  }, 180_000);
});
