import type { GraphQLContext } from '@platform/kernel';
import type { AuditServices } from './services.js';

/** What audit's resolvers receive. */
export type AuditContext = GraphQLContext<AuditServices>;

/** The EntityManager the kernel hands out (forked per request, or per job). */
export type EntityManager = GraphQLContext['em'];
