import { describe, it, expect } from '@jest/globals';
import { InputError } from '@platform/kernel';
import { validateNewPost, validatePostChanges } from './post.validation.js';

/** The field errors `run` throws, or the value it returns. */
function outcome<T>(run: () => T): T | Array<{ field: string; message: string }> {
  try {
    return run();
  } catch (error) {
    if (error instanceof InputError) return error.fields;
    throw error;
  }
}

describe('validateNewPost', () => {
  it.each([
    [
      'trims the title, keeps the content as written',
      { title: ' Hi ', content: ' body\n' },
      { title: 'Hi', content: ' body\n' },
    ],
    [
      'accepts 200 characters of emoji',
      { title: '😀'.repeat(200), content: 'x' },
      { title: '😀'.repeat(200), content: 'x' },
    ],
    [
      'accepts 100,000 characters of content',
      { title: 't', content: 'é'.repeat(100_000) },
      { title: 't', content: 'é'.repeat(100_000) },
    ],
  ])('%s', (_case, input, expected) => {
    expect(validateNewPost(input)).toEqual(expected);
  });

  it.each([
    ['a blank title', { title: '   ', content: 'x' }, [{ field: 'title', message: 'must not be blank' }]],
    [
      '201 characters of title',
      { title: '😀'.repeat(201), content: 'x' },
      [{ field: 'title', message: 'must be at most 200 characters' }],
    ],
    [
      'a tab in the title',
      { title: 'a\tb', content: 'x' },
      [{ field: 'title', message: 'must be a single line without control characters' }],
    ],
    [
      'a lone surrogate in the title',
      { title: 'a\udc00', content: 'x' },
      [{ field: 'title', message: 'must be valid Unicode text' }],
    ],
    [
      'a whitespace-only content',
      { title: 't', content: '\n\t ' },
      [{ field: 'content', message: 'must not be blank' }],
    ],
    [
      'a NUL in the content',
      { title: 't', content: 'a\u0000' },
      [{ field: 'content', message: 'must not contain NUL characters' }],
    ],
    [
      '100,001 characters of content',
      { title: 't', content: 'x'.repeat(100_001) },
      [{ field: 'content', message: 'must be at most 100000 characters' }],
    ],
    [
      'both blank',
      { title: '', content: '' },
      [
        { field: 'title', message: 'must not be blank' },
        { field: 'content', message: 'must not be blank' },
      ],
    ],
  ])('refuses %s, naming the field', (_case, input, fields) => {
    expect(outcome(() => validateNewPost(input))).toEqual(fields);
  });

  it('says what is wrong in the message too', () => {
    expect(() => validateNewPost({ title: '', content: 'x' })).toThrow('title: must not be blank');
  });
});

describe('validatePostChanges', () => {
  it.each([
    ['a title alone, trimmed', { title: ' New ' }, { title: 'New' }],
    ['a content alone', { content: 'New text' }, { content: 'New text' }],
    ['nulls as absent', { title: null, content: 'New text' }, { content: 'New text' }],
  ])('keeps %s', (_case, input, expected) => {
    expect(validatePostChanges(input)).toEqual(expected);
  });

  it.each([
    ['nothing', {}, [{ field: 'input', message: 'give a title or content' }]],
    ['only nulls', { title: null, content: null }, [{ field: 'input', message: 'give a title or content' }]],
    ['a blank title', { title: ' ' }, [{ field: 'title', message: 'must not be blank' }]],
  ])('refuses %s', (_case, input, fields) => {
    expect(outcome(() => validatePostChanges(input))).toEqual(fields);
  });
});
