import { Field, ID, InputType, ObjectType } from 'type-graphql';

@InputType()
export class CreateOAuthClientInput {
  @Field({ description: 'Shown on the sign-in page' })
  name!: string;

  @Field(() => [String], {
    description: 'Where the browser returns with the code (exact match); https, or http on localhost',
  })
  redirectUris!: string[];

  @Field(() => [String], { description: 'authorization_code, refresh_token, client_credentials' })
  grantTypes!: string[];

  @Field(() => [String], {
    description: 'Scopes it may ask for: email, profile, offline_access (openid always)',
  })
  scopes!: string[];

  @Field({ description: 'No secret (a browser or native app): PKCE with S256 required; no client_credentials' })
  public!: boolean;

  @Field(() => ID, {
    nullable: true,
    description: 'A service account its client_credentials tokens act as; without one they reach no subgraph',
  })
  serviceAccountId?: string | null;
}

@InputType()
export class UpdateOAuthClientInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => [String], { nullable: true })
  redirectUris?: string[] | null;

  @Field(() => [String], { nullable: true })
  grantTypes?: string[] | null;

  @Field(() => [String], { nullable: true })
  scopes?: string[] | null;
}

@ObjectType({ description: 'A client as created: `clientSecret` is shown this once (null for public clients)' })
export class CreatedOAuthClient {
  @Field()
  clientId!: string;

  @Field(() => String, { nullable: true })
  clientSecret!: string | null;
}
