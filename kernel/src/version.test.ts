import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { KERNEL_VERSION } from './version.js';

describe('KERNEL_VERSION', () => {
  it('matches the kernel package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(KERNEL_VERSION).toBe(pkg.version);
  });
});
