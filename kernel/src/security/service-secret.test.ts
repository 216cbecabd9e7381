import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError, envOverrides } from '../config/load.js';
import { serviceSecret, serviceSecretFile } from './service-secret.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'service-secret-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const config = (env: 'development' | 'production' | 'test', secret: string | null, dataDir = tempDir()) => ({
  env,
  dataDir,
  auth: { serviceSecret: secret } as never,
});

describe('serviceSecret', () => {
  it('is the configured secret when there is one', () => {
    expect(serviceSecret(config('production', 'x'.repeat(40)))).toBe('x'.repeat(40));
  });

  it('is refused missing in production, naming the variables that set it', () => {
    expect(() => serviceSecret(config('production', null))).toThrow(ConfigError);
    expect(() => serviceSecret(config('production', null))).toThrow(/SERVICE_SECRET/);
  });

  it('is generated once per data directory elsewhere, private to its owner, and read back', () => {
    const dir = tempDir();
    const first = serviceSecret(config('development', null, dir));
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(serviceSecretFile(dir), 'utf8').trim()).toBe(first);
    expect(statSync(serviceSecretFile(dir)).mode & 0o777).toBe(0o600);
    expect(serviceSecret(config('test', null, dir))).toBe(first);
    expect(serviceSecret(config('development', null))).not.toBe(first);
  });

  it('takes a secret another service of the directory wrote first', () => {
    const dir = tempDir();
    writeFileSync(serviceSecretFile(dir), `${'s'.repeat(43)}\n`);
    expect(serviceSecret(config('development', null, dir))).toBe('s'.repeat(43));
  });
});

describe('SERVICE_SECRET_FILE', () => {
  it('reads the secret from the file it names, as written', () => {
    const file = join(tempDir(), 'secret');
    writeFileSync(file, '  123456789012345678901234567890123  \n');
    expect(envOverrides({ SERVICE_SECRET_FILE: file })).toEqual({
      auth: { serviceSecret: '123456789012345678901234567890123' },
    });
  });

  it('reports a file it cannot read with the key and the variable', () => {
    expect(() => envOverrides({ SERVICE_SECRET_FILE: '/nonexistent/secret' })).toThrow(/SERVICE_SECRET_FILE/);
  });

  it('lets the variable itself win over the file', () => {
    expect(envOverrides({ SERVICE_SECRET: 'direct', SERVICE_SECRET_FILE: '/nonexistent' })).toEqual({
      auth: { serviceSecret: 'direct' },
    });
  });
});
