// A server under test that is not the platform (the bare node:http ceiling, stock @apollo/gateway,
// Hive Gateway): a child process on a loopback port, ready once a probe request answers 2xx.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcessOptions {
  /** Shown in errors and reports. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Answers 2xx once the server is ready (a GET, or a POST with `probeBody`). */
  probeUrl: string;
  probeBody?: string;
  readyTimeoutMs?: number;
}

export class ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #exitCode: number | null | undefined;
  readonly #tail: string[] = [];

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
    this.pid = child.pid!;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.#exitCode = code;
        resolve(code);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line) this.#tail.push(line.slice(0, 2000));
        if (this.#tail.length > 200) this.#tail.splice(0, this.#tail.length - 200);
      });
    }
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(options.name, child);
    try {
      await server.#waitReady(options);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  get exited(): Promise<number | null> {
    return this.#exited;
  }

  tail(lines = 30): string {
    return this.#tail.slice(-lines).join('\n');
  }

  /** SIGINT, then SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGINT');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  async #waitReady(options: ServerProcessOptions): Promise<void> {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`${this.name} exited (code ${this.#exitCode}) before it was ready:\n${this.tail()}`);
      try {
        const response = await fetch(options.probeUrl, {
          method: options.probeBody ? 'POST' : 'GET',
          headers: options.probeBody ? { 'content-type': 'application/json' } : {},
          body: options.probeBody,
          signal: AbortSignal.timeout(2000),
        });
        const text = await response.text();
        if (response.ok && !text.includes('"errors"')) return;
        last = `${response.status} ${text.slice(0, 300)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(
      `${this.name} was not ready after ${options.readyTimeoutMs ?? 60_000} ms (last: ${last}):\n${this.tail()}`,
    );
  }
}
