import { describe, expect, it } from '@jest/globals';
import { parseManifest } from './manifest.js';
import { ModuleRegistry, ModuleRegistryError, startInOrder, type HasManifest } from './registry.js';

/** `mod('blog', { identity: '^1.0.0' })`: a module at version 1.0.0 for kernel ^0.1.0. */
function mod(
  name: string,
  dependencies: Record<string, string> = {},
  extra: { version?: string; kernel?: string } = {},
): HasManifest {
  return {
    manifest: parseManifest(
      { name, version: extra.version ?? '1.0.0', kernel: extra.kernel ?? '^0.1.0', dependencies },
      name,
    ),
  };
}

function registry(...modules: HasManifest[]): ModuleRegistry<HasManifest> {
  const r = new ModuleRegistry<HasManifest>();
  for (const m of modules) r.register(m);
  return r;
}

const names = (modules: HasManifest[]): string[] => modules.map((m) => m.manifest.name);

describe('ModuleRegistry.problems', () => {
  it.each([
    ['nothing wrong', [mod('identity'), mod('blog', { identity: '^1.0.0' })], []],
    ['a duplicate', [mod('blog'), mod('blog')], [['blog', 'duplicate']]],
    ['a missing dependency', [mod('blog', { identity: '^1.0.0' })], [['blog', 'missing-dependency']]],
    [
      'an incompatible dependency version',
      [mod('identity', {}, { version: '2.0.0' }), mod('blog', { identity: '^1.0.0' })],
      [['blog', 'incompatible-dependency']],
    ],
    ['an incompatible kernel range', [mod('blog', {}, { kernel: '^9.0.0' })], [['blog', 'incompatible-kernel']]],
    ['a self-loop through two modules', [mod('a', { b: '*' }), mod('b', { a: '*' })], [['a', 'cycle']]],
  ])('finds %s', (_label, modules, expected) => {
    const found = registry(...modules).problems();
    expect(found.map((p) => [p.module, p.kind])).toEqual(expected);
  });

  it('reports a cycle once, starting from its smallest name', () => {
    const found = registry(mod('c', { a: '*' }), mod('b', { c: '*' }), mod('a', { b: '*' })).problems();
    expect(found).toEqual([{ module: 'a', kind: 'cycle', message: 'dependency cycle: a -> b -> c -> a' }]);
  });

  it('names the modules and versions in messages', () => {
    const [problem] = registry(
      mod('identity', {}, { version: '2.0.0' }),
      mod('blog', { identity: '^1.0.0' }),
    ).problems();
    expect(problem!.message).toBe('depends on "identity" ^1.0.0 but identity is 2.0.0');
  });

  it('checks the kernel range against the given kernel version', () => {
    const r = registry(mod('blog', {}, { kernel: '^2.0.0' }));
    expect(r.problems({ kernelVersion: '2.3.0' })).toEqual([]);
    expect(r.problems({ kernelVersion: '3.0.0' }).map((p) => p.kind)).toEqual(['incompatible-kernel']);
  });

  it('skips missing dependencies with requireDependencies: false but still checks present ones', () => {
    expect(registry(mod('blog', { identity: '^1.0.0' })).problems({ requireDependencies: false })).toEqual([]);
    const r = registry(mod('identity', {}, { version: '2.0.0' }), mod('blog', { identity: '^1.0.0' }));
    expect(r.problems({ requireDependencies: false }).map((p) => p.kind)).toEqual(['incompatible-dependency']);
  });

  it('validate() throws every problem at once', () => {
    const r = registry(mod('blog', { identity: '^1.0.0' }, { kernel: '^9.0.0' }), mod('blog'));
    expect(() => r.validate()).toThrow(ModuleRegistryError);
    try {
      r.validate();
    } catch (error) {
      expect((error as ModuleRegistryError).problems.map((p) => p.kind).sort()).toEqual([
        'duplicate',
        'incompatible-kernel',
        'missing-dependency',
      ]);
    }
  });

  it('keeps the first registration of a duplicate', () => {
    const first = mod('blog');
    const r = registry(first, mod('blog'));
    expect(r.get('blog')).toBe(first);
    expect(r.all()).toHaveLength(1);
  });
});

describe('ModuleRegistry.ordered', () => {
  it.each([
    ['dependencies first', [mod('blog', { identity: '*' }), mod('identity')], ['identity', 'blog']],
    [
      'a chain registered backwards',
      [mod('audit', { authz: '*' }), mod('authz', { identity: '*' }), mod('identity')],
      ['identity', 'authz', 'audit'],
    ],
    ['independent modules in registration order', [mod('z'), mod('a'), mod('m')], ['z', 'a', 'm']],
    [
      'a diamond',
      [mod('blog', { authz: '*', identity: '*' }), mod('authz', { identity: '*' }), mod('identity'), mod('audit')],
      ['identity', 'authz', 'blog', 'audit'],
    ],
    ['a missing dependency (ignored)', [mod('blog', { identity: '*' })], ['blog']],
  ])('puts %s', (_label, modules, expected) => {
    const r = registry(...modules);
    expect(names(r.ordered())).toEqual(expected);
    expect(names(r.ordered())).toEqual(expected);
  });

  it('terminates on a cycle', () => {
    expect(names(registry(mod('a', { b: '*' }), mod('b', { a: '*' })).ordered()).sort()).toEqual(['a', 'b']);
  });
});

describe('startInOrder', () => {
  function recorder(failOn?: string) {
    const events: string[] = [];
    const start = async (name: string): Promise<() => Promise<void>> => {
      if (name === failOn) throw new Error(`${name} failed`);
      events.push(`start ${name}`);
      return async () => {
        events.push(`stop ${name}`);
      };
    };
    return { events, start };
  }

  it('starts in order and stops in reverse', async () => {
    const { events, start } = recorder();
    const stop = await startInOrder(['a', 'b', 'c'], start);
    expect(events).toEqual(['start a', 'start b', 'start c']);
    await stop();
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('on a failing start stops the started ones in reverse and rethrows', async () => {
    const { events, start } = recorder('c');
    await expect(startInOrder(['a', 'b', 'c', 'd'], start)).rejects.toThrow('c failed');
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('stops everything even when stop hooks fail, then reports the failures', async () => {
    const stopped: string[] = [];
    const stop = await startInOrder(['a', 'b', 'c'], async (name) => async () => {
      stopped.push(name);
      if (name !== 'b') throw new Error(`stop ${name}`);
    });
    await expect(stop()).rejects.toBeInstanceOf(AggregateError);
    expect(stopped).toEqual(['c', 'b', 'a']);
  });

  it('rethrows a single stop failure as is', async () => {
    const stop = await startInOrder(['a', 'b'], async (name) => async () => {
      if (name === 'a') throw new Error('stop a');
    });
    await expect(stop()).rejects.toThrow('stop a');
  });
});
