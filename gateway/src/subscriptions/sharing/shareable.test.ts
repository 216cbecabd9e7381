import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Supergraph } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { selectsPerCaller, ShareableOperations } from './shareable.js';

/** The platform's own supergraph, as composed from the modules' schemas (schema/supergraph.graphql). */
const supergraph = Supergraph.build(
  readFileSync(new URL('../../../../schema/supergraph.graphql', import.meta.url), 'utf8'),
).schema.toGraphQLJSSchema();

const perCaller = (query: string): boolean => selectsPerCaller(supergraph, parse(query));

describe('which operations may be shared by callers holding the same permissions', () => {
  it('shares fields whose rules check permissions only, across subgraphs', () => {
    expect(perCaller('subscription { postCreated { id title author { id displayName } } }')).toBe(false);
    expect(perCaller('subscription { auditEventRecorded { id action } }')).toBe(false);
  });

  it('does not share a field whose rule reads who the caller is (isSelf)', () => {
    expect(perCaller('subscription { postCreated { id author { email } } }')).toBe(true);
    expect(perCaller('subscription { postCreated { author { emailVerified } } }')).toBe(true);
  });

  it('does not share a root field whose resolver answers for the caller (perCaller)', () => {
    expect(perCaller('subscription { mySessionRevoked { sessionId } }')).toBe(true);
  });

  it('finds per-caller fields behind named and inline fragments', () => {
    expect(
      perCaller('subscription { postCreated { ...P } } fragment P on Post { author { ... on User { email } } }'),
    ).toBe(true);
    expect(perCaller('subscription { postCreated { ...P } } fragment P on Post { author { displayName } }')).toBe(
      false,
    );
  });

  it('remembers each answer per schema and document', () => {
    const shareable = new ShareableOperations();
    const text = 'subscription { postCreated { id author { email } } }';
    const document = parse(text);
    expect(shareable.isShareable(supergraph, document, text)).toBe(false);
    // The same text answers from memory, whatever document it comes with.
    expect(shareable.isShareable(supergraph, parse('subscription { postCreated { id } }'), text)).toBe(false);
    expect(shareable.isShareable(supergraph, parse('subscription { postCreated { id } }'), 'other')).toBe(true);
  });
});
