import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { CredentialRefusals, type CredentialRefusedPayload } from './credential-refusals.js';

/** A reporter on a hand-moved clock, and what it recorded. */
function reporter(options: { maxEventsPerWindow?: number; maxKeys?: number; fail?: boolean } = {}) {
  let now = 1_000_000;
  const recorded: CredentialRefusedPayload[] = [];
  const refusals = new CredentialRefusals({
    service: 'identity',
    logger: pino({ level: 'silent' }),
    now: () => now,
    ...options,
    record: async (payload) => {
      if (options.fail) throw new Error('database down');
      recorded.push(payload);
    },
  });
  return {
    refusals,
    recorded,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('CredentialRefusals', () => {
  it('records the first refusal of a route and address at once, and counts the rest of the minute', async () => {
    const { refusals, recorded, advance } = reporter();
    for (let i = 0; i < 50; i++)
      refusals.refused({ path: '/internal/revocations', presented: false, ip: '203.0.113.9' });
    expect(recorded).toEqual([
      {
        service: 'identity',
        route: 'internal',
        path: '/internal/revocations',
        presented: false,
        attempts: 1,
        windowSec: 60,
      },
    ]);
    // Any /internal/ path is the same route: an attacker cannot open keys by inventing paths.
    refusals.refused({ path: '/internal/whatever-1', presented: true, ip: '203.0.113.9' });
    expect(recorded).toHaveLength(1);
    advance(60_000);
    refusals.refused({ path: '/internal/revocations', presented: false, ip: '203.0.113.9' });
    expect(recorded[1]).toMatchObject({ route: 'internal', attempts: 51 });
  });

  it('keeps routes and addresses apart (IPv6 by /64)', () => {
    const { refusals, recorded } = reporter();
    refusals.refused({ path: '/internal/revocations', presented: false, ip: '203.0.113.9' });
    refusals.refused({ path: '_service', presented: false, ip: '203.0.113.9' });
    refusals.refused({ path: '/metrics', presented: true, ip: '203.0.113.9' });
    refusals.refused({ path: '/internal/revocations', presented: false, ip: '2001:db8:1:2::1' });
    refusals.refused({ path: '/internal/revocations', presented: false, ip: '2001:db8:1:2::ffff' });
    refusals.refused({ path: '/internal/revocations', presented: false });
    expect(recorded.map((payload) => payload.route)).toEqual([
      'internal',
      '_service',
      '/metrics',
      'internal',
      'internal',
    ]);
  });

  it('records at most maxEventsPerWindow events a window, whatever the addresses, and counts the others', () => {
    const { refusals, recorded, advance } = reporter({ maxEventsPerWindow: 3 });
    for (let i = 0; i < 10; i++) refusals.refused({ path: '_service', presented: false, ip: `198.51.100.${i}` });
    expect(recorded).toHaveLength(3);
    advance(60_000);
    refusals.refused({ path: '_service', presented: false, ip: '198.51.100.9' });
    // The address capped in the first window carries its refusal into this one.
    expect(recorded[3]).toMatchObject({ attempts: 2 });
  });

  it('never throws when recording fails', async () => {
    const { refusals } = reporter({ fail: true });
    expect(() => refusals.refused({ path: '/metrics', presented: false, ip: '203.0.113.1' })).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
  });
});
