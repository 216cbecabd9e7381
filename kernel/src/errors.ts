import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DEFAULT_LOCALE, Message, msg, textIn } from './i18n/index.js';

/** The closed list of error codes clients can rely on (`extensions.code`). */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  MFA_REQUIRED: 'MFA_REQUIRED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  REQUEST_ABORTED: 'REQUEST_ABORTED',
  CALLER_SPECIFIC: 'CALLER_SPECIFIC',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * One problem with one input field, e.g. `{ field: 'title', message: 'must not be empty' }`.
 * Made by {@link fieldError} from a {@link Message}, it also carries its catalog key (hidden:
 * not in JSON, not compared by tests' `toEqual`), and is answered in the caller's language.
 */
export interface FieldError {
  field: string;
  message: string;
}

const FIELD_MESSAGE = Symbol('field message');
type KeyedFieldError = FieldError & { [FIELD_MESSAGE]?: Message };

/**
 * A field error; with a Message, its English text is `message` and it is translated at response
 * time. Spreading it (`{ ...problem }`) drops the key: rename with {@link renamedField}.
 */
export function fieldError(field: string, message: string | Message): FieldError {
  const error: FieldError = { field, message: textIn(message) };
  if (message instanceof Message) Object.defineProperty(error, FIELD_MESSAGE, { value: message, enumerable: false });
  return error;
}

/** The same problem reported for another field (`password` → `newPassword`), keeping its key. */
export function renamedField(error: FieldError, field: string): FieldError {
  return fieldError(field, (error as KeyedFieldError)[FIELD_MESSAGE] ?? error.message);
}

/** The field error's text in `locale`. */
function fieldMessageIn(error: FieldError, locale: string): string {
  const keyed = (error as KeyedFieldError)[FIELD_MESSAGE];
  return keyed ? keyed.in(locale) : error.message;
}

/** What a client is shown of an error, in one language. */
export interface LocalizedError {
  message: string;
  extensions: Record<string, unknown>;
}

/**
 * Base class of every expected failure. Its message and extensions are safe to show to the
 * client; anything that is not a PlatformError (or a GraphQL validation error) is masked.
 */
export abstract class PlatformError extends GraphQLError {
  abstract readonly code: ErrorCode;
  /** HTTP status used when the error surfaces outside GraphQL (REST endpoints). */
  abstract readonly httpStatus: number;

  /** The message's catalog key and placeholders, when it has them: answered in the caller's language. */
  readonly text: Message | undefined;

  protected constructor(message: string | Message, extensions: Record<string, unknown> = {}) {
    super(textIn(message), { extensions });
    this.name = new.target.name;
    this.text = message instanceof Message ? message : undefined;
  }

  /** Message and extensions in `locale`; an unkeyed message stays as it is. */
  localized(locale: string): LocalizedError {
    return { message: this.text ? this.text.in(locale) : this.message, extensions: this.extensions };
  }

  protected finish(code: ErrorCode): void {
    this.extensions.code = code;
  }
}

/** BAD_USER_INPUT, with the offending fields named. */
export class InputError extends PlatformError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  readonly httpStatus = 400;
  readonly fields: FieldError[];
  constructor(message: string | Message, fields: FieldError[] = []) {
    super(message, fields.length ? { fields } : {});
    this.fields = fields;
    this.finish(this.code);
  }
  /** Shorthand for a single invalid field: `InputError.field('email', msg('identity:email.invalid'))`. */
  static field(field: string, message: string | Message): InputError {
    const problem = fieldError(field, message);
    return new InputError(
      message instanceof Message ? msg('errors:field', { field, message }) : `${field}: ${message}`,
      [problem],
    );
  }

  override localized(locale: string): LocalizedError {
    const localized = super.localized(locale);
    if (!this.fields.length || locale === DEFAULT_LOCALE) return localized;
    const fields = this.fields.map((field) => ({ field: field.field, message: fieldMessageIn(field, locale) }));
    return { ...localized, extensions: { ...localized.extensions, fields } };
  }
}

export class AuthenticationError extends PlatformError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  readonly httpStatus = 401;
  constructor(message: string | Message = msg('errors:unauthenticated')) {
    super(message);
    this.finish(this.code);
  }
}

export class ForbiddenError extends PlatformError {
  readonly code = ErrorCode.FORBIDDEN;
  readonly httpStatus = 403;
  constructor(message: string | Message = msg('errors:forbidden'), permission?: string) {
    super(message, permission ? { permission } : {});
    this.finish(this.code);
  }
}

export class NotFoundError extends PlatformError {
  readonly code = ErrorCode.NOT_FOUND;
  readonly httpStatus = 404;
  constructor(resource: string, id?: string) {
    super(id === undefined ? msg('errors:notFound', { resource }) : msg('errors:notFoundWithId', { resource, id }), {
      resource,
    });
    this.finish(this.code);
  }
}

export class ConflictError extends PlatformError {
  readonly code = ErrorCode.CONFLICT;
  readonly httpStatus = 409;
  constructor(message: string | Message) {
    super(message);
    this.finish(this.code);
  }
}

