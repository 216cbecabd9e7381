import { authenticated, type IRules } from '@platform/kernel';

/**
 * Who may touch what. Until authz answers permission checks, reading roles needs a signed-in
 * caller (the `authz.role.read` check replaces `authenticated` once it exists).
 */
export const rules: IRules = {
  Query: {
    roles: authenticated,
    role: authenticated,
  },
  Role: authenticated,
};
