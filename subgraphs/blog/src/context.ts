import type { GraphQLContext } from '@platform/kernel';
import type { BlogServices } from './services.js';

/** What blog's resolvers receive. */
export type BlogContext = GraphQLContext<BlogServices>;
