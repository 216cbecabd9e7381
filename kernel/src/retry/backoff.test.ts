import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 40].map((attempt) => backoffDelay(attempt, { baseMs: 100, maxMs: 1000 }));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('treats attempts below 1 as the first', () => {
    expect(backoffDelay(0, { baseMs: 250, maxMs: 2000 })).toBe(250);
  });

  it('with equal jitter, stays between half and all of the delay and varies', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, { baseMs: 100, maxMs: 30_000, jitter: 'equal' }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });
});
