import type { GraphQLContext } from '@platform/kernel';
import type { BlogServices } from './services.js';

/** What blog's resolvers receive. */
export type BlogContext = GraphQLContext<BlogServices>;

/** The EntityManager the kernel hands out (forked per request, or per job). */
export type EntityManager = GraphQLContext['em'];
