import { allow, and, chain, deny, not, or, race, rule, shield, type IRules } from 'graphql-shield';
import {
  GraphQLObjectType,
  Kind,
  isObjectType,
  parse,
  type ConstDirectiveNode,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { applyMiddleware, type IMiddlewareFunction } from 'graphql-middleware';
import { AuthenticationError, ForbiddenError, RequestAbortedError } from '../errors.js';
import { msg } from '../i18n/index.js';
import type { GraphQLContext } from './context.js';

export { allow, and, chain, deny, not, or, race, rule };

/** Any graphql-shield rule (a rule or a logic rule such as `and`/`or`). */
export type ShieldRule = Parameters<typeof and>[number];
export type { IRules };

/** Anyone, signed in or not. */
export const publicAccess: ShieldRule = allow;

/** Any signed-in caller; anonymous callers get UNAUTHENTICATED. */
export const authenticated: ShieldRule = rule({ cache: 'contextual' })((_parent, _args, context: GraphQLContext) => {
  return context.user ? true : new AuthenticationError(msg('errors:signInRequired'));
});

const permissionRules = new Map<string, ShieldRule>();
/** Which permission each `permission()` rule checks: how coverage finds them inside logic rules. */
const permissionOfRule = new WeakMap<object, string>();

/**
 * The caller holds `name` (`module.resource.action`), as the platform's permission resolver
 * says: their roles' grants, or the guest role's when anonymous. Denials name the permission.
 */
export function permission(name: string): ShieldRule {
  let cached = permissionRules.get(name);
  if (!cached) {
    cached = rule(`permission:${name}`, { cache: 'contextual' })(async (_parent, _args, context: GraphQLContext) =>
      (await context.can(name))
        ? true
        : new ForbiddenError(msg('errors:missingPermission', { permission: name }), name),
    );
    permissionRules.set(name, cached);
    permissionOfRule.set(cached, name);
  }
  return cached;
}

/** The `@tag` name of fields and entity types whose answer depends on who the caller is. */
export const PER_CALLER_TAG = 'perCaller';

/** Rules made by `perCaller()`. */
const perCallerRules = new WeakSet<object>();

/**
 * `rule`, marking the field it guards as one whose answer depends on who the caller is, not only
 * on what they may do: its resolver reads `ctx.user` (their id, session or token) to choose the
 * answer, as `me` does. The field's SDL gets `@tag(name: "perCaller")`, so the gateway never
 * serves one caller's answer to another who merely holds the same permissions. Permissions
 * checked inside still count for coverage. Rules other than `publicAccess`, `deny`,
 * `authenticated` and `permission()` (and logic rules made only of those) mark their fields by
 * themselves.
 */
export function perCaller(rule: ShieldRule): ShieldRule {
  // A one-rule `and` answers exactly as its rule does; a new object, as `permission()` rules are shared.
  const marked = and(rule);
  perCallerRules.add(marked);
  return marked;
}

/**
 * Whether the answer a field guarded by `tree` gives may depend on who the caller is beyond
 * their permissions: it holds a `perCaller()` rule, or any rule other than `publicAccess`
 * (`allow`), `deny`, `authenticated` and `permission()`. Logic rules are judged by their
 * children; a missing rule (undefined) depends on nothing.
 */
export function dependsOnCaller(tree: unknown): boolean {
  if (tree === undefined) return false;
  if (typeof tree !== 'object' || tree === null || perCallerRules.has(tree)) return true;
  if (tree === allow || tree === deny || tree === authenticated || permissionOfRule.has(tree)) return false;
  if (typeof (tree as { getRules?: unknown }).getRules === 'function') {
    return (tree as { getRules(): unknown[] }).getRules().some(dependsOnCaller);
  }
  return true;
}

/**
 * The permissions that `permission()` rules check anywhere in `tree`: a rule, a logic rule
 * (`and`, `or`, `chain`, `race`, `not`, walked through their children) or a rule map by type
 * and field.
 */
export function permissionsUsedBy(tree: unknown, found = new Set<string>()): Set<string> {
  const seen = new Set<object>();
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    const name = permissionOfRule.get(node);
    if (name !== undefined) found.add(name);
    else if (typeof (node as { getRules?: unknown }).getRules === 'function') {
      for (const child of (node as { getRules(): unknown[] }).getRules()) walk(child);
    } else if (!isRule(node)) {
      for (const child of Object.values(node)) walk(child);
    }
  };
  walk(tree);
  return found;
}

