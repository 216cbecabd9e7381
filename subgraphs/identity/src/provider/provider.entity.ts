import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** A user as an external provider knows them (its `sub`), linked to their account here. */
@Entity({ tableName: 'external_identity' })
export class ExternalIdentity {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  /** The provider's id in config (`signInProviders.<id>`). */
  @Property({ type: 'varchar', length: 40 })
  provider!: string;

  /** The provider's `sub` for the user; (provider, subject) is unique. */
  @Property({ type: 'varchar', length: 255 })
  subject!: string;

  @Property({ type: 'uuid' })
  userId!: string;

  /** The email the provider vouched for when the link was made. */
  @Property({ type: 'varchar', length: 320, nullable: true })
  email?: string | null;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  lastSignInAt: Date & Opt = new Date();
}

/**
 * A sign-in with a provider under way, from `signInWithProvider` to `completeProviderSignIn`
 * (ten minutes at most). Secrets are kept as SHA-256 only: the `state` sent to the provider, the
 * binding the starting client holds, the one-time code the callback hands back. The nonce and
 * the PKCE verifier are kept as they are: they must be sent, and alone they are worth nothing.
 */
@Entity({ tableName: 'provider_sign_in' })
export class ProviderSignIn {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'varchar', length: 40 })
  provider!: string;

  @Property({ type: 'char', length: 64 })
  stateHash!: string;

  @Property({ type: 'char', length: 64 })
  bindingHash!: string;

  @Property({ type: 'varchar', length: 64 })
  nonce!: string;

  @Property({ type: 'varchar', length: 128 })
  codeVerifier!: string;

  @Property({ type: 'varchar', length: 2048 })
  returnTo!: string;

  /** Set by the callback: whom the provider signed in. */
  @Property({ type: 'uuid', nullable: true })
  userId?: string | null;

  /** Set by the callback: the code `completeProviderSignIn` must bring. */
  @Property({ type: 'char', length: 64, nullable: true })
  codeHash?: string | null;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  expiresAt!: Date;
}
