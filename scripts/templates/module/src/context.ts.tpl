import type { GraphQLContext } from '@platform/kernel';
import type { __Name__Services } from './services.js';

/** What __name__'s resolvers receive. */
export type __Name__Context = GraphQLContext<__Name__Services>;
