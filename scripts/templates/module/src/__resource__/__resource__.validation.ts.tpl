import { InputError, type FieldError } from '@platform/kernel';

export const TITLE_MAX_LENGTH = 200;
export const CONTENT_MAX_LENGTH = 100_000;

/** What a __resource__ says, as stored: the title trimmed, the content as written. */
export interface __Resource__Text {
  title: string;
  content: string;
}

export type __Resource__Field = keyof __Resource__Text;

/** Control characters (newlines, tabs, NUL…): a title is one line of text. */
const CONTROL = /\p{Cc}/u;

/**
 * Whether `value` has more than `max` characters, counted as PostgreSQL counts them (code
 * points), not as UTF-16 units: 200 emoji are a valid title.
 */
function longerThan(value: string, max: number): boolean {
  // A string never has more code points than UTF-16 units.
  if (value.length <= max) return false;
  let count = 0;
  for (const _ of value) if (++count > max) return true;
  return false;
}

/** What is wrong with a trimmed title, if anything. */
function titleProblem(title: string): string | undefined {
  if (title.length === 0) return 'must not be blank';
  if (!title.isWellFormed()) return 'must be valid Unicode text';
  if (CONTROL.test(title)) return 'must be a single line without control characters';
  if (longerThan(title, TITLE_MAX_LENGTH)) return `must be at most ${TITLE_MAX_LENGTH} characters`;
  return undefined;
}

/** What is wrong with a content, if anything. */
function contentProblem(content: string): string | undefined {
  if (content.trim().length === 0) return 'must not be blank';
  if (!content.isWellFormed()) return 'must be valid Unicode text';
  // PostgreSQL text cannot hold NUL; refused here, it is a clear error instead of a failed insert.
  if (content.includes('\u0000')) return 'must not contain NUL characters';
  if (longerThan(content, CONTENT_MAX_LENGTH)) return `must be at most ${CONTENT_MAX_LENGTH} characters`;
  return undefined;
}

/** Checks every given field; one BAD_USER_INPUT naming each bad one. */
function check(text: Partial<__Resource__Text>): void {
  const fields: FieldError[] = [];
  const problems = {
    title: text.title === undefined ? undefined : titleProblem(text.title),
    content: text.content === undefined ? undefined : contentProblem(text.content),
  };
  for (const [field, message] of Object.entries(problems)) if (message) fields.push({ field, message });
  if (fields.length > 0) throw new InputError(fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
}

/** A new __resource__'s text, trimmed and checked: BAD_USER_INPUT naming every bad field. */
export function validateNew__Resource__(input: __Resource__Text): __Resource__Text {
  const text = { title: input.title.trim(), content: input.content };
  check(text);
  return text;
}

/**
 * The changes to a __resource__'s text: only what is given (null counts as not given), at least one
 * field, each checked like a new __resource__'s.
 */
export function validate__Resource__Changes(input: {
  title?: string | null;
  content?: string | null;
}): Partial<__Resource__Text> {
  const changes: Partial<__Resource__Text> = {};
  if (input.title !== undefined && input.title !== null) changes.title = input.title.trim();
  if (input.content !== undefined && input.content !== null) changes.content = input.content;
  if (Object.keys(changes).length === 0) {
    throw new InputError('Nothing to change: give a title or content', [
      { field: 'input', message: 'give a title or content' },
    ]);
  }
  check(changes);
  return changes;
}
