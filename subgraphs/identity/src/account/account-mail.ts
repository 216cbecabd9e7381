import { currentRequest, DEFAULT_LOCALE, type EntityManager, type Logger, type ModuleMail } from '@platform/kernel';
import type { Greeting, IdentityMailData, IdentityMailTemplate } from '../mail/index.js';
import type { User } from '../user/user.entity.js';

/**
 * The language of a mail to `user`: the one they saved, else the one of the request that causes
 * the mail (its `Accept-Language`), else English.
 */
export function mailLocale(user: Pick<User, 'locale'>): string {
  return user.locale ?? currentRequest()?.locale ?? DEFAULT_LOCALE;
}

/** `<appUrl>/<path>`, with `?token=…` when there is one: where a mailed link points. */
export function appLink(appUrl: string, path: string, token?: string): string {
  const url = new URL(path, appUrl.endsWith('/') ? appUrl : `${appUrl}/`);
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
}

/**
 * The accounts' mail, and the work that only leads to mail. Both happen after the answer: queuing
 * a mail never slows a response or tells by its timing which path a request took (an address with
 * an account or without), and a failure never undoes a committed change (the user can ask again).
 * Queued mail is the kernel's job (`runtime.mail`): retried until delivered, or dead and visible.
 */
export class AccountMail {
  constructor(private readonly deps: { mail: ModuleMail; appUrl: string; productName: string; logger: Logger }) {}

  /** `<appUrl>/<path>`, with `?token=…` when there is one. */
  link(path: string, token?: string): string {
    return appLink(this.deps.appUrl, path, token);
  }

  /** Queues `template` for `user`; a failure to queue it is logged, not thrown. */
  async send<T extends IdentityMailTemplate>(
    user: User,
    template: T,
    args: Omit<IdentityMailData[T], keyof Greeting>,
  ): Promise<void> {
    try {
      const greeting: Greeting = {
        displayName: user.displayName ?? null,
        productName: this.deps.productName,
        locale: mailLocale(user),
      };
      await this.deps.mail.send({ to: user.email, template, data: { ...args, ...greeting } });
    } catch (error) {
      this.deps.logger.error({ err: error, userId: user.id, template }, 'could not queue email');
    }
  }

  /** `send` without waiting for it: the answer goes out while the mail is queued. */
  sendLater<T extends IdentityMailTemplate>(
    user: User,
    template: T,
    args: Omit<IdentityMailData[T], keyof Greeting>,
  ): void {
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
