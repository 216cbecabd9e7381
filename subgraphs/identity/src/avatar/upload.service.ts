import { randomUUID } from 'node:crypto';
import {
  InputError,
  isUuid,
  NotFoundError,
  type Emit,
  type EntityManager,
  type FileStorage,
  type Logger,
} from '@platform/kernel';
import type { IdentityEvents } from '../events.js';
import { User } from '../user/user.entity.js';
import { AVATAR_TYPES, imageTypeOf, SIGNATURE_BYTES } from './image-type.js';
import { Upload, type UploadPurposeValue } from './upload.entity.js';

/** How long after its URL lapsed an upload may still be attached, before `pruneExpired` removes it. */
export const ATTACH_GRACE_MS = 3_600_000;

export interface UploadServiceOptions {
  files: FileStorage;
  emit: Emit<IdentityEvents>;
  logger: Logger;
  /** Largest avatar in bytes (`avatars.maxBytes`). */
  avatarMaxBytes: number;
}

/** What the caller is given to send an upload's bytes to storage. */
export interface CreatedUpload {
  id: string;
  url: string;
  method: string;
  headers: Array<{ name: string; value: string }>;
  expiresAt: Date;
}

/**
 * Uploads and avatars: an upload URL per declared file (the bytes go straight to storage), its
 * stored object checked (size, type, the bytes' own signature) before it becomes an avatar, the
 * replaced or deleted user's objects removed, and lapsed uploads pruned.
 */
export class UploadService {
  constructor(private readonly options: UploadServiceOptions) {}

  async createUpload(
    em: EntityManager,
    ownerId: string,
    input: { purpose: UploadPurposeValue; contentType: string; byteSize: number },
  ): Promise<CreatedUpload> {
    const contentType = input.contentType.trim().toLowerCase();
    if (!(AVATAR_TYPES as readonly string[]).includes(contentType)) {
      throw InputError.field('contentType', `must be one of ${AVATAR_TYPES.join(', ')}`);
    }
    const max = this.options.avatarMaxBytes;
    if (!Number.isInteger(input.byteSize) || input.byteSize < 1 || input.byteSize > max) {
      throw InputError.field('byteSize', `must be between 1 and ${max}`);
    }
    const id = randomUUID();
    const key = `avatars/${ownerId.toLowerCase()}/${id}`;
    const ticket = await this.options.files.createUploadUrl({ key, contentType, maxBytes: input.byteSize });
    em.create(Upload, {
      id,
      ownerId,
      purpose: input.purpose,
      key,
      contentType,
      byteSize: input.byteSize,
      expiresAt: ticket.expiresAt,
    });
    await em.flush();
    return {
      id,
      url: ticket.url,
      method: ticket.method,
      headers: Object.entries(ticket.headers).map(([name, value]) => ({ name, value })),
      expiresAt: ticket.expiresAt,
    };
  }

  /**
   * Makes the caller's upload their avatar once its stored object checks out; the avatar it
   * replaces is deleted. BAD_USER_INPUT (field `avatarUploadId`) for an upload that is not the
   * caller's, not an avatar, lapsed, not (yet) stored, larger than declared or allowed, or whose
   * bytes are not the image type it declared.
   */
  async attachAvatar(em: EntityManager, userId: string, uploadId: string): Promise<void> {
    const refuse = (message: string): InputError => InputError.field('avatarUploadId', message);
    const upload = isUuid(uploadId) ? await em.findOne(Upload, { id: uploadId.toLowerCase() }) : null;
    if (!upload || upload.ownerId !== userId || upload.purpose !== 'avatar') {
      throw refuse('is not an avatar upload of yours');
    }
    if (upload.attachedAt) return;
    if (upload.expiresAt.getTime() + ATTACH_GRACE_MS < Date.now()) throw refuse('has expired: upload again');
    const { files } = this.options;
    const stored = await files.stat(upload.key);
    if (!stored) throw refuse('has no file: send the bytes to the upload URL first');
    const problem =
      stored.size > upload.byteSize || stored.size > this.options.avatarMaxBytes
        ? 'is larger than declared or allowed'
        : stored.contentType !== upload.contentType ||
            imageTypeOf((await files.readStart(upload.key, SIGNATURE_BYTES)) ?? Buffer.alloc(0)) !== upload.contentType
          ? `is not a ${upload.contentType} image`
          : undefined;
    if (problem) {
      // Nothing will ever attach it: the object goes now, the record with the next prune.
      await files.delete(upload.key);
      throw refuse(problem);
    }
    const replaced = await em.transactional(async (tx) => {
      const user = await tx.findOne(User, { id: userId, deletedAt: null });
      if (!user) throw new NotFoundError('User', userId);
      const previous = user.avatarKey ?? null;
      user.avatarKey = upload.key;
      await tx.nativeUpdate(Upload, { id: upload.id }, { attachedAt: new Date() });
      if (previous) await tx.nativeDelete(Upload, { key: previous });
      await tx.flush();
      await this.options.emit(tx, 'identity.user.updated', { userId, changed: ['avatar'] });
      return previous;
    });
    if (replaced) await this.#deleteObject(replaced);
  }

  /** A signed download URL of the user's avatar; null without one (or for a deleted account). */
  async avatarUrl(user: Pick<User, 'avatarKey' | 'deletedAt'>): Promise<string | null> {
    if (!user.avatarKey || user.deletedAt) return null;
    return this.options.files.downloadUrl(user.avatarKey);
  }

  /** Removes a deleted user's avatar and uploads, objects and records (idempotent). */
  async removeUserFiles(em: EntityManager, userId: string): Promise<number> {
    const uploads = await em.find(Upload, { ownerId: userId });
    const user = await em.findOne(User, { id: userId });
    const keys = new Set([...uploads.map((upload) => upload.key), ...(user?.avatarKey ? [user.avatarKey] : [])]);
    for (const key of keys) await this.#deleteObject(key);
    if (user?.avatarKey) await em.nativeUpdate(User, { id: userId }, { avatarKey: null });
    await em.nativeDelete(Upload, { ownerId: userId });
    return keys.size;
  }

  /**
   * Removes uploads never attached whose URL lapsed more than {@link ATTACH_GRACE_MS} ago, objects
   * and records; returns how many. For a scheduled job (e.g. hourly).
   */
  async pruneExpired(em: EntityManager, now = new Date()): Promise<number> {
    const lapsed = await em.find(
      Upload,
      { attachedAt: null, expiresAt: { $lt: new Date(now.getTime() - ATTACH_GRACE_MS) } },
      { limit: 500 },
    );
    for (const upload of lapsed) await this.#deleteObject(upload.key);
    if (lapsed.length > 0) await em.nativeDelete(Upload, { id: { $in: lapsed.map((upload) => upload.id) } });
    return lapsed.length;
  }

  async #deleteObject(key: string): Promise<void> {
    try {
      await this.options.files.delete(key);
    } catch (error) {
      // The record goes anyway; an orphaned object costs storage, not correctness.
      this.options.logger.warn({ err: error, key }, 'could not delete a stored file');
    }
  }
}
