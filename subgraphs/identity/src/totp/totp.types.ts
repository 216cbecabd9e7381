import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A new authenticator secret, pending until `confirmTotp`' })
export class TotpEnrollment {
  @Field({ description: 'Base32, for typing into an authenticator app; shown this once' })
  secret!: string;

  @Field({ description: 'otpauth://totp/… URI carrying the secret, for a QR code' })
  otpauthUri!: string;
}

@ObjectType({ description: 'Single-use codes that stand in for the authenticator when it is lost' })
export class RecoveryCodes {
  @Field(() => [String], { description: 'Ten codes, shown this once; each signs in (or disables 2FA) once' })
  recoveryCodes!: string[];
}
