import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { InputError } from '../errors.js';
import { msg } from '../i18n/index.js';
import {
  GraphQLError,
  Kind,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  validate,
} from 'graphql';

/**
 * The codes of requests a client got wrong (Apollo's own, and BAD_USER_INPUT from the kernel's
 * InputError), with the HTTP status a response carrying only such errors is sent with.
 */
export const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  BAD_REQUEST: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_USER_INPUT: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  // The hash names a query this server does not hold: the client sends it again with the query.
  PERSISTED_QUERY_NOT_FOUND: 404,
};

const MAX_ECHOED_NAME = 100;

function errorWithStatus(message: string, code: string, status: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}

/** OPERATION_RESOLUTION_FAILURE: the document has no operation to run under the given `operationName`. */
export function operationResolutionError(document: DocumentNode | undefined, operationName: unknown): GraphQLError {
  const operations = document?.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length ?? 0;
  const message =
    typeof operationName === 'string' && operationName !== ''
      ? `Unknown operation named "${operationName.slice(0, MAX_ECHOED_NAME)}".`
      : operations === 0
        ? 'Must provide an operation.'
        : 'Must provide operation name if query contains multiple operations.';
  return errorWithStatus(message, 'OPERATION_RESOLUTION_FAILURE', 400);
}

/**
 * Refuses an operation whose type the schema has no root for (a mutation to a subgraph without a
 * Mutation type), as graphql-js 17's KnownOperationTypesRule does: graphql 16 lets it through to
 * execution, which fails it as an unexpected error.
 */
export function knownOperationTypesRule(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      if (!schema.getRootType(node.operation)) {
        context.reportError(
          new GraphQLError(`The ${node.operation} operation is not supported by the schema.`, { nodes: node }),
        );
      }
    },
  };
}

/**
 * `@skip`/`@include` in a subscription's top-level selection (through fragments too), which the
 * GraphQL spec forbids (graphql-js 17 reports it). graphql-js 16's SingleFieldSubscriptionsRule
 * evaluates those directives with no variables instead, so one whose `if` is a variable throws out
 * of `validate()` (Apollo answers 500): found by test/fuzz.e2e.test.ts with
 * `subscription ($s: Boolean!) { postCreated @skip(if: $s) { id } }`.
 */
export function subscriptionRootDirectiveErrors(document: DocumentNode): GraphQLError[] {
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const errors: GraphQLError[] = [];
  for (const operation of document.definitions) {
    if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'subscription') continue;
    const directives = rootSkipOrInclude(operation.selectionSet, fragments, new Set());
    if (directives.length > 0) errors.push(new GraphQLError(rootDirectiveMessage(operation), { nodes: directives }));
  }
  return errors;
}

function rootDirectiveMessage(operation: OperationDefinitionNode): string {
  const name = operation.name ? `Subscription "${operation.name.value}"` : 'Anonymous Subscription';
  return `${name} must not use \`@skip\` or \`@include\` directives in the top level selection.`;
}

function rootSkipOrInclude(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  seen: Set<string>,
): NonNullable<OperationDefinitionNode['directives']>[number][] {
  return selectionSet.selections.flatMap((selection) => {
    const own = (selection.directives ?? []).filter((d) => d.name.value === 'skip' || d.name.value === 'include');
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      return [...own, ...rootSkipOrInclude(selection.selectionSet, fragments, seen)];
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = fragments.get(selection.name.value);
      if (!fragment || seen.has(fragment.name.value)) return own;
      seen.add(fragment.name.value);
      return [...own, ...rootSkipOrInclude(fragment.selectionSet, fragments, seen)];
    }
    return own;
  });
}

/**
 * graphql-js's `validate`, without its crash on a subscription root's `@skip`/`@include` (see
 * subscriptionRootDirectiveErrors): for validation outside Apollo Server, e.g. graphql-ws's
 * `validate` option, where the crash closes the socket with 4500.
 */
export function validateSafely(
  schema: GraphQLSchema,
  document: DocumentNode,
  rules?: readonly ValidationRule[],
): readonly GraphQLError[] {
  const early = subscriptionRootDirectiveErrors(document);
  return early.length > 0 ? early : validate(schema, document, rules);
}

