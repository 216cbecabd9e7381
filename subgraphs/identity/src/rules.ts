import {
  authenticated,
  and,
  ForbiddenError,
  isUuid,
  or,
  perCaller,
  permission,
  publicAccess,
  rule,
  type GraphQLContext,
  type IRules,
  type ShieldRule,
} from '@platform/kernel';
import type { IdentityContext } from './context.js';
import { Permission } from './permissions.generated.js';

/** Users a request has just proven to be (registered, verified, signed in as): the caller is them. */
const provenUsers = new WeakMap<object, Set<string>>();

/** Lets the rest of this request read `userId`'s own fields (e.g. `register { email }`). */
export function actAs(ctx: GraphQLContext, userId: string): void {
  const ids = provenUsers.get(ctx) ?? new Set<string>();
  ids.add(userId.toLowerCase());
  provenUsers.set(ctx, ids);
}

/**
 * The caller is the user being read. Not cached across parents: one request may read many
 * users, and the answer differs per user.
 */
export const isSelf: ShieldRule = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: GraphQLContext) =>
  callerIs(ctx, parent.id) ? true : new ForbiddenError('Only the user themself can see this'),
);

/** Whether the caller is `userId`: signed in as them, or proven to be them in this request. */
export function callerIs(ctx: GraphQLContext, userId: string): boolean {
  const id = userId.toLowerCase();
  return ctx.user?.id.toLowerCase() === id || (provenUsers.get(ctx)?.has(id) ?? false);
}

/**
 * Whether `user(id)` shows this account to the caller. One whose address is not verified may be
 * one `register` just made for whoever typed the address, and `register` answers a taken address
 * with an id that exists nowhere: showing the one and not the other would tell which addresses
 * already had an account. So only the account itself and readers of accounts see it. Entity
 * references (a post's author) still resolve it.
 */
export async function canSeeAccount(
  ctx: GraphQLContext,
  user: { id: string; emailVerified: boolean },
): Promise<boolean> {
  return user.emailVerified || callerIs(ctx, user.id) || ctx.can(Permission.UserRead);
}

/** `apiKeys` without `ownerId`/`all`, or naming the caller: their own keys. */
const ownApiKeys: ShieldRule = rule({ cache: 'no_cache' })(
  (_parent, args: { ownerId?: string | null; all?: boolean }, ctx: GraphQLContext) =>
    !!ctx.user && !args.all && (!args.ownerId || callerIs(ctx, args.ownerId)),
);

/** `createApiKey` for the caller themself (no `ownerId`, or theirs). */
const apiKeyForSelf: ShieldRule = rule({ cache: 'no_cache' })(
  (_parent, args: { input?: { ownerId?: string | null } }, ctx: GraphQLContext) =>
    !!ctx.user && (!args.input?.ownerId || callerIs(ctx, args.input.ownerId)),
);

/** `revokeApiKey` of a key the caller owns or made. */
const ownsApiKey: ShieldRule = rule({ cache: 'no_cache' })(async (
  _parent,
  args: { id?: string },
  ctx: IdentityContext,
) => {
  if (!ctx.user || typeof args.id !== 'string' || !isUuid(args.id)) return false;
  const key = await ctx.services.apiKeys.findById(ctx.em, args.id.toLowerCase());
  return !!key && (callerIs(ctx, key.ownerId) || callerIs(ctx, key.createdBy));
});

/**
 * The caller acting as themself, not through an API key: managing the account (password, second
 * factor, sessions, profile, keys) is for the person, never for a key, which acts only within
 * its permissions.
 */
export const personal: ShieldRule = rule({ cache: 'contextual' })((_parent, _args, ctx: GraphQLContext) =>
  ctx.user?.apiKeyId ? new ForbiddenError('API keys cannot manage the account they act for') : true,
);

/** Signed in as themself (see `personal`). */
const account = and(authenticated, personal);

/**
 * Profiles are public (a blog shows its authors), those of unverified accounts only to
 * themselves and readers of accounts (`canSeeAccount`); contact details are the user's own or
 * for those allowed to read accounts. Sign-up, login and the email-link flows are open to anyone.
 * Fields whose resolver answers about the caller themself (`me`, their sessions) are
 * `perCaller`: no one else's answer will do, whatever permissions they share.
 */
