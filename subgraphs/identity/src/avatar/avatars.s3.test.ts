import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InputError } from '@platform/kernel';
import {
  eventually,
  startS3rver,
  startTestSubgraph,
  type S3rverProcess,
  type TestSubgraph,
} from '@platform/kernel/testing';
import identity from '../module.js';
import type { IdentityConfig } from '../config.js';
import type { IdentityServices } from '../services.js';
import { User } from '../user/user.entity.js';

/**
 * Avatars on S3-compatible storage (s3rver in its own process), where a presigned PUT cannot
 * bound the size: what the client stored is checked when the upload is attached.
 */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(56, 3)]);

let s3: S3rverProcess;
let handle: TestSubgraph<IdentityConfig, IdentityServices>;
let userId: string;

beforeAll(async () => {
  s3 = await startS3rver('avatars');
  handle = await startTestSubgraph(identity, {
    overrides: {
      files: {
        driver: 's3',
        s3: {
          endpoint: s3.endpoint,
          bucket: s3.bucket,
          accessKeyId: 'S3RVER',
          secretAccessKey: 'S3RVER',
          forcePathStyle: true,
        },
      },
    },
  });
  const em = handle.runtime.em();
  const user = em.create(User, { email: `s3-${Date.now()}@example.com`, displayName: 'S3' });
  await em.flush();
  userId = user.id;
}, 60_000);

afterAll(async () => {
  await handle?.stop();
  await s3?.stop();
});

const put = (url: string, body: Buffer, contentType = 'image/png') =>
  fetch(url, { method: 'PUT', body, headers: { 'Content-Type': contentType } });

describe('avatars on S3', () => {
  it('refuses at attach an object larger than declared, and deletes it', async () => {
    const { uploads } = handle.services;
    const ticket = await uploads.createUpload(handle.runtime.em(), userId, {
      purpose: 'avatar',
      contentType: 'image/png',
      byteSize: PNG.length,
    });
    expect(ticket.url.startsWith(`${s3.endpoint}/${s3.bucket}/identity/avatars/${userId}/`)).toBe(true);
    expect((await put(ticket.url, Buffer.concat([PNG, PNG]))).status).toBe(200);
    const key = `avatars/${userId}/${ticket.id}`;
    expect((await handle.runtime.files.stat(key))?.size).toBe(PNG.length * 2);

    await expect(uploads.attachAvatar(handle.runtime.em(), userId, ticket.id)).rejects.toThrow(InputError);
    expect(await handle.runtime.files.stat(key)).toBeNull();
  });

  it('attaches a checked upload, serves it by a presigned URL, and removes it with the account', async () => {
    const { uploads, accounts } = handle.services;
    const ticket = await uploads.createUpload(handle.runtime.em(), userId, {
      purpose: 'avatar',
      contentType: 'image/png',
      byteSize: PNG.length,
    });
    expect((await put(ticket.url, PNG)).status).toBe(200);
    await uploads.attachAvatar(handle.runtime.em(), userId, ticket.id);

    const user = await handle.runtime.em().findOneOrFail(User, { id: userId });
    const url = await uploads.avatarUrl(user);
    const image = await fetch(url!);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer())).toEqual(PNG);

    await accounts.deleteUser(handle.runtime.em(), userId);
    const key = `avatars/${userId}/${ticket.id}`;
    await eventually(async () => expect(await handle.runtime.files.stat(key)).toBeNull());
    const deleted = await handle.runtime.em().findOneOrFail(User, { id: userId });
    expect(await uploads.avatarUrl(deleted)).toBeNull();
  });
});
