import { afterAll, afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig, loadManifest } from '@platform/kernel/testing';
import { format } from '../artifacts.js';
import { renderAuditTopics } from '../audit-coverage.js';
import { scanModules } from '../modules.js';
import { renderCatalogue, renderPermissions } from '../permissions.js';
import { UsageError } from '../usage.js';
import { platformctl, REPO, repoCopy, snapshot } from './__tests__/repo-copy.js';
import { newModule, planModule } from './new-module.js';

const roots: string[] = [];
const copy = (): string => {
  const root = repoCopy({ without: ['notes'] });
  roots.push(root);
  return root;
};
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

let log: jest.SpiedFunction<typeof console.log>;
beforeEach(() => {
  log = jest.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => log.mockRestore());

const NOW = new Date('2026-11-22T10:30:00Z');

/** The lines `after` has that `before` has not (both split by line). */
const addedLines = (before: string, after: string): string[] => {
  const old = new Set(before.split('\n'));
  return after.split('\n').filter((line) => !old.has(line));
};

describe('modules new', () => {
  it('writes the module from the template, its port in config/default.yaml and its build reference', async () => {
    const root = copy();
    const before = snapshot(root);
    expect(await newModule(root, 'notes', { now: NOW })).toBe(0);
    const after = snapshot(root);

    expect([...after.keys()].filter((file) => !before.has(file)).sort()).toEqual(
      [
        'module.yaml',
        'package.json',
        'tsconfig.json',
        'src/config.ts',
        'src/context.ts',
        'src/events.ts',
        'src/main.ts',
        'src/migrations/Migration20261122103000_notes.ts',
        'src/migrations/index.ts',
        'src/module.ts',
        'src/note/identity-events.ts',
        'src/note/note.entity.ts',
        'src/note/note.inputs.ts',
        'src/note/note.queries.ts',
        'src/note/note.reference.ts',
        'src/note/note.resolver.ts',
        'src/note/note.service.ts',
        'src/note/note.validation.ts',
        'src/notes.module.test.ts',
        'src/permissions.generated.ts',
        'src/rules.ts',
        'src/services.ts',
        'src/user/user.type.ts',
      ]
        .map((file) => `subgraphs/notes/${file}`)
        .sort(),
    );
    const changed = [...before.keys()].filter((file) => after.get(file) !== before.get(file));
    // Outside the folder, only what lists every module: the service's port, the build, and the two
    // registry outputs npm run generate keeps (authz's catalogue, the topics audit records).
    const outside = [
      'config/default.yaml',
      'subgraphs/audit/src/topics.generated.ts',
      'subgraphs/authz/src/catalogue.generated.ts',
      'tsconfig.build.json',
    ];
    expect(changed.sort()).toEqual(outside);
    // Each edit is said, with what it did, after the count of files written.
    const printed = log.mock.calls.map((call) => String(call[0])).join('\n');
    expect(printed).toContain('Created module notes (resource note, port ');
    expect(printed).toContain(': 23 files in subgraphs/notes/');
    expect(printed).toContain('Edited 4 files outside it (nothing else was touched):');
    for (const file of outside) expect(printed).toMatch(new RegExp(`^  ${file.replace(/\./g, '\\.')} +\\S`, 'm'));
    expect(printed).toMatch(/^ {2}config\/default\.yaml +services\.notes: port \d+$/m);
    expect(printed).toMatch(/catalogue\.generated\.ts +regenerated: lists notes\.note\.read, /m);
    expect(printed).toMatch(/topics\.generated\.ts +regenerated: audit records notes\.note\.created, /m);

    // The next port after every one in use, in the style of the other entries.
    const services = (parseYaml(before.get('config/default.yaml')!) as { services: Record<string, { port: number }> })
      .services;
    const port = Math.max(...Object.values(services).map((service) => service.port)) + 1;
    expect(addedLines(before.get('config/default.yaml')!, after.get('config/default.yaml')!)).toEqual([
      `  notes: { port: ${port} }`,
    ]);
    expect(loadConfig({ env: { PLATFORM_ENV: 'development' }, cwd: root }).services.notes).toEqual({
      port,
      url: `http://localhost:${port}/graphql`,
      dbSchema: 'notes',
    });
    expect(addedLines(before.get('tsconfig.build.json')!, after.get('tsconfig.build.json')!)).toEqual([
      '    { "path": "subgraphs/blog" },',
      '    { "path": "subgraphs/notes" }',
    ]);

    // The registry outputs are exactly what npm run generate writes, so generating changes nothing there.
    const manifests = scanModules(root).modules.map((module) => module.manifest);
    for (const [file, render] of [
      ['subgraphs/audit/src/topics.generated.ts', renderAuditTopics],
      ['subgraphs/authz/src/catalogue.generated.ts', renderCatalogue],
    ] as const) {
      expect(after.get(file)).toBe(await format(root, file, render(manifests)));
    }
    expect(after.get('subgraphs/audit/src/topics.generated.ts')).toContain("'notes.note.created',");

    const manifest = loadManifest(join(root, 'subgraphs/notes/module.yaml'));
    expect(manifest).toMatchObject({
      name: 'notes',
      kernel: '^0.1.0',
      dependencies: { identity: '^0.1.0' },
      events: {
        publishes: ['notes.note.created', 'notes.note.updated', 'notes.note.deleted'],
        consumes: ['identity.user.deleted'],
      },
    });
    expect(manifest.permissions.map((p) => p.name)).toEqual(
      ['read', 'create', 'update', 'delete', 'moderate'].map((action) => `notes.note.${action}`),
    );
    // Exactly what npm run generate writes, so generating changes nothing.
    const constants = 'subgraphs/notes/src/permissions.generated.ts';
    expect(after.get(constants)).toBe(await format(root, constants, renderPermissions(manifest)));

    const kernel = JSON.parse(readFileSync(join(REPO, 'kernel/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const pkg = JSON.parse(after.get('subgraphs/notes/package.json')!) as Record<string, unknown>;
    expect(pkg).toMatchObject({ name: '@platform/notes', private: true, type: 'module' });
    expect(pkg.dependencies).toEqual({
      '@mikro-orm/core': kernel.dependencies['@mikro-orm/core'],
      '@mikro-orm/decorators': kernel.dependencies['@mikro-orm/decorators'],
      '@mikro-orm/migrations': kernel.dependencies['@mikro-orm/migrations'],
      '@platform/kernel': '0.1.0',
      graphql: kernel.dependencies.graphql,
      'type-graphql': kernel.dependencies['type-graphql'],
    });
    expect(after.get('subgraphs/notes/src/migrations/index.ts')).toContain(
      "{ name: 'Migration20261122103000_notes', class: Migration20261122103000_notes }",
    );
    expect(log.mock.calls.flat().join('\n')).toMatch(/Next steps:\n {2}npm install .*\n {2}npm run generate /);
  });

  it('names files, types and permissions after --resource', async () => {
    const plan = await planModule(copy(), 'library', { resource: 'book', now: NOW });
    expect(plan.resource).toBe('book');
    expect([...plan.files.keys()]).toEqual(
      expect.arrayContaining([
        'subgraphs/library/src/book/book.resolver.ts',
        'subgraphs/library/src/migrations/Migration20261122103000_books.ts',
      ]),
    );
    const resolver = plan.files.get('subgraphs/library/src/book/book.resolver.ts')!;
    expect(resolver).toContain('export class BookResolver');
    expect(resolver).toContain('createBook(');
    expect(plan.files.get('subgraphs/library/module.yaml')).toContain('library.book.moderate');
  });

  it('accepts resources named like common nouns', async () => {
    const root = copy();
    for (const resource of ['order', 'event', 'page', 'message', 'comment', 'item']) {
      await expect(planModule(root, 'things', { resource })).resolves.toMatchObject({ resource });
    }
  });

  it.each([
    ['notes', 'note'],
    ['categories', 'category'],
    ['addresses', 'address'],
    ['inventory', 'inventory'],
    ['status', 'status'],
  ])('%s: the default resource is %s', async (name, resource) => {
    expect((await planModule(copy(), name)).resource).toBe(resource);
  });

  it('takes the port after the highest one any config file uses, and says which others list services', async () => {
    const root = copy();
    writeFileSync(
      join(root, 'config/default.yaml'),
      [
        'gateway:',
        '  port: 4000',
        'services:',
        '  one: { port: 4001 }',
        '',
        '  two: { port: 4020 }',
        'modules: {}',
        '',
      ].join('\n'),
    );
    writeFileSync(join(root, 'config/production.yaml'), 'services:\n  three: { port: 4030 }\n');
    const plan = await planModule(root, 'notes');
    expect(plan.port).toBe(4031);
    expect(plan.edits.find((edit) => edit.file === 'config/default.yaml')!.after).toBe(
      [
        'gateway:',
        '  port: 4000',
        'services:',
        '  one: { port: 4001 }',
        '',
        '  two: { port: 4020 }',
        '  notes: { port: 4031 }',
        'modules: {}',
        '',
      ].join('\n'),
    );
    expect(plan.notes).toContain(
      'config/production.yaml lists services but not notes: add services.notes there if that environment needs it',
    );
  });

  it('keeps a port config/default.yaml already has for the module', async () => {
    const root = copy();
    const config = join(root, 'config/default.yaml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(/^services:\n/m, 'services:\n  notes: { port: 4100 }\n'),
    );
    const plan = await planModule(root, 'notes');
    expect(plan.port).toBe(4100);
    expect(plan.edits.map((edit) => edit.file)).toEqual([
      'tsconfig.build.json',
      'subgraphs/authz/src/catalogue.generated.ts',
      'subgraphs/audit/src/topics.generated.ts',
    ]);
  });

  describe('refuses, writing nothing,', () => {
    interface Refusal {
      name: string;
      resource?: string;
      message: RegExp;
      /** Puts the root in the state the case is about. */
      prepare?: (root: string) => void;
    }
    const cases: Array<[string, Refusal]> = [
      ['an upper-case name', { name: 'Notes', message: /module name "Notes" must be one word of 2-32 lower-case/ }],
      [
        'a name with a dash',
        { name: 'my-notes', message: /"my-notes" has a dash: event topics .* use one word such as "mynotes"/ },
      ],
      ['a one-letter name', { name: 'n', message: /must be one word of 2-32/ }],
      ['a name starting with a digit', { name: '9lives', message: /must be one word/ }],
      ['a name of 33 characters', { name: 'a'.repeat(33), message: /must be one word of 2-32/ }],
      ['an existing module', { name: 'blog', message: /module "blog" already exists \(subgraphs\/blog\)/ }],
      ['a reserved name', { name: 'kernel', message: /"kernel" is reserved: the kernel package is @platform\/kernel/ }],
      ["PostgreSQL's default schema", { name: 'public', message: /"public" is reserved: PostgreSQL's default schema/ }],
      [
        'a module another folder declares',
        {
          name: 'staff',
          message: /module "staff" already exists \(subgraphs\/people\)/,
          prepare: (root) => {
            mkdirSync(join(root, 'subgraphs/people'));
            writeFileSync(join(root, 'subgraphs/people/module.yaml'), 'name: staff\nversion: 0.1.0\nkernel: ^0.1.0\n');
          },
        },
      ],
      [
        'a folder that exists without a manifest',
        {
          name: 'drafts',
          message: /subgraphs\/drafts already exists; choose another name/,
          prepare: (root) => mkdirSync(join(root, 'subgraphs/drafts')),
        },
      ],
      [
        'a resource another subgraph defines',
        { name: 'library', resource: 'post', message: /would define Post, which schema\/blog.graphql already has/ },
      ],
      [
        'a resource named like a template import',
        { name: 'links', resource: 'connection', message: /clash with Connection/ },
      ],
      [
        'a resource named like a field of the template',
        { name: 'writers', resource: 'author', message: /clash with the author field/ },
      ],
      ["a resource named like identity's User", { name: 'users', message: /resource "user" would clash with User/ }],
      ['a resource named like a GraphQL scalar', { name: 'numbers', resource: 'float', message: /clash with Float/ }],
      ['an upper-case resource', { name: 'library', resource: 'Book', message: /resource "Book" must be one word/ }],
    ];

    it.each(cases)('%s', async (_case, { name, resource, message, prepare }) => {
      const root = copy();
      prepare?.(root);
      const before = snapshot(root);
      const refusal = newModule(root, name, resource ? { resource } : {});
      await expect(refusal).rejects.toThrow(UsageError);
      await expect(refusal).rejects.toThrow(message);
      expect(snapshot(root)).toEqual(before);
    });
  });
});

describe('platformctl modules new', () => {
  it('exits 0 and prints the files and the next steps', async () => {
    const root = copy();
    const result = await platformctl(['modules', 'new', 'tasks', '--root', root]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Created module tasks (resource task, port');
    expect(result.stdout).toContain('  subgraphs/tasks/src/task/task.resolver.ts\n');
    expect(result.stdout).toMatch(/\n {2}npm run generate +schema\/tasks\.graphql and the supergraph/);
    expect(snapshot(root).has('subgraphs/tasks/module.yaml')).toBe(true);
  });

  it('exits 2 with the reason on a bad name, and writes nothing', async () => {
    const root = copy();
    const before = snapshot(root);
    const result = await platformctl(['modules', 'new', 'My-Notes', '--root', root]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^platformctl: module name "My-Notes" must be one word/);
    expect(snapshot(root)).toEqual(before);
  });
});
