import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum UploadPurpose {
  AVATAR = 'avatar',
}

registerEnumType(UploadPurpose, { name: 'UploadPurpose', description: 'What an upload is for' });

@InputType({ description: 'A file the caller is about to upload' })
export class CreateUploadInput {
  @Field(() => UploadPurpose)
  purpose!: UploadPurpose;

  @Field({ description: 'The type the file is sent as: image/png, image/jpeg, image/webp or image/gif for AVATAR' })
  contentType!: string;

  @Field(() => Int, { description: 'The exact size of the file in bytes' })
  byteSize!: number;
}

@ObjectType({ description: 'An HTTP header to send as given' })
export class HttpHeader {
  @Field()
  name!: string;

  @Field()
  value!: string;
}

@ObjectType({ description: 'Where to send an upload: the bytes go to `url`, never through GraphQL' })
export class UploadTicket {
  @Field(() => ID, { description: 'Pass it on once the bytes are sent (`updateProfile(avatarUploadId:)`)' })
  id!: string;

  @Field({ description: 'Absolute, or a path on the API origin' })
  url!: string;

  @Field()
  method!: string;

  @Field(() => [HttpHeader])
  headers!: HttpHeader[];

  @Field(() => Date, { description: 'The URL must be used before then' })
  expiresAt!: Date;
}
