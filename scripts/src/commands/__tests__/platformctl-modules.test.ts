/** `platformctl modules validate | list | info` on fixture repositories (manifests, one module's sources). */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { platformctl, REPO, tempDir, type Run } from './platformctl-cli.js';

type ManifestFixture = Record<string, unknown> & { name: string };

/** A repository tree with only `subgraphs/<dir>/module.yaml` files (no sources). */
function fixture(modules: Record<string, ManifestFixture>): string {
  const root = tempDir('platformctl-');
  for (const [dir, manifest] of Object.entries(modules)) {
    mkdirSync(join(root, 'subgraphs', dir), { recursive: true });
    writeFileSync(
      join(root, 'subgraphs', dir, 'module.yaml'),
      stringify({ version: '0.1.0', kernel: '^0.1.0', ...manifest }),
    );
  }
  return root;
}

const identity: ManifestFixture = {
  name: 'identity',
  permissions: [{ name: 'identity.user.read', description: 'Read users' }],
  events: { publishes: ['identity.user.deleted'], consumes: [] },
};
const blog: ManifestFixture = {
  name: 'blog',
  dependencies: { identity: '^0.1.0' },
  permissions: [
    { name: 'blog.post.read', description: 'Read posts' },
    { name: 'blog.post.create', description: 'Write posts' },
  ],
  events: { publishes: ['blog.post.created'], consumes: ['identity.user.deleted'] },
};

const validate = (root: string): Promise<Run> => platformctl(['modules', 'validate', '--root', root]);