/** Types the kernel itself owns or that only wrap what their root field already guards. */
const IMPLICITLY_ALLOWED = (typeName: string): boolean =>
  typeName === 'PageInfo' || typeName.endsWith('Connection') || typeName.endsWith('Edge');

/** Types added by federation or introspection; federation's own fields are not shielded. */
const FRAMEWORK_TYPES = new Set(['_Service', '_Any', '_Entity', '_FieldSet', 'link__Import', 'link__Purpose']);

const isRule = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as { resolve?: unknown }).resolve === 'function';

export interface RuleCoverageOptions {
  /**
   * The permission names the module's manifest declares: rules may check only these, and each
   * must be checked somewhere. Not checked when absent.
   */
  permissions?: readonly string[];
  /** The module's entity references (`defineModule({ references })`). */
  references?: Readonly<Record<string, EntityReference>>;
}

/**
 * Checks a module's authorization against its schema and manifest, returning every problem:
 * each field of each object type has a rule (a type-wide rule or one per field) and no rule
 * names a missing type or field; each entity the module resolves has a reference guarded by a
 * rule, and no reference names a missing type; rules check only the manifest's permissions,
 * and each of those is checked by some rule.
 */
export function ruleCoverageProblems(
  schema: GraphQLSchema,
  rules: IRules,
  options: RuleCoverageOptions = {},
): string[] {
  const references = (options.references ?? {}) as Record<string, unknown>;
  const problems = [...fieldProblems(schema, rules), ...referenceProblems(schema, references)];
  if (options.permissions) {
    const declared = new Set(options.permissions);
    const used = permissionsUsedBy(rules);
    for (const reference of Object.values(references)) permissionsUsedBy((reference as { rule?: unknown })?.rule, used);
    for (const name of [...used].sort()) {
      if (!declared.has(name)) problems.push(`rule names permission ${name}, which module.yaml does not declare`);
    }
    for (const name of declared) {
      if (!used.has(name)) problems.push(`module.yaml declares ${name}, which no rule uses`);
    }
  }
  return problems;
}

/** Fields without a rule, and rules for types or fields the schema does not have. */
function fieldProblems(schema: GraphQLSchema, rules: IRules): string[] {
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

/** Entities this module resolves without a guarded reference, and malformed or stray references. */
function referenceProblems(schema: GraphQLSchema, references: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || references[type.name] !== undefined || !resolvesEntity(type)) continue;
    problems.push(`entity ${type.name} (@key) has no reference: add references.${type.name} = { rule, resolve }`);
  }
  for (const [typeName, reference] of Object.entries(references)) {
    if (!isObjectType(schema.getType(typeName))) {
      problems.push(`references name type ${typeName}, which the schema does not have`);
      continue;
    }
    if (typeof reference !== 'object' || reference === null) {
      problems.push(`references.${typeName} is not guarded: declare it as { rule, resolve }`);
      continue;
    }
    const { rule: guard, resolve } = reference as { rule?: unknown; resolve?: unknown };
    if (!isRule(guard)) problems.push(`references.${typeName} has no rule`);
    if (typeof resolve !== 'function') problems.push(`references.${typeName} has no resolve function`);
  }
  return problems;
}

const directivesOf = (nodes: ReadonlyArray<{ directives?: readonly ConstDirectiveNode[] } | null | undefined>) =>
  nodes.flatMap((node) => node?.directives ?? []);

/** The top-level field names of a `@key(fields: "...")` selection. */
function keyFieldNames(key: ConstDirectiveNode): string[] {
  const fields = key.arguments?.find((argument) => argument.name.value === 'fields')?.value;
  if (fields?.kind !== Kind.STRING) return [];
  try {
    const [operation] = parse(`{ ${fields.value} }`).definitions;
    if (operation?.kind !== Kind.OPERATION_DEFINITION) return [];
    return operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
  } catch {
    // Federation rejects the malformed key itself; here it just claims no fields.
    return [];
  }
}

