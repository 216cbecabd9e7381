import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AuthenticationError, requireUuid } from '@platform/kernel';
import { AuthPayload } from '../account/account.types.js';
import type { IdentityContext } from '../context.js';
import { actAs } from '../rules.js';
import { User } from '../user/user.entity.js';
import { MemberRole, Organization, OrganizationInvitation, OrganizationMember } from './organization.entity.js';
import { CreateOrganizationInput, InviteMemberInput, OrganizationMembership } from './organization.types.js';

/** The signed-in person (API keys are refused by the rules before this runs). */
function caller(ctx: IdentityContext): { userId: string; sessionId?: string } {
  if (!ctx.user) throw new AuthenticationError();
  return { userId: ctx.user.id.toLowerCase(), sessionId: ctx.user.sessionId };
}

/** Organizations: making them, their members and invitations, and which one a session is active in. */
@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => [OrganizationMembership], {
    description: 'The organizations the caller belongs to, with their role in each (oldest membership first)',
  })
  myOrganizations(@Ctx() ctx: IdentityContext): Promise<OrganizationMembership[]> {
    return ctx.services.organizations.ofUser(ctx.em, caller(ctx).userId);
  }

  @Query(() => Organization, {
    nullable: true,
    description: 'An organization the caller is a member of; null otherwise',
  })
  async organization(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<Organization | null> {
    const organizationId = requireUuid(id);
    if (!(await ctx.services.organizations.isMember(ctx.em, organizationId, caller(ctx).userId))) return null;
    return ctx.em.findOne(Organization, { id: organizationId });
  }

  @FieldResolver(() => [OrganizationMember], { description: 'Its members, oldest first (members see them)' })
  members(@Root() organization: Organization, @Ctx() ctx: IdentityContext): Promise<OrganizationMember[]> {
    return ctx.services.organizations.members(ctx.em, organization.id);
  }

  @FieldResolver(() => [OrganizationInvitation], {
    description: 'Invitations not yet accepted nor expired, newest first (owners and administrators see them)',
  })
  async invitations(
    @Root() organization: Organization,
    @Ctx() ctx: IdentityContext,
  ): Promise<OrganizationInvitation[]> {
    const { organizations } = ctx.services;
    const member = await organizations.membership(ctx.em, organization.id, caller(ctx).userId);
    if (member.role === MemberRole.MEMBER) return [];
    return organizations.pendingInvitations(ctx.em, organization.id);
  }

  @Mutation(() => Organization, { description: 'Makes an organization; the caller is its first owner' })
  createOrganization(@Arg('input') input: CreateOrganizationInput, @Ctx() ctx: IdentityContext): Promise<Organization> {
    return ctx.services.organizations.create(ctx.em, caller(ctx), input);
  }

  @Mutation(() => OrganizationInvitation, {
    description: 'Mails an invitation to join (owners and administrators); the link is only in the mail',
  })
  inviteMember(@Arg('input') input: InviteMemberInput, @Ctx() ctx: IdentityContext): Promise<OrganizationInvitation> {
    return ctx.services.organizations.invite(ctx.em, caller(ctx), input);
  }

  @Mutation(() => Organization, {
    description: "Joins the invitation's organization: the caller's verified email must be the one invited",
  })
  acceptInvitation(@Arg('token') token: string, @Ctx() ctx: IdentityContext): Promise<Organization> {
    return ctx.services.organizations.accept(ctx.em, caller(ctx), token);
  }

  @Mutation(() => OrganizationMember, {
    description: "Changes a member's role (owners; administrators for non-owners)",
  })
  setMemberRole(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => MemberRole) role: MemberRole,
    @Ctx() ctx: IdentityContext,
  ): Promise<OrganizationMember> {
    return ctx.services.organizations.setRole(ctx.em, caller(ctx), { organizationId, userId, role });
  }

  @Mutation(() => Boolean, {
    description: 'Removes a member (owners; administrators for non-owners); their sessions active in it end',
  })
  removeMember(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('userId', () => ID) userId: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<boolean> {
    return ctx.services.organizations.removeMember(ctx.em, caller(ctx), organizationId, userId);
  }

  @Mutation(() => Boolean, { description: 'Leaves an organization (not its last owner); sessions active in it end' })
  leaveOrganization(
    @Arg('organizationId', () => ID) organizationId: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<boolean> {
    return ctx.services.organizations.leave(ctx.em, caller(ctx), organizationId);
  }

  @Mutation(() => AuthPayload, {
    description:
      "Makes an organization (null: none) this session's active one; new tokens name it, and the session's earlier refresh tokens are spent",
  })
  async switchOrganization(
    @Arg('organizationId', () => ID, { nullable: true }) organizationId: string | null,
    @Ctx() ctx: IdentityContext,
  ): Promise<AuthPayload> {
    const { userId, sessionId } = caller(ctx);
    if (!sessionId) throw new AuthenticationError();
    const result = await ctx.services.sessions.switchOrganization(ctx.em, { userId, sessionId }, organizationId);
    actAs(ctx, result.user.id);
    return result;
  }
}

/** A member's account (profile fields follow User's own rules). */
@Resolver(() => OrganizationMember)
export class OrganizationMemberResolver {
  @FieldResolver(() => User, { nullable: true })
  user(@Root() member: OrganizationMember, @Ctx() ctx: IdentityContext): Promise<User | null> {
    return ctx
      .loader<string, User | null>('organization-member-user', async (ids) => {
        const users = await ctx.em.find(User, { id: { $in: [...ids] }, deletedAt: null });
        const byId = new Map(users.map((u) => [u.id, u]));
        return ids.map((id) => byId.get(id) ?? null);
      })
      .load(member.userId);
  }
}
