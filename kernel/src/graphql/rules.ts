import { allow, and, chain, deny, not, or, race, rule, shield, type IRules } from 'graphql-shield';
import { GraphQLObjectType, isObjectType, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { AuthenticationError, ForbiddenError } from '../errors.js';
import type { GraphQLContext } from './context.js';

export { allow, and, chain, deny, not, or, race, rule };

/** Any graphql-shield rule (a rule or a logic rule such as `and`/`or`). */
export type ShieldRule = Parameters<typeof and>[number];
export type { IRules };

/** Anyone, signed in or not. */
export const publicAccess: ShieldRule = allow;

/** Any signed-in caller; anonymous callers get UNAUTHENTICATED. */
export const authenticated: ShieldRule = rule({ cache: 'contextual' })((_parent, _args, context: GraphQLContext) => {
  return context.user ? true : new AuthenticationError('Sign in to do this');
});

const permissionRules = new Map<string, ShieldRule>();

/**
 * The caller holds `name` (`module.resource.action`), as the platform's permission resolver
 * says: their roles' grants, or the guest role's when anonymous. Denials name the permission.
 */
export function permission(name: string): ShieldRule {
  let cached = permissionRules.get(name);
  if (!cached) {
    cached = rule(`permission:${name}`, { cache: 'contextual' })(async (_parent, _args, context: GraphQLContext) =>
      (await context.can(name)) ? true : new ForbiddenError(`Missing permission ${name}`, name),
    );
    permissionRules.set(name, cached);
  }
  return cached;
}

/** Types the kernel itself owns or that only wrap what their root field already guards. */
const IMPLICITLY_ALLOWED = (typeName: string): boolean =>
  typeName === 'PageInfo' || typeName.endsWith('Connection') || typeName.endsWith('Edge');

/** Types added by federation or introspection; federation's own fields are not shielded. */
const FRAMEWORK_TYPES = new Set(['_Service', '_Any', '_Entity', '_FieldSet', 'link__Import', 'link__Purpose']);

const isRule = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as { resolve?: unknown }).resolve === 'function';

/**
 * Checks that every field of every object type has a rule (a type-wide rule or one per
 * field), and that no rule names a type or field that does not exist. Returns the problems.
 */
export function ruleCoverageProblems(schema: GraphQLSchema, rules: IRules): string[] {
  const problems: string[] = [];
  const tree = rules as Record<string, unknown>;
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || FRAMEWORK_TYPES.has(type.name)) continue;
    const typeRules = tree[type.name];
    if (isRule(typeRules) || (typeRules === undefined && IMPLICITLY_ALLOWED(type.name))) continue;
    const fieldRules = (typeRules ?? {}) as Record<string, unknown>;
    for (const field of Object.keys(type.getFields())) {
      if (field === '_service' || field === '_entities') continue;
      if (!isRule(fieldRules[field])) problems.push(`${type.name}.${field} has no rule`);
    }
  }
  for (const [typeName, typeRules] of Object.entries(tree)) {
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) {
      problems.push(`rules name type ${typeName}, which the schema does not have`);
      continue;
    }
    if (isRule(typeRules)) continue;
    for (const field of Object.keys(typeRules as object)) {
      if (!type.getFields()[field]) problems.push(`rules name ${typeName}.${field}, which the schema does not have`);
    }
  }
  return problems;
}

/**
 * Wraps the schema's resolvers with graphql-shield: deny by default, rule errors surfaced as
 * FORBIDDEN, resolver errors keep their own codes.
 */
export function applyRules(schema: GraphQLSchema, rules: IRules): GraphQLSchema {
  const withImplicit: Record<string, unknown> = { ...(rules as Record<string, unknown>) };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) && IMPLICITLY_ALLOWED(type.name) && withImplicit[type.name] === undefined) {
      withImplicit[type.name] = allow;
    }
  }
  const middleware = shield(withImplicit as IRules, {
    fallbackRule: deny,
    allowExternalErrors: true,
    fallbackError: () => new ForbiddenError('Not allowed'),
  });
  return applyMiddleware(schema, middleware);
}
