/**
 * The error codes a client can meet, as docs/api.md lists them: `extensions.code`, the HTTP
 * status the gateway answers with, when it happens and what to do. The kernel's typed errors
 * (kernel/src/errors.ts) carry the codes; api-docs.test.ts checks this table against the
 * classes the kernel exports, so a changed code or status fails there.
 */
export interface ErrorCodeDoc {
  code: string;
  /** The HTTP status, as the gateway sends it. */
  http: string;
  /** Where it arises: before execution (the whole operation) or on one field. */
  scope: 'request' | 'field' | 'request or field';
  meaning: string;
}

export const ERROR_CODES: readonly ErrorCodeDoc[] = [
  {
    code: 'BAD_USER_INPUT',
    http: '400 when nothing else was answered (`data` null), else 200',
    scope: 'field',
    meaning:
      'An argument or input field is invalid; `extensions.fields` lists `{ field, message }` for each. Fix the input; retrying as is fails again.',
  },
  {
    code: 'UNAUTHENTICATED',
    http: '200',
    scope: 'request or field',
    meaning:
      'The field needs a signed-in caller, or the bearer token is invalid, expired or revoked ("Invalid or expired token", `data` null). Refresh the token once (`refreshToken`), else sign in again.',
  },
  {
    code: 'MFA_REQUIRED',
    http: '200',
    scope: 'field',
    meaning:
      '`login` only: the password was right and the account also asks for a second factor. Ask the user for the code from their authenticator app (or a recovery code) and call `login` again with `totp` ([identity.md](identity.md#two-factor-sign-in-totp)).',
  },
  {
    code: 'FORBIDDEN',
    http: '200',
    scope: 'field',
    meaning:
      'The caller lacks a permission: `extensions.permission` names it (delegation refusals list all of them in `missing`). The field is null; other fields still answer.',
  },
  {
    code: 'NOT_FOUND',
    http: '200',
    scope: 'field',
    meaning:
      'The object named by an argument does not exist (`extensions.resource`). Lookups such as `post(id)` answer null instead.',
  },
  {
    code: 'CONFLICT',
    http: '200',
    scope: 'field',
    meaning: 'The change conflicts with the current state (a name already taken, a role still in use).',
  },
  {
    code: 'RATE_LIMITED',
    http: '429 with `Retry-After`',
    scope: 'request or field',
    meaning:
      'A budget of `gateway.rateLimits` is spent (per address, per user, or per field and argument such as `Mutation.login` per email). `extensions.retryAfter` says how many seconds to wait.',
  },
  {
    code: 'QUERY_TOO_COMPLEX',
    http: '400',
    scope: 'request',
    meaning:
      'The operation breaks a limit of `gateway.limits` (depth, aliases, root fields, directives, tokens, cost); `extensions.limit`, `max` and `measured` say which and by how much. Nothing was executed.',
  },
  {
    code: 'RESPONSE_TOO_LARGE',
    http: '200',
    scope: 'request',
    meaning: 'The answer grew past `gateway.limits.maxResponseBytes`; ask for fewer items or fields.',
  },
  {
    code: 'REQUEST_ABORTED',
    http: '200',
    scope: 'field',
    meaning:
      'The work was stopped because its deadline passed or the client went away; a client past the deadline usually sees `TIMEOUT` first.',
  },
  {
    code: 'TIMEOUT',
    http: '503, connection closed',
    scope: 'request',
    meaning: 'The request ran past `http.requestTimeoutMs` (30 s by default); it was stopped. Retry, or ask for less.',
  },
  {
    code: 'UNAVAILABLE',
    http: '200 (`extensions.retryAfter`)',
    scope: 'request or field',
    meaning:
      "A service cannot confirm the caller's session is still valid (identity unreachable past `auth.revocationBoundSec`); signed-in requests are refused until it can. Retry shortly.",
  },
  {
    code: 'CALLER_SPECIFIC',
    http: '200',
    scope: 'field',
    meaning:
      "A module's bug, not the client's: a field's answer depends on the caller but its rule lacks `perCaller()`; it fails closed instead of sharing one caller's answer.",
  },
  {
    code: 'INTERNAL_SERVER_ERROR',
    http: '200',
    scope: 'request or field',
    meaning:
      'An unexpected failure, masked as "Internal server error"; `extensions.requestId` finds the details in the logs.',
  },
  {
    code: 'GRAPHQL_PARSE_FAILED',
    http: '400',
    scope: 'request',
    meaning: 'The document is not valid GraphQL syntax.',
  },
  {
    code: 'GRAPHQL_VALIDATION_FAILED',
    http: '400',
    scope: 'request',
    meaning: 'The document does not fit the schema (an unknown field, a missing argument, a wrong type).',
  },
  {
    code: 'OPERATION_RESOLUTION_FAILURE',
    http: '400',
    scope: 'request',
    meaning: 'No operation to run under the given `operationName`.',
  },
  {
    code: 'BAD_REQUEST',
    http: '400 (405 for a mutation sent as GET)',
    scope: 'request',
    meaning:
      'The HTTP request is malformed, or refused by CSRF prevention: a GET, or a POST with a simple content-type, needs `content-type: application/json` or an `apollo-require-preflight` header ([clients.md](clients.md#get-post-and-csrf-prevention)).',
  },
  {
    code: 'PERSISTED_QUERY_NOT_FOUND',
    http: '404',
    scope: 'request',
    meaning: 'An automatic persisted query hash the gateway does not hold: send it again with the query.',
  },
  {
    code: 'PERSISTED_QUERY_NOT_SUPPORTED',
    http: '400',
    scope: 'request',
    meaning: 'Persisted queries are not accepted here.',
  },
];
