import { Field, InputType } from 'type-graphql';
import { CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH } from './__resource__.validation.js';

export type { __Resource__Field } from './__resource__.validation.js';

@InputType({ description: 'A new __resource__, written by the caller' })
export class Create__Resource__Input {
  @Field({ description: `1-${TITLE_MAX_LENGTH} characters on one line; surrounding whitespace is trimmed` })
  title!: string;

  @Field({ description: `1-${CONTENT_MAX_LENGTH} characters, not only whitespace` })
  content!: string;
}

@InputType({
  description: 'Changes to a __resource__: its title, its content or both; what is left out stays as it is',
})
export class Update__Resource__Input {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  content?: string | null;
}
