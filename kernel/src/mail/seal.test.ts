import { describe, expect, it } from '@jest/globals';
import { MailSeal } from './seal.js';

const SECRET = 'a deployment secret of at least thirty-two characters';

describe('MailSeal', () => {
  const seal = new MailSeal(() => SECRET);
  const data = { link: 'https://x.test/reset?token=tok_secret', name: 'Zoë' };

  it('opens what it sealed for the same mail, and hides it', () => {
    const sealed = seal.seal(data, 'mail-1');
    expect(sealed).not.toContain('tok_secret');
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('tok_secret');
    expect(seal.open(sealed, 'mail-1')).toEqual(data);
    expect(seal.seal(null, 'mail-1')).not.toBe(seal.seal(null, 'mail-1'));
  });

  it.each([
    ['another mail', (sealed: string) => new MailSeal(() => SECRET).open(sealed, 'mail-2')],
    ['another secret', (sealed: string) => new MailSeal(() => `${SECRET}!`).open(sealed, 'mail-1')],
    [
      'altered bytes',
      (sealed: string) => {
        const bytes = Buffer.from(sealed, 'base64url');
        bytes[bytes.length - 1]! ^= 1;
        return seal.open(bytes.toString('base64url'), 'mail-1');
      },
    ],
  ])('refuses to open it for %s', (_name, open) => {
    expect(() => open(seal.seal(data, 'mail-1'))).toThrow();
  });
});
