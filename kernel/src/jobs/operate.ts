import { Router } from 'express';
import type { RetryOutcome } from './backend.js';
import { kernelJobs } from './service.js';
import type { JobsReport, ModuleJobs } from './types.js';

export type { RetryOutcome } from './backend.js';

/**
 * `GET` the module's {@link JobsReport}; `POST <path>/<id>/retry` puts a dead job back to waiting.
 * Internal (the kernel requires the service credential on `/internal/*`): `platformctl jobs` asks
 * a running service here when it cannot open the module's embedded database itself.
 */
export const JOBS_PATH = '/internal/jobs';

/** What `platformctl jobs list` shows of a module (its runtime's `jobs`, a serving or an offline one). */
export function jobsReport(jobs: ModuleJobs): Promise<JobsReport> {
  return kernelJobs(jobs).report();
}

/** Puts a dead job of the module back to waiting; its tries start over. */
export function retryJob(jobs: ModuleJobs, id: string): Promise<RetryOutcome> {
  return kernelJobs(jobs).retry(id);
}

/** The internal jobs routes of a subgraph (404 for an unknown job, 409 for one that is not dead). */
export function jobsRoutes(jobs: ModuleJobs): Router {
  const router = Router();
  router.get(JOBS_PATH, async (_req, res) => {
    res.set('cache-control', 'no-store').json(await jobsReport(jobs));
  });
  router.post(`${JOBS_PATH}/:id/retry`, async (req, res) => {
    const id = req.params.id;
    const outcome = await retryJob(jobs, id);
    if (outcome === 'retried') {
      res.set('cache-control', 'no-store').json({ id, state: 'waiting' });
      return;
    }
    const [status, code, message] =
      outcome === 'not-found'
        ? [404, 'NOT_FOUND', `no job ${id}`]
        : [409, 'CONFLICT', `job ${id} is not dead: only dead jobs are retried`];
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  });
  return router;
}
