import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  permissionCheck,
  permissionFingerprint,
  StaticPermissions,
  type EffectivePermissions,
  type PermissionResolver,
} from './permissions.js';

const set = (...permissions: string[]): EffectivePermissions => ({ all: false, permissions: new Set(permissions) });

describe('permissionFingerprint', () => {
  it('is the same for the same set, in any order', () => {
    const fingerprint = permissionFingerprint(set('blog.post.read', 'blog.post.create', 'audit.event.read'));
    expect(permissionFingerprint(set('audit.event.read', 'blog.post.read', 'blog.post.create'))).toBe(fingerprint);
    expect(permissionFingerprint(set('blog.post.create', 'audit.event.read', 'blog.post.read'))).toBe(fingerprint);
  });

  it('is 22 base64url characters of the SHA-256 of the sorted names, one per line', () => {
    const expected = createHash('sha256').update('a.b.c\nd.e.f').digest('base64url').slice(0, 22);
    expect(permissionFingerprint(set('d.e.f', 'a.b.c'))).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('differs between different sets, the empty one included', () => {
    const fingerprints = [
      set(),
      set('blog.post.read'),
      set('blog.post.read', 'blog.post.create'),
      set('blog.post.readblog.post.create'),
      set('blog.post.create'),
    ].map(permissionFingerprint);
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
  });

  it("is '*' for every permission, whatever the set", () => {
    expect(permissionFingerprint({ all: true, permissions: new Set() })).toBe('*');
    expect(permissionFingerprint({ all: true, permissions: new Set(['blog.post.read']) })).toBe('*');
  });
});

describe('permissionCheck', () => {
  /** StaticPermissions that count their lookups. */
  function counting(grants: ConstructorParameters<typeof StaticPermissions>[0]) {
    const inner = new StaticPermissions(grants);
    const resolver = {
      lookups: 0,
      permissionsOf(user) {
        resolver.lookups++;
        return inner.permissionsOf(user);
      },
    } satisfies PermissionResolver & { lookups: number };
    return resolver;
  }

  it('looks the permissions up once, on the first check, and reports that answer once', async () => {
    const resolver = counting({ user: ['a.b.c'] });
    const answers: EffectivePermissions[] = [];
    const can = permissionCheck(resolver, { id: 'u1' }, (effective) => answers.push(effective));
    expect(resolver.lookups).toBe(0);
    expect(await Promise.all([can('a.b.c'), can('a.b.d')])).toEqual([true, false]);
    expect(await can('a.b.c')).toBe(true);
    expect(resolver.lookups).toBe(1);
    expect(answers).toEqual([set('a.b.c')]);
  });

  it('reports nothing until a check is made, nor when the lookup fails', async () => {
    const answers: EffectivePermissions[] = [];
    permissionCheck(counting({}), undefined, (effective) => answers.push(effective));
    const failing: PermissionResolver = { permissionsOf: () => Promise.reject(new Error('authz is down')) };
    const can = permissionCheck(failing, undefined, (effective) => answers.push(effective));
    await expect(can('a.b.c')).rejects.toThrow('authz is down');
    expect(answers).toEqual([]);
  });
});
