import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { IRules } from 'graphql-shield';
import { FEDERATION_LINK } from './federation.js';
import { applyRules, enforceRule, ruleCoverageProblems } from './rules.js';
import { topicsUnsupported } from '../subscriptions/schema-pubsub.js';
import type { EntityReference } from '../module/define.js';
import type { GraphQLContext } from './context.js';

export interface SubgraphSchemaOptions {
  module: string;
  resolvers: [Function, ...Function[]];
  orphanedTypes?: Function[];
  references?: Record<string, EntityReference>;
  rules: IRules;
  /** The permission names of the module's manifest: the rules must check exactly these. */
  permissions: readonly string[];
}

export class SchemaRulesError extends Error {
  constructor(
    readonly module: string,
    readonly problems: string[],
  ) {
    super(
      `Module ${module}'s authorization rules do not fit its schema and manifest:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'SchemaRulesError';
  }
}

/** `__resolveReference` for one entity: the reference's rule first, as shield would guard a field. */
function guardedReference({ rule, resolve }: EntityReference) {
  return async (reference: unknown, context: GraphQLContext, info: GraphQLResolveInfo): Promise<unknown> => {
    await enforceRule(rule, reference, {}, context, info);
    return resolve(reference, context);
  };
}

/**
 * Builds a module's Federation 2 subgraph schema from its type-graphql classes: the class
 * schema is printed with its directives under the federation `@link`, shield rules wrap its
 * resolvers, and each entity's guarded reference resolver is added. Refuses to build (with
 * every problem of `ruleCoverageProblems`) when a field or entity lacks a rule, or the rules
 * and the manifest's permissions disagree.
 */
export async function buildModuleSchema(
  options: SubgraphSchemaOptions,
): Promise<{ schema: GraphQLSchema; sdl: string }> {
  const classSchema = await buildSchema({
    resolvers: options.resolvers,
    orphanedTypes: options.orphanedTypes ?? [],
    skipCheck: true,
    validate: false,
    pubSub: topicsUnsupported,
  });
  const problems = ruleCoverageProblems(classSchema, options.rules, {
    permissions: options.permissions,
    references: options.references,
  });
  if (problems.length > 0) throw new SchemaRulesError(options.module, problems);

  const shielded = applyRules(classSchema, options.rules);
  const sdl = `${FEDERATION_LINK}\n\n${printSchemaWithDirectives(classSchema)}`;
  const resolvers = createResolversMap(shielded) as GraphQLResolverMap<unknown>;
  for (const [typeName, reference] of Object.entries(options.references ?? {})) {
    const typeResolvers = (resolvers[typeName] ??= {}) as Record<string, unknown>;
    typeResolvers.__resolveReference = guardedReference(reference);
  }
  const schema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers }]);
  return { schema, sdl };
}
