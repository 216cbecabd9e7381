import type { EntityManager, Logger } from '@platform/kernel';
import type { Mailer } from '../mail/mailer.js';
import type { EmailContent } from '../mail/templates.js';
import type { User } from '../user/user.entity.js';

/** A template as the flows call it: its own arguments plus whom it greets and the product. */
export type Template<A> = (args: A & { displayName: string | null; productName?: string }) => EmailContent;

/**
 * The accounts' mail, and the work that only leads to mail. Both happen after the answer: a send
 * never slows a response or tells by its timing which path a request took (an address with an
 * account or without), and a failed send never undoes a committed change (the user can ask again).
 */
export class AccountMail {
  constructor(private readonly deps: { mailer: Mailer; appUrl: string; productName: string; logger: Logger }) {}

  /** `<appUrl>/<path>`, with `?token=…` when there is one. */
  link(path: string, token?: string): string {
    const base = this.deps.appUrl.endsWith('/') ? this.deps.appUrl : `${this.deps.appUrl}/`;
    const url = new URL(path, base);
    if (token !== undefined) url.searchParams.set('token', token);
    return url.toString();
  }

  /** Sends `template` to `user`; a failure is logged, not thrown. */
  async send<A>(user: User, template: Template<A>, args: A): Promise<void> {
    try {
      const message = template({ ...args, displayName: user.displayName ?? null, productName: this.deps.productName });
      await this.deps.mailer.send({ to: user.email, ...message });
    } catch (error) {
      this.deps.logger.error({ err: error, userId: user.id }, 'could not send email');
    }
  }

  /** `send` without waiting for it: the answer goes out while the mail does. */
  sendLater<A>(user: User, template: Template<A>, args: A): void {
    void this.send(user, template, args);
  }

  /**
   * Runs `work` once the current request has answered, on its own EntityManager (the request's
   * may be gone by then); a failure is logged as `failure`.
   */
  afterAnswer(em: EntityManager, userId: string, failure: string, work: (em: EntityManager) => Promise<void>): void {
    setImmediate(() => {
      work(em.fork()).catch((error: unknown) => this.deps.logger.error({ err: error, userId }, failure));
    });
  }
}