/**
 * Whether the router may ask this subgraph to resolve `type` through `_entities`: it has a
 * resolvable `@key` and fields of its own beyond the key (and `@external` ones). A stub of
 * another subgraph's entity (`@key(..., resolvable: false)`, or only its key fields) is not.
 */
function resolvesEntity(type: GraphQLObjectType): boolean {
  const keys = directivesOf([type.astNode, ...type.extensionASTNodes]).filter(
    (directive) =>
      directive.name.value === 'key' &&
      !directive.arguments?.some(
        (argument) =>
          argument.name.value === 'resolvable' && argument.value.kind === Kind.BOOLEAN && !argument.value.value,
      ),
  );
  if (keys.length === 0) return false;
  const keyFields = new Set(keys.flatMap(keyFieldNames));
  return Object.values(type.getFields()).some(
    (field) =>
      !keyFields.has(field.name) &&
      !directivesOf([field.astNode]).some((directive) => directive.name.value === 'external'),
  );
}

/** Denials without a rule-specific error, as shield and `enforceRule` report them. */
const notAllowed = (): ForbiddenError => new ForbiddenError(msg('errors:notAllowed'));

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
    fallbackError: notAllowed,
  });
  // Typed as async by graphql-middleware; a synchronous check keeps default resolvers synchronous.
  return applyMiddleware(schema, stopWhenAborted as unknown as IMiddlewareFunction, middleware);
}

/**
 * Stops a request's work at its next field once its signal fires (the client went away, or the
 * deadline passed): graphql-js cannot cancel an execution, but every field it still resolves
 * then fails at once instead of loading and building an answer nobody will read.
 */
export function throwIfAborted(context: unknown): void {
  const signal = (context as { signal?: AbortSignal } | undefined)?.signal;
  if (!signal?.aborted) return;
  throw signal.reason instanceof RequestAbortedError ? signal.reason : new RequestAbortedError('client-gone');
}

function stopWhenAborted(
  resolve: (parent: unknown, args: unknown, context: unknown, info: GraphQLResolveInfo) => unknown,
  parent: unknown,
  args: unknown,
  context: unknown,
  info: GraphQLResolveInfo,
): unknown {
  throwIfAborted(context);
  return resolve(parent, args, context, info);
}

/** What `Rule.resolve` needs from shield's options; `strict` caching hashes parent and args. */
const RULE_OPTIONS = {
  debug: false,
  allowExternalErrors: true,
  fallbackRule: deny,
  fallbackError: notAllowed,
  hashFunction: ({ parent, args }: { parent: unknown; args: unknown }) => JSON.stringify([parent, args]),
};

/**
 * Evaluates a rule outside shield's middleware (e.g. before a `__resolveReference`, which
 * shield does not wrap), with the same outcome as shield gives a field: returns when the rule
 * allows, throws the rule's error when it returns or throws one, and FORBIDDEN otherwise.
 * Cached rules share the request's shield cache.
 */
export async function enforceRule(
  guard: ShieldRule,
  parent: unknown,
  args: Record<string, unknown>,
  context: object,
  info: GraphQLResolveInfo,
): Promise<void> {
  const ctx = context as { _shield?: { cache: Record<string, unknown> } };
  ctx._shield ??= { cache: {} };
  const result = await guard.resolve(parent as object, args, ctx as never, info, RULE_OPTIONS);
  if (result === true) return;
  if (result instanceof Error) throw result;
  throw notAllowed();
}

/** Resolves an entity for other subgraphs (`_entities`), batched through the request's loaders. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module narrows its own key fields
export type ReferenceResolver = (reference: any, context: GraphQLContext) => unknown;

/**
 * How other subgraphs reach an entity this module owns. Shield does not wrap
 * `__resolveReference`, so the kernel evaluates `rule` first (as shield would for a field:
 * an error or a denial fails that lookup) and only then calls `resolve`. The entity's fields
 * keep their own rules.
 */
export interface EntityReference {
  /** Who may look the entity up by its key, e.g. `permission(Permission.PostRead)` or `publicAccess`. */
  rule: ShieldRule;
  resolve: ReferenceResolver;
}
