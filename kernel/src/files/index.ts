export { createFileStorage } from './create.js';
export { LocalFileStorage, type LocalFileStorageOptions } from './local.js';
export { localFileRoutes } from './local-routes.js';
export { S3FileStorage, type S3FileStorageOptions } from './s3.js';
export { FileSigner, filePath, type FileGrant } from './signing.js';
export {
  isFileKey,
  requireFileKey,
  type FileStorage,
  type StoredFile,
  type UploadRequest,
  type UploadTicket,
} from './storage.js';
