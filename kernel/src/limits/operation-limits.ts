import {
  getNullableType,
  getVariableValues,
  isListType,
  Kind,
  Lexer,
  Source,
  TokenKind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { OperationLimits } from '../config/schema.js';
import { QueryTooComplexError } from '../errors.js';

/** What one operation measured against `gateway.limits`. */
export interface OperationMeasures {
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  cost: number;
}

/** Fields whose subtree is schema metadata: not counted in depth or cost (tokens still bound them). */
const INTROSPECTION = new Set(['__schema', '__type']);

/**
 * Counts the lexical tokens of a document without parsing it, stopping one past `max`: a
 * 350 KiB document of aliases is refused in a couple of milliseconds, before the parser builds
 * anything or validation compares its fields.
 */
export function countTokens(source: string, max = Number.POSITIVE_INFINITY): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  // An unterminated string or a stray character is a syntax error the parser reports properly.
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++count > max) break;
    }
  } catch {
    return count;
  }
  return count;
}

/** Refuses a document with more than `limits.maxTokens` tokens (QUERY_TOO_COMPLEX). */
export function checkTokens(source: string, limits: Pick<OperationLimits, 'maxTokens'>): void {
  const tokens = countTokens(source, limits.maxTokens);
  if (tokens > limits.maxTokens) throw new QueryTooComplexError('tokens', limits.maxTokens, tokens);
}

/**
 * Estimates a field's cost: 1, plus its selection once per item it may return. A field with a
 * `first`/`last` argument returns that many (the page size; `defaultListSize` when the argument
 * is left out); `_entities` returns one per representation; another list of objects
 * `defaultListSize`; a connection's `edges`/`nodes` are the page its field already counted.
 */
function listEstimator(defaultListSize: number): ComplexityEstimator {
  return ({ type, field, args, childComplexity }) => {
    if (field.name.startsWith('__')) return 0;
    const size = pageArgument(args);
    if (size !== undefined) return 1 + Math.max(0, size) * childComplexity;
    if (field.args.some((arg) => arg.name === 'first' || arg.name === 'last'))
      return 1 + defaultListSize * childComplexity;
    if (field.name === '_entities' && Array.isArray(args.representations)) {
      return 1 + args.representations.length * childComplexity;
    }
    const list = isListType(getNullableType(field.type));
    const pageOfParent = type.name.endsWith('Connection') && (field.name === 'edges' || field.name === 'nodes');
    if (list && childComplexity > 0 && !pageOfParent) return 1 + defaultListSize * childComplexity;
    return 1 + childComplexity;
  };
}

function pageArgument(args: Record<string, unknown>): number | undefined {
  for (const name of ['first', 'last']) {
    const value = args[name];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

/**
 * Measures an operation of a validated document: depth, aliases, root fields, directives (of
 * the whole document) and cost. `variables` are the request's, so `first: $n` counts as sent.
 * When the variables do not fit the operation, cost is not measured (0): execution refuses such a
 * request with BAD_USER_INPUT before any resolver runs.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: Pick<OperationLimits, 'defaultListSize'>,
): OperationMeasures {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let directives = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // Directives anywhere in the document (operations, fragments, fields, variables).
  const countDirectives = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const child of node) countDirectives(child);
      return;
    }
    const record = node as Record<string, unknown>;
    if (record.kind === Kind.DIRECTIVE) directives++;
    for (const [key, value] of Object.entries(record)) if (key !== 'loc') countDirectives(value);
  };
  countDirectives(document.definitions);

  const walk = selectionWalker(fragments);
  const { depth, aliases } = walk(operation.selectionSet);
  const rootFields = countRootFields(operation.selectionSet, fragments, new Map());
  return {
    depth,
    aliases,
    rootFields,
    directives,
    cost: operationCost(schema, document, operation, variables, limits),
  };
}

/** Depth and aliases of a selection set, each fragment measured once however often it is spread. */
function selectionWalker(fragments: ReadonlyMap<string, FragmentDefinitionNode>) {
  const memo = new Map<string, { depth: number; aliases: number }>();
  const walk = (set: SelectionSetNode, visiting = new Set<string>()): { depth: number; aliases: number } => {
    let depth = 0;
    let aliases = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        if (INTROSPECTION.has(selection.name.value)) continue;
        const inner = selection.selectionSet ? walk(selection.selectionSet, visiting) : { depth: 0, aliases: 0 };
        depth = Math.max(depth, 1 + inner.depth);
        aliases += inner.aliases;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const inner = walk(selection.selectionSet, visiting);
        depth = Math.max(depth, inner.depth);
        aliases += inner.aliases;
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue; // validation reports unknown and cyclic spreads
        let inner = memo.get(name);
        if (!inner) {
          visiting.add(name);
          inner = walk(fragment.selectionSet, visiting);
          visiting.delete(name);
          memo.set(name, inner);
        }
        depth = Math.max(depth, inner.depth);
        aliases += inner.aliases;
      }
    }
    return { depth, aliases };
  };
  return (set: SelectionSetNode) => walk(set);
}

/** Root fields as executed (a fragment spread twice counts twice), each fragment counted once. */
function countRootFields(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  memo: Map<string, number>,
): number {
  let count = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) count++;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += countRootFields(selection.selectionSet, fragments, memo);
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || memo.get(name) === -1) continue; // unknown or cyclic: validation reports it
      let inner = memo.get(name);
      if (inner === undefined) {
        memo.set(name, -1);
        inner = countRootFields(fragment.selectionSet, fragments, memo);
        memo.set(name, inner);
      }
      count += inner;
    }
  }
  return count;
}

/** graphql-query-complexity's own guard against documents too large to estimate. */
const MAX_ESTIMATED_NODES = 10_000;

function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: Pick<OperationLimits, 'defaultListSize'>,
): number {
  // Only the operation that runs, and the fragments it may use.
  const query: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)],
  };
  // Variables that do not fit the operation are refused by execution before any resolver runs
  // (BAD_USER_INPUT, as the client needs to hear): nothing to measure then.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return 0;
  try {
    return getComplexity({
      schema,
      query,
      variables: variables ?? {},
      estimators: [listEstimator(limits.defaultListSize)],
      maxQueryNodes: MAX_ESTIMATED_NODES,
    });
  } catch {
    // The estimate stops past MAX_ESTIMATED_NODES (fragments expanding exponentially).
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Refuses an operation over any of `limits` (QUERY_TOO_COMPLEX naming the limit, its maximum
 * and the measured value); returns what it measured otherwise.
 */
export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: OperationLimits,
): OperationMeasures {
  const measures = measureOperation(schema, document, operation, variables, limits);
  const checks: Array<[QueryTooComplexError['limit'], number, number]> = [
    ['depth', limits.maxDepth, measures.depth],
    ['aliases', limits.maxAliases, measures.aliases],
    ['rootFields', limits.maxRootFields, measures.rootFields],
    ['directives', limits.maxDirectives, measures.directives],
    ['cost', limits.maxCost, measures.cost],
  ];
  for (const [limit, max, measured] of checks) {
    if (measured > max) throw new QueryTooComplexError(limit, max, Number.isFinite(measured) ? measured : null);
  }
  return measures;
}

/** The root fields an operation selects, through fragment spreads and inline fragments. */
export function rootFieldNodes(document: DocumentNode, operation: OperationDefinitionNode): FieldNode[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const fields: FieldNode[] = [];
  const seen = new Set<string>();
  const collect = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return fields;
}
