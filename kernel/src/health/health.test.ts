import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { Readiness } from './health.js';

describe('Readiness', () => {
  it.each([
    // [started, stopping, check ok, status, ready]
    [false, false, true, 'starting', false],
    [true, false, true, 'ready', true],
    [true, false, false, 'unavailable', false],
    [true, true, true, 'stopping', false],
    [false, true, true, 'stopping', false],
  ])('started=%p stopping=%p check ok=%p → %s', async (started, stopping, ok, status, ready) => {
    const readiness = new Readiness();
    readiness.register('db', () => ({ ok, detail: ok ? 'up' : 'down' }));
    if (started) readiness.markStarted();
    if (stopping) readiness.markStopping();
    const report = await readiness.evaluate();
    expect(report).toEqual({
      ready,
      status,
      checks: { db: { ok, detail: ok ? 'up' : 'down', latencyMs: expect.any(Number) } },
    });
  });

  it('stays ready, degraded, while a dependency it can do without fails, and says which', async () => {
    const readiness = new Readiness();
    readiness.register('database', () => ({ ok: true }));
    readiness.register('redis', () => ({ ok: false, detail: 'connection reconnecting' }), { critical: false });
    readiness.markStarted();
    expect(await readiness.evaluate()).toEqual({
      ready: true,
      status: 'degraded',
      checks: {
        database: { ok: true, latencyMs: expect.any(Number) },
        redis: { ok: false, detail: 'connection reconnecting', critical: false, latencyMs: expect.any(Number) },
      },
    });
  });

  it('exposes dependency_up and dependency_check_seconds for every check', async () => {
    const registry = new Registry();
    const readiness = new Readiness();
    readiness.register('database', () => ({ ok: true }));
    readiness.register('redis', () => ({ ok: false }), { critical: false });
    readiness.exposeMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain('dependency_up{dependency="database"} 1');
    expect(text).toContain('dependency_up{dependency="redis"} 0');
    expect(text).toMatch(/dependency_check_seconds\{dependency="redis"\} \d/);
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
    expect(report.status).toBe('unavailable');
    expect(report.checks).toEqual({
      sync: { ok: false, detail: 'sync boom', latencyMs: expect.any(Number) },
      async: { ok: false, detail: 'async boom', latencyMs: expect.any(Number) },
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
    expect(report.checks.hang).toEqual({ ok: false, detail: 'timed out after 2000 ms', latencyMs: expect.any(Number) });
    expect(report.checks.fine).toEqual({ ok: true, latencyMs: expect.any(Number) });
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('refuses a second check with the same name', () => {
    const readiness = new Readiness();
    readiness.register('db', () => ({ ok: true }));
    expect(() => readiness.register('db', () => ({ ok: true }))).toThrow('registered twice');
  });
});
