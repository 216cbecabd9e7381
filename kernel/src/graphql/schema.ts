import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import {
  Kind,
  isObjectType,
  parse,
  print,
  visit,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLResolveInfo,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
  type GraphQLSchema,
} from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { IRules } from 'graphql-shield';
import { guardEntityRepresentations } from './entities.js';
import { FEDERATION_LINK } from './federation.js';
import {
  applyRules,
  dependsOnCaller,
  enforceRule,
  PER_CALLER_TAG,
  ruleCoverageProblems,
  throwIfAborted,
  type EntityReference,
} from './rules.js';
import { topicsUnsupported } from '../subscriptions/schema-pubsub.js';
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
    throwIfAborted(context);
    await enforceRule(rule, reference, {}, context, info);
    return resolve(reference, context);
  };
}

/** What answers depend on who the caller is: fields by type, and entity types by their reference rule. */
interface PerCallerMarks {
  fields: Map<string, Set<string>>;
  types: Set<string>;
}

function perCallerMarks(
  schema: GraphQLSchema,
  rules: IRules,
  references: Record<string, EntityReference> = {},
): PerCallerMarks {
  const marks: PerCallerMarks = { fields: new Map(), types: new Set() };
  for (const [typeName, typeRules] of Object.entries(rules as Record<string, unknown>)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    const typeWide = typeof (typeRules as { resolve?: unknown }).resolve === 'function';
    const fields = new Set(
      Object.keys(type.getFields()).filter((field) =>
        dependsOnCaller(typeWide ? typeRules : (typeRules as Record<string, unknown>)[field]),
      ),
    );
    if (fields.size > 0) marks.fields.set(typeName, fields);
  }
  for (const [typeName, reference] of Object.entries(references)) {
    if (dependsOnCaller(reference.rule)) marks.types.add(typeName);
  }
  return marks;
}

const PER_CALLER_DIRECTIVE: ConstDirectiveNode = {
  kind: Kind.DIRECTIVE,
  name: { kind: Kind.NAME, value: 'tag' },
  arguments: [
    {
      kind: Kind.ARGUMENT,
      name: { kind: Kind.NAME, value: 'name' },
      value: { kind: Kind.STRING, value: PER_CALLER_TAG },
    },
  ],
};

const withPerCallerTag = (directives: readonly ConstDirectiveNode[] = []): ConstDirectiveNode[] =>
  directives.some((directive) => print(directive) === print(PER_CALLER_DIRECTIVE))
    ? [...directives]
    : [...directives, PER_CALLER_DIRECTIVE];

/**
 * Adds `@tag(name: "perCaller")` to the marked fields and entity types of a printed class
 * schema: the gateway reads these tags in the supergraph to decide which answers it may share
 * among callers holding the same permissions.
 */
function tagPerCaller(document: DocumentNode, marks: PerCallerMarks): DocumentNode {
  const tag = <N extends ObjectTypeDefinitionNode | ObjectTypeExtensionNode>(node: N): N => {
    const fields = marks.fields.get(node.name.value);
    return {
      ...node,
      directives: marks.types.has(node.name.value) ? withPerCallerTag(node.directives) : node.directives,
      fields: node.fields?.map((field) =>
        fields?.has(field.name.value) ? { ...field, directives: withPerCallerTag(field.directives) } : field,
      ),
    };
  };
  return visit(document, { ObjectTypeDefinition: tag, ObjectTypeExtension: tag });
}

/**
 * Builds a module's Federation 2 subgraph schema from its type-graphql classes: the class
 * schema is printed with its directives under the federation `@link`, shield rules wrap its
 * resolvers, and each entity's guarded reference resolver is added. Fields and entity types
 * whose answer depends on who the caller is (see `perCaller()`) are tagged `perCaller`. Refuses to build (with
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
  const classSdl = tagPerCaller(
    parse(printSchemaWithDirectives(classSchema)),
    perCallerMarks(classSchema, options.rules, options.references),
  );
  const sdl = `${FEDERATION_LINK}\n\n${print(classSdl)}`;
  const resolvers = createResolversMap(shielded) as GraphQLResolverMap<unknown>;
  for (const [typeName, reference] of Object.entries(options.references ?? {})) {
    const typeResolvers = (resolvers[typeName] ??= {}) as Record<string, unknown>;
    typeResolvers.__resolveReference = guardedReference(reference);
  }
  const schema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers }]);
  guardEntityRepresentations(schema);
  return { schema, sdl };
}
