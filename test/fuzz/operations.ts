import fc from 'fast-check';
import {
  getNamedType,
  isInterfaceType,
  isNonNullType,
  isLeafType,
  isObjectType,
  isUnionType,
  Kind,
  Lexer,
  parse,
  Source,
  TokenKind,
  typeFromAST,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { anyValueArb, inputValueArb, literal, stringArb } from './values.js';

/** What a fuzzed request asks: a document (maybe broken), variables (maybe not an object) and a name. */
export interface FuzzOperation {
  query: string;
  variables?: unknown;
  operationName?: unknown;
}

/** A piece of a document being built, with the variables its arguments refer to (in order). */
interface Piece {
  text: string;
  vars: GraphQLInputType[];
}

const VAR = '$\u0001';
const piece = (text: string, vars: GraphQLInputType[] = []): Piece => ({ text, vars });
/** `arb` about once in `oneIn` draws, `otherwise` the rest of the time. */
const now = <T>(oneIn: number, arb: fc.Arbitrary<T>, otherwise: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: otherwise }, { weight: 1, arbitrary: arb });
const EMPTY = piece('');
const join = (pieces: Piece[], separator = ' '): Piece => ({
  text: pieces.map((p) => p.text).join(separator),
  vars: pieces.flatMap((p) => p.vars),
});

const NAME_START = [...'_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'];
/** A GraphQL name, or one of the schema's or federation's. */
const nameArb = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...NAME_START),
      fc.string({ unit: fc.constantFrom(...NAME_START, ...'0123456789'), maxLength: 12 }),
    )
    .map(([first, rest]) => first + rest),
  fc.constantFrom(
    'id',
    'title',
    'posts',
    'users',
    'me',
    'node',
    'edges',
    '__typename',
    '__schema',
    '_entities',
    '_service',
  ),
);

