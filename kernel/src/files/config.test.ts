import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../config/load.js';
import { createFileStorage } from './create.js';
import { LocalFileStorage } from './local.js';

const S3 = {
  PLATFORM_FILES__DRIVER: 's3',
  PLATFORM_FILES__S3__BUCKET: 'files',
  PLATFORM_FILES__S3__ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('files config', () => {
  it('is local under dataDir by default', () => {
    const config = loadConfig({ env: { PLATFORM_ENV: 'test' } });
    expect(config.files).toMatchObject({ driver: 'local', publicUrl: null, maxUploadBytes: '10mb' });
    const storage = createFileStorage(config, 'shelf', () => 'x'.repeat(40));
    expect(storage).toBeInstanceOf(LocalFileStorage);
  });

  it('takes the S3 key pair from S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY(_FILE), as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'files-config-'));
    try {
      writeFileSync(join(dir, 'secret'), '0123456789\n');
      const config = loadConfig({
        env: { PLATFORM_ENV: 'test', ...S3, S3_SECRET_ACCESS_KEY_FILE: join(dir, 'secret') },
      });
      expect(config.files.s3).toMatchObject({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: '0123456789' });
      const storage = createFileStorage(config, 'shelf', () => {
        throw new Error('S3 storage needs no service secret');
      });
      expect(storage.driver).toBe('s3');
      storage.close?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses the s3 driver without a bucket or keys, naming each', () => {
    const error = configError({ PLATFORM_ENV: 'test', PLATFORM_FILES__DRIVER: 's3' });
    expect(error.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['files.s3.bucket', 'files.s3.accessKeyId', 'files.s3.secretAccessKey']),
    );
  });

  it('refuses a development secret key in production, without quoting it', () => {
    const error = configError({ PLATFORM_ENV: 'production', ...S3, S3_SECRET_ACCESS_KEY: 'change-me' });
    expect(error.issues.map((issue) => issue.path)).toContain('files.s3.secretAccessKey');
    expect(JSON.stringify(error.issues)).not.toContain('change-me');
  });
});
