import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Supergraph } from '@apollo/federation-internals';
import { type DefinitionNode, Kind, parse, print, validate } from 'graphql';
import { EXAMPLE_OPERATIONS } from '../explorer/src/operations.js';

/**
 * The explorer's preloaded tabs are the README's examples: each one marked `readme` is, names
 * aside, an operation the README shows (in a ```graphql block or a client's `query:` string),
 * and every tab is valid against the committed supergraph.
 */

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const SUPERGRAPH = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');

/** An operation printed without its name, so `query Posts { … }` and `{ … }` compare equal. */
function anonymous(definition: DefinitionNode): string {
  return definition.kind === Kind.OPERATION_DEFINITION ? print({ ...definition, name: undefined }) : print(definition);
}

function readmeOperations(): Set<string> {
  const sources = [
    ...[...README.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!),
    ...[...README.matchAll(/query: '([^']+)'/g)].map((match) => match[1]!),
  ];
  const printed = new Set<string>();
  for (const source of sources) {
    for (const definition of parse(source).definitions) printed.add(anonymous(definition));
  }
  return printed;
}

/** The API schema as clients see it (the supergraph without its join and link machinery). */
const apiSchema = () => Supergraph.build(SUPERGRAPH).apiSchema().toGraphQLJSSchema();

describe('the explorer’s example operations', () => {
  const inReadme = readmeOperations();

  const named = EXAMPLE_OPERATIONS.filter((operation) => operation.readme).map(({ query }) => {
    const [definition] = parse(query).definitions;
    return [definition!.kind === Kind.OPERATION_DEFINITION ? definition.name?.value : '?', definition!] as const;
  });

  it.each(named)('the README shows %s (names aside)', (_name, definition) => {
    expect(inReadme).toContain(anonymous(definition));
  });

  it('covers posts with authors, login, me, createPost, postCreated and audit events', () => {
    const roots = EXAMPLE_OPERATIONS.map(({ query }) => {
      const [definition] = parse(query).definitions;
      return definition!.kind === Kind.OPERATION_DEFINITION
        ? definition.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '')).join()
        : '';
    });
    expect(roots).toEqual(['posts', 'login', 'me', 'createPost', 'postCreated', 'auditEvents']);
  });

  it('are valid against the committed supergraph', () => {
    const schema = apiSchema();
    for (const { query } of EXAMPLE_OPERATIONS) {
      expect({ query, errors: validate(schema, parse(query)).map((error) => error.message) }).toEqual({
        query,
        errors: [],
      });
    }
  });
});
