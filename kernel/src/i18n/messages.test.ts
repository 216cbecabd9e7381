import { describe, expect, it } from '@jest/globals';
import { catalogProblems } from './completeness.js';
import { hasMessage, msg, registerMessages, registeredCatalogs, textIn } from './index.js';

registerMessages('i18n-test', {
  en: {
    greeting: 'Hello {{name}}',
    list: 'problems: {{problems}}',
    hours_one: '{{count}} hour',
    hours_other: '{{count}} hours',
    nested: { inner: 'inner {{what}}' },
  },
  de: {
    greeting: 'Hallo {{name}}',
    list: 'Probleme: {{problems}}',
    hours_one: '{{count}} Stunde',
    hours_other: '{{count}} Stunden',
    nested: { inner: 'innen {{what}}' },
  },
});

describe('messages', () => {
  it('translates with placeholders, in English by default', () => {
    const greeting = msg('i18n-test:greeting', { name: 'Zoë' });
    expect(greeting.in('de')).toBe('Hallo Zoë');
    expect(greeting.in('en')).toBe('Hello Zoë');
    expect(String(greeting)).toBe('Hello Zoë');
    expect(textIn(greeting)).toBe('Hello Zoë');
    expect(textIn('as it is', 'de')).toBe('as it is');
  });

  it('translates nested messages and lists of them in the same language', () => {
    const list = msg('i18n-test:list', {
      problems: [msg('i18n-test:nested.inner', { what: 'a' }), msg('i18n-test:greeting', { name: 'b' })],
    });
    expect(list.in('en')).toBe('problems: inner a, Hello b');
    expect(list.in('de')).toBe('Probleme: innen a, Hallo b');
  });

  it('chooses plural forms by count', () => {
    expect(msg('i18n-test:hours', { count: 1 }).in('de')).toBe('1 Stunde');
    expect(msg('i18n-test:hours', { count: 24 }).in('de')).toBe('24 Stunden');
    expect(msg('i18n-test:hours', { count: 1 }).in('en')).toBe('1 hour');
  });

  it('falls back to English for an unsupported locale, and never escapes HTML', () => {
    expect(msg('i18n-test:greeting', { name: '<b>' }).in('fr')).toBe('Hello <b>');
  });

  it("has the kernel's own texts from the start", () => {
    expect(hasMessage('errors:unauthenticated')).toBe(true);
    expect(hasMessage('errors:nothing.here')).toBe(false);
    expect(msg('errors:unauthenticated').in('de')).toBe('Anmeldung erforderlich');
  });

  it('refuses other texts under a taken namespace, and takes the same ones again', () => {
    const same = registeredCatalogs().get('i18n-test')!;
    expect(() => registerMessages('i18n-test', same)).not.toThrow();
    expect(() => registerMessages('errors', { en: { a: 'a' }, de: { a: 'a' } })).toThrow(/registered already/);
    expect(() => registerMessages('Bad Name', { en: {}, de: {} })).toThrow(/lower-case/);
    expect(() => registerMessages('half', { en: { a: 'a' } } as never)).toThrow(/no "de" catalog/);
  });
});

describe('catalogProblems', () => {
  it('finds nothing wrong with complete catalogs', () => {
    expect(catalogProblems('i18n-test', registeredCatalogs().get('i18n-test')!)).toEqual([]);
    expect(catalogProblems('errors', registeredCatalogs().get('errors')!)).toEqual([]);
  });

  it('names missing and extra keys, missing plural forms and differing placeholders', () => {
    const problems = catalogProblems('x', {
      en: { a: 'a', b: { c: 'c {{n}}' }, d_one: 'one', d_other: '{{count}} d', e: 'e' },
      de: { b: { c: 'c {{m}}' }, d_other: '{{count}} d', e: 'e', extra: 'x' },
    });
    expect(problems).toEqual([
      'x:a is missing in "de"',
      'x:b.c has placeholders {m} in "de", English has {n}',
      'x:d lacks the plural forms one in "de"',
      'x:extra is in "de" but not in English',
    ]);
  });
});
