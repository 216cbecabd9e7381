// authz's permissions endpoint played by a real HTTP server, and what RemotePermissions' tests share.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect } from '@jest/globals';
import { silent } from '../../events/__tests__/harness.js';
import type { AuthenticatedUser } from '../../graphql/context.js';
import type { EffectivePermissions } from '../../graphql/permissions.js';
import { RemotePermissions, type RemotePermissionsOptions } from '../remote-permissions.js';

export interface Grant {
  all: boolean;
  permissions: string[];
}

/**
 * authz's `GET /internal/permissions`, played by a real HTTP server: answers from `grants`
 * (by bearer token; `guest` without one), 401 for tokens it does not know. The answer is taken
 * when the request arrives, so a held request carries the state of that moment, as authz's
 * would.
 */
export class FakeAuthz {
  /** The Authorization header of every request, in order (undefined when absent). */
  readonly requests: Array<string | undefined> = [];
  readonly grants = new Map<string, Grant & { userId: string; organizationId?: string }>();
  guest: Grant = { all: false, permissions: ['blog.post.read'] };
  /** Overrides the status (and body) of every answer while set. */
  failWith: { status: number; body: unknown } | undefined;
  /** While set, answers wait for it. */
  gate: Promise<void> | undefined;
  readonly #server: Server;
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/internal/permissions') {
        res.writeHead(404).end();
        return;
      }
      const authorization = req.headers.authorization;
      this.requests.push(authorization);
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      const grant = token === undefined ? { userId: null, ...this.guest } : this.grants.get(token);
      const [status, body] = this.failWith
        ? [this.failWith.status, this.failWith.body]
        : grant
          ? [
              200,
              {
                userId: grant.userId,
                ...('organizationId' in grant ? { organizationId: grant.organizationId } : {}),
                all: grant.all,
                permissions: [...grant.permissions],
              },
            ]
          : [401, { error: 'Invalid or expired token' }];
      void (this.gate ?? Promise.resolve()).then(() => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
  }

  static async start(): Promise<FakeAuthz> {
    const authz = new FakeAuthz();
    await new Promise<void>((resolve) => authz.#server.listen(0, '127.0.0.1', resolve));
    authz.#port = (authz.#server.address() as AddressInfo).port;
    return authz;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** A signed-in user authz knows, with their grants. */
  user(grant: Partial<Grant> = {}): Required<Pick<AuthenticatedUser, 'id' | 'token'>> {
    const id = randomUUID();
    const token = `token-of-${id}`;
    this.grants.set(token, { userId: id, all: false, permissions: [], ...grant });
    return { id, token };
  }

  /** `user` acting in an organization: another token (as identity issues), with its own grants. */
  inOrganization(
    user: { id: string },
    grant: Partial<Grant> = {},
  ): Required<Pick<AuthenticatedUser, 'id' | 'token' | 'organizationId'>> {
    const organizationId = randomUUID();
    const token = `token-of-${user.id}-in-${organizationId}`;
    this.grants.set(token, { userId: user.id, organizationId, all: false, permissions: [], ...grant });
    return { id: user.id, token, organizationId };
  }

  grant(user: { token: string }, permissions: string[]): void {
    this.grants.get(user.token)!.permissions = permissions;
  }

  /** Requests made with `user`'s token, or anonymous ones without a user. */
  requestsOf(user?: { token: string }): number {
    const header = user ? `Bearer ${user.token}` : undefined;
    return this.requests.filter((value) => value === header).length;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

export const effective = (permissions: string[], all = false): EffectivePermissions => ({
  all,
  permissions: new Set(permissions),
});

/** Settles `promise` into its error, failing the test if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

/**
 * A fresh FakeAuthz before each test (handed to `current.set`; a test may replace it, `current.get`
 * gives the one to stop) and a maker of RemotePermissions against it, all closed after the test.
 */
export function useFakeAuthz(current: {
  get(): FakeAuthz;
  set(authz: FakeAuthz): void;
}): (options?: Partial<RemotePermissionsOptions>) => RemotePermissions {
  let remotes: RemotePermissions[] = [];
  beforeEach(async () => {
    current.set(await FakeAuthz.start());
    remotes = [];
  });
  afterEach(async () => {
    await Promise.all(remotes.map((made) => made.close()));
    await current.get().stop();
  });
  return (options = {}) => {
    const made = new RemotePermissions({ url: current.get().url, logger: silent, ...options });
    remotes.push(made);
    return made;
  };
}
