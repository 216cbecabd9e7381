import { randomBytes } from 'node:crypto';

/** A benchmark run's id: UTC time to the second and a random suffix, e.g. `20261121223621_5392`; names result files and scratch databases. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
}
