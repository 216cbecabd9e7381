import { z } from 'zod';

/** Shared by the config sections. */
export const url = z.string().url();

/** A size in bytes, or with a unit (`512kb`, `4mb`). */
export const byteSize = z.union([
  z.string().regex(/^\d+(b|kb|mb)$/i, 'a number of bytes, or with a unit: 512kb, 4mb'),
  z.number().int().positive(),
]);
