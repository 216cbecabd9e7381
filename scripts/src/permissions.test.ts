import { describe, expect, it } from '@jest/globals';
import { permissionKey, PermissionKeyError, renderCatalogue, renderPermissions } from './permissions.js';

describe('permissionKey', () => {
  it.each([
    ['blog.post.read', 'PostRead'],
    ['identity.user.delete', 'UserDelete'],
    ['authz.role-binding.bulk-assign', 'RoleBindingBulkAssign'],
    ['my-module.item2.read', 'Item2Read'],
  ])('%s -> %s', (name, key) => expect(permissionKey(name)).toBe(key));
});

describe('renderPermissions', () => {
  it('emits documented constants and their union type, formatted as prettier would', () => {
    const source = renderPermissions({
      name: 'blog',
      permissions: [
        { name: 'blog.post.read', description: 'Read posts' },
        { name: 'blog.post.create', description: 'Write new posts */ sneaky' },
      ],
    });
    expect(source).toBe(
      [
        '// Generated from module.yaml by npm run generate. Do not edit.',
        '',
        '/** Permissions of the blog module, as declared in its module.yaml. */',
        'export const Permission = {',
        '  /** Read posts */',
        "  PostRead: 'blog.post.read',",
        '  /** Write new posts *\\/ sneaky */',
        "  PostCreate: 'blog.post.create',",
        '} as const;',
        '',
        'export type Permission = (typeof Permission)[keyof typeof Permission];',
        '',
      ].join('\n'),
    );
  });

  it('is deterministic', () => {
    const manifest = { name: 'x', permissions: [{ name: 'x.a.b', description: 'd' }] };
    expect(renderPermissions(manifest)).toBe(renderPermissions(structuredClone(manifest)));
  });

  it('emits an empty object for a module without permissions', () => {
    expect(renderPermissions({ name: 'audit', permissions: [] })).toContain('export const Permission = {} as const;');
  });

  it('refuses two permissions that map to the same constant', () => {
    const clash = {
      name: 'a',
      permissions: [
        { name: 'a.b-c.d', description: 'x' },
        { name: 'a.b.c-d', description: 'y' },
      ],
    };
    expect(() => renderPermissions(clash)).toThrow(PermissionKeyError);
  });
});

describe('renderCatalogue', () => {
  it("lists every module's permissions by name, each with its module and whether it is public", () => {
    const source = renderCatalogue([
      {
        name: 'notes',
        permissions: [
          { name: 'notes.note.update', description: 'Edit   notes' },
          { name: 'notes.note.read', description: 'Read notes', public: true },
        ],
      },
      { name: 'blog', permissions: [{ name: 'blog.post.read', description: 'Read posts', public: false }] },
    ]);
    expect(source).toContain('  readonly public: boolean;');
    const entries = source.split('\n').filter((line) => line.startsWith('  { name:'));
    expect(entries).toEqual([
      '  { name: "blog.post.read", module: "blog", description: "Read posts", public: false },',
      '  { name: "notes.note.read", module: "notes", description: "Read notes", public: true },',
      '  { name: "notes.note.update", module: "notes", description: "Edit notes", public: false },',
    ]);
  });
});
