import { Field, ID, InputType, ObjectType } from 'type-graphql';

@InputType()
export class CreateApiKeyInput {
  @Field({ description: 'What the key is for, to recognise it later' })
  name!: string;

  @Field(() => [String], { description: 'What the key may do: each must be one the creator holds' })
  permissions!: string[];

  @Field(() => Date, { nullable: true, description: 'When the key stops working; never when left out' })
  expiresAt?: Date | null;

  @Field(() => ID, {
    nullable: true,
    description: 'A service account to make the key for (needs identity.apikey.create); the caller when left out',
  })
  ownerId?: string | null;
}

@ObjectType({ description: 'A new API key: `key` is shown this once and never again' })
export class CreatedApiKey {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`' })
  key!: string;

  @Field()
  prefix!: string;

  @Field()
  name!: string;

  @Field(() => [String])
  permissions!: string[];

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => ID)
  ownerId!: string;

  @Field(() => ID, { nullable: true, description: 'The organization it acts in: the one its creator acted in' })
  organizationId?: string | null;
}

@InputType()
export class CreateServiceAccountInput {
  @Field({ description: 'Shown as the account’s display name' })
  name!: string;
}
