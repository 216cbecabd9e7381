import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseMail, type ParsedMail } from '../mail/mime.js';

/** A message the test SMTP server accepted: its envelope and the message as parsed. */
export interface ReceivedMail extends ParsedMail {
  envelope: { from: string; to: string[] };
  raw: string;
}

/**
 * A real SMTP server (the `smtp-server` package) in its own process on a loopback port: plain,
 * no TLS, any or no login. It can be told to refuse deliveries, as a mail server under load or
 * one that rejects an address does.
 */
export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`: what `smtp.url` takes. */
  readonly url: string;
  readonly port: number;
  /**
   * Refuses the next `count` deliveries (`'always'`: all, until told otherwise) after the message
   * was sent (the reply to DATA), with `code`: 451 (try again later) by default, 550 for a
   * permanent refusal. `refuse(0)` accepts again.
   */
  refuse(count: number | 'always', code?: number): Promise<void>;
  /** Every message accepted so far, oldest first. */
  received(): Promise<ReceivedMail[]>;
  /** Deliveries answered so far, refused or accepted. */
  attempts(): Promise<number>;
  close(): Promise<void>;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** Starts a {@link TestSmtpServer}; `close()` ends its process. */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const script = fileURLToPath(new URL('./smtp-server-process.mjs', import.meta.url));
  const child: ChildProcess = fork(script, [], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // Plain Node: the script needs none of the test runner's flags or loaders.
    execArgv: [],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`test SMTP server: ${message.error}`));
    else waiter.resolve(message.result);
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`test SMTP server exited (${code})`));
    pending.clear();
  });
  const call = (cmd: string, args: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...args });
    });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    pending.set(0, { resolve: resolve as (value: unknown) => void, reject });
  });
  const received = async (): Promise<{
    attempts: number;
    messages: Array<{ from: string; to: string[]; raw: string }>;
  }> => (await call('received')) as never;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    refuse: async (count, code = 451) => void (await call('refuse', { count, code })),
    received: async () =>
      (await received()).messages.map(({ from, to, raw }) => ({ envelope: { from, to }, raw, ...parseMail(raw) })),
    attempts: async () => (await received()).attempts,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
