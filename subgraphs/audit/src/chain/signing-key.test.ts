import { afterAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@platform/kernel';
import { jwkThumbprint } from './key-ring.js';
import { GENERATED_KEY_FILE, loadSigningKey } from './signing-key.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-keys-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const ed25519 = () => generateKeyPairSync('ed25519');
const pem = (key = ed25519().privateKey) => key.export({ format: 'pem', type: 'pkcs8' }) as string;

describe('loadSigningKey', () => {
  it('generates a key on first start, owner-only, and reads the same one back', () => {
    const keyDir = join(tempDir(), 'audit', 'keys');
    const first = loadSigningKey({ configured: null, file: null, keyDir });
    expect(first).toMatchObject({ source: 'generated', file: join(keyDir, GENERATED_KEY_FILE) });
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(statSync(keyDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(keyDir)).toEqual([GENERATED_KEY_FILE]); // no temporary file left

    const again = loadSigningKey({ configured: null, file: null, keyDir });
    expect(again.kid).toBe(first.kid);
    expect(first.kid).toBe(jwkThumbprint(first.publicJwk));
    const signature = sign(null, Buffer.from('x'), again.privateKey);
    expect(verify(null, Buffer.from('x'), first.privateKey, signature)).toBe(true);
  });

  it('publishes only the public half', () => {
    const key = loadSigningKey({ configured: null, file: null, keyDir: tempDir() });
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x']);
  });

  it('keeps the first key when another process wrote one meanwhile', () => {
    const keyDir = tempDir();
    const existing = pem();
    writeFileSync(join(keyDir, GENERATED_KEY_FILE), existing, { mode: 0o600 });
    const key = loadSigningKey({ configured: null, file: null, keyDir });
    expect(key.privateKey.export({ format: 'pem', type: 'pkcs8' })).toBe(existing);
  });

  it.each([
    ['a PKCS#8 PEM', () => pem()],
    ['a private JWK object', () => ed25519().privateKey.export({ format: 'jwk' }) as Record<string, unknown>],
    ['a private JWK as JSON text', () => JSON.stringify(ed25519().privateKey.export({ format: 'jwk' }))],
  ])('takes a configured key: %s', (_case, material) => {
    const key = loadSigningKey({ configured: material(), file: null, keyDir: tempDir() });
    expect(key.source).toBe('configured');
    expect(readdirSync(dirs.at(-1)!)).toEqual([]); // nothing generated
  });

  it('reads a configured key file', () => {
    const file = join(tempDir(), 'audit.pem');
    const material = pem();
    writeFileSync(file, material, { mode: 0o600 });
    const key = loadSigningKey({ configured: null, file, keyDir: tempDir() });
    expect(key.privateKey.export({ format: 'pem', type: 'pkcs8' })).toBe(material);
  });

  it.each([
    ['both a key and a file', { configured: pem(), file: '/tmp/x.pem' }, 'checkpointSigningKeyFile', /not both/],
    ['not a key', { configured: 'hello', file: null }, 'checkpointSigningKey', /not a private key/],
    [
      'an RSA key',
      {
        configured: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
          format: 'pem',
          type: 'pkcs8',
        }) as string,
        file: null,
      },
      'checkpointSigningKey',
      /must be an Ed25519 key \(got rsa\)/,
    ],
    [
      'a public key only',
      { configured: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }, file: null },
      'checkpointSigningKey',
      /not a private key/,
    ],
    [
      'a file that is not there',
      { configured: null, file: '/nonexistent/audit.pem' },
      'checkpointSigningKeyFile',
      /cannot read/,
    ],
  ])('refuses %s as a ConfigError naming the setting', (_case, options, path, message) => {
    let error: unknown;
    try {
      loadSigningKey({ ...options, keyDir: tempDir() });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: `modules.audit.${path}`, message: expect.stringMatching(message) },
    ]);
  });

  it('never quotes key material in its errors', () => {
    const secret = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d: 'S3CRET-d-value', x: 'nope' });
    expect(() => loadSigningKey({ configured: secret, file: null, keyDir: tempDir() })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('S3CRET') }),
    );
  });
});