/** The operation builders for one schema. */
export function operationArbs(schema: GraphQLSchema, seeds: string[], names: string[]) {
  const schemaNameArb = fc.constantFrom(...names);

  function argumentArb(arg: GraphQLArgument): fc.Arbitrary<Piece> {
    return fc.oneof(
      {
        weight: 4,
        arbitrary: inputValueArb(arg.type).map((value) => ({ text: `${arg.name}: ${literal(value)}`, vars: [] })),
      },
      { weight: 3, arbitrary: fc.constant(piece(`${arg.name}: ${VAR}`, [arg.type])) },
      { weight: 1, arbitrary: anyValueArb.map((value) => piece(`${arg.name}: ${literal(value)}`)) },
    );
  }

  function argumentsArb(field: GraphQLField<unknown, unknown>): fc.Arbitrary<Piece> {
    // Required arguments are left out now and then; optional ones one time in three.
    const known = field.args.map((arg) =>
      isNonNullType(arg.type)
        ? now(20, fc.constant(undefined), argumentArb(arg))
        : fc.option(argumentArb(arg), { freq: 3, nil: undefined }),
    );
    const unknown = now(
      10,
      fc
        .tuple(fc.oneof(schemaNameArb, nameArb), anyValueArb)
        .map(([name, value]) => [piece(`${name}: ${literal(value)}`)]),
      fc.constant<Piece[]>([]),
    );
    return fc.tuple(fc.tuple(...known), unknown).map(([chosen, extra]) => {
      const pieces = [...chosen.filter((p): p is Piece => p !== undefined), ...extra];
      return pieces.length === 0
        ? { text: '', vars: [] }
        : { ...join(pieces, ', '), text: `(${join(pieces, ', ').text})` };
    });
  }

  const directiveArb: fc.Arbitrary<Piece> = fc.oneof(
    { weight: 36, arbitrary: fc.constant(EMPTY) },
    { weight: 1, arbitrary: fc.boolean().map((b) => ({ text: ` @include(if: ${b})`, vars: [] })) },
    {
      weight: 1,
      arbitrary: fc.constant(piece(` @skip(if: ${VAR})`, [schema.getType('Boolean') as GraphQLInputType])),
    },
    { weight: 1, arbitrary: nameArb.map((name) => ({ text: ` @${name}`, vars: [] })) },
  );

  /** A selection set on `type`, `depth` levels deep at most (then leaves or nothing). */
  function selectionArb(type: GraphQLNamedType, depth: number, maxFields = 4): fc.Arbitrary<Piece> {
    if (isLeafType(type)) {
      return fc.oneof(
        { weight: 29, arbitrary: fc.constant(EMPTY) },
        { weight: 1, arbitrary: fc.constant(piece('{ id }')) },
      );
    }
    if (isUnionType(type)) {
      const members = type.getTypes();
      return fc
        .constantFrom(...members)
        .chain((member) =>
          selectionArb(member, depth).map((s) => ({ ...s, text: `{ ... on ${member.name} ${s.text} }` })),
        );
    }
    if (!isObjectType(type) && !isInterfaceType(type)) return fc.constant(EMPTY);
    const fields = Object.values(type.getFields());
    const fieldArb: fc.Arbitrary<Piece> = fc.oneof(
      {
        weight: 30,
        arbitrary: fc.constantFrom(...fields).chain((field) =>
          fc
            .tuple(
              now(3, nameArb, fc.constant(undefined)),
              argumentsArb(field),
              directiveArb,
              depth > 0
                ? selectionArb(getNamedType(field.type), depth - 1)
                : fc.constant(isLeafType(getNamedType(field.type)) ? EMPTY : piece('{ __typename }')),
            )
            .map(([alias, args, directive, selection]) => ({
              text: `${alias ? `${alias}: ` : ''}${field.name}${args.text}${directive.text} ${selection.text}`,
              vars: [...args.vars, ...directive.vars, ...selection.vars],
            })),
        ),
      },
      { weight: 1, arbitrary: fc.constant(piece('__typename')) },
      { weight: 1, arbitrary: fc.oneof(schemaNameArb, nameArb).map((name) => ({ text: name, vars: [] })) },
      {
        weight: 1,
        arbitrary: (depth <= 0 ? fc.constant(piece('{ __typename }')) : selectionArb(type, depth - 1)).map((s) => ({
          ...s,
          text: `... on ${type.name} ${s.text}`,
        })),
      },
    );
    return fc
      .array(fieldArb, { minLength: 1, maxLength: maxFields })
      .map((pieces) => ({ ...join(pieces), text: `{ ${join(pieces).text} }` }));
  }

  /** Variable values for a document: typed from its definitions when it parses, anything otherwise. */
  function variablesArb(query: string): fc.Arbitrary<unknown> {
    let definitions: Array<{ name: string; type: GraphQLInputType | undefined }> = [];
    try {
      const operation = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      definitions = (operation?.kind === Kind.OPERATION_DEFINITION ? (operation.variableDefinitions ?? []) : []).map(
        (d) => ({
          name: d.variable.name.value,
          type: typeFromAST(schema, d.type) as GraphQLInputType | undefined,
        }),
      );
    } catch {
      // A broken document: any variables will do.
    }
    // Every variable given, mostly; now and then one left out.
    const typed = fc
      .tuple(
        fc.record(Object.fromEntries(definitions.map((d) => [d.name, d.type ? inputValueArb(d.type) : anyValueArb]))),
        now(10, fc.nat(), fc.constant(-1)),
      )
      .map(([values, drop]) =>
        drop < 0 || definitions.length === 0
          ? values
          : Object.fromEntries(
              Object.entries(values).filter(([name]) => name !== definitions[drop % definitions.length]!.name),
            ),
      );
    return fc.oneof(
      { weight: 30, arbitrary: typed },
      {
        weight: 2,
        arbitrary: fc
          .tuple(typed, fc.dictionary(nameArb, anyValueArb, { maxKeys: 3 }))
          .map(([a, b]) => ({ ...b, ...a })),
      },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: anyValueArb },
    );
  }

  /** An operation built from the schema: any root type, fields, arguments, aliases, nesting. */
  const generatedArb: fc.Arbitrary<string> = fc
    .tuple(
      fc.constantFrom('query', 'query', 'mutation', 'mutation', 'subscription', '', '', 'query Named', 'fragment'),
      fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) },
        { weight: 1, arbitrary: fc.integer({ min: 8, max: 14 }) },
      ),
    )
    .chain(([kind, depth]) => {
      // A root the schema lacks (a mutation to audit) is built on Query: a request to refuse.
      const root =
        (kind === 'mutation'
          ? schema.getMutationType()
          : kind === 'subscription'
            ? schema.getSubscriptionType()
            : null) ?? schema.getQueryType()!;
      return selectionArb(root, depth, kind === 'subscription' ? 1 : 4).map((selection) => {
        const vars = selection.vars.map((type, i) => `$v${i}: ${String(type)}`);
        let n = 0;
        const body = selection.text.split(VAR).reduce((text, part) => `${text}$v${n++}${part}`);
        if (kind === 'fragment') return `fragment F on Query ${body} { ...F }`;
        // The shorthand `{ … }` takes no variable definitions.
        const keyword = kind === '' && vars.length > 0 ? 'query' : kind;
        return `${keyword}${vars.length > 0 ? ` (${vars.join(', ')})` : ''} ${body}`;
      });
    });

  /** A token of any kind, to insert or swap in. */
  const tokenArb: fc.Arbitrary<string> = fc.oneof(
    fc.constantFrom('{', '}', '(', ')', '[', ']', ':', '$', '!', '@', '...', '=', '|', '&', ',', '#'),
    fc.constantFrom('query', 'mutation', 'subscription', 'fragment', 'on', 'true', 'false', 'null', '$first', '$after'),
    schemaNameArb,
    nameArb,
    anyValueArb.map(literal),
    stringArb.map((s) => JSON.stringify(s)),
  );

  /** A real operation with a few tokens dropped, inserted, swapped or repeated. */
  const mutatedArb: fc.Arbitrary<string> = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.constantFrom('drop', 'insert', 'swap', 'repeat', 'replace'), fc.nat(), fc.nat(), tokenArb), {
        maxLength: 4,
      }),
    )
    .map(([seed, edits]) => {
      const tokens = lex(seed);
      for (const [kind, i, j, token] of edits) {
        if (tokens.length === 0) tokens.push(token);
        const a = i % tokens.length;
        const b = j % tokens.length;
        if (kind === 'drop') tokens.splice(a, 1);
        else if (kind === 'insert') tokens.splice(a, 0, token);
        else if (kind === 'replace') tokens[a] = token;
        else if (kind === 'swap') [tokens[a], tokens[b]] = [tokens[b]!, tokens[a]!];
        else tokens.splice(a, 0, ...tokens.slice(Math.min(a, b), Math.max(a, b) + 1).slice(0, 40));
      }
      return tokens.join(' ');
    });

  const documentArb: fc.Arbitrary<string> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...seeds) },
    { weight: 3, arbitrary: mutatedArb },
    { weight: 6, arbitrary: generatedArb },
    { weight: 1, arbitrary: stringArb },
  );

  /** The operation name: none, the document's own, one it lacks, or not a string. */
  const operationNameArb = (query: string): fc.Arbitrary<unknown> => {
    const own = /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query)?.[1];
    return fc.oneof(
      { weight: 20, arbitrary: fc.constant(undefined) },
      { weight: own ? 3 : 0, arbitrary: fc.constant(own) },
      { weight: 2, arbitrary: nameArb },
      { weight: 1, arbitrary: anyValueArb },
    );
  };

  const operationArb: fc.Arbitrary<FuzzOperation> = documentArb.chain((query) =>
    fc
      .tuple(variablesArb(query), operationNameArb(query))
      .map(([variables, operationName]) => ({ query, variables, operationName })),
  );

  return { operationArb, generatedArb, mutatedArb };
}

/** The lexical tokens of a document as written (strings keep their quotes); what the lexer cannot read stays whole. */
function lex(source: string): string[] {
  const lexer = new Lexer(new Source(source));
  const tokens: string[] = [];
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      tokens.push(source.slice(token.start, token.end));
    }
  } catch {
    return [source];
  }
  return tokens;
}
