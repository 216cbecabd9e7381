import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';

/** The grant types a client may be registered for. */
export const OAUTH_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number];

/**
 * A relying party of the OpenID Connect provider. A confidential client authenticates with a
 * secret (HTTP Basic at the token endpoint) stored only as its SHA-256; a public one (a single-page
 * or native app) has none and must use PKCE (S256).
 */
@ObjectType({ description: 'An application that signs users in through the OpenID Connect provider' })
@Entity({ tableName: 'oauth_client' })
export class OAuthClient {
  @Field(() => ID, { description: 'The client_id the application presents' })
  @PrimaryKey({ type: 'varchar', length: 64 })
  clientId!: string;

  @Field()
  @Property({ type: 'varchar', length: 200 })
  name!: string;

  @Property({ type: 'char', length: 64, nullable: true, hidden: true })
  secretHash?: string | null;

  @Field({ description: 'Has no secret (a browser or native app): PKCE with S256 is required' })
  @Property({ type: 'boolean' })
  public!: boolean;

  @Field(() => [String])
  @Property({ type: 'json' })
  redirectUris!: string[];

  @Field(() => [String], { description: 'authorization_code, refresh_token, client_credentials' })
  @Property({ type: 'json' })
  grantTypes!: OAuthGrantType[];

  @Field(() => [String], { description: 'Scopes it may ask for (openid is always allowed)' })
  @Property({ type: 'json' })
  scopes!: string[];

  @Field(() => ID, {
    nullable: true,
    description: 'The service account its client_credentials tokens act as (with its permissions)',
  })
  @Property({ type: 'uuid', nullable: true })
  serviceAccountId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  createdBy?: string | null;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  updatedAt: Date & Opt = new Date();
}
