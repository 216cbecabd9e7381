import type { GraphQLContext } from '@platform/kernel';
import type { AuditServices } from './services.js';

/** What audit's resolvers receive. */
export type AuditContext = GraphQLContext<AuditServices>;
