import type { MailTemplates } from '@platform/kernel';
import { passwordChangedEmail, passwordResetEmail, registrationAttemptEmail, verificationEmail } from './templates.js';

/** Whom a mail greets, the product it speaks for and the language: every identity mail's data has them. */
export interface Greeting {
  displayName: string | null;
  productName: string;
  /** The recipient's saved locale, else the causing request's (absent in mails queued before it existed: English). */
  locale?: string;
}

/** identity's mail data by template: what `runtime.mail.send` carries (JSON: dates as ISO strings). */
export interface IdentityMailData {
  verification: Greeting & { link: string; expiresInHours: number };
  passwordReset: Greeting & { link: string; expiresInMinutes: number };
  passwordChanged: Greeting & { when: string };
  registrationAttempt: Greeting & { resetLink: string };
}

export type IdentityMailTemplate = keyof IdentityMailData;

/** identity's templates, registered with the kernel (`defineModule({ mail })`). */
export const identityMailTemplates = {
  verification: (data: IdentityMailData['verification']) => verificationEmail(data),
  passwordReset: (data: IdentityMailData['passwordReset']) => passwordResetEmail(data),
  passwordChanged: (data: IdentityMailData['passwordChanged']) =>
    passwordChangedEmail({ ...data, when: new Date(data.when) }),
  registrationAttempt: (data: IdentityMailData['registrationAttempt']) => registrationAttemptEmail(data),
} satisfies MailTemplates;
