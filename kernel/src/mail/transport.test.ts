import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../logging/logger.js';
import { startSmtpServer, type TestSmtpServer } from '../testing/smtp-server.js';
import { parseMail } from './mime.js';
import { extractLinkToken, readOutbox } from './read-outbox.js';
import { createMailTransport, isPermanentMailError } from './transport.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ log: { level: 'info', pretty: false } }, 'kernel', {
    write: (line: string) => void lines.push(line),
  });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const LINK = 'http://localhost:3000/verify-email?token=tok_abc-123.XYZ&next=%2Fhome';
const content = {
  subject: 'Verify your email address for Platform',
  text: `Hi Zoë <Admin>,\n\n${LINK}\n\n— The Platform team`,
  html: `<p>Hi Zoë &lt;Admin&gt;,</p>\n<p><a href="${LINK.replace(/&/g, '&amp;')}">Verify</a></p>`,
};

describe('createMailTransport without SMTP (outbox)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kernel-mail-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a parseable .eml that readOutbox returns, and logs no body', async () => {
    const { logger, records, lines } = capture();
    const outboxDir = join(dir, 'mail');
    const mailer = createMailTransport({ smtpUrl: null, from: 'Platform <no-reply@example.com>', outboxDir, logger });
    const sent = await mailer.send({ to: 'zoe@example.com', ...content });
    await mailer.close();

    expect(sent.file).toBeDefined();
    const file = sent.file!;
    expect(file.startsWith(outboxDir)).toBe(true);
    expect(file).toMatch(/\/\d{8}T\d{9}Z-\d{6}-[0-9a-f]{8}\.eml$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(outboxDir)).toEqual([file.slice(outboxDir.length + 1)]); // no temp file left

    const raw = await readFile(file, 'latin1');
    expect(raw).toContain('\r\n');
    const parsed = parseMail(raw);
    expect(parsed).toMatchObject({ to: 'zoe@example.com', subject: content.subject, messageId: sent.messageId });

    const outbox = await readOutbox(outboxDir);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toEqual({
      file,
      to: 'zoe@example.com',
      from: 'Platform <no-reply@example.com>',
      subject: 'Verify your email address for Platform',
      messageId: sent.messageId,
      date: expect.any(Date),
      text: content.text,
      html: content.html,
    });
    expect(extractLinkToken(outbox[0]!.text)).toBe('tok_abc-123.XYZ');
    expect(extractLinkToken(outbox[0]!.html)).toBe('tok_abc-123.XYZ');

    expect(records()).toEqual([
      expect.objectContaining({
        level: 'info',
        component: 'mailer',
        to: 'zoe@example.com',
        subject: content.subject,
        file,
        msg: 'mail written to outbox',
      }),
    ]);
    expect(lines.join('')).not.toContain('tok_abc');
  });

  it('lists messages oldest first, including several written in the same millisecond', async () => {
    const outboxDir = join(dir, 'order');
    const mailer = createMailTransport({
      smtpUrl: null,
      from: 'no-reply@example.com',
      outboxDir,
      logger: capture().logger,
    });
    for (let i = 0; i < 5; i++) {
      await mailer.send({ to: `user${i}@example.com`, subject: `n${i}`, text: `body ${i}`, html: `<p>${i}</p>` });
    }
    const outbox = await readOutbox(outboxDir);
    expect(outbox.map((m) => m.subject)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(outbox.map((m) => m.to)).toEqual([0, 1, 2, 3, 4].map((i) => `user${i}@example.com`));
  });

  it('reads non-ASCII subjects, names and long lines back intact', async () => {
    const outboxDir = join(dir, 'unicode');
    const mailer = createMailTransport({
      smtpUrl: null,
      from: 'Plâtform <no-reply@example.com>',
      outboxDir,
      logger: capture().logger,
    });
    const text = `Grüße, ${'long line with a token=abc '.repeat(20)}\n.leading dot\nend`;
    await mailer.send({ to: 'Zoë <zoe@example.com>', subject: 'Réinitialisez — 密码', text, html: `<p>Grüße</p>` });
    const [message] = await readOutbox(outboxDir);
    expect(message).toMatchObject({
      to: 'Zoë <zoe@example.com>',
      from: 'Plâtform <no-reply@example.com>',
      subject: 'Réinitialisez — 密码',
      text,
      html: '<p>Grüße</p>',
    });
  });

  it('returns an empty list for a missing outbox', async () => {
    expect(await readOutbox(join(dir, 'nothing-here'))).toEqual([]);
  });
});

describe('createMailTransport with SMTP', () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp.close();
  });

  const transport = (logger = capture().logger) =>
    createMailTransport({
      smtpUrl: smtp.url,
      from: 'Platform <no-reply@example.com>',
      outboxDir: join(tmpdir(), 'kernel-mail-never-created'),
      logger,
    });

  it('delivers to a real SMTP server with the given Message-ID, writes no file, logs no body', async () => {
    const { logger, records, lines } = capture();
    const mailer = transport(logger);
    const sent = await mailer.send({ to: 'zoe@example.com', ...content, messageId: '<fixed-1@example.com>' });
    await mailer.close();

    expect(mailer.kind).toBe('smtp');
    expect(sent).toEqual({ messageId: '<fixed-1@example.com>' });
    const received = await smtp.received();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      envelope: { from: 'no-reply@example.com', to: ['zoe@example.com'] },
      to: 'zoe@example.com',
      subject: content.subject,
      messageId: '<fixed-1@example.com>',
      text: content.text,
      html: content.html,
    });
    expect(extractLinkToken(received[0]!.text)).toBe('tok_abc-123.XYZ');
    expect(records()).toEqual([
      expect.objectContaining({
        component: 'mailer',
        to: 'zoe@example.com',
        messageId: sent.messageId,
        msg: 'mail sent',
      }),
    ]);
    expect(lines.join('')).not.toContain('tok_abc');
    await expect(stat(join(tmpdir(), 'kernel-mail-never-created'))).rejects.toThrow();
  });

  it.each([
    ['a temporary refusal (451)', 451, false],
    ['a permanent refusal (550)', 550, true],
  ])('rejects on %s, permanent only for 5xx', async (_name, code, permanent) => {
    await smtp.refuse(1, code);
    const mailer = transport();
    const failure = await mailer.send({ to: 'zoe@example.com', subject: 's', text: 't', html: 'h' }).catch((e) => e);
    await mailer.close();
    expect(failure).toMatchObject({ responseCode: code });
    expect(isPermanentMailError(failure)).toBe(permanent);
  });

  it('rejects when the server is unreachable, as a transient failure', async () => {
    const port = smtp.port;
    await smtp.close();
    const mailer = createMailTransport({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'no-reply@example.com',
      outboxDir: tmpdir(),
      logger: capture().logger,
    });
    const failure = await mailer.send({ to: 'zoe@example.com', subject: 's', text: 't', html: 'h' }).catch((e) => e);
    await mailer.close();
    expect(failure).toMatchObject({ code: 'ESOCKET', message: expect.stringContaining('ECONNREFUSED') });
    expect(isPermanentMailError(failure)).toBe(false);
    smtp = await startSmtpServer();
  });
});
