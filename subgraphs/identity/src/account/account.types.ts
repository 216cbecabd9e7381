import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { User } from '../user/user.entity.js';

@InputType({ description: 'A new account' })
export class RegisterInput {
  @Field({ description: 'Unique, case-insensitively' })
  email!: string;

  @Field({ description: 'At least 10 characters, not a common password, not the email' })
  password!: string;

  @Field(() => String, { nullable: true })
  displayName?: string | null;
}

@InputType({ description: "Changes to the caller's own profile" })
export class UpdateProfileInput {
  @Field(() => String, { nullable: true, description: 'Empty or null clears it' })
  displayName?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The language of mails to you: a supported locale (`en`, `de`); null clears it',
  })
  locale?: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      'An AVATAR upload (`createUpload`) whose bytes were sent: it becomes the avatar, replacing the old one',
  })
  avatarUploadId?: string | null;
}

@InputType({ description: "An administrator's changes to an account" })
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => String, { nullable: true, description: 'A new email is unverified until confirmed' })
  email?: string | null;

  @Field(() => Boolean, { nullable: true })
  emailVerified?: boolean | null;
}

@ObjectType({ description: 'Tokens from login or refresh' })
export class AuthPayload {
  @Field({ description: 'JWT for `Authorization: Bearer`, short-lived' })
  accessToken!: string;

  @Field({ description: 'Opaque, single use: trade it for a new pair with `refreshToken`' })
  refreshToken!: string;

  @Field(() => Int, { description: 'Seconds until the access token expires' })
  expiresIn!: number;

  @Field(() => User)
  user!: User;
}
