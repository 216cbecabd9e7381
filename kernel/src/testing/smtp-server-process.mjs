// A real SMTP server in its own process, for tests (started by smtp-server.ts through fork).
// Plain SMTP on loopback, no TLS, authentication optional. Its parent steers it over the IPC
// channel: refuse the next N deliveries (or all) with a reply code, list what it received.
import { SMTPServer } from 'smtp-server';

/** Deliveries still to refuse (Infinity: all) and the reply code to refuse them with. */
let refusals = { remaining: 0, code: 451 };
/** Every DATA the server answered, accepted or refused. */
let attempts = 0;
/** Accepted messages: envelope and raw message. */
const received = [];

const server = new SMTPServer({
  secure: false,
  authOptional: true,
  allowInsecureAuth: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onAuth: (auth, _session, callback) => callback(null, { user: auth.username }),
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      attempts += 1;
      if (refusals.remaining > 0) {
        refusals.remaining -= 1;
        const error = new Error(refusals.code >= 500 ? 'Mailbox unavailable' : 'Try again later');
        error.responseCode = refusals.code;
        callback(error);
        return;
      }
      received.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
        raw: Buffer.concat(chunks).toString('latin1'),
      });
      callback(null, 'queued');
    });
  },
});

const commands = {
  refuse: ({ count, code }) => {
    refusals = { remaining: count === 'always' ? Infinity : count, code: code ?? 451 };
  },
  received: () => ({ attempts, messages: received }),
};

process.on('message', (message) => {
  const command = commands[message.cmd];
  try {
    process.send({ id: message.id, result: command ? (command(message) ?? null) : null });
  } catch (error) {
    process.send({ id: message.id, error: String(error) });
  }
});

// Gone with its parent, however the parent ended.
process.on('disconnect', () => server.close(() => process.exit(0)));

server.on('error', (error) => {
  process.send({ id: 0, error: String(error) });
});
server.listen(0, '127.0.0.1', () => {
  process.send({ id: 0, result: { port: server.server.address().port } });
});
