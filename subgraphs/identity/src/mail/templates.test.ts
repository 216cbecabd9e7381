import { describe, expect, it } from '@jest/globals';
import { escapeHtml } from '@platform/kernel';
import { identityMailTemplates } from './index.js';
import { passwordChangedEmail, passwordResetEmail, registrationAttemptEmail, verificationEmail } from './templates.js';

const LINK = 'https://app.example.com/verify-email?token=abc&x=1';

describe('email templates', () => {
  const all = [
    ['verification', verificationEmail({ displayName: '<script>alert(1)</script>', link: LINK, expiresInHours: 24 })],
    ['reset', passwordResetEmail({ displayName: '<script>alert(1)</script>', link: LINK, expiresInMinutes: 60 })],
    ['changed', passwordChangedEmail({ displayName: '<script>alert(1)</script>', when: new Date() })],
    ['registration attempt', registrationAttemptEmail({ displayName: '<script>alert(1)</script>', resetLink: LINK })],
  ] as const;

  it.each(all)('%s escapes the display name in HTML and keeps it in text', (_name, email) => {
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('Hi &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(email.text).toContain('Hi <script>alert(1)</script>,');
  });

  it('verification: link in both bodies (escaped in HTML), expiry, default product name', () => {
    const email = verificationEmail({ displayName: 'Alice', link: LINK, expiresInHours: 24 });
    expect(email.subject).toBe('Verify your email address for Platform');
    expect(email.text).toContain(`\n${LINK}\n`);
    expect(email.text).toContain('expires in 24 hours');
    expect(email.html).toContain('href="https://app.example.com/verify-email?token=abc&amp;x=1"');
    expect(email.html).not.toContain('token=abc&x=1');
  });

  it('reset: says to ignore it if not asked for, with the expiry in minutes', () => {
    const email = passwordResetEmail({ displayName: null, link: LINK, expiresInMinutes: 1, productName: 'Acme' });
    expect(email.subject).toBe('Reset your Acme password');
    expect(email.text.startsWith('Hi,\n')).toBe(true);
    expect(email.text).toContain('expires in 1 minute ');
    expect(email.text).toMatch(/If you did not ask for this, ignore this email/);
    expect(email.html).toContain(escapeHtml(LINK));
  });

  it('changed: gives the time and says to reset and contact support if it was not you', () => {
    const email = passwordChangedEmail({
      displayName: 'Bob',
      when: new Date('2026-11-21T16:00:30Z'),
      productName: 'R&D <Tools>',
      supportEmail: 'help@example.com',
    });
    expect(email.subject).toBe('Your R&D <Tools> password was changed');
    expect(email.text).toContain('2026-11-21 16:00 UTC');
    expect(email.text).toMatch(/If it was not you, reset your password .* contact support at help@example.com/);
    expect(email.html).toContain('R&amp;D &lt;Tools&gt;');
    expect(email.html).not.toContain('<Tools>');
  });

  it('registration attempt: tells the owner, says to sign in or reset, and that nothing changed', () => {
    const resetLink = 'https://app.example.com/reset-password';
    const email = registrationAttemptEmail({ displayName: 'Alice', resetLink, productName: 'Acme' });
    expect(email.subject).toBe('Someone tried to register with your email address at Acme');
    expect(email.text.startsWith('Hi Alice,\n')).toBe(true);
    expect(email.text).toMatch(/Someone tried to create a new Acme account with this email address/);
    expect(email.text).toMatch(/If it was you, sign in with your password\. If you forgot it, ask for a reset link/);
    expect(email.text).toContain(`\n${resetLink}\n`);
    expect(email.text).toMatch(/If it was not you, you can ignore this email/);
    expect(email.html).toContain(`href="${resetLink}"`);
    expect(email.html).toContain('Reset your password');
  });

  it('keeps line breaks in a display name out of the text body', () => {
    const email = verificationEmail({ displayName: 'Eve\r\nBcc: x@evil.test', link: LINK, expiresInHours: 1 });
    expect(email.text.split('\n')[0]).toBe('Hi Eve Bcc: x@evil.test,');
  });

  it('renders the registered templates from data that went through JSON (the mail job sees that)', () => {
    const when = new Date('2026-11-21T16:00:30Z');
    const greeting = { displayName: 'Bob', productName: 'Acme' };
    const changed = identityMailTemplates.passwordChanged(
      JSON.parse(JSON.stringify({ ...greeting, when })) as { displayName: string; productName: string; when: string },
    );
    expect(changed).toEqual(passwordChangedEmail({ ...greeting, when }));
    expect(identityMailTemplates.verification({ ...greeting, link: LINK, expiresInHours: 24 })).toEqual(
      verificationEmail({ ...greeting, link: LINK, expiresInHours: 24 }),
    );
  });
});

describe('email templates in German', () => {
  it('verification: subject, greeting, link label, plural and signature in German, escaped in HTML', () => {
    const email = verificationEmail({
      displayName: 'Zoë <b>',
      link: LINK,
      expiresInHours: 1,
      productName: 'Acme',
      locale: 'de',
    });
    expect(email.subject).toBe('Bestätige deine E-Mail-Adresse für Acme');
    expect(email.text).toBe(
      [
        'Hallo Zoë <b>,',
        'Bitte bestätige, dass dies deine E-Mail-Adresse ist, indem du den Link unten öffnest.',
        LINK,
        'Der Link ist 1 Stunde lang gültig.',
        'Wenn du kein Konto bei Acme angelegt hast, kannst du diese E-Mail ignorieren.',
        '— Dein Acme-Team',
      ].join('\n\n'),
    );
    expect(email.html).toContain('<html lang="de">');
    expect(email.html).toContain('Hallo Zoë &lt;b&gt;,');
    expect(email.html).toContain(`<a href="${escapeHtml(LINK)}">E-Mail-Adresse bestätigen</a>`);
    expect(email.html).toContain('Oder kopiere diese Adresse in deinen Browser:');
  });

  it('reset: minutes in the plural', () => {
    const email = passwordResetEmail({ link: LINK, expiresInMinutes: 30, locale: 'de' });
    expect(email.subject).toBe('Setze dein Passwort für Platform zurück');
    expect(email.text).toContain('Der Link ist 30 Minuten lang gültig und funktioniert einmal.');
    expect(email.text.startsWith('Hallo,')).toBe(true);
  });

  it('changed and registration attempt speak German too', () => {
    const changed = passwordChangedEmail({
      when: new Date('2026-11-21T16:00:00Z'),
      supportEmail: 'help@example.com',
      locale: 'de',
    });
    expect(changed.subject).toBe('Dein Passwort für Platform wurde geändert');
    expect(changed.text).toContain('am 2026-11-21 16:00 UTC geändert');
    expect(changed.text).toContain('wende dich an den Support unter help@example.com.');
    const attempt = registrationAttemptEmail({ resetLink: LINK, locale: 'de' });
    expect(attempt.subject).toBe('Jemand wollte sich mit deiner E-Mail-Adresse bei Platform registrieren');
  });

  it('falls back to English for an unsupported locale', () => {
    const email = verificationEmail({ link: LINK, expiresInHours: 2, locale: 'fr' });
    expect(email.subject).toBe('Verify your email address for Platform');
    expect(email.text).toContain('The link expires in 2 hours.');
    expect(email.html).toContain('<html lang="en">');
  });

  it('renders the registered templates in the locale their data names', () => {
    const data = JSON.parse(
      JSON.stringify({ displayName: null, productName: 'Acme', locale: 'de', link: LINK, expiresInHours: 48 }),
    );
    expect(identityMailTemplates.verification(data).text).toContain('48 Stunden');
  });
});
