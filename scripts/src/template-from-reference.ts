/**
 * The module template (`scripts/templates/module/`) is generated from the reference module, blog:
 * blog is the one hand-kept copy. Each of blog's files becomes a `.tpl` file with blog's names as
 * tokens (`blog` → `__name__`, `Post` → `__Resource__`, `posts` → `__resources__`…, in paths too),
 * without what only blog has:
 *
 * - whole files, listed in REFERENCE_ONLY with the reason;
 * - a line of code ending in `// reference-only: why` (`# reference-only: why` in YAML);
 * - a region from a line `// reference-only:start (why)` to a line `// reference-only:end`. Inside
 *   one, a line `// template: <text>` is the template's instead: `<text>`, renamed like the rest.
 *
 * The few template files written by hand are in TEMPLATE_ONLY. `npm run generate` (or
 * `npm run template:generate`) writes the template; `npm run generate:check` fails when the
 * committed one is not what this produces. Change blog, then run `npm run generate`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { format } from './artifacts.js';
import { TEMPLATE_SUFFIX } from './template.js';

/** The reference module and the template, relative to the repository root. */
export const REFERENCE_DIR = 'subgraphs/blog';
export const TEMPLATE_DIR = 'scripts/templates/module';

/** Blog's first migration: its class and file name become `__migration__`. */
const REFERENCE_MIGRATION = 'Migration20261121000000_posts';

/** Blog's files (and folders, ending in `/`) the template leaves out, and why. */
export const REFERENCE_ONLY: Readonly<Record<string, string>> = {
  'package.json': '`modules new` writes it, with the kernel’s dependency versions',
  'src/permissions.generated.ts': '`modules new` writes it from the manifest, as `npm run generate` does',
  'src/__tests__/': 'blog’s test helpers; the template’s test is hand-written (see TEMPLATE_ONLY)',
  'src/blog.module.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/blog.federation.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/post/identity-events.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/post/post.changes.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/post/post.counts.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/post/post.retention.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/post/post.validation.test.ts': 'blog’s suites are split by topic; the template’s test is hand-written',
  'src/demo.ts': 'demo posts for development (`demoData`)',
  'src/migrations/Migration20261121000000_posts.ts':
    'blog’s table is two migrations of history; the template’s one migration is hand-written',
  'src/migrations/Migration20261121200000_post_limits.ts':
    'blog’s table is two migrations of history; the template’s one migration is hand-written',
  'src/post/post.feed.ts': 'the postCreated subscription: the consumer that publishes new posts',
  'src/post/post.subscription.ts': 'the postCreated subscription',
  'src/user/user.queries.ts': 'User.posts: an author’s pages in one lateral query',
  'src/user/user.reference.ts': 'User.posts: blog resolves identity’s User',
  'src/user/user.resolver.ts': 'User.posts',
};

/** Template files written by hand, not generated (never overwritten here), and why. */
export const TEMPLATE_ONLY: Readonly<Record<string, string>> = {
  'README.md': 'documents the template and how it is made',
  [`src/__name__.module.test.ts${TEMPLATE_SUFFIX}`]:
    'one suite covering the whole module; blog’s tests are split over files sharing a helper (start-blog.ts)',
  [`src/migrations/__migration__.ts${TEMPLATE_SUFFIX}`]:
    'a new module’s one migration makes the table as blog has it today, which blog reaches in two',
};

export class TemplateSourceError extends Error {
  override name = 'TemplateSourceError';
}

/**
 * Blog's names as tokens, in a path or a text. A name counts where it is a word or a part of a
 * camelCase identifier (`postId`, `createPost`, `post_created_at_id_idx`), not inside another
 * word (`PostgreSQL`, `composite`).
 */
export function toTokens(text: string): string {
  return text
    .replaceAll(REFERENCE_MIGRATION, '__migration__')
    .replace(/(?<![A-Za-z])(blog|posts|post)(?![a-z])/g, (word) => LOWER[word]!)
    .replace(/(Blog|Posts|Post)(?![a-z])/g, (word) => UPPER[word]!);
}
const LOWER: Record<string, string> = { blog: '__name__', post: '__resource__', posts: '__resources__' };
const UPPER: Record<string, string> = { Blog: '__Name__', Post: '__Resource__', Posts: '__Resources__' };

