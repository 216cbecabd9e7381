import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { defineModule } from './define.js';
import { ManifestError, loadManifest, parseManifest } from './manifest.js';

const valid = {
  name: 'blog',
  version: '0.1.0',
  kernel: '^0.1.0',
  dependencies: { identity: '^0.1.0' },
  permissions: [
    { name: 'blog.post.read', description: 'Read posts' },
    { name: 'blog.post.create', description: 'Write posts' },
  ],
  events: { publishes: ['blog.post.created'], consumes: ['identity.user.deleted'] },
  schedules: [{ name: 'digest', cron: '0 7 * * 1', handler: 'send-digest', description: 'Weekly digest' }],
};

function problems(data: unknown): string[] {
  try {
    parseManifest(data, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as ManifestError).problems;
  }
  throw new Error('expected a ManifestError');
}

describe('parseManifest', () => {
  it('accepts a valid manifest', () => {
    expect(parseManifest(valid, 'test')).toEqual(valid);
  });

  it('fills defaults for dependencies, permissions and events', () => {
    expect(parseManifest({ name: 'tiny', version: '1.0.0', kernel: '>=0.1.0' }, 'test')).toEqual({
      name: 'tiny',
      version: '1.0.0',
      kernel: '>=0.1.0',
      dependencies: {},
      permissions: [],
      events: { publishes: [], consumes: [] },
      schedules: [],
    });
  });

  it.each([
    ['upper-case name', { name: 'Blog', permissions: [], events: {} }, 'name:'],
    ['name with underscore', { name: 'my_blog', permissions: [], events: {} }, 'name:'],
    ['name starting with a digit', { name: '1blog', permissions: [], events: {} }, 'name:'],
    ['bad version', { version: '1.0' }, 'version:'],
    ['bad kernel range', { kernel: 'not a range' }, 'kernel:'],
    ['bad dependency range', { dependencies: { identity: 'latest' } }, 'dependencies.identity:'],
    ['permission with two segments', { permissions: [{ name: 'blog.read', description: 'x' }] }, 'permissions.0.name:'],
    [
      'permission in upper case',
      { permissions: [{ name: 'blog.Post.read', description: 'x' }] },
      'permissions.0.name:',
    ],
    ['schedule with a bad cron', { schedules: [{ name: 'a', cron: '61 * * * *', handler: 'h' }] }, 'schedules.0.cron:'],
    [
      'schedule with a bad name',
      { schedules: [{ name: 'Nightly', cron: '0 3 * * *', handler: 'h' }] },
      'schedules.0.name:',
    ],
    [
      'duplicate schedule',
      {
        schedules: [
          { name: 'a', cron: '0 3 * * *', handler: 'h' },
          { name: 'a', cron: '0 4 * * *', handler: 'h' },
        ],
      },
      'schedules.1.name:',
    ],
    [
      'permission without description',
      { permissions: [{ name: 'blog.post.read', description: '' }] },
      'permissions.0.description:',
    ],
    [
      'permission of another module',
      { permissions: [{ name: 'identity.user.read', description: 'x' }] },
      'permissions.0.name:',
    ],
    [
      'duplicate permission',
      {
        permissions: [
          { name: 'blog.post.read', description: 'a' },
          { name: 'blog.post.read', description: 'b' },
        ],
      },
      'permissions.1.name:',
    ],
    [
      'published event of another module',
      { events: { publishes: ['identity.user.created'], consumes: [] } },
      'events.publishes.0:',
    ],
    ['malformed consumed event', { events: { publishes: [], consumes: ['userDeleted'] } }, 'events.consumes.0:'],
    [
      'public permission that is not a read',
      { permissions: [{ name: 'blog.post.create', description: 'x', public: true }] },
      'permissions.0.public:',
    ],
    [
      'public flag that is not a boolean',
      { permissions: [{ name: 'blog.post.read', description: 'x', public: 'yes' }] },
      'permissions.0.public:',
    ],
    ['self-dependency', { dependencies: { blog: '^0.1.0' } }, 'dependencies.blog:'],
    ['unknown key', { owner: 'team' }, '(root):'],
  ])('rejects %s', (_label, patch, path) => {
    const found = problems({ ...valid, ...patch });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${path.replace(/[.()]/g, '\\$&')}`));
  });

  it('keeps the public flag of read permissions, and leaves it out where the manifest does', () => {
    const permissions = [
      { name: 'blog.post.read', description: 'Read posts', public: true },
      { name: 'blog.comment.read', description: 'Read comments', public: false },
      { name: 'blog.post.create', description: 'Write posts', public: false },
      { name: 'blog.post.delete', description: 'Delete posts' },
    ];
    expect(parseManifest({ ...valid, permissions }, 'test').permissions).toEqual(permissions);
  });

  it("reserves the name kernel: its topics are the kernel's own events", () => {
    expect(problems({ ...valid, name: 'kernel', permissions: [], events: {} })).toEqual([
      'name: "kernel" is reserved for the kernel\'s own events',
    ]);
  });

  it('reports every problem at once', () => {
    const found = problems({
      ...valid,
      version: 'x',
      kernel: '??',
      permissions: [{ name: 'other.a.b', description: 'x' }],
    });
    expect(found.map((p) => p.split(':')[0])).toEqual(['version', 'kernel', 'permissions.0.name']);
  });

  it('names the source in the message', () => {
    expect(() => parseManifest({}, 'subgraphs/x/module.yaml')).toThrow(/subgraphs\/x\/module\.yaml/);
  });
});

describe('loadManifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads and validates a YAML file (path or file URL)', () => {
    const file = join(dir, 'module.yaml');
    writeFileSync(
      file,
      'name: blog\nversion: 0.1.0\nkernel: ^0.1.0\npermissions:\n  - { name: blog.post.read, description: Read posts }\n',
    );
    expect(loadManifest(file).permissions).toEqual([{ name: 'blog.post.read', description: 'Read posts' }]);
    expect(loadManifest(pathToFileURL(file)).name).toBe('blog');
  });

  it('reports malformed YAML as a ManifestError naming the file', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: blog\npermissions: [unclosed\n');
    expect(() => loadManifest(file)).toThrow(ManifestError);
    expect(() => loadManifest(file)).toThrow(file);
  });

  it('reports an invalid manifest with the file as source', () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, 'name: blog\nversion: one\nkernel: ^0.1.0\n');
    let error: unknown;
    try {
      loadManifest(file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).source).toBe(file);
    expect((error as ManifestError).problems).toEqual([expect.stringMatching(/^version: /)]);
  });

  it('refuses a schedule whose handler is no queue of the module, naming the file', () => {
    const file = join(dir, 'scheduled.yaml');
    writeFileSync(
      file,
      'name: blog\nversion: 0.1.0\nkernel: ^0.1.0\nschedules:\n  - { name: digest, cron: "0 7 * * 1", handler: send-digest }\n',
    );
    const declare = (jobs: Record<string, { handler: () => Promise<void> }>) => () =>
      defineModule({ manifest: file, entities: [], migrations: [], resolvers: [class {}], rules: {}, jobs });
    expect(declare({ 'send-digest': { handler: async () => {} } })).not.toThrow();
    expect(declare({ other: { handler: async () => {} } })).toThrow(ManifestError);
    expect(declare({})).toThrow(
      `${file}:\n  - schedules.0.handler: "send-digest" is not a queue of defineModule({ jobs }) (none declared)`,
    );
  });

  it('reports a missing file as a ManifestError', () => {
    expect(() => loadManifest(join(dir, 'absent.yaml'))).toThrow(ManifestError);
  });
});
