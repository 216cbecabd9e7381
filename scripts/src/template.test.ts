import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillTemplate, plural, renderTemplate, singular, TemplateError, templateIdentifiers } from './template.js';

describe('fillTemplate', () => {
  it('fills every token and refuses an unknown one, naming the file', () => {
    expect(fillTemplate('create__Resource__(__resource__Id)', { Resource: 'Note', resource: 'note' }, 'f')).toBe(
      'createNote(noteId)',
    );
    expect(() => fillTemplate('__nmae__', { name: 'notes' }, 'module.yaml.tpl')).toThrow(TemplateError);
    expect(() => fillTemplate('__nmae__', { name: 'notes' }, 'module.yaml.tpl')).toThrow(
      'module.yaml.tpl: unknown template token __nmae__',
    );
  });
});

describe('renderTemplate and templateIdentifiers', () => {
  it('renders .tpl files only, paths included, and lists the identifiers of their code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'template-'));
    try {
      mkdirSync(join(dir, 'src', '__resource__'), { recursive: true });
      writeFileSync(
        join(dir, 'src', '__resource__', '__resource__.ts.tpl'),
        "// a comment\nexport class __Resource__Page { kind = 'a string'; }\n",
      );
      writeFileSync(join(dir, 'README.md'), 'not copied');
      expect(renderTemplate(dir, { resource: 'note', Resource: 'Note' })).toEqual(
        new Map([['src/note/note.ts', "// a comment\nexport class NotePage { kind = 'a string'; }\n"]]),
      );
      // Neither `comment`, `string` nor `Page`: a resource named so clashes with nothing.
      expect([...templateIdentifiers(dir)].sort()).toEqual(['$Page', 'class', 'export', 'kind']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('singular and plural', () => {
  it.each([
    ['notes', 'note'],
    ['categories', 'category'],
    ['boxes', 'box'],
    ['addresses', 'address'],
    ['cases', 'case'],
    ['status', 'status'],
    ['analysis', 'analysis'],
    ['inventory', 'inventory'],
  ])('singular(%s) = %s', (word, expected) => expect(singular(word)).toBe(expected));

  it.each([
    ['note', 'notes'],
    ['category', 'categories'],
    ['day', 'days'],
    ['box', 'boxes'],
    ['status', 'statuses'],
    ['match', 'matches'],
  ])('plural(%s) = %s', (word, expected) => expect(plural(word)).toBe(expected));
});
