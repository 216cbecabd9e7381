import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  ConflictError,
  ForbiddenError,
  InputError,
  NotFoundError,
  requireUuid,
  type Emit,
  type EntityManager,
  type Logger,
  type ModuleMail,
} from '@platform/kernel';
import type { IdentityEvents } from '../events.js';
import { text } from '../i18n/index.js';
import type { RevocationReason } from '../session/session.service.js';
import { hashSecret, newSecret } from '../tokens.js';
import { User } from '../user/user.entity.js';
import { normaliseEmail } from '../user/user.service.js';
import { MemberRole, Organization, OrganizationInvitation, OrganizationMember } from './organization.entity.js';

/** Lower-case letters and digits, single hyphens between them; 2 to 63 characters. */
const SLUG = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,62}$/;
/** What a deployment allows before it looks like abuse; an operator raises them in config. */
export interface OrganizationLimits {
  /** Organizations one user may have created. */
  maxCreatedPerUser: number;
  /** Members (and pending invitations) of one organization. */
  maxMembers: number;
  /** How long an invitation link works. */
  invitationTtlHours: number;
}

/** Who is acting: the signed-in user (API keys never manage organizations). */
export interface Actor {
  userId: string;
}

/** Organizations, their members and invitations (identity's side of tenancy: docs/tenancy.md). */
export class OrganizationService {
  constructor(
    private readonly deps: {
      emit: Emit<IdentityEvents>;
      /** Revokes `userId`'s sessions active in `organizationId` (SessionService.revokeInOrganization). */
      revokeSessions: (
        tx: EntityManager,
        userId: string,
        organizationId: string,
        reason: RevocationReason,
      ) => Promise<string[]>;
      /** Revokes `userId`'s API keys acting in `organizationId` (ApiKeyService.revokeInOrganization). */
      revokeApiKeys: (tx: EntityManager, userId: string, organizationId: string) => Promise<string[]>;
      mail: ModuleMail;
      logger: Logger;
      limits: OrganizationLimits;
      /** `<appUrl>/accept-invitation?token=…` */
      invitationLink: (token: string) => string;
      productName: string;
    },
  ) {}

  async isMember(em: EntityManager, organizationId: string, userId: string): Promise<boolean> {
    return (await em.count(OrganizationMember, { organizationId, userId })) > 0;
  }

  /** The caller's membership of `organizationId`; NOT_FOUND when there is none (no telling which exist). */
  async membership(em: EntityManager, organizationId: string, userId: string): Promise<OrganizationMember> {
    const id = requireUuid(organizationId, 'organizationId');
    const member = await em.findOne(OrganizationMember, { organizationId: id, userId });
    if (!member) throw new NotFoundError('Organization', id);
    return member;
  }

