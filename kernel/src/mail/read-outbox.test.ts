import { describe, expect, it } from '@jest/globals';
import { extractLinkToken } from './read-outbox.js';
import { parseMail } from './mime.js';

describe('extractLinkToken', () => {
  it.each([
    ['a plain link', 'Open http://localhost:3000/verify-email?token=abc123 now', 'token', 'abc123'],
    [
      'a link at the end of a line',
      'Hi,\n\nhttps://app.example.com/reset-password?token=r-_.9\n\nBye',
      'token',
      'r-_.9',
    ],
    ['a percent-encoded value', 'https://x.test/v?token=a%2Bb%3D', 'token', 'a+b='],
    ['another parameter', 'https://x.test/v?token=t&code=c1', 'code', 'c1'],
    ['the second link, when the first lacks it', 'https://x.test/help and https://x.test/v?token=t2', 'token', 't2'],
    ['an HTML href', '<a href="https://x.test/v?next=%2F&amp;token=h1">Verify</a>', 'token', 'h1'],
    ['no link', 'nothing to see', 'token', null],
    ['a link without the parameter', 'https://x.test/v?other=1', 'token', null],
  ])('%s', (_name, body, param, expected) => {
    expect(extractLinkToken(body, param)).toBe(expected);
  });
});

describe('parseMail', () => {
  it('reads a hand-written multipart message with base64, quoted-printable and encoded words', () => {
    const raw = [
      'To: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>',
      'Subject: =?UTF-8?B?R3LDvMOfZQ==?=',
      ' =?UTF-8?Q?_und_mehr?=',
      'Date: Sat, 21 Nov 2026 16:00:00 +0000',
      'Content-Type: multipart/alternative; boundary="--b1"',
      '',
      '----b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=C3=BC=C3=9Fe, a long =',
      'line',
      '----b1',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>Grüße</p>').toString('base64'),
      '----b1--',
      '',
    ].join('\r\n');
    expect(parseMail(raw)).toEqual({
      to: 'Zoë <zoe@example.com>',
      from: '',
      subject: 'Grüße und mehr',
      messageId: '',
      date: new Date('2026-11-21T16:00:00Z'),
      text: 'Grüße, a long line',
      html: '<p>Grüße</p>',
    });
  });
});
