export {
  createModuleMail,
  mailQueue,
  MAIL_QUEUE,
  type ModuleMail,
  type SendMail,
  type MailJob,
  type MailSentPayload,
  type MailFailedPayload,
} from './mail.js';
export { escapeHtml, type MailContent, type MailTemplate, type MailTemplates } from './templates.js';
export {
  createMailTransport,
  isPermanentMailError,
  type MailMessage,
  type MailTransport,
  type SentMail,
} from './transport.js';
