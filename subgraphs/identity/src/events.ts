/** Every event identity publishes (topic → what the payload carries). Never secrets. */
export interface IdentityEvents {
  /** `via`: how the account came to be; only `seed` accounts are trusted with the administrator role. */
  'identity.user.created': {
    userId: string;
    email: string;
    displayName: string | null;
    via: 'registration' | 'seed' | 'service_account' | 'provider';
  };
  'identity.user.updated': { userId: string; changed: string[] };
  'identity.user.deleted': { userId: string };
  'identity.user.email_verified': { userId: string };
  'identity.session.revoked': { userId: string; sessionId: string; reason: string };
  /** `provider`: signed in through that external provider (`signInWithProvider`), not with a password. */
  'identity.login.succeeded': { userId: string; sessionId: string; provider?: string; organizationId?: string };
  /** A user made an organization; they are its first owner. */
  'identity.organization.created': { organizationId: string; name: string; slug: string; ownerId: string };
  /** A member invited `email` (who has a week to accept) with `role`; a pending one of theirs was replaced. */
  'identity.organization.member_invited': {
    organizationId: string;
    invitationId: string;
    email: string;
    role: string;
  };
  /** `userId` joined with `role`: by accepting `invitationId`, or as the organization's creator. */
  'identity.organization.member_added': {
    organizationId: string;
    userId: string;
    role: string;
    invitationId: string | null;
  };
  /**
   * `userId` is no longer a member: `removed` by an owner or administrator (the event's actor), or
   * `left`. Their sessions active in it were revoked (`sessionIds`), and their API keys acting in it (`apiKeyIds`).
   */
  'identity.organization.member_removed': {
    organizationId: string;
    userId: string;
    reason: 'removed' | 'left';
    sessionIds: string[];
    /** Their API keys acting in it, revoked. */
    apiKeyIds: string[];
  };
  /** An owner or administrator (the actor) changed `userId`'s membership role. */
  'identity.organization.member_role_changed': { organizationId: string; userId: string; from: string; to: string };
  /** A session's active organization changed (`null`: none), by `switchOrganization`. */
  'identity.organization.switched': { userId: string; sessionId: string; from: string | null; to: string | null };
  /**
   * An external provider's user (`subject`) was linked to `userId`'s account, at their first
   * sign-in with it. `adopted`: the account's email was unverified, so whoever had registered it
   * lost its password, sessions, second factor and API keys (docs/identity.md).
   */
  'identity.provider.linked': { userId: string; provider: string; created: boolean; adopted: boolean };
  /**
   * At each sign-in with a provider that maps claims to roles: the roles its claims give now
   * (authz makes the user hold exactly these among those the provider gave before).
   */
  'identity.user.provider_roles': { userId: string; provider: string; roles: string[] };
  'identity.login.failed': { userId: string | null; reason: string };
  /** `seed`: `platformctl seed --adopt-existing` set the administrator's password. */
  'identity.password.changed': { userId: string; reason: 'changed' | 'reset' | 'seed' };
  'identity.password.reset_requested': { userId: string };
  'identity.refresh.reused': { userId: string; sessionId: string };
  /**
   * Login attempts the throttle refused before looking at the password: at most one event per
   * account and address per `windowSec` (`throttle.refusalReportWindowSec`), `attempts` counting
   * the refusals of that pair since its previous event, this one included. `userId`: the account's,
   * null when no account has the address; `scopes`: the lockouts refusing (account, address);
   * `retryAfterSec`: until the last of them lapses. The address is the event's meta (`ip`).
   */
  'identity.login.throttled': {
    userId: string | null;
    scopes: LockoutScope[];
    retryAfterSec: number;
    attempts: number;
    windowSec: number;
  };
  /**
   * A failed login locked the account (`userId`, null when no account has the address) or the
   * client address (`address`: the IPv4 address or IPv6 /64 the limit counts) for `durationSec`,
   * until `until`; `strike` 1 for the first lockout within the escalation window, then 2, … (each
   * twice as long).
   */
  'identity.lockout.started': LockoutSubject & { durationSec: number; strike: number; until: string };
  /**
   * A lockout lapsed at `endedAt`. Recorded by the first login attempt after it (there is no
   * timer), so `occurredAt` may be much later than `endedAt`; never when nobody tries within a day.
   */
  'identity.lockout.ended': LockoutSubject & { endedAt: string };
  /**
   * Someone registered with the address of `userId`'s account: no account was made, the caller
   * was answered as if one had been, and the owner was mailed.
   */
  'identity.registration.duplicate': { userId: string };
  /** A client of the OpenID Connect provider was registered (its secret never travels). */
  'identity.client.created': { clientId: string; name: string; public: boolean; grantTypes: string[] };
  /** `changed`: the fields that changed (name, redirectUris, grantTypes, scopes). */
  'identity.client.updated': { clientId: string; changed: string[] };
  /** A confidential client's secret was replaced; the old one no longer works. */
  'identity.client.secret_rotated': { clientId: string };
  'identity.client.deleted': { clientId: string };
  /** Two-factor sign-in (docs/identity.md): `enrollTotp` made a new, pending authenticator secret. */
  'identity.totp.enrollment_started': { userId: string };
  /** A first code confirmed the authenticator: login asks for codes from now on. */
  'identity.totp.enabled': { userId: string };
  /** Two-factor sign-in was turned off (with a code or a recovery code). */
  'identity.totp.disabled': { userId: string };
  /** A recovery code was used (to sign in, disable or regenerate); `remaining` unused ones are left. */
  'identity.totp.recovery_code_used': { userId: string; remaining: number };
  /** Ten new recovery codes replaced the user's old ones. */
  'identity.totp.recovery_codes_regenerated': { userId: string };
  /** An API key was made for `ownerId` (the actor made it); the key itself never travels. */
  'identity.apikey.created': {
    keyId: string;
    ownerId: string;
    name: string;
    permissions: string[];
    expiresAt: string | null;
    /** The organization the key acts in, when it does. */
    organizationId?: string;
  };
  /** `reason`: `revoked` (by its owner or an administrator of keys). */
  'identity.apikey.revoked': { keyId: string; ownerId: string; reason: string };
  /** A service account (a user without a password that only API keys act for) was made. */
  'identity.serviceaccount.created': { userId: string; name: string };
}

/** Which limit locked: the account or the client address. */
export type LockoutScope = 'account' | 'address';

/** What a lockout locked: an account (`userId`, `address` null) or an address (`userId` null). */
export interface LockoutSubject {
  scope: LockoutScope;
  userId: string | null;
  address: string | null;
}
