import { join } from 'node:path';
import type { PlatformConfig } from '../config/schema.js';
import { bytesOf } from '../limits/plugin.js';
import { LocalFileStorage } from './local.js';
import type { S3FileStorage } from './s3.js';
import type { FileStorage } from './storage.js';

/**
 * A module's file storage as `files` in config says: the local file system under
 * `dataDir/files/<module>` (URLs signed with the service secret), or the S3 bucket under `<module>/`.
 */
export function createFileStorage(
  platform: Pick<PlatformConfig, 'files' | 'dataDir'>,
  module: string,
  /** The deployment's service secret (read only for local storage, when it first signs or checks a URL). */
  serviceSecret: () => string,
): FileStorage & { close?(): void } {
  const { files } = platform;
  const common = {
    module,
    maxUploadBytes: bytesOf(files.maxUploadBytes),
    uploadUrlTtlSec: files.uploadUrlTtlSec,
    downloadUrlTtlSec: files.downloadUrlTtlSec,
  };
  if (files.driver === 's3') {
    const { s3 } = files;
    // The AWS SDK loads on first use: a deployment on local storage (and every CLI run) never pays for it.
    let loaded: Promise<S3FileStorage> | undefined;
    const storage = (): Promise<S3FileStorage> =>
      (loaded ??= import('./s3.js').then(
        ({ S3FileStorage }) =>
          new S3FileStorage({
            ...common,
            endpoint: s3.endpoint,
            region: s3.region,
            // The config schema requires these for the s3 driver.
            bucket: s3.bucket!,
            accessKeyId: s3.accessKeyId!,
            secretAccessKey: s3.secretAccessKey!,
            forcePathStyle: s3.forcePathStyle,
          }),
      ));
    return {
      driver: 's3',
      createUploadUrl: async (request) => (await storage()).createUploadUrl(request),
      stat: async (key) => (await storage()).stat(key),
      readStart: async (key, length) => (await storage()).readStart(key, length),
      downloadUrl: async (key, options) => (await storage()).downloadUrl(key, options),
      delete: async (key) => (await storage()).delete(key),
      close: () => void loaded?.then((opened) => opened.close()),
    };
  }
  return new LocalFileStorage({
    ...common,
    root: join(platform.dataDir, 'files'),
    secret: serviceSecret,
    publicUrl: files.publicUrl,
  });
}
