import type { ModuleConsumer } from '@platform/kernel';
import type { UploadService } from './upload.service.js';

/**
 * A deleted account's avatar and uploads go with it: on `identity.user.deleted`, once per event
 * for the fleet (a consumer group), retried with backoff when storage fails. Idempotent.
 */
export const userFilesCleanup: ModuleConsumer<unknown, { uploads: UploadService }> = {
  topic: 'identity.user.deleted',
  group: 'identity.user-files-cleanup',
  handler: async (event, runtime, services) => {
    const { userId } = event.payload as { userId: string };
    const removed = await services.uploads.removeUserFiles(runtime.em(), userId);
    if (removed > 0) runtime.logger.info({ userId, removed }, "deleted user's files removed");
  },
};
