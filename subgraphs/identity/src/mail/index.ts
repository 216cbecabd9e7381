export { createMailer, type Mailer, type MailerOptions, type MailMessage, type SentMail } from './mailer.js';
export { readOutbox, extractLinkToken, type OutboxMessage } from './outbox.js';
export { parseMail, type ParsedMail } from './mime.js';
export {
  verificationEmail,
  passwordResetEmail,
  passwordChangedEmail,
  registrationAttemptEmail,
  escapeHtml,
  type EmailContent,
} from './templates.js';