/** Errors found before validation, by the stand-in document that replaced the client's (see clientErrorsPlugin). */
const FOUND_BEFORE_VALIDATION = new WeakMap<DocumentNode, readonly GraphQLError[]>();

/** Reports what clientErrorsPlugin found before graphql-js validated (installed beside it). */
export function foundBeforeValidationRule(context: ValidationContext): ASTVisitor {
  return {
    Document(node) {
      for (const error of FOUND_BEFORE_VALIDATION.get(node) ?? []) context.reportError(error);
    },
  };
}

/**
 * Refuses an alias starting with `__` (other than a field's own name): introspection owns those
 * names, and the gateway reads `__typename` in a subgraph's answer as the object's type, so
 * `{ me { __typename: emailVerified } }` failed there as an unexpected error ("Invalid non-string
 * value true for __typename"; found by test/fuzz.e2e.test.ts).
 */
export function reservedAliasesRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.alias && node.alias.value.startsWith('__') && node.alias.value !== node.name.value) {
        context.reportError(
          new GraphQLError(
            `Alias "${node.alias.value}" is reserved: names starting with "__" belong to introspection.`,
            {
              nodes: node.alias,
            },
          ),
        );
      }
    },
  };
}

const NUL = '\u0000';

/** The names of the arguments and input fields around a node, outermost first (`['input', 'title']`). */
function argumentPath(ancestors: ReadonlyArray<unknown>): string[] {
  return ancestors.flatMap((ancestor) => {
    const node = ancestor as { kind?: string; name?: { value: string } } | undefined;
    return node?.kind === Kind.ARGUMENT || node?.kind === Kind.OBJECT_FIELD ? [node.name!.value] : [];
  });
}