  /** Makes an organization; its creator is its first owner. */
  async create(em: EntityManager, actor: Actor, input: { name: string; slug: string }): Promise<Organization> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100) throw InputError.field('name', text('organization.name'));
    const slug = input.slug.trim();
    if (!SLUG.test(slug)) {
      throw InputError.field('slug', text('organization.slug'));
    }
    const created = await em.count(Organization, { createdBy: actor.userId });
    if (created >= this.deps.limits.maxCreatedPerUser) {
      throw new ForbiddenError(text('organization.tooMany', { max: this.deps.limits.maxCreatedPerUser }));
    }
    try {
      return await em.transactional(async (tx) => {
        const organization = tx.create(Organization, { name, slug, createdBy: actor.userId });
        await tx.flush(); // before its first member: the rows are related only by the foreign key
        tx.create(OrganizationMember, {
          organizationId: organization.id,
          userId: actor.userId,
          role: MemberRole.OWNER,
        });
        await tx.flush();
        await this.deps.emit(tx, 'identity.organization.created', {
          organizationId: organization.id,
          name,
          slug,
          ownerId: actor.userId,
        });
        await this.deps.emit(tx, 'identity.organization.member_added', {
          organizationId: organization.id,
          userId: actor.userId,
          role: MemberRole.OWNER,
          invitationId: null,
        });
        return organization;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError(text('organization.slugTaken', { slug }));
      }
      throw error;
    }
  }

  /** The organizations `userId` belongs to, oldest membership first. */
  async ofUser(em: EntityManager, userId: string): Promise<Array<{ organization: Organization; role: MemberRole }>> {
    const memberships = await em.find(OrganizationMember, { userId }, { orderBy: { joinedAt: 'asc', id: 'asc' } });
    if (memberships.length === 0) return [];
    const organizations = await em.find(Organization, { id: { $in: memberships.map((m) => m.organizationId) } });
    const byId = new Map(organizations.map((o) => [o.id, o]));
    return memberships.flatMap((m) => {
      const organization = byId.get(m.organizationId);
      return organization ? [{ organization, role: m.role }] : [];
    });
  }

  async members(em: EntityManager, organizationId: string): Promise<OrganizationMember[]> {
    return em.find(
      OrganizationMember,
      { organizationId },
      { orderBy: { joinedAt: 'asc', id: 'asc' }, limit: this.deps.limits.maxMembers },
    );
  }

  async pendingInvitations(em: EntityManager, organizationId: string): Promise<OrganizationInvitation[]> {
    return em.find(
      OrganizationInvitation,
      { organizationId, acceptedAt: null, expiresAt: { $gt: new Date() } },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: this.deps.limits.maxMembers },
    );
  }

  /**
   * Invites `email` with `role` (owners invite any role; administrators members and
   * administrators). A pending invitation of the address is replaced (its link stops working).
   * The link is mailed; the answer never carries it.
   */
  async invite(
    em: EntityManager,
    actor: Actor,
    input: { organizationId: string; email: string; role: MemberRole },
  ): Promise<OrganizationInvitation> {
    const inviter = await this.#manager(em, input.organizationId, actor);
    if (input.role === MemberRole.OWNER && inviter.role !== MemberRole.OWNER) {
      throw new ForbiddenError(text('organization.ownersInvite'));
    }
    const email = normaliseEmail(input.email);
    if (!email || email.length > 320 || !/^[^\s@]+@[^\s@]+$/.test(email)) {
      throw InputError.field('email', text('organization.email'));
    }
    const organization = await em.findOneOrFail(Organization, { id: inviter.organizationId });
    const existing = await em.findOne(User, { email, deletedAt: null });
    if (existing && (await this.isMember(em, organization.id, existing.id))) {
      throw new ConflictError(text('organization.alreadyMember'));
    }
    const token = newSecret();
    const invitation = await em.transactional(async (tx) => {
      await tx.nativeDelete(OrganizationInvitation, { organizationId: organization.id, email, acceptedAt: null });
      const occupied =
        (await tx.count(OrganizationMember, { organizationId: organization.id })) +
        (await tx.count(OrganizationInvitation, {
          organizationId: organization.id,
          acceptedAt: null,
          expiresAt: { $gt: new Date() },
        }));
      if (occupied >= this.deps.limits.maxMembers) {
        throw new ForbiddenError(text('organization.full', { max: this.deps.limits.maxMembers }));
      }
      const created = tx.create(OrganizationInvitation, {
        organizationId: organization.id,
        email,
        role: input.role,
        tokenHash: hashSecret(token),
        invitedBy: actor.userId,
        expiresAt: new Date(Date.now() + this.deps.limits.invitationTtlHours * 3_600_000),
      });
      await tx.flush();
      await this.deps.emit(tx, 'identity.organization.member_invited', {
        organizationId: organization.id,
        invitationId: created.id,
        email,
        role: input.role,
      });
      return created;
    });
    const inviterUser = await em.findOne(User, { id: actor.userId });
    await this.deps.mail
      .send({
        to: email,
        template: 'organizationInvitation',
        data: {
          organizationName: organization.name,
          inviterName: inviterUser?.displayName ?? null,
          role: input.role,
          link: this.deps.invitationLink(token),
          expiresInHours: this.deps.limits.invitationTtlHours,
          productName: this.deps.productName,
        },
        idempotencyKey: `organization-invitation:${invitation.id}`,
      })
      .catch((error: unknown) =>
        this.deps.logger.error({ err: error, invitationId: invitation.id }, 'could not queue the invitation'),
      );
    return invitation;
  }

  /**
   * Joins the organization of the invitation `token`: for the signed-in account whose verified
   * email it was sent to, once, before it expires. One answer (NOT_FOUND) for a token that is
   * unknown, used, expired or someone else's.
   */
  async accept(em: EntityManager, actor: Actor, token: string): Promise<Organization> {
    const invalid = (): NotFoundError => new NotFoundError('Invitation', 'the link');
    const invitation = await em.findOne(OrganizationInvitation, { tokenHash: hashSecret(token) });
    if (!invitation || invitation.acceptedAt || invitation.expiresAt <= new Date()) throw invalid();
    const user = await em.findOne(User, { id: actor.userId, deletedAt: null });
    if (!user || normaliseEmail(user.email) !== invitation.email) throw invalid();
    if (!user.emailVerified) throw new ForbiddenError(text('organization.verifyFirst'));
    return em.transactional(async (tx) => {
      // Once: of two acceptances at the same time, one marks it.
      const marked = await tx.nativeUpdate(
        OrganizationInvitation,
        { id: invitation.id, acceptedAt: null },
        { acceptedAt: new Date() },
      );
      if (marked === 0) throw invalid();
      if (await this.isMember(tx, invitation.organizationId, user.id)) {
        throw new ConflictError(text('organization.youAreMember'));
      }
      tx.create(OrganizationMember, {
        organizationId: invitation.organizationId,
        userId: user.id,
        role: invitation.role,
      });
      await tx.flush();
      await this.deps.emit(tx, 'identity.organization.member_added', {
        organizationId: invitation.organizationId,
        userId: user.id,
        role: invitation.role,
        invitationId: invitation.id,
      });
      return tx.findOneOrFail(Organization, { id: invitation.organizationId });
    });
  }

  /**
   * Removes `userId` (by an owner, or an administrator removing a member or administrator); the
   * last owner stays. Their sessions active in the organization end.
   */
  async removeMember(em: EntityManager, actor: Actor, organizationId: string, userId: string): Promise<boolean> {
    const manager = await this.#manager(em, organizationId, actor);
    const target = await em.findOne(OrganizationMember, {
      organizationId: manager.organizationId,
      userId: requireUuid(userId, 'userId'),
    });
    if (!target) throw new NotFoundError('Member', userId);
    if (target.role === MemberRole.OWNER && manager.role !== MemberRole.OWNER) {
      throw new ForbiddenError(text('organization.ownersRemove'));
    }
    await this.#end(em, target, 'removed');
    return true;
  }

  /**
   * Changes a member's role: owners change any (the last owner stays one); administrators make
   * members administrators and back, never touching owners.
   */
  async setRole(
    em: EntityManager,
    actor: Actor,
    input: { organizationId: string; userId: string; role: MemberRole },
  ): Promise<OrganizationMember> {
    const manager = await this.#manager(em, input.organizationId, actor);
    const userId = requireUuid(input.userId, 'userId');
    return em.transactional(async (tx) => {
      const target = await tx.findOne(
        OrganizationMember,
        { organizationId: manager.organizationId, userId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!target) throw new NotFoundError('Member', userId);
      if (manager.role !== MemberRole.OWNER && (target.role === MemberRole.OWNER || input.role === MemberRole.OWNER)) {
        throw new ForbiddenError(text('organization.ownersMake'));
      }
      if (target.role === input.role) return target;
      if (target.role === MemberRole.OWNER) await this.#keepAnOwner(tx, target);
      const from = target.role;
      target.role = input.role;
      await tx.flush();
      await this.deps.emit(tx, 'identity.organization.member_role_changed', {
        organizationId: target.organizationId,
        userId,
        from,
        to: input.role,
      });
      return target;
    });
  }

  /** The caller leaves `organizationId` (not its last owner); their sessions active in it end. */
  async leave(em: EntityManager, actor: Actor, organizationId: string): Promise<boolean> {
    const member = await this.membership(em, organizationId, actor.userId);
    await this.#end(em, member, 'left');
    return true;
  }

  /** Membership ends: the row goes, sessions active in it are revoked, the event says why. */
  async #end(em: EntityManager, member: OrganizationMember, reason: 'removed' | 'left'): Promise<void> {
    await em.transactional(async (tx) => {
      if (member.role === MemberRole.OWNER) await this.#keepAnOwner(tx, member);
      const deleted = await tx.nativeDelete(OrganizationMember, { id: member.id });
      if (deleted === 0) throw new NotFoundError('Member', member.userId);
      const sessionIds = await this.deps.revokeSessions(
        tx,
        member.userId,
        member.organizationId,
        reason === 'left' ? 'organization_left' : 'organization_removed',
      );
      const apiKeyIds = await this.deps.revokeApiKeys(tx, member.userId, member.organizationId);
      await this.deps.emit(tx, 'identity.organization.member_removed', {
        organizationId: member.organizationId,
        userId: member.userId,
        reason,
        sessionIds,
        apiKeyIds,
      });
    });
  }

  /**
   * CONFLICT when `owner` is the organization's last owner. Locks the owners' rows: of two owners
   * stepping down at once, the second sees the first gone.
   */
  async #keepAnOwner(tx: EntityManager, owner: OrganizationMember): Promise<void> {
    const owners = await tx.find(
      OrganizationMember,
      { organizationId: owner.organizationId, role: MemberRole.OWNER },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (owners.every((o) => o.userId === owner.userId)) {
      throw new ConflictError(text('organization.keepOwner'));
    }
  }

  /** The caller as an owner or administrator of `organizationId`; FORBIDDEN for a plain member. */
  async #manager(em: EntityManager, organizationId: string, actor: Actor): Promise<OrganizationMember> {
    const member = await this.membership(em, organizationId, actor.userId);
    if (member.role === MemberRole.MEMBER) {
      throw new ForbiddenError(text('organization.managers'));
    }
    return member;
  }
}
