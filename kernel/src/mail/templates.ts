/** Subject and both bodies of one email, what a template renders. */
export interface MailContent {
  subject: string;
  /** The plain-text body. */
  text: string;
  /** The HTML body: escape every value that is not markup ({@link escapeHtml}). */
  html: string;
}

/**
 * Renders one mail from its data. It runs in the mail job, not where `send` was called: `data` has
 * been through JSON by then (a `Date` arrives as its ISO string), and a throw fails the mail for good.
 */
export type MailTemplate<Data = never> = (data: Data) => MailContent;

/** A module's templates by name (`defineModule({ mail: { templates } })`). */
export type MailTemplates = Readonly<Record<string, MailTemplate<never>>>;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}
