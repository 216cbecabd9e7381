import { describe, expect, it } from '@jest/globals';
import { ConfigError, moduleConfig, type PlatformConfig } from '@platform/kernel';
import { envOverrides } from '@platform/kernel/testing';
import { authzConfigSchema, guestAllowList } from './config.js';

/** `modules.authz` as the kernel validates it at start. */
const authzConfig = (modules: Record<string, Record<string, unknown>>) =>
  moduleConfig({ modules } as unknown as PlatformConfig, 'authz', authzConfigSchema);

describe('modules.authz.guestAllowList', () => {
  it('defaults to the permissions modules mark public', () => {
    const config = authzConfig({});
    expect(config.guestAllowList).toBeNull();
    expect([...guestAllowList(config)]).toEqual(['blog.post.read']);
  });

  it('replaces the default when set: wider, narrower or empty', () => {
    const wider = authzConfig({ authz: { guestAllowList: ['blog.post.read', 'identity.user.read'] } });
    expect([...guestAllowList(wider)].sort()).toEqual(['blog.post.read', 'identity.user.read']);
    expect([...guestAllowList(authzConfig({ authz: { guestAllowList: [] } }))]).toEqual([]);
  });

  it('is read from PLATFORM_MODULES__AUTHZ__GUEST_ALLOW_LIST as a YAML list', () => {
    const modules = envOverrides({ PLATFORM_MODULES__AUTHZ__GUEST_ALLOW_LIST: '[blog.post.read, blog.post.create]' })
      .modules as Record<string, Record<string, unknown>>;
    expect(authzConfig(modules).guestAllowList).toEqual(['blog.post.read', 'blog.post.create']);
  });

  it('refuses at start names no module declares and malformed names, each with its key', () => {
    let error: unknown;
    try {
      authzConfig({ authz: { guestAllowList: ['blog.post.read', 'blog.posts.read', 'Blog'] } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'modules.authz.guestAllowList.1', message: 'no module declares this permission' },
      { path: 'modules.authz.guestAllowList.2', message: 'must be module.resource.action (lower-case)' },
      { path: 'modules.authz.guestAllowList.2', message: 'no module declares this permission' },
    ]);
  });

  it('refuses unknown keys', () => {
    expect(() => authzConfig({ authz: { guestAllowlist: [] } })).toThrow(ConfigError);
  });
});
