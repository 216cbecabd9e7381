import { Field, InputType } from 'type-graphql';
import { InputError, type FieldError } from '@platform/kernel';

export const TITLE_MAX_LENGTH = 200;
export const BODY_MAX_LENGTH = 10_000;

@InputType({ description: 'A new __resource__, written by the caller' })
export class Create__Resource__Input {
  @Field({ description: `1-${TITLE_MAX_LENGTH} characters on one line; surrounding whitespace is trimmed` })
  title!: string;

  @Field({ description: `At most ${BODY_MAX_LENGTH} characters; may be empty` })
  body!: string;
}

@InputType({ description: 'Changes to a __resource__; what is left out (or null) stays as it is' })
export class Update__Resource__Input {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  body?: string | null;
}

/** What a __resource__ says, as stored: the title trimmed, the body as written. */
export interface __Resource__Text {
  title: string;
  body: string;
}

export type __Resource__Field = keyof __Resource__Text;

const MAX_LENGTH: Record<__Resource__Field, number> = { title: TITLE_MAX_LENGTH, body: BODY_MAX_LENGTH };

/** What is wrong with one field, if anything. Lengths count code points, as PostgreSQL does. */
function problem(field: __Resource__Field, value: string): string | undefined {
  if (field === 'title' && value.length === 0) return 'must not be blank';
  if (!value.isWellFormed()) return 'must be valid Unicode text';
  // PostgreSQL text cannot hold NUL: refused here, it is a clear error instead of a failed insert.
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (field === 'title' && /\p{Cc}/u.test(value)) return 'must be a single line without control characters';
  const max = MAX_LENGTH[field];
  if (value.length > max && [...value].length > max) return `must be at most ${max} characters`;
  return undefined;
}

/** Checks every given field: one BAD_USER_INPUT naming each bad one. */
function check(text: Partial<__Resource__Text>): void {
  const fields: FieldError[] = [];
  for (const [field, value] of Object.entries(text) as Array<[__Resource__Field, string]>) {
    const message = problem(field, value);
    if (message) fields.push({ field, message });
  }
  if (fields.length > 0) throw new InputError(fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
}

/** A new __resource__'s text, trimmed and checked. */
export function validateNew__Resource__(input: __Resource__Text): __Resource__Text {
  const text = { title: input.title.trim(), body: input.body };
  check(text);
  return text;
}

/** The changes asked for: only the fields given, at least one, each checked as for a new __resource__. */
export function validate__Resource__Changes(input: {
  title?: string | null;
  body?: string | null;
}): Partial<__Resource__Text> {
  const changes: Partial<__Resource__Text> = {};
  if (input.title !== undefined && input.title !== null) changes.title = input.title.trim();
  if (input.body !== undefined && input.body !== null) changes.body = input.body;
  if (Object.keys(changes).length === 0) throw InputError.field('input', 'give a title or a body');
  check(changes);
  return changes;
}
