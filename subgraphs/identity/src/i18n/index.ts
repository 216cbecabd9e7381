import { msg, registerMessages, type Message, type MessageParams } from '@platform/kernel';
import { de } from './de.js';
import { en } from './en.js';

/** identity's namespace of texts: errors, validation and mails (keys `identity:<group>.<key>`). */
export const IDENTITY_MESSAGES = 'identity';

registerMessages(IDENTITY_MESSAGES, { en, de });

/** A Message from identity's catalogs: `text('email.invalid')`. */
export function text(key: string, params?: MessageParams): Message {
  return msg(`${IDENTITY_MESSAGES}:${key}`, params);
}
