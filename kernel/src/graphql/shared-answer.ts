import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { IncomingHttpHeaders } from 'node:http';
import { CallerSpecificError } from '../errors.js';
import type { AuthenticatedUser, GraphQLContext } from './context.js';
import { permissionCheck, permissionFingerprint, type PermissionResolver } from './permissions.js';

/**
 * Shared answers: the gateway may let every subscriber holding the same permissions share one
 * upstream subscription and one completion per event. It asks a subgraph for an answer that
 * depends on the caller only through their permission set, and the subgraph says which set
 * that was. Fields that must know who the caller is carry `@tag(name: "perCaller")` (see
 * `perCaller()`) and are never asked for this way.
 */

/** HTTP request header asking for a shared answer; its value is `'1'`. */
export const SHARED_ANSWER_HEADER = 'x-platform-shared-answer';

/** Key of graphql-ws's `connection_init` payload asking for shared answers on the whole socket; its value is `true`. */
export const SHARED_ANSWER_PARAM = 'sharedAnswer';

/**
 * Key of a shared answer's `extensions`: the `permissionFingerprint` of the permission set the
 * answer was computed with, present when permissions were consulted. A refusal carrying it
 * applies to everyone holding that set.
 */
export const PERMISSIONS_EXTENSION = 'permissions';

/** Whether an HTTP request asks for a shared answer (`x-platform-shared-answer: 1`). */
export function asksSharedAnswer(headers: IncomingHttpHeaders): boolean {
  return headers[SHARED_ANSWER_HEADER] === '1';
}

/** Whether a graphql-ws `connection_init` payload asks for shared answers (`sharedAnswer: true`). */
export function socketAsksSharedAnswer(params: Readonly<Record<string, unknown>> | undefined): boolean {
  return params?.[SHARED_ANSWER_PARAM] === true;
}

/**
 * The fingerprint of the permissions each shared-answer `can()` looked up, by that function:
 * shallow copies of a context (Apollo makes some) share it.
 */
const fingerprints = new WeakMap<object, string>();

const CALLER_FIELDS = ['id', 'sessionId', 'token'] as const;

/**
 * The caller as a shared answer may see them: signed in (truthy, so `authenticated` passes), and
 * nothing else. Reading who they are (id, session, token) throws CALLER_SPECIFIC, as does
 * copying the object.
 */
export function callerBlindUser(): AuthenticatedUser {
  const view = {};
  for (const field of CALLER_FIELDS) {
    Object.defineProperty(view, field, {
      enumerable: true,
      get() {
        throw new CallerSpecificError();
      },
    });
  }
  return Object.freeze(view) as AuthenticatedUser;
}

/**
 * `context` in shared-answer mode: `user` hides who the caller is (see `callerBlindUser`),
 * while `can()` still checks the real caller's permissions, looked up at most once, and notes
 * which set it found for `sharedAnswerExtensions`.
 */
export function sharedAnswerContext<Context extends Pick<GraphQLContext, 'user' | 'can'>>(
  context: Context,
  resolver: PermissionResolver,
): Context {
  const { user } = context;
  const can = permissionCheck(resolver, user, (effective) => fingerprints.set(can, permissionFingerprint(effective)));
  return { ...context, user: user ? callerBlindUser() : undefined, can };
}

/**
 * What a result computed with `context` adds to its `extensions`: `{ permissions: fingerprint }`
 * when it is a shared-answer context whose `can()` looked the permissions up, else nothing.
 */
export function sharedAnswerExtensions(context: unknown): { [PERMISSIONS_EXTENSION]: string } | undefined {
  const can = typeof context === 'object' && context !== null ? (context as { can?: unknown }).can : undefined;
  const fingerprint = typeof can === 'function' ? fingerprints.get(can) : undefined;
  return fingerprint === undefined ? undefined : { [PERMISSIONS_EXTENSION]: fingerprint };
}

/** `result` with `sharedAnswerExtensions(context)` added to its extensions; `result` itself when there are none. */
export function withSharedAnswerExtensions<Result extends { extensions?: Record<string, unknown> }>(
  result: Result,
  context: unknown,
): Result {
  const extensions = sharedAnswerExtensions(context);
  return extensions ? { ...result, extensions: { ...result.extensions, ...extensions } } : result;
}

/** Adds `extensions.permissions` to the HTTP responses of shared-answer operations that consulted permissions. */
export function sharedAnswerPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (response.body.kind !== 'single') return;
          const body = response.body;
          body.singleResult = withSharedAnswerExtensions(body.singleResult, contextValue);
        },
      };
    },
  };
}
