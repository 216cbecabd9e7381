import {
  DEFAULT_LOCALE,
  escapeHtml,
  isSupportedLocale,
  type Locale,
  type MailContent,
  type MessageParams,
} from '@platform/kernel';
import { text } from '../i18n/index.js';

/** Subject and both bodies of one email. */
export type EmailContent = MailContent;

/** What every template takes: whom it greets, the product it speaks for, and in which language. */
interface Common {
  /** Null or empty greets without a name. */
  displayName?: string | null;
  /** The name shown in subject and signature (config `productName`); "Platform" by default. */
  productName?: string;
  /** A supported locale (`en`, `de`); English when absent or unknown. */
  locale?: string;
}

const DEFAULT_PRODUCT = 'Platform';

/** Sent after sign-up and on email change: the link proves the address is the user's. */
export function verificationEmail(input: Common & { link: string; expiresInHours: number }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const t = (key: string, params: MessageParams = {}): string =>
    text(`mail.verification.${key}`, params).in(lang(input));
  const expiry = text('mail.hours', { count: input.expiresInHours });
  return render({
    subject: t('subject', { product }),
    displayName: input.displayName,
    product,
    locale: input.locale,
    paragraphs: [t('body')],
    link: { href: input.link, label: t('link') },
    after: [t('expires', { expiry }), t('ignore', { product })],
  });
}

/** Sent on "forgot password"; the link lets whoever holds this mailbox choose a new password. */
export function passwordResetEmail(input: Common & { link: string; expiresInMinutes: number }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const t = (key: string, params: MessageParams = {}): string =>
    text(`mail.passwordReset.${key}`, params).in(lang(input));
  const expiry = text('mail.minutes', { count: input.expiresInMinutes });
  return render({
    subject: t('subject', { product }),
    displayName: input.displayName,
    product,
    locale: input.locale,
    paragraphs: [t('body', { product })],
    link: { href: input.link, label: t('link') },
    after: [t('expires', { expiry }), t('ignore')],
  });
}

/**
 * Sent instead of a second account when someone registers with an address that has one: the
 * owner hears of it, while whoever registered gets the same answer as for a new address.
 */
export function registrationAttemptEmail(input: Common & { resetLink: string }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const t = (key: string, params: MessageParams = {}): string =>
    text(`mail.registrationAttempt.${key}`, params).in(lang(input));
  return render({
    subject: t('subject', { product }),
    displayName: input.displayName,
    product,
    locale: input.locale,
    paragraphs: [t('body', { product }), t('hint')],
    link: { href: input.resetLink, label: t('link') },
    after: [t('ignore')],
  });
}

/** Sent after any password change, so a takeover does not go unnoticed by the real owner. */
export function passwordChangedEmail(input: Common & { when: Date; supportEmail?: string }): EmailContent {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const t = (key: string, params: MessageParams = {}): string =>
    text(`mail.passwordChanged.${key}`, params).in(lang(input));
  const support = input.supportEmail ? t('contactSupportAt', { email: input.supportEmail }) : t('contactSupport');
  return render({
    subject: t('subject', { product }),
    displayName: input.displayName,
    product,
    locale: input.locale,
    paragraphs: [t('body', { product, when: formatWhen(input.when) })],
    after: [t('nothingToDo'), t('notYou', { support })],
  });
}

export interface Layout {
  subject: string;
  displayName: string | null | undefined;
  product: string;
  /** The language of the greeting, signature and link hint (the rest is the caller's); English by default. */
  locale?: string;
  paragraphs: string[];
  link?: { href: string; label: string };
  after: string[];
}

/** The mail's language: its data's locale when supported, else English. */
function lang(input: { locale?: string }): Locale {
  return isSupportedLocale(input.locale) ? input.locale : DEFAULT_LOCALE;
}

export function render(layout: Layout): EmailContent {
  const locale = lang(layout);
  // A display name is user input: no line breaks or control characters in the text body either.
  const name = layout.displayName?.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  const greeting = (name ? text('mail.greeting', { name }) : text('mail.greetingNoName')).in(locale);
  const signature = text('mail.signature', { product: layout.product }).in(locale);

  const body = [
    greeting,
    ...layout.paragraphs,
    ...(layout.link ? [layout.link.href] : []),
    ...layout.after,
    signature,
  ].join('\n\n');

  const p = (line: string): string => `<p>${escapeHtml(line)}</p>`;
  const link = layout.link
    ? `<p><a href="${escapeHtml(layout.link.href)}">${escapeHtml(layout.link.label)}</a></p>\n` +
      `<p>${escapeHtml(text('mail.copyLink').in(locale))}<br>${escapeHtml(layout.link.href)}</p>`
    : '';
  const html = [
    '<!doctype html>',
    `<html lang="${locale}"><head><meta charset="utf-8"><title>${escapeHtml(layout.subject)}</title></head>`,
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

  return { subject: layout.subject, text: body, html };
}

/** `2026-11-21 16:00 UTC`: unambiguous whatever the reader's locale. */
function formatWhen(when: Date): string {
  return `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
