import { escapeHtml, type MailContent } from '@platform/kernel';

/** Subject and both bodies of one email. */
export type EmailContent = MailContent;

/** What every template takes: whom it greets and the product it speaks for. */
interface Common {
  /** Null or empty greets without a name. */
  displayName?: string | null;
  /** The name shown in subject and signature (config `productName`); "Platform" by default. */
  productName?: string;
}

const DEFAULT_PRODUCT = 'Platform';

/** Sent after sign-up and on email change: the link proves the address is the user's. */
export function verificationEmail(input: Common & { link: string; expiresInHours: number }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const expiry = plural(input.expiresInHours, 'hour');
  return render({
    subject: `Verify your email address for ${product}`,
    displayName: input.displayName,
    product,
    paragraphs: [`Please confirm that this is your email address by opening the link below.`],
    link: { href: input.link, label: 'Verify email address' },
    after: [`The link expires in ${expiry}.`, `If you did not create a ${product} account, you can ignore this email.`],
  });
}

/** Sent on "forgot password"; the link lets whoever holds this mailbox choose a new password. */
export function passwordResetEmail(input: Common & { link: string; expiresInMinutes: number }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  return render({
    subject: `Reset your ${product} password`,
    displayName: input.displayName,
    product,
    paragraphs: [
      `Someone asked to reset the password of your ${product} account. To choose a new one, open the link below.`,
    ],
    link: { href: input.link, label: 'Reset password' },
    after: [
      `The link expires in ${plural(input.expiresInMinutes, 'minute')} and works once.`,
      `If you did not ask for this, ignore this email: your password stays as it is.`,
    ],
  });
}

/**
 * Sent instead of a second account when someone registers with an address that has one: the
 * owner hears of it, while whoever registered gets the same answer as for a new address.
 */
export function registrationAttemptEmail(input: Common & { resetLink: string }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  return render({
    subject: `Someone tried to register with your email address at ${product}`,
    displayName: input.displayName,
    product,
    paragraphs: [
      `Someone tried to create a new ${product} account with this email address. You already have an account, so no new one was made and nothing was changed.`,
      `If it was you, sign in with your password. If you forgot it, ask for a reset link here:`,
    ],
    link: { href: input.resetLink, label: 'Reset your password' },
    after: [`If it was not you, you can ignore this email: your account stays as it is.`],
  });
}

/** Sent after any password change, so a takeover does not go unnoticed by the real owner. */
export function passwordChangedEmail(input: Common & { when: Date; supportEmail?: string }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const support = input.supportEmail ? `contact support at ${input.supportEmail}` : 'contact support';
  return render({
    subject: `Your ${product} password was changed`,
    displayName: input.displayName,
    product,
    paragraphs: [`The password of your ${product} account was changed on ${formatWhen(input.when)}.`],
    after: [
      `If this was you, there is nothing to do.`,
      `If it was not you, reset your password right away with "Forgot password" and ${support}.`,
    ],
  });
}

interface Layout {
  subject: string;
  displayName: string | null | undefined;
  product: string;
  paragraphs: string[];
  link?: { href: string; label: string };
  after: string[];
}

function render(layout: Layout): EmailContent {
  // A display name is user input: no line breaks or control characters in the text body either.
  const name = layout.displayName?.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  const greeting = name ? `Hi ${name},` : 'Hi,';
  const signature = `— The ${layout.product} team`;

  const text = [
    greeting,
    ...layout.paragraphs,
    ...(layout.link ? [layout.link.href] : []),
    ...layout.after,
    signature,
  ].join('\n\n');

  const p = (line: string): string => `<p>${escapeHtml(line)}</p>`;
  const link = layout.link
    ? `<p><a href="${escapeHtml(layout.link.href)}">${escapeHtml(layout.link.label)}</a></p>\n` +
      `<p>Or copy this address into your browser:<br>${escapeHtml(layout.link.href)}</p>`
    : '';
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(layout.subject)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.5">',
    p(greeting),
    ...layout.paragraphs.map(p),
    link,
    ...layout.after.map(p),
    p(signature),
    '</body></html>',
  ]
    .filter(Boolean)
    .join('\n');

  return { subject: layout.subject, text, html };
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** `2026-11-21 16:00 UTC`: unambiguous whatever the reader's locale. */
function formatWhen(when: Date): string {
  return `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
