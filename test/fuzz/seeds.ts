import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildASTSchema,
  getNamedType,
  isInputObjectType,
  isObjectType,
  Kind,
  parse,
  print,
  type GraphQLNamedType,
  type GraphQLSchema,
  validate,
} from 'graphql';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The supergraph's API as clients see it: schema/supergraph.graphql without federation's own
 * `join__`/`link__` definitions (which no client may name).
 */
export function supergraphSchema(): GraphQLSchema {
  return buildASTSchema(parse(readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8')), {
    assumeValidSDL: true,
  });
}

/**
 * A subgraph's schema as the gateway sees it (schema/<name>.graphql) with what federation adds:
 * `_service`, and `_entities` over the types with a `@key`, taking `_Any` representations.
 */
export function subgraphSchema(name: string): GraphQLSchema {
  const sdl = readFileSync(join(ROOT, `schema/${name}.graphql`), 'utf8');
  const entities = [...sdl.matchAll(/^type (\w+)[^{\n]*@key\(/gm)].map((m) => m[1]!);
  const federation = `
    scalar _Any
    type _Service { sdl: String }
    ${entities.length > 0 ? `union _Entity = ${entities.join(' | ')}` : ''}
    extend type Query {
      _service: _Service!
      ${entities.length > 0 ? '_entities(representations: [_Any!]!): [_Entity]!' : ''}
    }`;
  return buildASTSchema(parse(`${sdl}\n${federation}`), { assumeValidSDL: true });
}

/** The seeds that are valid operations of `schema` (a subgraph has only some of the supergraph's fields). */
export function validFor(schema: GraphQLSchema, seeds: string[]): string[] {
  return seeds.filter((seed) => validate(schema, parse(seed)).length === 0);
}

/** Each operation of a document printed on its own (with the fragments it may use), if it parses. */
function operationsIn(source: string): string[] {
  let document;
  try {
    document = parse(source);
  } catch {
    return [];
  }
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => print(d));
  return document.definitions
    .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
    .map((d) => [print(d), ...fragments].join('\n'));
}

/** The operations of the README's ```graphql blocks. */
function readmeOperations(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].flatMap((block) =>
    // A block lists one operation per line or spreads one over several: try it whole, else by line.
    operationsIn(block[1]!).length > 0 ? operationsIn(block[1]!) : block[1]!.split('\n').flatMap(operationsIn),
  );
}

/** Operations written out in the end-to-end suites (string literals that parse as GraphQL). */
function suiteOperations(): string[] {
  const dir = join(ROOT, 'test');
  const literal = /(['"`])((?:query|mutation|subscription)\b[^'"`$]*?|\{[^'"`]*?\})\1/g;
  const literalWithVariables = /`((?:query|mutation|subscription)\s*(?:\w+\s*)?\(\$[^`]*?)`/g;
  return readdirSync(dir)
    .filter((name) => name.endsWith('.e2e.test.ts'))
    .flatMap((name) => {
      const source = readFileSync(join(dir, name), 'utf8');
      const found = [...source.matchAll(literal)].map((m) => m[2]!);
      const withVariables = [...source.matchAll(literalWithVariables)].map((m) => m[1]!);
      return [...found, ...withVariables].filter((text) => !text.includes('${')).flatMap(operationsIn);
    });
}

/** Every real operation the project documents or tests, each once. */
export function seedOperations(): string[] {
  return [...new Set([...readmeOperations(), ...suiteOperations()])];
}

/** Names a client might type: every type, field, argument and input field of the API, and enum values. */
export function schemaNames(schema: GraphQLSchema): string[] {
  const names = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || type.name.startsWith('join__') || type.name.startsWith('link__')) continue;
    names.add(type.name);
    if (isObjectType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        names.add(field.name);
        for (const arg of 'args' in field ? field.args : []) names.add(arg.name);
        names.add(getNamedType(field.type as GraphQLNamedType).name);
      }
    }
  }
  return [...names];
}
