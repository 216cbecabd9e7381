import { describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import { checkTotp, hashRecoveryCode, isTotpCode, newRecoveryCodes, RECOVERY_CODE_COUNT } from './codes.js';
import { newTotpSecret } from './secret.js';

const { bytes, base32 } = newTotpSecret();
/** A fixed clock: the middle of time step 59_000_000. */
const STEP = 59_000_000;
const NOW = STEP * 30 + 15;
const codeAt = (step: number) => generate({ secret: base32, epoch: step * 30 });

describe('checkTotp', () => {
  it.each([
    ['the current step', 0],
    ['the previous step (a slow typist, a phone clock behind)', -1],
    ['the next step (a phone clock ahead)', 1],
  ])('accepts a code of %s and names its step', async (_case, offset) => {
    expect(await checkTotp(bytes, await codeAt(STEP + offset), null, NOW)).toBe(STEP + offset);
  });

  it.each([
    ['two steps back', -2],
    ['two steps ahead', 2],
  ])('refuses a code %s', async (_case, offset) => {
    expect(await checkTotp(bytes, await codeAt(STEP + offset), null, NOW)).toBeNull();
  });

  it('refuses a code of the last accepted step or an earlier one (replay), accepts a later one', async () => {
    const code = await codeAt(STEP);
    expect(await checkTotp(bytes, code, STEP, NOW)).toBeNull();
    expect(await checkTotp(bytes, await codeAt(STEP - 1), STEP, NOW)).toBeNull();
    expect(await checkTotp(bytes, code, STEP - 1, NOW)).toBe(STEP);
    expect(await checkTotp(bytes, await codeAt(STEP + 1), STEP, NOW)).toBe(STEP + 1);
  });

  it('accepts the code typed with a space, as apps show it', async () => {
    const code = await codeAt(STEP);
    expect(await checkTotp(bytes, `${code.slice(0, 3)} ${code.slice(3)}`, null, NOW)).toBe(STEP);
  });

  it.each(['', '12345', '1234567', 'abcdef', '12345a'])(
    'refuses the malformed code %p without throwing',
    async (code) => {
      expect(await checkTotp(bytes, code, null, NOW)).toBeNull();
    },
  );

  it('refuses (rather than throws) when the last step is ahead of the clock (the clock went back)', async () => {
    expect(await checkTotp(bytes, await codeAt(STEP), STEP + 50, NOW)).toBeNull();
  });

  it("refuses another secret's code", async () => {
    const other = newTotpSecret();
    const code = await generate({ secret: other.base32, epoch: NOW });
    const mine = await Promise.all([-1, 0, 1].map((offset) => codeAt(STEP + offset)));
    if (!mine.includes(code)) expect(await checkTotp(bytes, code, null, NOW)).toBeNull();
    expect(await checkTotp(other.bytes, code, null, NOW)).toBe(STEP);
  });
});

describe('recovery codes', () => {
  it('are ten distinct codes of 80 bits, grouped for reading', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) {
      expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
      expect(isTotpCode(code)).toBe(false);
    }
  });

  it('hash the same however they are typed, and differently per user', () => {
    const [code] = newRecoveryCodes(1);
    const hash = hashRecoveryCode('11111111-1111-4111-8111-111111111111', code!);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode('11111111-1111-4111-8111-111111111111', ` ${code!.replace(/-/g, '').toUpperCase()} `)).toBe(
      hash,
    );
    expect(hashRecoveryCode('22222222-2222-4222-8222-222222222222', code!)).not.toBe(hash);
  });
});

describe('isTotpCode', () => {
  it.each([
    ['123456', true],
    ['123 456', true],
    ['12345', false],
    ['abcd-efgh-ijkl-mnop', false],
  ])('%p → %p', (code, expected) => {
    expect(isTotpCode(code)).toBe(expected);
  });
});