/** Where a variable's value holds U+0000 (in a string or a key): its name and the keys down to it. */
function nulInVariables(variables: unknown): string[] | undefined {
  const search = (value: unknown, path: string[], depth: number): string[] | undefined => {
    if (typeof value === 'string') return value.includes(NUL) ? path : undefined;
    if (typeof value !== 'object' || value === null || depth > 32) return undefined;
    for (const [key, inner] of Object.entries(value)) {
      const found = key.includes(NUL) ? [...path, key] : search(inner, [...path, key], depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return search(variables, [], 0);
}

/** What the document knows about U+0000: the field of the first literal holding it, and where each variable is used. */
interface NulScan {
  literal?: string;
  usedAt: Map<string, string>;
}

/** Documents already scanned (Apollo reuses a parsed document). */
const NUL_SCANS = new WeakMap<DocumentNode, NulScan>();

function scanForNul(document: DocumentNode): NulScan {
  let scan = NUL_SCANS.get(document);
  if (scan) return scan;
  const found: NulScan = { usedAt: new Map() };
  visit(document, {
    StringValue(node, _key, parent, _path, ancestors) {
      if (found.literal === undefined && node.value.includes(NUL)) {
        found.literal = argumentPath([...ancestors, parent]).at(-1) ?? 'query';
      }
    },
    Variable(node, _key, parent, _path, ancestors) {
      const field = argumentPath([...ancestors, parent]).at(-1);
      if (field && !found.usedAt.has(node.name.value)) found.usedAt.set(node.name.value, field);
    },
  });
  scan = found;
  NUL_SCANS.set(document, scan);
  return scan;
}

/**
 * BAD_USER_INPUT naming the input field whose text holds U+0000 (as modules name theirs: `content`,
 * `email`), or undefined: PostgreSQL's text and jsonb cannot store that character, so it failed
 * deep in a module as a database error (found by test/fuzz.e2e.test.ts: `login(email: "…\u0000")`
 * on PostgreSQL). Refused for every module at once, before anything runs.
 */
export function nulCharacterError(document: DocumentNode, variables: unknown): InputError | undefined {
  const scan = scanForNul(document);
  let field = scan.literal;
  const inVariable = field === undefined ? nulInVariables(variables) : undefined;
  if (inVariable) {
    const [name, ...keys] = inVariable;
    field = keys.filter((key) => !/^\d+$/.test(key)).at(-1) ?? scan.usedAt.get(name!) ?? name;
  }
  return field === undefined ? undefined : InputError.field(field, msg('errors:validation.nul'));
}

/** The status for a response whose errors are all client errors; undefined if any is not. */
export function clientErrorStatus(errors: readonly GraphQLFormattedError[]): number | undefined {
  let status: number | undefined;
  for (const error of errors) {
    const code = error.extensions?.code;
    const own = typeof code === 'string' ? CLIENT_ERROR_STATUS[code] : undefined;
    if (own === undefined) return undefined;
    status = status === undefined || status === own ? own : 400;
  }
  return status;
}

/**
 * Client mistakes answered as such, on every Apollo Server of the platform (install
 * `knownOperationTypesRule`, `reservedAliasesRule` and `foundBeforeValidationRule` beside it):
 * - `@skip`/`@include` on a subscription's root field is GRAPHQL_VALIDATION_FAILED (400), not a
 *   crash in graphql-js 16's validation (see subscriptionRootDirectiveErrors);
 * - text holding U+0000 (which PostgreSQL cannot store) is BAD_USER_INPUT naming the argument or
 *   variable, before anything runs;
 * - no operation to run (an unknown `operationName`, several operations and no name) is
 *   OPERATION_RESOLUTION_FAILURE (400) before anything executes; the gateway would otherwise fail
 *   it in its query planner as an unexpected error;
 * - a subscription over HTTP is BAD_REQUEST (400): subscriptions are served over graphql-ws, and
 *   Apollo Server would run it as a query whose resolvers have no event;
 * - a response with no data whose errors are all client errors (a bad cursor or page size on a
 *   list, a persisted query not held) gets their 4xx status instead of 200 (or 500 for an error a
 *   plugin threw without a status). Partial answers keep 200, as GraphQL over HTTP requires when
 *   there is data.
 */
export function clientErrorsPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async validationDidStart(requestContext) {
          // Apollo offers no way to fail a request here but to throw (a 500), and graphql-js 16
          // would throw on these documents: validate an empty stand-in instead, on which
          // foundBeforeValidationRule reports the errors (GRAPHQL_VALIDATION_FAILED, 400).
          const errors = subscriptionRootDirectiveErrors(requestContext.document);
          if (errors.length === 0) return;
          const standIn: DocumentNode = { kind: Kind.DOCUMENT, definitions: [] };
          FOUND_BEFORE_VALIDATION.set(standIn, errors);
          (requestContext as { document: DocumentNode }).document = standIn;
        },
        async didResolveOperation({ operation, document, request }) {
          if (!operation) throw operationResolutionError(document, request.operationName);
          const nul = nulCharacterError(document, request.variables);
          if (nul) throw nul;
          if (operation.operation === 'subscription') {
            throw errorWithStatus(
              'Subscriptions are served over WebSocket (graphql-ws) on /graphql, not over HTTP',
              'BAD_REQUEST',
              400,
            );
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (!errors?.length || (data !== undefined && data !== null)) return;
          // Statuses Apollo chose on purpose (405 for a GET mutation, 415, 406) stay.
          const current = response.http.status;
          if (current !== undefined && current !== 200 && current !== 500) return;
          const status = clientErrorStatus(errors);
          if (status !== undefined) response.http.status = status;
        },
      };
    },
  };
}

const SUGGESTION = / ?Did you mean(.+?)\?$/;

/**
 * Drops "Did you mean …?" from a message (validation errors, and variable values graphql-js
 * coerces): with introspection off, the names it suggests would give the schema away bit by bit.
 * Apollo's `hideSchemaDetailsFromClientErrors` covers validation errors only.
 */
export function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return SUGGESTION.test(formatted.message)
    ? { ...formatted, message: formatted.message.replace(SUGGESTION, '') }
    : formatted;
}

/**
 * Apollo answers a malformed persisted query (a version other than 1, a hash that does not match
 * the query) with an HTTP 4xx but no code, which would be masked as INTERNAL_SERVER_ERROR and
 * logged: such an error is BAD_REQUEST with its own message.
 */
export function withRequestErrorCode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return formatted;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
}