describe('platformctl modules validate', () => {
  it('accepts a valid set of modules', async () => {
    const result = await validate(fixture({ identity, blog }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('2 modules valid');
    expect(result.code).toBe(0);
  });

  // Each case: the manifests, then what the output must say about which module.
  const cases: Array<[string, Record<string, ManifestFixture>, string, RegExp[]]> = [
    [
      'a duplicate module name',
      { identity, blog, 'blog-copy': blog },
      'blog',
      [/registered twice/, /subgraphs\/blog-copy/],
    ],
    ['a missing dependency', { blog }, 'blog', [/missing dependency/, /"identity"/]],
    [
      'an incompatible dependency version',
      { identity: { ...identity, version: '0.1.0' }, blog: { ...blog, dependencies: { identity: '^1.0.0' } } },
      'blog',
      [/incompatible dependency/, /identity" \^1\.0\.0 but identity is 0\.1\.0/],
    ],
    [
      'a dependency cycle',
      { identity: { ...identity, dependencies: { blog: '^0.1.0' } }, blog },
      'blog',
      [/cycle/, /blog -> identity -> blog/],
    ],
    [
      'a bad permission name',
      { identity, blog: { ...blog, permissions: [{ name: 'Blog.Post', description: 'Shouting' }] } },
      'blog',
      [/subgraphs\/blog\/module\.yaml permissions\.0\.name/, /module\.resource\.action/, /"Blog\.Post"/],
    ],
    [
      'an incompatible kernel range',
      { identity: { ...identity, kernel: '^9.0.0' } },
      'identity',
      [/incompatible kernel/, /\^9\.0\.0/],
    ],
    [
      'a folder named differently from its module',
      { users: identity },
      'identity',
      [/subgraphs\/users/, /subgraphs\/identity/],
    ],
  ];

  it.each(cases)('rejects %s, naming the module and the problem', async (_label, modules, module, expected) => {
    const result = await validate(fixture(modules));
    expect(result.code).toBe(1);
    const line = result.stderr
      .split('\n')
      .find((l) => l.includes(`- ${module}: `) && expected.every((re) => re.test(l)));
    expect({ line, stderr: result.stderr }).toEqual({ line: expect.any(String), stderr: result.stderr });
  });

  it('reports every problem at once', async () => {
    const result = await validate(
      fixture({
        blog: { ...blog, permissions: [{ name: 'Blog.Post', description: 'x' }] },
        audit: { name: 'audit', dependencies: { nope: '^1.0.0' } },
      }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/audit: missing dependency/);
    expect(result.stderr).toMatch(/blog: subgraphs\/blog\/module\.yaml permissions\.0\.name/);
  });

  it("reports a module's rule-coverage problems from its sources", async () => {
    const root = fixture({
      notes: { name: 'notes', permissions: [{ name: 'notes.note.read', description: 'Read notes' }] },
    });
    // The fixture's module.ts resolves the kernel and type-graphql from this repository.
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
    mkdirSync(join(root, 'subgraphs', 'notes', 'src'));
    writeFileSync(
      join(root, 'subgraphs', 'notes', 'src', 'module.ts'),
      `import { defineModule, permission } from '@platform/kernel';
import { Query, Resolver } from 'type-graphql';

@Resolver()
class NoteResolver {
  @Query(() => String)
  note(): string {
    return 'hello';
  }

  @Query(() => String)
  secret(): string {
    return 'psst';
  }
}

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [],
  migrations: [],
  resolvers: [NoteResolver],
  rules: { Query: { note: permission('notes.note.delete') } },
});
`,
    );
    const result = await validate(root);
    expect(result.code).toBe(1);
    const where = 'notes: subgraphs/notes/src/module.ts';
    expect(result.stderr).toContain(`${where}: Query.secret has no rule`);
    expect(result.stderr).toContain(
      `${where}: rule names permission notes.note.delete, which module.yaml does not declare`,
    );
    expect(result.stderr).toContain(`${where}: module.yaml declares notes.note.read, which no rule uses`);
  });
});

describe('platformctl modules list and info', () => {
  it('lists name, version, dependencies and counts', async () => {
    const result = await platformctl(['modules', 'list', '--root', fixture({ identity, blog })]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^NAME\s+VERSION\s+DEPENDENCIES\s+PERMISSIONS\s+PUBLISHES\s+CONSUMES$/,
    );
    expect(result.stdout).toMatch(/^blog\s+0\.1\.0\s+identity@\^0\.1\.0\s+2\s+1\s+1$/m);
    expect(result.stdout).toMatch(/^identity\s+0\.1\.0\s+-\s+1\s+1\s+0$/m);
  });

  it('shows permissions, dependents and event publishers', async () => {
    const result = await platformctl(['modules', 'info', 'identity', '--root', fixture({ identity, blog })]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/identity\.user\.read\s+Read users/);
    expect(result.stdout).toMatch(/dependents:\n {2}blog \^0\.1\.0/);
  });

  it('exits 2 on usage errors', async () => {
    const root = fixture({ identity });
    expect((await platformctl(['modules', 'info', 'nope', '--root', root])).code).toBe(2);
    expect((await platformctl(['modules', 'frobnicate', '--root', root])).code).toBe(2);
    expect((await platformctl(['modules', 'list', '--root', join(root, 'missing')])).code).toBe(2);
  });
});

describe('platformctl modules test', () => {
  it("runs one module's tests through npm test, streaming jest's output, and passes its exit code on", async () => {
    const passed = await platformctl(['modules', 'test', 'authz', '--only', 'config.test']);
    expect(passed.code).toBe(0);
    expect(passed.stderr).toMatch(/PASS subgraphs\/authz\/src\/config\.test\.ts/);
    expect(passed.stderr).toMatch(/Tests: +\d+ passed/);
    expect(passed.stderr).not.toMatch(/subgraphs\/(blog|identity|audit)\//);

    // jest's own failure (here: no test file matches) is platformctl's exit code.
    const none = await platformctl(['modules', 'test', 'authz', '--only', 'no-such-test-file']);
    expect(none.code).toBe(1);
    expect(none.stdout + none.stderr).toMatch(/No tests found/);
  }, 120_000);

  it('refuses an unknown module in one line naming the known ones (exit 2)', async () => {
    const result = await platformctl(['modules', 'test', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^platformctl: unknown module "nope" \(known: (\w+, )*audit, authz, blog, identity(, \w+)*\)$/,
      ),
    ]);
  });
});
