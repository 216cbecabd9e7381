import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

/** One outgoing email; both bodies are sent, the client picks. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * The Message-ID (`<id@host>`); generated when absent. The mail queue derives it from the job,
   * so every try of one mail carries the same id and a receiver can drop a second copy.
   */
  messageId?: string;
}

/** What `send` reports: the Message-ID, and the `.eml` path when the message went to the outbox. */
export interface SentMail {
  messageId: string;
  file?: string;
}

/** Where mail goes: an SMTP server, or the development outbox. Never logs a body (bodies carry tokens). */
export interface MailTransport {
  readonly kind: 'smtp' | 'outbox';
  send(message: MailMessage): Promise<SentMail>;
  close(): Promise<void>;
}

export interface MailTransportOptions {
  /** `smtp://user:pass@host:587` or `smtps://…`; null writes `.eml` files to `outboxDir` instead. */
  smtpUrl: string | null;
  /** The From header, e.g. `Platform <no-reply@example.com>`. */
  from: string;
  /** Where messages go without SMTP (`dataDir/mail/`). */
  outboxDir: string;
  logger: Logger;
}

/**
 * SMTP when a URL is configured (`smtp.url`), otherwise the outbox directory that developers and
 * the end-to-end tests read (`readOutbox` in `@platform/kernel/testing`).
 */
export function createMailTransport(options: MailTransportOptions): MailTransport {
  const logger = options.logger.child({ component: 'mailer' });
  return options.smtpUrl
    ? new SmtpTransport(options.smtpUrl, options.from, logger)
    : new OutboxTransport(options.outboxDir, options.from, logger);
}

/**
 * Whether a failed send would fail again however often it is tried: the server refused the
 * message for good (an SMTP 5xx reply other than 503). Connection failures, timeouts and 4xx
 * replies are transient: worth retrying later.
 */
export function isPermanentMailError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly transport;

  constructor(
    url: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {
    // nodemailer waits minutes by default; a try should fail in seconds and leave the rest to the
    // queue's backoff. Values in the URL's query (`?socketTimeout=60000`) still win.
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

class OutboxTransport implements MailTransport {
  readonly kind = 'outbox';
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