export const rules: IRules = {
  Query: {
    oauthClients: permission(Permission.ClientRead),
    // Configuration anyone may see: which "Sign in with …" buttons to show.
    signInProviders: publicAccess,
    // Per caller: an unverified account shows to itself (see `canSeeAccount`).
    user: perCaller(publicAccess),
    me: perCaller(publicAccess),
    users: permission(Permission.UserRead),
    sessions: perCaller(account),
    // The caller's own, or others' with identity.apikey.read (checked by the resolver too).
    apiKeys: perCaller(and(personal, or(ownApiKeys, permission(Permission.ApikeyRead)))),
    // The caller's own organizations; one they are not a member of answers null (the resolvers).
    myOrganizations: perCaller(account),
    organization: perCaller(account),
  },
  Mutation: {
    createOAuthClient: permission(Permission.ClientCreate),
    updateOAuthClient: permission(Permission.ClientUpdate),
    rotateOAuthClientSecret: permission(Permission.ClientUpdate),
    deleteOAuthClient: permission(Permission.ClientDelete),
    register: publicAccess,
    verifyEmail: publicAccess,
    resendVerificationEmail: publicAccess,
    requestPasswordReset: publicAccess,
    resetPassword: publicAccess,
    changePassword: perCaller(account),
    login: publicAccess,
    // Sign-in with an external provider, open like login; completing it needs the starting
    // client's binding and the code the provider's callback handed back.
    signInWithProvider: publicAccess,
    completeProviderSignIn: publicAccess,
    refreshToken: publicAccess,
    logout: perCaller(publicAccess),
    // Two-factor sign-in: the caller's own (the resolvers act on the signed-in user only).
    enrollTotp: perCaller(account),
    confirmTotp: perCaller(account),
    disableTotp: perCaller(account),
    regenerateRecoveryCodes: perCaller(account),
    revokeSession: perCaller(account),
    updateProfile: perCaller(account),
    createUpload: perCaller(account),
    updateUser: permission(Permission.UserUpdate),
    deleteUser: permission(Permission.UserDelete),
    // A user who lost their authenticator and recovery codes, by an administrator of accounts.
    disableUserTotp: permission(Permission.UserUpdate),
    // Keys for the caller, or for a service account by holders of identity.apikey.create; the
    // delegation rule (each permission held by the creator) is the resolver's.
    createApiKey: perCaller(and(personal, or(apiKeyForSelf, permission(Permission.ApikeyCreate)))),
    revokeApiKey: perCaller(or(ownsApiKey, permission(Permission.ApikeyRevoke))),
    createServiceAccount: and(personal, permission(Permission.ServiceaccountCreate)),
    // Organizations are managed by people, never by API keys; who may do what in one (owners,
    // administrators, members) is the membership's, checked by the service (docs/tenancy.md).
    createOrganization: perCaller(account),
    inviteMember: perCaller(account),
    acceptInvitation: perCaller(account),
    setMemberRole: perCaller(account),
    removeMember: perCaller(account),
    leaveOrganization: perCaller(account),
    switchOrganization: perCaller(account),
  },
  User: {
    id: publicAccess,
    displayName: publicAccess,
    createdAt: publicAccess,
    updatedAt: publicAccess,
    email: or(isSelf, permission(Permission.UserRead)),
    emailVerified: or(isSelf, permission(Permission.UserRead)),
    locale: or(isSelf, permission(Permission.UserRead)),
    totpEnabled: or(isSelf, permission(Permission.UserRead)),
    // Public like the name beside it; a signed URL, short-lived.
    avatarUrl: publicAccess,
    serviceAccount: publicAccess,
  },
  // Only ever the caller's own: returned by `createUpload`.
  UploadTicket: authenticated,
  // Only ever the caller's own: returned by the TOTP mutations.
  TotpEnrollment: authenticated,
  RecoveryCodes: authenticated,
  HttpHeader: authenticated,
  SignInProvider: publicAccess,
  // Reached only through the caller's own memberships (the queries and mutations above).
  Organization: authenticated,
  OrganizationMember: authenticated,
  OrganizationMembership: authenticated,
  OrganizationInvitation: authenticated,
  // Only ever the caller's own: returned by `signInWithProvider`.
  ProviderSignInStart: publicAccess,
  // Only ever the caller's own: returned by login/refresh and the `sessions` query.
  AuthPayload: publicAccess,
  Session: authenticated,
  // Reached only through the client operations above, each behind its permission.
  OAuthClient: authenticated,
  CreatedOAuthClient: authenticated,
  // Only ever the caller's own, or read by holders of identity.apikey.read (the resolvers).
  ApiKey: authenticated,
  CreatedApiKey: authenticated,
  // Only the caller's own sessions reach them (the feed filters by user).
  Subscription: { mySessionRevoked: perCaller(authenticated) },
  SessionRevocation: authenticated,
};
