import type { EmailContent } from '../mail/templates.js';
import { render } from '../mail/templates.js';

/** What the invitation mail carries (queued as JSON by `runtime.mail`). */
export interface InvitationMailData {
  organizationName: string;
  /** Who invited; null when they have no display name. */
  inviterName: string | null;
  role: string;
  link: string;
  expiresInHours: number;
  productName: string;
}

/**
 * Sent by `inviteMember` to the invited address. It greets nobody by name (the address may have
 * no account yet) and says who invited, so a stranger's invitation is recognisable as one.
 */
export function invitationEmail(data: InvitationMailData): EmailContent {
  const who = data.inviterName?.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim() || 'A member';
  const days = data.expiresInHours % 24 === 0 ? data.expiresInHours / 24 : undefined;
  const expiry =
    days !== undefined
      ? `${days} day${days === 1 ? '' : 's'}`
      : `${data.expiresInHours} hour${data.expiresInHours === 1 ? '' : 's'}`;
  return render({
    subject: `You are invited to join ${data.organizationName} on ${data.productName}`,
    displayName: null,
    product: data.productName,
    paragraphs: [
      `${who} invited you to join the organization ${data.organizationName} on ${data.productName} as ${data.role === 'member' ? 'a member' : `an ${data.role}`}.`,
      `To accept, sign in (or register) with this email address, verify it, and open the link below.`,
    ],
    link: { href: data.link, label: `Join ${data.organizationName}` },
    after: [
      `The link expires in ${expiry} and works once.`,
      `If you do not expect this invitation, ignore this email.`,
    ],
  });
}
