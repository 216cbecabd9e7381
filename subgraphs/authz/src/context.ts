import type { GraphQLContext } from '@platform/kernel';
import type { AuthzServices } from './services.js';

/** What authz's resolvers receive. */
export type AuthzContext = GraphQLContext<AuthzServices>;
