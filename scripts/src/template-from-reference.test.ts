import { describe, expect, it } from '@jest/globals';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './commands/__tests__/repo-copy.js';
import {
  dropReferenceOnly,
  generateTemplate,
  REFERENCE_DIR,
  REFERENCE_ONLY,
  TEMPLATE_DIR,
  TEMPLATE_ONLY,
  TemplateSourceError,
  toTokens,
} from './template-from-reference.js';

/**
 * How the template is made from blog. That the committed template is what the generator makes is
 * `npm run generate:check`'s to say (CI runs it); these cases pin the renaming and the markers.
 */
describe('the module template, generated from blog', () => {
  it.each([
    ['blog.post.read', '__name__.__resource__.read'],
    ['createPost(input: CreatePostInput)', 'create__Resource__(input: Create__Resource__Input)'],
    ['postId postsByIds listPosts BlogEvents', '__resource__Id __resources__ByIds list__Resources__ __Name__Events'],
    ['"post_created_at_id_idx" on "post"', '"__resource___created_at_id_idx" on "__resource__"'],
    ['Migration20261121000000_posts', '__migration__'],
    ['src/post/post.entity.ts', 'src/__resource__/__resource__.entity.ts'],
    // Not blog's names: other words that contain them.
    ['PostgreSQL postgres composite blogger', 'PostgreSQL postgres composite blogger'],
  ])('renames %j to %j', (text, expected) => {
    expect(toTokens(text)).toBe(expected);
  });

  it('drops lines and regions marked reference-only, keeping a region’s template: lines instead', () => {
    const source = [
      "import { a } from './a.js';",
      "import { demo } from './demo.js'; // reference-only: demo posts",
      'key: value # reference-only: yaml too',
      '  // reference-only:start (why)',
      '  hooks: {},',
      '  // template: other: true,',
      '  // reference-only:end',
      'end',
    ].join('\n');
    expect(dropReferenceOnly(source, 'f.ts')).toBe(["import { a } from './a.js';", '  other: true,', 'end'].join('\n'));
  });

  it.each([
    ['a region never closed', '// reference-only:start (why)\ncode'],
    ['an end without a start', 'code\n// reference-only:end'],
    ['a region inside another', '// reference-only:start (a)\n// reference-only:start (b)\n// reference-only:end'],
    ['a template: line outside a region', '// template: code'],
    ['a marker alone on its line', '// reference-only: what does this drop?'],
    ['a region without its reason', '// reference-only:start\n// reference-only:end'],
  ])('refuses %s', (_case, source) => {
    expect(() => dropReferenceOnly(source, 'f.ts')).toThrow(TemplateSourceError);
  });

  it('lists only files blog has as blog only, and only files the template has as hand-written', () => {
    for (const file of Object.keys(REFERENCE_ONLY)) expect(existsSync(join(REPO, REFERENCE_DIR, file))).toBe(true);
    for (const file of Object.keys(TEMPLATE_ONLY)) expect(existsSync(join(REPO, TEMPLATE_DIR, file))).toBe(true);
  });

  describe('refuses blog source the template cannot take', () => {
    /** `generateTemplate` over a copy of blog with one file edited. */
    const generateWith = async (file: string, edit: (text: string) => string): Promise<unknown> => {
      const root = mkdtempSync(join(tmpdir(), 'template-from-reference-'));
      try {
        cpSync(join(REPO, REFERENCE_DIR), join(root, REFERENCE_DIR), {
          recursive: true,
          filter: (path) => !/[/\\](node_modules|dist)$/.test(path),
        });
        const path = join(root, REFERENCE_DIR, file);
        writeFileSync(path, edit(readFileSync(path, 'utf8')));
        return await generateTemplate(root);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    };

    it('a local named after the resource (a resource named like another local would clash)', async () => {
      await expect(
        generateWith('src/rules.ts', (text) => text.replace('const found =', 'const post =')),
      ).rejects.toThrow(/src\/rules\.ts: "const __resource__" names a variable/);
    });

    it("blog's name left where renaming cannot reach it", async () => {
      await expect(generateWith('src/services.ts', (text) => `// Posted by the blogger.\n${text}`)).rejects.toThrow(
        /src\/services\.ts: "Post" left in the template \(line 1/,
      );
    });
  });
});
