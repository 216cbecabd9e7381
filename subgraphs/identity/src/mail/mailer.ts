import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '@platform/kernel';

/** One outgoing email; both bodies are sent, the client picks. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What `send` reports: the Message-ID, and the `.eml` path when the message went to the outbox. */
export interface SentMail {
  messageId: string;
  file?: string;
}

/** Outgoing email. Flows depend on this, not on nodemailer, so tests can read the outbox instead. */
export interface Mailer {
  send(message: MailMessage): Promise<SentMail>;
  close(): Promise<void>;
}

export interface MailerOptions {
  /** `smtp://user:pass@host:587` or `smtps://…`; null writes `.eml` files to `outboxDir` instead. */
  smtpUrl: string | null;
  /** The From header, e.g. `Platform <no-reply@example.com>`. */
  from: string;
  /** Where messages go without SMTP (`DATA_DIR/mail/`). */
  outboxDir: string;
  logger: Logger;
}

/**
 * SMTP when a URL is configured, otherwise an outbox directory that developers and the
 * end-to-end tests read (`readOutbox`). Message bodies carry tokens, so they are never logged.
 */
export function createMailer(options: MailerOptions): Mailer {
  const logger = options.logger.child({ component: 'mailer' });
  return options.smtpUrl
    ? new SmtpMailer(options.smtpUrl, options.from, logger)
    : new OutboxMailer(options.outboxDir, options.from, logger);
}

class SmtpMailer implements Mailer {
  private readonly transport;

  constructor(
    url: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {
    // nodemailer waits minutes by default; a flow that sends mail should fail in seconds instead.
    // Values in the URL's query (`?socketTimeout=60000`) still win.
    this.transport = nodemailer.createTransport({
      url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(message: MailMessage): Promise<SentMail> {
    const info = await this.transport.sendMail({ from: this.from, ...message });
    this.logger.info({ to: message.to, subject: message.subject, messageId: info.messageId }, 'mail sent');
    return { messageId: info.messageId };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

class OutboxMailer implements Mailer {
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async send(message: MailMessage): Promise<SentMail> {
    const info = await this.transport.sendMail({ from: this.from, ...message });
    const name = outboxFileName(new Date());
    const file = join(this.dir, name);
    // Written aside and renamed, so a reader polling the directory never sees half a message.
    const temp = join(this.dir, `.${name}.tmp`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(temp, info.message as Buffer, { mode: 0o600, flag: 'wx' });
    try {
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    this.logger.info({ to: message.to, subject: message.subject, file }, 'mail written to outbox');
    return { messageId: info.messageId, file };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

let sequence = 0;

/**
 * `20261121T160000123Z-000042-9f1c2a7b.eml`: sorts by time; the per-process sequence orders
 * messages written in the same millisecond, the random part keeps processes apart.
 */
export function outboxFileName(at: Date): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  sequence = (sequence + 1) % 1_000_000;
  return `${stamp}-${String(sequence).padStart(6, '0')}-${randomBytes(4).toString('hex')}.eml`;
}