export class RateLimitError extends PlatformError {
  readonly code = ErrorCode.RATE_LIMITED;
  readonly httpStatus = 429;
  constructor(retryAfterSeconds: number, message: string | Message = msg('errors:rateLimited')) {
    super(message, { retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)) });
    this.finish(this.code);
  }
}

/**
 * MFA_REQUIRED: the password was right, and the account also asks for a second factor (a TOTP
 * or a recovery code) that the request did not carry. Says nothing else about the account.
 */
export class MfaRequiredError extends PlatformError {
  readonly code = ErrorCode.MFA_REQUIRED;
  readonly httpStatus = 401;
  constructor(message: string | Message = msg('errors:mfaRequired')) {
    super(message);
    this.finish(this.code);
  }
}

/** Which limit of `gateway.limits` an operation broke. */
export type OperationLimit = 'depth' | 'aliases' | 'rootFields' | 'directives' | 'tokens' | 'cost';

/**
 * QUERY_TOO_COMPLEX (HTTP 400): the operation asks for more than `gateway.limits` allow. It
 * names the limit, its maximum and what the operation measured, so a client can fix the query.
 * Raised before anything is executed.
 */
export class QueryTooComplexError extends PlatformError {
  readonly code = ErrorCode.QUERY_TOO_COMPLEX;
  readonly httpStatus = 400;
  constructor(
    readonly limit: OperationLimit,
    readonly max: number,
    /** null: too large to measure (a document whose fragments expand past what is estimated). */
    readonly measured: number | null,
  ) {
    super(
      measured === null
        ? msg('errors:queryTooLargeToMeasure', { limit, max })
        : msg('errors:queryTooComplex', { limit, measured, max }),
      {
        limit,
        max,
        measured,
        http: { status: 400 },
      },
    );
    this.finish(this.code);
  }
}

/**
 * REQUEST_ABORTED: the work was stopped because nobody will read its answer (the client went
 * away) or its deadline passed. Whatever was still running gives up at its next resolver.
 */
export class RequestAbortedError extends PlatformError {
  readonly code = ErrorCode.REQUEST_ABORTED;
  readonly httpStatus = 503;
  constructor(reason: 'client-gone' | 'deadline') {
    super(reason === 'deadline' ? msg('errors:deadline') : msg('errors:clientGone'), { reason });
    this.finish(this.code);
  }
}

/**
 * CALLER_SPECIFIC: a shared answer (one answer for everyone holding the same permissions, see
 * `SHARED_ANSWER_HEADER`) was asked of a field whose answer depends on who the caller is: it
 * read the caller's id, session or token. The field's rule needs `perCaller()`, which tags it
 * so that the gateway asks for it once per caller instead.
 */
export class CallerSpecificError extends PlatformError {
  readonly code = ErrorCode.CALLER_SPECIFIC;
  readonly httpStatus = 400;
  constructor(
    message = "This answer depends on who the caller is, so it cannot be shared: mark the field's rule with perCaller()",
  ) {
    super(message);
    this.finish(this.code);
  }
}

/** Codes Apollo Server itself assigns to client mistakes; safe to pass through. */
const CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  ...Object.values(ErrorCode),
]);

const MASKED_MESSAGE = 'Internal server error';

function findPlatformError(error: unknown): PlatformError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof PlatformError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * Turns any error into what a client may see. Expected errors keep their message and code;
 * everything else becomes INTERNAL_SERVER_ERROR with the request id, the details going to
 * the log only (through `onInternal`).
 */
/**
 * Drops what describes the plumbing rather than the error: stack traces, HTTP hints, and the
 * subgraph response the gateway attaches to a failed fetch (it names internal URLs).
 */
function withoutTransport(extensions: Record<string, unknown>): Record<string, unknown> {
  const { stacktrace: _stack, http: _http, response: _response, exception: _exception, ...rest } = extensions;
  void [_stack, _http, _response, _exception];
  return rest;
}

export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  requestId: string | undefined,
  onInternal: (error: unknown) => void,
  /** The caller's language (negotiated, see `negotiateLocale`): keyed messages are answered in it. */
  locale: string = DEFAULT_LOCALE,
): GraphQLFormattedError {
  const platform = findPlatformError(error);
  if (platform) {
    if (locale === DEFAULT_LOCALE || (!platform.text && !(platform instanceof InputError))) {
      return { ...formatted, extensions: { ...withoutTransport(platform.extensions), code: platform.code } };
    }
    const { message, extensions } = platform.localized(locale);
    return { ...formatted, message, extensions: { ...withoutTransport(extensions), code: platform.code } };
  }
  const code = formatted.extensions?.code;
  // Errors relayed from a subgraph by the gateway arrive already masked and coded. Apollo
  // also codes every unknown error INTERNAL_SERVER_ERROR, so that code passes only when the
  // message is already the masked one; otherwise the raw message would reach the client.
  const alreadyMasked = code !== ErrorCode.INTERNAL_SERVER_ERROR || formatted.message === MASKED_MESSAGE;
  if (typeof code === 'string' && CLIENT_CODES.has(code) && alreadyMasked) {
    return { ...formatted, extensions: withoutTransport(formatted.extensions ?? {}) };
  }
  onInternal(error);
  return {
    message: MASKED_MESSAGE,
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(requestId ? { requestId } : {}) },
  };
}
