import { randomUUID } from 'node:crypto';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Logger } from 'pino';
import { KernelTopic } from '../events/kernel-topics.js';
import type { ModuleEvents } from '../events/outbox.js';
import { PermanentJobError, queueOptions, type QueueDefinition } from '../jobs/queue.js';
import type { JobContext, ModuleJobs } from '../jobs/types.js';
import type { MailSeal } from './seal.js';
import type { MailContent, MailTemplates } from './templates.js';
import { isPermanentMailError, type MailTransport } from './transport.js';

/** The kernel's queue of every module that sends mail: `<module>.kernel-mail`. */
export const MAIL_QUEUE = 'kernel-mail';

/** One mail to send (`runtime.mail.send`). */
export interface SendMail<Data = unknown> {
  /** The recipient's address (`zoe@example.com` or `Zoë <zoe@example.com>`). */
  to: string;
  /** A template the module registered (`defineModule({ mail: { templates } })`). */
  template: string;
  /** What the template renders; stored with the job (as JSON, sealed) until it runs. */
  data?: Data;
  /** A mail sent again with the key of one queued, sent or dead is not queued twice. */
  idempotencyKey?: string;
}

/**
 * A module's outgoing mail: `runtime.mail`. `send` queues a job (durably, on the jobs service)
 * and answers its id; the job renders the template and delivers it, retried with exponential
 * backoff while the server refuses for now or cannot be reached, dead at once on a permanent
 * refusal or after the last try (then `platformctl jobs retry <id>` sends it again). Each try is
 * audited (`kernel.mail.sent`, `kernel.mail.failed`, `kernel.mail.dead`) without the mail's body
 * or data.
 */
export interface ModuleMail {
  send<Data>(mail: SendMail<Data>): Promise<string>;
}

/** What a mail job carries. */
export interface MailJob {
  template: string;
  to: string;
  /** Chosen when queued, so every try of one mail carries the same Message-ID. */
  messageId: string;
  /** The template's data, sealed (see {@link MailSeal}) to this mail. */
  data: string;
}

/** What a job's sealed data is bound to: it opens only for the mail it was sealed for. */
const bindingOf = (job: Pick<MailJob, 'template' | 'to' | 'messageId'>): string =>
  `${job.messageId}\n${job.template}\n${job.to}`;

/** `kernel.mail.sent`: a mail was delivered (or written to the development outbox). */
export interface MailSentPayload {
  template: string;
  to: string;
  messageId: string;
  jobId: string;
  attempt: number;
  transport: MailTransport['kind'];
}

/** `kernel.mail.failed` for each failed try; `kernel.mail.dead` too when it was the last one. */
export interface MailFailedPayload {
  template: string;
  to: string;
  messageId: string;
  jobId: string;
  attempt: number;
  maxAttempts: number;
  /** The error's message (the server's reply), never the mail's body or data. */
  error: string;
  /** The server refused the mail for good (5xx): no retry follows. */
  permanent: boolean;
  /** No try follows: the job is dead. */
  final: boolean;
}

export interface ModuleMailOptions {
  templates: MailTemplates;
  jobs: Pick<ModuleJobs, 'enqueue'>;
  /** The From header: its domain names the Message-IDs. */
  from: string;
  seal: MailSeal;
}

/** `runtime.mail` of a module. */
export function createModuleMail(options: ModuleMailOptions): ModuleMail {
  const domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'localhost';
  return {
    async send(mail) {
      const template = options.templates[mail.template];
      if (!template) throw new Error(`no mail template "${mail.template}" (defineModule({ mail: { templates } }))`);
      if (!mail.to.trim()) throw new Error('a mail needs a recipient');
      // What the job will see, rendered once here: a template that cannot render this data fails
      // the caller now rather than the job later.
      const data: unknown = mail.data === undefined ? null : JSON.parse(JSON.stringify(mail.data));
      render(options.templates, mail.template, data);
      const about = { template: mail.template, to: mail.to, messageId: `<${randomUUID()}@${domain}>` };
      const job: MailJob = { ...about, data: options.seal.seal(data, bindingOf(about)) };
      return options.jobs.enqueue(
        MAIL_QUEUE,
        job,
        mail.idempotencyKey === undefined ? {} : { idempotencyKey: mail.idempotencyKey },
      );
    },
  };
}

export interface MailQueueOptions {
  templates: MailTemplates;
  transport: MailTransport;
  events: ModuleEvents;
  /** A fresh EntityManager: each audit record commits on its own. */
  em(): SqlEntityManager;
  logger: Logger;
  seal: MailSeal;
  /** Tries in all, and the first retry's delay (doubled for each next one). */
  attempts: number;
  backoffMs: number;
}

/** The queue that delivers a module's mail (see {@link ModuleMail}). */
export function mailQueue(options: MailQueueOptions): QueueDefinition {
  const { transport, events, logger } = options;
  const record = async (topic: string, payload: MailSentPayload | MailFailedPayload): Promise<void> => {
    try {
      await events.record(options.em(), topic, payload);
    } catch (error) {
      // The mail's fate stands either way: a sent mail is never sent again for want of its record.
      logger.error({ err: error, topic, jobId: payload.jobId }, 'could not record a mail event');
    }
  };
  return {
    name: MAIL_QUEUE,
    options: queueOptions(MAIL_QUEUE, {
      attempts: options.attempts,
      backoffMs: options.backoffMs,
      concurrency: 4,
      timeoutMs: 60_000,
    }),
    async handler(payload, job) {
      const mail = payload as MailJob;
      const about = { template: mail.template, to: mail.to, messageId: mail.messageId, jobId: job.id };
      let content: MailContent;
      try {
        content = render(options.templates, mail.template, options.seal.open(mail.data, bindingOf(mail)));
      } catch (error) {
        await record(KernelTopic.MailFailed, failure(about, job, error, true));
        await record(KernelTopic.MailDead, failure(about, job, error, true));
        // The data does not open (the service secret changed) or the template throws: no retry mends that.
        throw new PermanentJobError(`mail "${mail.template}" could not be rendered: ${errorText(error)}`, {
          cause: error,
        });
      }
      try {
        await transport.send({ to: mail.to, messageId: mail.messageId, ...content });
      } catch (error) {
        const permanent = isPermanentMailError(error);
        const failed = failure(about, job, error, permanent);
        await record(KernelTopic.MailFailed, failed);
        if (failed.final) await record(KernelTopic.MailDead, failed);
        if (permanent) throw new PermanentJobError(errorText(error), { cause: error });
        throw error;
      }
      await record(KernelTopic.MailSent, { ...about, attempt: job.attempt, transport: transport.kind });
    },
  };
}

function render(templates: MailTemplates, name: string, data: unknown): MailContent {
  const template = templates[name] as ((data: unknown) => MailContent) | undefined;
  if (!template) throw new Error(`no mail template "${name}"`);
  return template(data);
}

function failure(
  about: Omit<MailFailedPayload, 'attempt' | 'maxAttempts' | 'error' | 'permanent' | 'final'>,
  job: JobContext,
  error: unknown,
  permanent: boolean,
): MailFailedPayload {
  return {
    ...about,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    error: errorText(error),
    permanent,
    final: permanent || job.attempt >= job.maxAttempts,
  };
}

/** The error's message, bounded: the server's reply or the connection's failure. */
function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
