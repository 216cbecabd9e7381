import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Template files end in `.tpl`, so the repository's tsc, ESLint, Prettier and Jest leave them alone. */
export const TEMPLATE_SUFFIX = '.tpl';

/** `__token__` in a template's paths and text; the token is letters only. */
const TOKEN = /__([A-Za-z]+)__/g;

/** Raised for a template that uses a token it is not given: a bug in the template, not in the call. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Replaces every `__token__` in `text`; an unknown token throws, naming `where`. */
export function fillTemplate(text: string, tokens: Readonly<Record<string, string>>, where: string): string {
  return text.replace(TOKEN, (whole, token: string) => {
    const value = tokens[token];
    if (value === undefined) throw new TemplateError(`${where}: unknown template token ${whole}`);
    return value;
  });
}

/** Every `.tpl` file under `dir`, as paths relative to it (with `/` separators), sorted. */
export function templateFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(TEMPLATE_SUFFIX))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/**
 * The files a template produces: each `.tpl` file under `dir`, its path (without `.tpl`) and
 * its text with the tokens filled in.
 */
export function renderTemplate(dir: string, tokens: Readonly<Record<string, string>>): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of templateFiles(dir)) {
    const path = fillTemplate(file.slice(0, -TEMPLATE_SUFFIX.length), tokens, file);
    files.set(path, fillTemplate(readFileSync(join(dir, file), 'utf8'), tokens, file));
  }
  return files;
}

/**
 * The identifiers the TypeScript files of a template declare or import (`Connection`, `Permission`,
 * `Opt`…), outside tokens, comments and string literals. A token whose value equals one of them
 * would shadow it in the filled-in code, so callers refuse such values.
 */
export function templateIdentifiers(dir: string): Set<string> {
  const identifiers = new Set<string>();
  for (const file of templateFiles(dir).filter((f) => f.endsWith(`.ts${TEMPLATE_SUFFIX}`))) {
    const code = readFileSync(join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, ' ')
      .replace(/(^|[^:])\/\/.*$/gm, '$1')
      .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, ' ')
      // `$` keeps a token and the letters around it one identifier (`list$`, not `list`).
      .replace(TOKEN, () => '$');
    for (const [identifier] of code.matchAll(/[A-Za-z_$][\w$]*/g)) identifiers.add(identifier);
  }
  return identifiers;
}

/** `task` → `Task`. */
export const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * A best guess at the singular of an English plural, for the default resource of a module
 * (`notes` → `note`, `categories` → `category`, `boxes` → `box`); words that do not look
 * plural stay as they are. Callers let users override it.
 */
export function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(sses|xes|zes|ches|shes)$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !/(ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

/** The regular English plural: `note` → `notes`, `box` → `boxes`, `category` → `categories`. */
export function plural(word: string): string {
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  return `${word}s`;
}
