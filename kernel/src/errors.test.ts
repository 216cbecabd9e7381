import { ApolloServer } from '@apollo/server';
import { describe, expect, it, jest } from '@jest/globals';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  AuthenticationError,
  CallerSpecificError,
  ConflictError,
  ErrorCode,
  ForbiddenError,
  InputError,
  NotFoundError,
  PlatformError,
  RateLimitError,
  fieldError,
  maskError,
  renamedField,
} from './errors.js';
import { msg } from './i18n/index.js';

describe('error classes', () => {
  it.each([
    [new InputError('bad'), 'BAD_USER_INPUT', 400, 'bad'],
    [new AuthenticationError(), 'UNAUTHENTICATED', 401, 'Authentication required'],
    [new ForbiddenError(), 'FORBIDDEN', 403, 'Forbidden'],
    [new NotFoundError('Post', 'p1'), 'NOT_FOUND', 404, 'Post p1 not found'],
    [new NotFoundError('Post'), 'NOT_FOUND', 404, 'Post not found'],
    [new ConflictError('email taken'), 'CONFLICT', 409, 'email taken'],
    [new RateLimitError(3), 'RATE_LIMITED', 429, 'Too many attempts, try again later'],
    [
      new CallerSpecificError(),
      'CALLER_SPECIFIC',
      400,
      "This answer depends on who the caller is, so it cannot be shared: mark the field's rule with perCaller()",
    ],
  ])('%p has its code, status and message', (error, code, status, message) => {
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.code).toBe(code);
    expect(error.extensions.code).toBe(code);
    expect(error.httpStatus).toBe(status);
    expect(error.message).toBe(message);
    expect(error.name).toBe(error.constructor.name);
  });

  it('InputError carries its fields', () => {
    const fields = [
      { field: 'title', message: 'must not be empty' },
      { field: 'content', message: 'too long' },
    ];
    const error = new InputError('invalid post', fields);
    expect(error.fields).toEqual(fields);
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', fields });
    expect(new InputError('plain').extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it('InputError.field names one field', () => {
    const error = InputError.field('email', 'is not an email');
    expect(error.message).toBe('email: is not an email');
    expect(error.fields).toEqual([{ field: 'email', message: 'is not an email' }]);
  });

  it.each([
    [new ForbiddenError('no', 'blog.post.delete'), { code: 'FORBIDDEN', permission: 'blog.post.delete' }],
    [new NotFoundError('User', 'u1'), { code: 'NOT_FOUND', resource: 'User' }],
    [new RateLimitError(0.2), { code: 'RATE_LIMITED', retryAfter: 1 }],
    [new RateLimitError(41.5), { code: 'RATE_LIMITED', retryAfter: 42 }],
  ])('%p has extensions %j', (error, extensions) => {
    expect(error.extensions).toEqual(extensions);
  });
});

describe('maskError', () => {
  const formatted = (message: string, code?: string): GraphQLFormattedError => ({
    message,
    path: ['post'],
    extensions: { ...(code ? { code } : {}), stacktrace: ['Error: ...', '  at x'] },
  });

  it.each([
    ['a PlatformError', new NotFoundError('Post', '1')],
    [
      'a PlatformError wrapped by graphql-js',
      new GraphQLError('Post 1 not found', { originalError: new NotFoundError('Post', '1') }),
    ],
  ])('keeps %s with its code and extensions, without stacktrace', (_label, error) => {
    const onInternal = jest.fn();
    const result = maskError(formatted('Post 1 not found', 'INTERNAL_SERVER_ERROR'), error, 'req-1', onInternal);
    expect(result).toEqual({
      message: 'Post 1 not found',
      path: ['post'],
      extensions: { code: 'NOT_FOUND', resource: 'Post' },
    });
    expect(onInternal).not.toHaveBeenCalled();
  });

  // CALLER_SPECIFIC too: the gateway relays a subgraph's refusal of a shared answer as it came.
  it.each(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'BAD_USER_INPUT', 'FORBIDDEN', 'CALLER_SPECIFIC'])(
    'passes the client code %s through without stacktrace',
    (code) => {
      const onInternal = jest.fn();
      const error = new GraphQLError('Cannot query field "x"', { extensions: { code } });
      const result = maskError(formatted('Cannot query field "x"', code), error, 'req-1', onInternal);
      expect(result).toEqual({ message: 'Cannot query field "x"', path: ['post'], extensions: { code } });
      expect(onInternal).not.toHaveBeenCalled();
    },
  );

  it.each([
    // Apollo Server codes every unknown error INTERNAL_SERVER_ERROR before formatError sees it.
    ['a plain Error coded by Apollo', new Error('connect ECONNREFUSED 10.0.0.5:5432'), 'INTERNAL_SERVER_ERROR'],
    ['a plain Error without code', new Error('connect ECONNREFUSED 10.0.0.5:5432'), undefined],
    [
      'a GraphQLError with an unknown code',
      new GraphQLError('boom', { extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } }),
      'DOWNSTREAM_SERVICE_ERROR',
    ],
    ['a thrown string', 'oops', undefined],
  ])('masks %s with the request id and reports it', (_label, error, code) => {
    const onInternal = jest.fn();
    const result = maskError(formatted(String(error), code), error, 'req-42', onInternal);
    expect(result).toEqual({
      message: 'Internal server error',
      path: ['post'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-42' },
    });
    expect(onInternal).toHaveBeenCalledWith(error);
  });

  it('keeps an error a subgraph already masked (relayed by the gateway)', () => {
    const onInternal = jest.fn();
    const relayed: GraphQLFormattedError = {
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-7', serviceName: 'blog' },
    };
    expect(
      maskError(
        relayed,
        new GraphQLError('Internal server error', { extensions: relayed.extensions }),
        'req-7',
        onInternal,
      ),
    ).toEqual(relayed);
    expect(onInternal).not.toHaveBeenCalled();
  });

  it('omits requestId and path when there are none', () => {
    const result = maskError({ message: 'x' }, new Error('x'), undefined, () => undefined);
    expect(result).toEqual({ message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
  });
});

describe('maskError with Apollo Server', () => {
  it('masks a plain Error thrown by a resolver and keeps a PlatformError', async () => {
    const internal: unknown[] = [];
    const server = new ApolloServer({
      typeDefs: 'type Query { broken: String  missing: String }',
      resolvers: {
        Query: {
          broken: () => {
            throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
          },
          missing: () => {
            throw new NotFoundError('Post', 'p1');
          },
        },
      },
      formatError: (formatted, error) => maskError(formatted, error, 'req-9', (e) => internal.push(e)),
    });
    const response = await server.executeOperation({ query: '{ broken missing }' });
    const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
    expect(errors).toEqual([
      {
        message: 'Internal server error',
        path: ['broken'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-9' },
      },
      {
        message: 'Post p1 not found',
        path: ['missing'],
        locations: [{ line: 1, column: 10 }],
        extensions: { code: 'NOT_FOUND', resource: 'Post' },
      },
    ]);
    expect(internal).toHaveLength(1);
  });
});

describe('errors in the caller’s language', () => {
  const mask = (error: GraphQLError, locale?: string): GraphQLFormattedError =>
    maskError(error.toJSON(), error, 'req-1', () => undefined, locale);

  it('answers keyed messages in the locale, with the same code and extensions', () => {
    expect(mask(new AuthenticationError(), 'de')).toEqual({
      message: 'Anmeldung erforderlich',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(mask(new NotFoundError('Post', 'p1'), 'de')).toEqual({
      message: 'Post p1 nicht gefunden',
      extensions: { code: 'NOT_FOUND', resource: 'Post' },
    });
    expect(mask(new RateLimitError(3), 'de')).toMatchObject({
      message: 'Zu viele Versuche, versuche es später noch einmal',
      extensions: { code: 'RATE_LIMITED', retryAfter: 3 },
    });
  });

  it('keeps English byte for byte in English and without a locale', () => {
    for (const locale of ['en', undefined]) {
      expect(mask(new AuthenticationError(), locale).message).toBe('Authentication required');
      expect(mask(InputError.field('id', msg('errors:validation.uuid')), locale)).toEqual({
        message: 'id: must be a UUID',
        extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'id', message: 'must be a UUID' }] },
      });
    }
  });

  it('translates field messages, keyed ones only', () => {
    const error = new InputError('Input is invalid', [
      fieldError('id', msg('errors:validation.uuid')),
      { field: 'title', message: 'must not be empty' },
    ]);
    expect(mask(error, 'de')).toEqual({
      message: 'Input is invalid',
      extensions: {
        code: 'BAD_USER_INPUT',
        fields: [
          { field: 'id', message: 'muss eine UUID sein' },
          { field: 'title', message: 'must not be empty' },
        ],
      },
    });
    expect(mask(InputError.field('after', msg('errors:validation.cursor')), 'de').message).toBe(
      'after: ist kein gültiger Cursor',
    );
  });

  it('leaves unkeyed messages as they are', () => {
    expect(mask(new ConflictError('email taken'), 'de').message).toBe('email taken');
    expect(mask(new ForbiddenError('Only the author'), 'de').message).toBe('Only the author');
  });

  it('hides a field error’s key from JSON and equality, and keeps it when the field is renamed', () => {
    const problem = fieldError('password', msg('errors:validation.uuid'));
    expect(problem).toEqual({ field: 'password', message: 'must be a UUID' });
    expect(JSON.parse(JSON.stringify(problem))).toEqual({ field: 'password', message: 'must be a UUID' });
    const renamed = renamedField(problem, 'newPassword');
    expect(mask(new InputError('bad', [renamed]), 'de').extensions?.fields).toEqual([
      { field: 'newPassword', message: 'muss eine UUID sein' },
    ]);
  });
});
