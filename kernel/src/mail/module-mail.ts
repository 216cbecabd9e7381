import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { ModuleDatabase } from '../database/database.js';
import type { ModuleEvents } from '../events/outbox.js';
import type { JobsService } from '../jobs/service.js';
import { createModuleMail, mailQueue, type ModuleMail } from './mail.js';
import { MailSeal } from './seal.js';
import type { MailTemplates } from './templates.js';
import { createMailTransport } from './transport.js';

export interface ModuleMailWiring {
  module: string;
  /** What the module declared (`defineModule({ mail: { templates } })`), if anything. */
  templates: MailTemplates | undefined;
  platform: PlatformConfig;
  db: ModuleDatabase;
  events: ModuleEvents;
  jobs: JobsService;
  logger: Logger;
  /** The deployment's service secret (read when first needed): the key of the sealed mail data. */
  secret(): string;
  /** Registers what to close at shutdown (the transport). */
  onClose(close: () => Promise<void>): void;
}

/**
 * A module's `runtime.mail`: with templates declared, its transport (SMTP or the outbox) and the
 * `kernel-mail` queue that delivers through it; without, a `send` that says to declare them (no
 * queue, no worker for a module that sends no mail).
 */
export function moduleMail(wiring: ModuleMailWiring): ModuleMail {
  const { module, platform, jobs, templates } = wiring;
  if (!templates || Object.keys(templates).length === 0) {
    return {
      send: () =>
        Promise.reject(
          new Error(`${module} sends no mail: declare its templates in defineModule({ mail: { templates } })`),
        ),
    };
  }
  const transport = createMailTransport({
    smtpUrl: platform.smtp.url,
    from: platform.smtp.from,
    outboxDir: join(platform.dataDir, 'mail'),
    logger: wiring.logger,
  });
  wiring.onClose(() => transport.close());
  const seal = new MailSeal(wiring.secret);
  const queue = mailQueue({
    seal,
    templates,
    transport,
    events: wiring.events,
    em: () => wiring.db.fork(),
    logger: wiring.logger.child({ component: 'mail' }),
    attempts: platform.smtp.attempts,
    backoffMs: platform.smtp.backoffMs,
  });
  jobs.defineQueue(queue.name, queue.handler, queue.options);
  return createModuleMail({ templates, jobs, from: platform.smtp.from, seal });
}
