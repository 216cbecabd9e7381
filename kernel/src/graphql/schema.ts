import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { IRules } from 'graphql-shield';
import { FEDERATION_LINK } from './federation.js';
import { applyRules, ruleCoverageProblems } from './rules.js';
import type { ReferenceResolver } from '../module/define.js';

export interface SubgraphSchemaOptions {
  module: string;
  resolvers: [Function, ...Function[]];
  orphanedTypes?: Function[];
  references?: Record<string, ReferenceResolver>;
  rules: IRules;
}

export class SchemaRulesError extends Error {
  constructor(
    readonly module: string,
    readonly problems: string[],
  ) {
    super(`Module ${module} has fields without authorization rules:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SchemaRulesError';
  }
}

/**
 * Builds a module's Federation 2 subgraph schema from its type-graphql classes: the class
 * schema is printed with its directives under the federation `@link`, shield rules wrap its
 * resolvers (refusing to build if any field lacks a rule), and reference resolvers are added
 * per entity.
 */
export async function buildModuleSchema(
  options: SubgraphSchemaOptions,
): Promise<{ schema: GraphQLSchema; sdl: string }> {
  const classSchema = await buildSchema({
    resolvers: options.resolvers,
    orphanedTypes: options.orphanedTypes ?? [],
    skipCheck: true,
    validate: false,
  });
  const problems = ruleCoverageProblems(classSchema, options.rules);
  if (problems.length > 0) throw new SchemaRulesError(options.module, problems);

  const shielded = applyRules(classSchema, options.rules);
  const sdl = `${FEDERATION_LINK}\n\n${printSchemaWithDirectives(classSchema)}`;
  const resolvers = createResolversMap(shielded) as GraphQLResolverMap<unknown>;
  for (const [typeName, resolve] of Object.entries(options.references ?? {})) {
    const typeResolvers = (resolvers[typeName] ??= {}) as Record<string, unknown>;
    typeResolvers.__resolveReference = resolve;
  }
  const schema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers }]);
  return { schema, sdl };
}
