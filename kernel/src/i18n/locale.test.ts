import { describe, expect, it } from '@jest/globals';
import { isSupportedLocale, negotiateLocale } from './locale.js';

describe('negotiateLocale', () => {
  it.each([
    // [Accept-Language, negotiated]
    [undefined, 'en'],
    ['', 'en'],
    ['de', 'de'],
    ['DE', 'de'],
    ['en', 'en'],
    // A region falls back to its language.
    ['de-AT', 'de'],
    ['de-CH, en;q=0.5', 'de'],
    ['en-GB', 'en'],
    // q-values decide, not the order.
    ['en;q=0.4, de;q=0.9', 'de'],
    ['de;q=0.4, en', 'en'],
    ['fr, de;q=0.8, en;q=0.7', 'de'],
    // Nothing supported, or only refusals: the default.
    ['fr, it', 'en'],
    ['de;q=0', 'en'],
    ['*', 'en'],
    ['*;q=0.5, de', 'de'],
    ['de;q=0, *', 'en'],
    // Noise is the default, never an error.
    ['de;q=abc', 'en'],
    [';;;,,,', 'en'],
  ])('%p → %p', (header, locale) => {
    expect(negotiateLocale(header)).toBe(locale);
  });

  it('answers the default for a header too long to be sincere', () => {
    expect(negotiateLocale(`de, ${'x'.repeat(1000)}`)).toBe('en');
  });

  it('reads a header given several times as one list', () => {
    expect(negotiateLocale(['fr', 'de;q=0.5'])).toBe('de');
  });

  it('knows the supported locales exactly', () => {
    expect(isSupportedLocale('de')).toBe(true);
    expect(isSupportedLocale('de-AT')).toBe(false);
    expect(isSupportedLocale('fr')).toBe(false);
    expect(isSupportedLocale(undefined)).toBe(false);
  });
});
