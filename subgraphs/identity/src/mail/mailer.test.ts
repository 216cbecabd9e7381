import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@platform/kernel/testing';
import { createMailer } from './mailer.js';
import { parseMail } from './mime.js';
import { extractLinkToken, readOutbox } from './outbox.js';
import { verificationEmail } from './templates.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ log: { level: 'info', pretty: false } }, 'identity', {
    write: (line: string) => void lines.push(line),
  });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

interface Received {
  from: string;
  to: string[];
  data: string;
}

/**
 * The smallest SMTP server nodemailer will talk to (`smtp-server` is not installed): EHLO
 * without extensions, MAIL, RCPT, DATA with dot-unstuffing, RSET, QUIT.
 */
async function startSmtpServer(): Promise<{ port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let data: string[] = [];
    let envelope: Received = { from: '', to: [], data: '' };
    const reply = (line: string): void => void socket.write(`${line}\r\n`);
    reply('220 localhost test SMTP');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push({ ...envelope, data: data.join('\r\n') });
            envelope = { from: '', to: [], data: '' };
            reply('250 2.0.0 queued');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 localhost');
        else if (verb === 'MAIL') {
          envelope.from = /<(.*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          envelope.to.push(/<(.*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          data = [];
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 5.5.2 not implemented');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const LINK = 'http://localhost:3000/verify-email?token=tok_abc-123.XYZ&next=%2Fhome';
const content = verificationEmail({ displayName: 'Zoë <Admin>', link: LINK, expiresInHours: 24 });

describe('createMailer without SMTP (outbox)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'identity-mail-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a parseable .eml that readOutbox returns, and logs no body', async () => {
    const { logger, records, lines } = capture();
    const outboxDir = join(dir, 'mail');
    const mailer = createMailer({ smtpUrl: null, from: 'Platform <no-reply@example.com>', outboxDir, logger });
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
    const mailer = createMailer({ smtpUrl: null, from: 'no-reply@example.com', outboxDir, logger: capture().logger });
    for (let i = 0; i < 5; i++) {
      await mailer.send({ to: `user${i}@example.com`, subject: `n${i}`, text: `body ${i}`, html: `<p>${i}</p>` });
    }
    const outbox = await readOutbox(outboxDir);
    expect(outbox.map((m) => m.subject)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(outbox.map((m) => m.to)).toEqual([0, 1, 2, 3, 4].map((i) => `user${i}@example.com`));
  });

  it('reads non-ASCII subjects, names and long lines back intact', async () => {
    const outboxDir = join(dir, 'unicode');
    const mailer = createMailer({
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

describe('createMailer with SMTP', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp.close();
  });

  it('delivers to a real SMTP server and writes no file', async () => {
    const { logger, records, lines } = capture();
    const outboxDir = join(tmpdir(), 'identity-mail-never-created');
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: 'Platform <no-reply@example.com>',
      outboxDir,
      logger,
    });
    const sent = await mailer.send({ to: 'zoe@example.com', ...content });
    await mailer.close();

    expect(sent.file).toBeUndefined();
    expect(sent.messageId).toMatch(/^<.+@.+>$/);
    expect(smtp.received).toHaveLength(1);
    const [delivery] = smtp.received;
    expect(delivery).toMatchObject({ from: 'no-reply@example.com', to: ['zoe@example.com'] });
    const parsed = parseMail(delivery!.data);
    expect(parsed).toMatchObject({
      to: 'zoe@example.com',
      subject: content.subject,
      messageId: sent.messageId,
      text: content.text,
      html: content.html,
    });
    expect(extractLinkToken(parsed.text)).toBe('tok_abc-123.XYZ');
    expect(records()).toEqual([
      expect.objectContaining({
        component: 'mailer',
        to: 'zoe@example.com',
        messageId: sent.messageId,
        msg: 'mail sent',
      }),
    ]);
    expect(lines.join('')).not.toContain('tok_abc');
    await expect(stat(outboxDir)).rejects.toThrow();
  });

  it('rejects when the server is unreachable', async () => {
    const port = smtp.port;
    await smtp.close();
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'no-reply@example.com',
      outboxDir: tmpdir(),
      logger: capture().logger,
    });
    await expect(mailer.send({ to: 'zoe@example.com', subject: 's', text: 't', html: 'h' })).rejects.toThrow();
    await mailer.close();
    smtp = await startSmtpServer();
  });
});
