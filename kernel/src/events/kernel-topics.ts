/**
 * Topics the kernel itself records, in the outbox of whichever module it runs (the event's
 * `source`), for every module alike. No manifest declares them (a module publishes only topics
 * starting with its own name, and no module may be called `kernel`); `npm run generate` counts
 * them as published, so audit's generated topic list has them like any module's.
 */
export const KernelTopic = {
  /** A service-only route refused a caller without the service credential (see `CredentialRefusals`). */
  CredentialRefused: 'kernel.credential.refused',
  /** A mail was delivered, or written to the development outbox (`MailSentPayload`). */
  MailSent: 'kernel.mail.sent',
  /** A try to deliver a mail failed (`MailFailedPayload`); another follows unless `final`. */
  MailFailed: 'kernel.mail.failed',
  /** A mail's last try failed, or the server refused it for good: its job is dead, retryable. */
  MailDead: 'kernel.mail.dead',
} as const;

export type KernelTopic = (typeof KernelTopic)[keyof typeof KernelTopic];

/** Every topic of {@link KernelTopic}. */
export const KERNEL_TOPICS: readonly KernelTopic[] = Object.values(KernelTopic);

/** The name in `kernel.resource.verb`: reserved, no module may take it. */
export const KERNEL_TOPIC_PREFIX = 'kernel';
