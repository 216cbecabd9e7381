import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { ErrorBus, type ErrorReport, type ErrorSink } from '../error-bus/error-bus.js';
import { NotFoundError } from '../errors.js';
import { maskResult } from './results.js';

/** A bus whose only sink keeps what it is given. */
function recordingBus(): { bus: ErrorBus; reports: ErrorReport[] } {
  const reports: ErrorReport[] = [];
  const sink: ErrorSink = { name: 'recording', capture: (report) => void reports.push(report) };
  return { bus: new ErrorBus('blog', [sink]), reports };
}

describe('maskResult (subscription events)', () => {
  it('masks an unexpected error and publishes what the resolver threw, with its path and request id', async () => {
    const { bus, reports } = recordingBus();
    const thrown = new TypeError('cannot read properties of undefined');
    const wrapped = new GraphQLError(thrown.message, { path: ['postCreated', 'author'], originalError: thrown });

    const result = maskResult({ data: null, errors: [wrapped] }, pino({ level: 'silent' }), 'req-1', bus);

    expect(result.errors).toEqual([
      expect.objectContaining({
        message: 'Internal server error',
        extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }),
      }),
    ]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      error: thrown,
      kind: 'resolver',
      module: 'blog',
      path: 'postCreated.author',
      requestId: 'req-1',
    });
    await bus.close(100);
  });

  it("answers a keyed platform error in the socket's language, with its code", () => {
    const error = new NotFoundError('Post', 'p1');
    const german = maskResult({ data: null, errors: [error] }, pino({ level: 'silent' }), undefined, undefined, 'de');
    expect(german.errors).toEqual([
      expect.objectContaining({
        message: 'Post p1 nicht gefunden',
        extensions: { code: 'NOT_FOUND', resource: 'Post' },
      }),
    ]);
    const english = maskResult({ data: null, errors: [error] }, pino({ level: 'silent' }));
    expect(english.errors![0]!.message).toBe('Post p1 not found');
  });

  it('keeps a platform error as it is and publishes nothing', async () => {
    const { bus, reports } = recordingBus();
    const expected = new GraphQLError('Post not found', { originalError: new NotFoundError('Post') });

    const result = maskResult({ data: null, errors: [expected] }, pino({ level: 'silent' }), undefined, bus);

    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(reports).toHaveLength(0);
    await bus.close(100);
  });
});
