import type { GraphQLContext } from '@platform/kernel';
import type { IdentityServices } from './services.js';

/** What identity's resolvers receive. */
export type IdentityContext = GraphQLContext<IdentityServices>;
