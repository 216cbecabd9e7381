import { describe, expect, it } from '@jest/globals';
import { AUDITED_TOPICS } from '../topics.generated.js';
import { isSecurityAction, SECURITY_ACTIONS, securityActionsOf } from './security-actions.js';

describe('security actions', () => {
  it('are all recorded by audit (no typo, no action nobody publishes)', () => {
    expect(SECURITY_ACTIONS.filter((action) => !AUDITED_TOPICS.includes(action))).toEqual([]);
  });

  it('leave routine traffic out', () => {
    for (const action of ['identity.login.succeeded', 'identity.session.revoked', 'blog.post.created']) {
      expect(isSecurityAction(action)).toBe(false);
    }
  });

  it.each([
    ['all of them when none are given', undefined, SECURITY_ACTIONS.length],
    ['all of them for null', null, SECURITY_ACTIONS.length],
    ['the ones given', ['identity.login.throttled', 'authz.grant.changed'], 2],
  ])('securityActionsOf: %s', (_case, actions, size) => {
    expect(securityActionsOf(actions).size).toBe(size);
  });

  it.each([
    ['an empty list', [], 'actions: must name at least one action, or be left out for all'],
    ['an action outside the list', ['blog.post.created'], 'actions: "blog.post.created" is not a security action'],
  ])('securityActionsOf refuses %s with BAD_USER_INPUT', (_case, actions, message) => {
    expect(() => securityActionsOf(actions)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => securityActionsOf(actions)).toThrow(message);
  });
});
