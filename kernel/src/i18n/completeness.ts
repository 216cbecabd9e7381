import { SUPPORTED_LOCALES } from './locale.js';
import type { Catalog, Catalogs } from './messages.js';

/** i18next's plural suffixes (CLDR categories): `key_one`, `key_other`… */
const PLURAL = /_(zero|one|two|few|many|other)$/;

/** Every text of a catalog by its dotted path. */
function flatten(catalog: Catalog, prefix = ''): Map<string, string> {
  const texts = new Map<string, string>();
  for (const [key, value] of Object.entries(catalog)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') texts.set(path, value);
    else for (const [inner, text] of flatten(value, path)) texts.set(inner, text);
  }
  return texts;
}

/** The `{{name}}` placeholders of a text (`{{name, format}}` counts as `name`). */
function placeholders(text: string): Set<string> {
  return new Set([...text.matchAll(/\{\{\s*([^,}\s]+)[^}]*\}\}/g)].map((match) => match[1]!));
}

interface Entry {
  /** Plural forms present (empty: not a plural). */
  forms: Set<string>;
  /** Placeholders over all of its forms. */
  placeholders: Set<string>;
}

/** A catalog's texts by key, a plural's forms (`n_one`, `n_other`) gathered under one key (`n`). */
function entries(catalog: Catalog): Map<string, Entry> {
  const byKey = new Map<string, Entry>();
  for (const [path, text] of flatten(catalog)) {
    const form = PLURAL.exec(path)?.[1];
    const key = form ? path.slice(0, -form.length - 1) : path;
    const entry = byKey.get(key) ?? { forms: new Set<string>(), placeholders: new Set<string>() };
    if (form) entry.forms.add(form);
    for (const name of placeholders(text)) entry.placeholders.add(name);
    byKey.set(key, entry);
  }
  return byKey;
}

const sameSet = (a: Set<string>, b: Set<string>): boolean => a.size === b.size && [...a].every((item) => b.has(item));

/**
 * What a namespace's catalogs get wrong, compared to English: keys missing or extra in a
 * language, plural forms the language's CLDR rules need and it lacks, and placeholders that
 * differ (a translation that drops `{{count}}` or invents `{{name}}`). Empty when complete.
 */
export function catalogProblems(namespace: string, catalogs: Catalogs): string[] {
  const problems: string[] = [];
  const english = entries(catalogs.en);
  for (const locale of SUPPORTED_LOCALES) {
    if (locale === 'en') continue;
    const other = entries(catalogs[locale] ?? {});
    const needed = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
    for (const [key, reference] of english) {
      const entry = other.get(key);
      if (!entry) {
        problems.push(`${namespace}:${key} is missing in "${locale}"`);
        continue;
      }
      if (reference.forms.size > 0) {
        const missing = needed.filter((form) => !entry.forms.has(form));
        if (entry.forms.size === 0 || missing.length)
          problems.push(`${namespace}:${key} lacks the plural forms ${missing.join(', ')} in "${locale}"`);
      }
      if (!sameSet(reference.placeholders, entry.placeholders))
        problems.push(
          `${namespace}:${key} has placeholders {${[...entry.placeholders].join(', ')}} in "${locale}", ` +
            `English has {${[...reference.placeholders].join(', ')}}`,
        );
    }
    for (const key of other.keys())
      if (!english.has(key)) problems.push(`${namespace}:${key} is in "${locale}" but not in English`);
  }
  return problems;
}
