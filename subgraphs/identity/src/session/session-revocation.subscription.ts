import { Field, ID, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import { AuthenticationError } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import type { SessionRevokedPayload } from './session-revocation.feed.js';

@ObjectType({ description: 'One of your sessions ended before it expired' })
export class SessionRevocation {
  @Field(() => ID)
  sessionId!: string;

  @Field({ description: 'Why: logout, revoked_by_user, password_changed, refresh_reused, …' })
  reason!: string;

  @Field(() => Date)
  revokedAt!: Date;
}

@Resolver()
export class SessionRevocationSubscriptionResolver {
  @Subscription(() => SessionRevocation, {
    description: "Each of the caller's own sessions as it is revoked (e.g. to sign out other tabs or devices)",
    subscribe: ({ context }) => {
      const ctx = context as IdentityContext;
      if (!ctx.user) throw new AuthenticationError('Sign in to follow your sessions');
      return ctx.services.revocationFeed.stream(ctx.user.id);
    },
  })
  mySessionRevoked(@Root() event: SessionRevokedPayload): SessionRevocation {
    return Object.assign(new SessionRevocation(), {
      sessionId: event.sessionId,
      reason: event.reason,
      revokedAt: new Date(event.revokedAt),
    });
  }
}
