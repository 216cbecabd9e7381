import Negotiator from 'negotiator';

/**
 * The languages the platform answers in: every registered catalog has each of them (the
 * catalog-completeness test holds modules to it). A list in code rather than config: a language
 * is usable only once its catalogs are written, which is a code change anyway.
 */
export const SUPPORTED_LOCALES = ['en', 'de'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

/** What a request without a usable `Accept-Language` gets, and what logs and audit records stay in. */
export const DEFAULT_LOCALE: Locale = 'en';

/** Whether `value` is one of {@link SUPPORTED_LOCALES} (exactly: `de`, not `de-AT`). */
export function isSupportedLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (SUPPORTED_LOCALES as readonly string[]).includes(value);
}

/**
 * The supported locale an `Accept-Language` header prefers (RFC 9110: q-values, `*`, `q=0`
 * refusing a language), a regional tag falling back to its language (`de-AT` → `de`); the
 * default when the header is absent, malformed or names nothing supported.
 */
export function negotiateLocale(header: string | string[] | undefined | null): Locale {
  const value = Array.isArray(header) ? header.join(', ') : header;
  // Beyond a sane length a header is noise (or an attack on the parser): answer the default.
  if (!value || value.length > 512) return DEFAULT_LOCALE;
  const preferred = new Negotiator({ headers: { 'accept-language': value } }).language([...SUPPORTED_LOCALES]);
  return isSupportedLocale(preferred) ? preferred : DEFAULT_LOCALE;
}
