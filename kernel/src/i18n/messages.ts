import { createInstance, type i18n as I18next } from 'i18next';
import { DEFAULT_LOCALE, SUPPORTED_LOCALES, type Locale } from './locale.js';

/** A namespace's texts in one language: keys (nested objects for groups) to i18next strings. */
export interface Catalog {
  [key: string]: string | Catalog;
}

/** A namespace's catalogs, one per supported locale, each with the English one's keys. */
export type Catalogs = Record<Locale, Catalog>;

/** A value for a `{{name}}` placeholder: a nested Message (translated too), or a list of them (joined). */
export type MessageParam = string | number | Message | readonly (string | Message)[];
export type MessageParams = Readonly<Record<string, MessageParam>>;

/**
 * The platform's one i18next instance (never i18next's global one, which a dependency may share):
 * every text is in memory from the start, so translating is synchronous. No HTML escaping of
 * values: the texts are plain; mail templates escape what goes into HTML themselves.
 */
const i18n: I18next = createInstance();
void i18n.init({
  lng: DEFAULT_LOCALE,
  fallbackLng: DEFAULT_LOCALE,
  supportedLngs: [...SUPPORTED_LOCALES],
  ns: [],
  defaultNS: false,
  resources: {},
  initAsync: false,
  interpolation: { escapeValue: false },
  returnNull: false,
});

const registered = new Map<string, string>();

/**
 * Registers a module's texts under `namespace` (keys are then `namespace:group.key`), once per
 * process: registering other texts under a taken namespace throws (two modules chose one name),
 * the same texts again is a no-op. Plurals follow i18next (`key_one`, `key_other` with `count`).
 *
 * @example
 * registerMessages('blog', { en: { post: { locked: 'is locked' } }, de: { post: { locked: 'ist gesperrt' } } });
 * throw InputError.field('title', msg('blog:post.locked'));
 */
export function registerMessages(namespace: string, catalogs: Catalogs): void {
  if (!/^[a-z][a-z0-9-]*$/.test(namespace))
    throw new Error(`message namespace "${namespace}": lower-case letters, digits and -`);
  const fingerprint = JSON.stringify(catalogs);
  const before = registered.get(namespace);
  if (before !== undefined) {
    if (before === fingerprint) return;
    throw new Error(`message namespace "${namespace}" is registered already, with other texts`);
  }
  for (const locale of SUPPORTED_LOCALES) {
    const catalog = catalogs[locale];
    if (!catalog) throw new Error(`message namespace "${namespace}" has no "${locale}" catalog`);
    i18n.addResourceBundle(locale, namespace, catalog, true, true);
  }
  registered.set(namespace, fingerprint);
}

/** Every registered namespace with its catalogs (for the catalog-completeness test and tools). */
export function registeredCatalogs(): ReadonlyMap<string, Catalogs> {
  return new Map(
    [...registered.keys()].map((namespace) => [
      namespace,
      Object.fromEntries(
        SUPPORTED_LOCALES.map((locale) => [locale, (i18n.getResourceBundle(locale, namespace) ?? {}) as Catalog]),
      ) as Catalogs,
    ]),
  );
}

/**
 * Whether `key` (`namespace:path`) has a text in English, the language every other one falls
 * back to; a plural's key (`mail.hours` for `mail.hours_one`, `mail.hours_other`) counts.
 */
export function hasMessage(key: string): boolean {
  return i18n.exists(key, { lng: DEFAULT_LOCALE }) || i18n.exists(key, { lng: DEFAULT_LOCALE, count: 2 });
}

/**
 * A text by catalog key and placeholders, translated when it is shown: an error keeps one in its
 * message (English, what logs see) and is answered in the caller's language. Build it with {@link msg}.
 */
export class Message {
  constructor(
    readonly key: string,
    readonly params: MessageParams = {},
  ) {}

  /** The text in `locale` (English where a catalog lacks the key; the key itself where even English does). */
  in(locale: string): string {
    const values: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(this.params)) values[name] = paramIn(value, locale);
    return i18n.t(this.key, { ...values, lng: locale });
  }

  /** The English text. */
  toString(): string {
    return this.in(DEFAULT_LOCALE);
  }
}

function paramIn(value: MessageParam, locale: string): string | number {
  if (value instanceof Message) return value.in(locale);
  if (Array.isArray(value)) return value.map((item: string | Message) => paramIn(item, locale)).join(', ');
  return value as string | number;
}

/** A {@link Message}: `msg('errors:validation.uuid')`, `msg('errors:notFound', { resource: 'Post' })`. */
export function msg(key: string, params?: MessageParams): Message {
  return new Message(key, params);
}

/** `text` in `locale` when it is a Message, else as it is. */
export function textIn(text: string | Message, locale: string = DEFAULT_LOCALE): string {
  return typeof text === 'string' ? text : text.in(locale);
}
