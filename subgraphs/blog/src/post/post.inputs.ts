import { Field, InputType } from 'type-graphql';
import { CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH } from './post.validation.js';

export type { PostField } from './post.validation.js';

@InputType({ description: 'A new post, written by the caller' })
export class CreatePostInput {
  @Field({ description: `1-${TITLE_MAX_LENGTH} characters on one line; surrounding whitespace is trimmed` })
  title!: string;

  @Field({ description: `1-${CONTENT_MAX_LENGTH} characters, not only whitespace` })
  content!: string;
}

@InputType({ description: 'Changes to a post: its title, its content or both; what is left out stays as it is' })
export class UpdatePostInput {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  content?: string | null;
}
