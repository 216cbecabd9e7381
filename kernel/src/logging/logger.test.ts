import { describe, expect, it } from '@jest/globals';
import { runWithRequest } from '../http/request-context.js';
import { createLogger } from './logger.js';

function capture(level: 'info' | 'warn' = 'info') {
  const lines: string[] = [];
  const log = createLogger({ log: { level, pretty: false } }, 'blog', {
    write: (line: string) => void lines.push(line),
  });
  const records = (): Array<Record<string, unknown>> =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, records };
}

describe('createLogger', () => {
  it('writes one JSON line per entry with module, level label and ISO time', () => {
    const { log, lines, records } = capture();
    log.info({ postId: 'p1' }, 'post created');
    expect(lines).toHaveLength(1);
    expect(records()[0]).toMatchObject({ module: 'blog', level: 'info', msg: 'post created', postId: 'p1' });
    expect(String(records()[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('drops entries below the configured level', () => {
    const { log, records } = capture('warn');
    log.info('hidden');
    log.warn('shown');
    expect(records().map((r) => r.msg)).toEqual(['shown']);
  });

  it.each([
    ['password', { password: 'hunter2' }, ['password']],
    ['token', { token: 't0k' }, ['token']],
    ['refreshToken', { refreshToken: 'r' }, ['refreshToken']],
    ['nested password', { input: { email: 'a@b.c', password: 'hunter2' } }, ['input', 'password']],
    ['nested newPassword', { input: { newPassword: 'x' } }, ['input', 'newPassword']],
    ['GraphQL variables', { variables: { input: { password: 'x' } } }, ['variables', 'input', 'password']],
    ['authorization header', { headers: { authorization: 'Bearer abc' } }, ['headers', 'authorization']],
    [
      'request authorization header',
      { req: { headers: { authorization: 'Bearer abc' } } },
      ['req', 'headers', 'authorization'],
    ],
    ['cookie header', { headers: { cookie: 'sid=1' } }, ['headers', 'cookie']],
    ['authorization field', { authorization: 'Bearer abc' }, ['authorization']],
    ['nested authorization field', { upstream: { authorization: 'Bearer abc' } }, ['upstream', 'authorization']],
  ])('redacts %s', (_label, fields, path) => {
    const { log, lines, records } = capture();
    log.info(fields, 'event');
    const value = path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], records()[0]);
    expect(value).toBe('[redacted]');
    expect(lines[0]).not.toMatch(/hunter2|Bearer abc|sid=1|t0k/);
  });

  it('keeps fields that are not secrets', () => {
    const { log, records } = capture();
    log.info({ input: { email: 'a@b.c' }, headers: { 'user-agent': 'jest' } }, 'event');
    expect(records()[0]).toMatchObject({ input: { email: 'a@b.c' }, headers: { 'user-agent': 'jest' } });
  });

  it('adds requestId and userId inside a request, and nothing outside', async () => {
    const { log, records } = capture();
    log.info('before');
    await runWithRequest({ requestId: 'abc', userId: 'u1' }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      log.child({ component: 'posts' }).info('inside');
    });
    log.info('after');
    const [before, inside, after] = records();
    expect(before).not.toHaveProperty('requestId');
    expect(inside).toMatchObject({ requestId: 'abc', userId: 'u1', component: 'posts', module: 'blog' });
    expect(after).not.toHaveProperty('requestId');
  });
});