/** Tokens blog's text may hold as they are: `__tests__` is a folder name, and the template's token for it. */
const LITERAL_TOKENS = new Set(['__tests__']);

/** A variable or parameter named after the resource (`const post`, `(@Root() post: Post)`). */
const LOCAL = /\b(?:const|let|var)\s+__resources?__\b|[(,][ \t]*(?:@\w+\(\)[ \t]*)?__resources?__[ \t]*\??:/;

const MARKER = /(?:\/\/|#) reference-only\b/;
const START = /^\s*(?:\/\/|#) reference-only:start \(.+\)$/;
const END = /^\s*(?:\/\/|#) reference-only:end$/;
const INSTEAD = /^(\s*)(?:\/\/|#) template: (.*)$/;
const TRAILING = /\S.*\s(?:\/\/|#) reference-only(?::.*)?$/;

/** `text` without its reference-only lines and regions, with each region's `template:` lines instead. */
export function dropReferenceOnly(text: string, where: string): string {
  const out: string[] = [];
  let region: number | undefined;
  text.split('\n').forEach((line, index) => {
    const at = `${where}:${index + 1}`;
    if (START.test(line)) {
      if (region !== undefined)
        throw new TemplateSourceError(`${at}: reference-only region inside another (line ${region})`);
      region = index + 1;
    } else if (END.test(line)) {
      if (region === undefined) throw new TemplateSourceError(`${at}: reference-only:end without a start`);
      region = undefined;
    } else if (region !== undefined) {
      const instead = INSTEAD.exec(line);
      if (instead) out.push(`${instead[1]}${instead[2]}`);
    } else if (INSTEAD.test(line)) {
      throw new TemplateSourceError(`${at}: a template: line outside a reference-only region`);
    } else if (TRAILING.test(line)) {
      // the line is blog's only
    } else if (MARKER.test(line)) {
      throw new TemplateSourceError(
        `${at}: write "reference-only" at the end of a line of code, or as reference-only:start (why) … reference-only:end`,
      );
    } else {
      out.push(line);
    }
  });
  if (region !== undefined) throw new TemplateSourceError(`${where}:${region}: reference-only region never ends`);
  return out.join('\n');
}

/** Blog's files, relative to its folder, sorted (build output and dependencies left out). */
function referenceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .filter((file) => !/(^|\/)(node_modules|dist)\//.test(file))
    .sort();
}

const referenceOnly = (file: string): boolean =>
  Object.keys(REFERENCE_ONLY).some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry));

/**
 * The template's generated files (path under the template folder → text), from blog under
 * `root`; undefined when `root` has no blog (a partial copy of the repository).
 */
export async function generateTemplate(root: string): Promise<Map<string, string> | undefined> {
  const dir = join(root, REFERENCE_DIR);
  if (!existsSync(join(dir, 'module.yaml'))) return undefined;
  const files = referenceFiles(dir);
  for (const entry of Object.keys(REFERENCE_ONLY)) {
    if (!files.some((file) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry))) {
      throw new TemplateSourceError(`REFERENCE_ONLY lists ${REFERENCE_DIR}/${entry}, which does not exist`);
    }
  }
  const template = new Map<string, string>();
  for (const file of files.filter((f) => !referenceOnly(f))) {
    const where = `${REFERENCE_DIR}/${file}`;
    const source = readFileSync(join(dir, file), 'utf8');
    for (const [token] of source.matchAll(/__[A-Za-z]+__/g)) {
      if (!LITERAL_TOKENS.has(token))
        throw new TemplateSourceError(`${where}: ${token} would read as a template token`);
    }
    let text = toTokens(dropReferenceOnly(source, where));
    if (file === 'module.yaml') {
      text = text
        .replace(/^kernel: \^.*$/m, 'kernel: ^__kernelVersion__')
        .replace(/^( {2}identity): \^.*$/m, '$1: ^__identityVersion__');
    }
    const left = /blog|post(?!gres)/i.exec(text);
    if (left) {
      const line = text.slice(0, left.index).split('\n').length;
      throw new TemplateSourceError(
        `${where}: "${left[0]}" left in the template (line ${line} after renaming): reword it, or mark it reference-only`,
      );
    }
    const local = file.endsWith('.ts') ? LOCAL.exec(text) : null;
    if (local) {
      throw new TemplateSourceError(
        `${where}: "${local[0].trim()}" names a variable or parameter after blog's resource: in a module whose resource is named like another of its locals (text, page, changes…) it would clash; name it otherwise (found, created…)`,
      );
    }
    const path = `${toTokens(file)}${TEMPLATE_SUFFIX}`;
    if (Object.hasOwn(TEMPLATE_ONLY, path))
      throw new TemplateSourceError(`${where} would overwrite ${path}, written by hand`);
    // Formatted as blog's file is (the tokens are identifiers, so the parsers take them).
    template.set(path, await format(root, where, text));
  }
  return template;
}

/** How the committed template differs from `generated`: files stale, missing, and not generated. */
export function compareTemplate(
  root: string,
  generated: ReadonlyMap<string, string>,
): { stale: string[]; missing: string[]; orphans: string[] } {
  const dir = join(root, TEMPLATE_DIR);
  const stale: string[] = [];
  const missing: string[] = [];
  for (const [file, text] of generated) {
    const path = join(dir, file);
    if (!existsSync(path)) missing.push(`${TEMPLATE_DIR}/${file}`);
    else if (readFileSync(path, 'utf8') !== text) stale.push(`${TEMPLATE_DIR}/${file}`);
  }
  const onDisk = existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    : [];
  const orphans = onDisk
    .filter((file) => !generated.has(file) && !Object.hasOwn(TEMPLATE_ONLY, file))
    .map((file) => `${TEMPLATE_DIR}/${file}`);
  for (const file of Object.keys(TEMPLATE_ONLY)) {
    if (!onDisk.includes(file)) missing.push(`${TEMPLATE_DIR}/${file} (written by hand)`);
  }
  return { stale, missing, orphans: orphans.sort() };
}

/** Writes the generated files and removes template files nothing generates; says which. */
export function writeTemplate(
  root: string,
  generated: ReadonlyMap<string, string>,
): { written: string[]; removed: string[] } {
  const { stale, missing, orphans } = compareTemplate(root, generated);
  for (const file of [...stale, ...missing]) {
    const text = generated.get(relative(TEMPLATE_DIR, file).split(sep).join('/'));
    if (text === undefined) continue; // a hand-written file that is missing: the check reports it
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  for (const file of orphans) rmSync(join(root, file));
  return {
    written: [...stale, ...missing.filter((file) => !file.endsWith('(written by hand)'))].sort(),
    removed: orphans,
  };
}

/** `npm run template:generate [-- --check]`: the template alone (`npm run generate` includes it). */
async function main(argv: string[]): Promise<number> {
  const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
  const generated = await generateTemplate(root);
  if (!generated) {
    console.error(`${REFERENCE_DIR} not found under ${root}`);
    return 2;
  }
  if (argv.includes('--check')) {
    const { stale, missing, orphans } = compareTemplate(root, generated);
    const problems = [
      ...stale.map((f) => `${f} is stale`),
      ...missing.map((f) => `${f} is missing`),
      ...orphans.map((f) => `${f} is not generated (remove it)`),
    ];
    for (const problem of problems) console.error(`  - ${problem}`);
    return problems.length > 0 ? 1 : 0;
  }
  const { written, removed } = writeTemplate(root, generated);
  for (const file of written) console.log(`wrote ${file}`);
  for (const file of removed) console.log(`removed ${file}`);
  console.log(`${generated.size} template files generated from ${REFERENCE_DIR}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof TemplateSourceError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
  }
}
