import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { Supergraph } from '@apollo/federation-internals';
import { Kind, parse, validate, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { loadConfig } from '@platform/kernel/testing';
import { checkOperation, countTokens } from '@platform/kernel/gateway';

/**
 * The default `gateway.limits` let through every operation the README and docs show a frontend
 * developer (the end-to-end suites, which run with the same defaults, cover the tests' own).
 */
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const config = loadConfig({ env: { PLATFORM_ENV: 'development' }, cwd: ROOT });
const schema = Supergraph.build(readFileSync(join(ROOT, 'schema', 'supergraph.graphql'), 'utf8'))
  .apiSchema()
  .toGraphQLJSSchema();

function graphqlBlocks(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

const documents = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => join('docs', name))]
  // docs/api.md is the generated reference: its graphql blocks are field signatures, not operations.
  .filter((file) => file.endsWith('.md') && file !== join('docs', 'api.md'))
  .flatMap((file) => graphqlBlocks(join(ROOT, file)).map((block, i) => [`${file} #${i + 1}`, block] as const));

describe('default operation limits', () => {
  it('finds the documentation’s operations', () => {
    expect(documents.length).toBeGreaterThanOrEqual(4);
  });

  it.each(documents)('pass %s', (_where, block) => {
    expect(countTokens(block)).toBeLessThanOrEqual(config.gateway.limits.maxTokens);
    const document = parse(block);
    const operations = document.definitions.filter(
      (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
    );
    expect(operations.length).toBeGreaterThan(0);
    for (const operation of operations) {
      // One operation at a time, with the document's fragments, as a client sends it.
      const single: DocumentNode = {
        kind: Kind.DOCUMENT,
        definitions: [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)],
      };
      expect(validate(schema, single)).toEqual([]);
      expect(() => checkOperation(schema, single, operation, {}, config.gateway.limits)).not.toThrow();
    }
  });
});
