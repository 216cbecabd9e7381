import { describe, expect, it } from '@jest/globals';
import { Readiness } from './health.js';

describe('Readiness', () => {
  it.each([
    // [started, stopping, check ok, status, ready]
    [false, false, true, 'starting', false],
    [true, false, true, 'ready', true],
    [true, false, false, 'degraded', false],
    [true, true, true, 'stopping', false],
    [false, true, true, 'stopping', false],
  ])('started=%p stopping=%p check ok=%p → %s', async (started, stopping, ok, status, ready) => {
    const readiness = new Readiness();
    readiness.register('db', () => ({ ok, detail: ok ? 'up' : 'down' }));
    if (started) readiness.markStarted();
    if (stopping) readiness.markStopping();
    const report = await readiness.evaluate();
    expect(report).toEqual({ ready, status, checks: { db: { ok, detail: ok ? 'up' : 'down' } } });
  });

  it('is ready with no checks once started', async () => {
    const readiness = new Readiness();
    readiness.markStarted();
    expect(await readiness.evaluate()).toEqual({ ready: true, status: 'ready', checks: {} });
  });

  it('reports a throwing or rejecting check as not ok with its message', async () => {
    const readiness = new Readiness();
    readiness.register('sync', () => {
      throw new Error('sync boom');
    });
    readiness.register('async', async () => {
      throw new Error('async boom');
    });
    readiness.markStarted();
    const report = await readiness.evaluate();
    expect(report.status).toBe('degraded');
    expect(report.checks).toEqual({
      sync: { ok: false, detail: 'sync boom' },
      async: { ok: false, detail: 'async boom' },
    });
  });

  it('times a hanging check out and reports it, without waiting on it', async () => {
    const readiness = new Readiness();
    readiness.register('hang', () => new Promise(() => undefined));
    readiness.register('fine', async () => ({ ok: true }));
    readiness.markStarted();
    const started = Date.now();
    const report = await readiness.evaluate();
    const elapsed = Date.now() - started;
    expect(report.ready).toBe(false);
    expect(report.checks.hang).toEqual({ ok: false, detail: 'timed out after 2000 ms' });
    expect(report.checks.fine).toEqual({ ok: true });
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('refuses a second check with the same name', () => {
    const readiness = new Readiness();
    readiness.register('db', () => ({ ok: true }));
    expect(() => readiness.register('db', () => ({ ok: true }))).toThrow('registered twice');
  });
});
