import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'Which audit events to list: each field given must match (all of them together)' })
export class AuditEventFilter {
  @Field(() => ID, { nullable: true, description: 'Only what this user did' })
  actorId?: string | null;

  @Field(() => String, { nullable: true, description: 'Exactly this action, e.g. identity.login.failed' })
  action?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Actions of a module or resource, by whole segments: identity, or identity.login',
  })
  actionPrefix?: string | null;

  @Field(() => String, { nullable: true, description: 'What kind of thing was acted on, e.g. user, role, post' })
  targetType?: string | null;

  @Field(() => String, { nullable: true, description: 'The id of the thing acted on' })
  targetId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Happened at or after this time' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Happened before this time' })
  to?: Date | null;
}
