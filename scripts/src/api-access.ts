import { authenticated } from '@platform/kernel';

/**
 * What a graphql-shield rule asks of the caller, in words docs/api.md shows: `public`, `signed
 * in`, a permission (`blog.post.create`), a module's own check by its exported name (`isSelf`),
 * and `and`/`or`/`not` of those; with the error codes a refusal can carry.
 */
export interface Access {
  text: string;
  codes: ReadonlySet<string>;
}

/** The names a module's rules file exports its own rules under (`isSelf`), so unnamed rules read well. */
export type RuleNames = ReadonlyMap<object, string>;

const PERMISSION_PREFIX = 'permission:';
// graphql-shield names a rule made without a name Math.random().toString(): no name to show.
const RANDOM_NAME = /^0\.\d+$|^\d(\.\d+)?(e-\d+)?$/;

interface Node {
  text: string;
  codes: Set<string>;
  /** Joined from several parts (needs parentheses inside another `and`/`or`). */
  compound: boolean;
}

const kind = (rule: object): string => rule.constructor?.name ?? '';
const childrenOf = (rule: object): unknown[] =>
  typeof (rule as { getRules?: unknown }).getRules === 'function' ? (rule as { getRules(): unknown[] }).getRules() : [];

function leaf(text: string, ...codes: string[]): Node {
  return { text, codes: new Set(codes), compound: false };
}

function join(parts: Node[], word: string): Node {
  const unique = [...new Map(parts.map((part) => [part.text, part])).values()];
  if (unique.length === 1) return unique[0]!;
  return {
    text: unique.map((part) => (part.compound ? `(${part.text})` : part.text)).join(` ${word} `),
    codes: new Set(unique.flatMap((part) => [...part.codes])),
    compound: true,
  };
}

function describeNode(rule: unknown, names: RuleNames): Node {
  if (typeof rule !== 'object' || rule === null) return leaf('nobody', 'FORBIDDEN');
  if (rule === authenticated) return leaf('signed in', 'UNAUTHENTICATED');
  switch (kind(rule)) {
    case 'RuleTrue':
      return leaf('public');
    case 'RuleFalse':
      return leaf('nobody', 'FORBIDDEN');
    case 'RuleAnd':
    case 'RuleChain':
      return join(
        childrenOf(rule).map((child) => describeNode(child, names)),
        'and',
      );
    case 'RuleOr':
    case 'RuleRace':
      return join(
        childrenOf(rule).map((child) => describeNode(child, names)),
        'or',
      );
    case 'RuleNot': {
      const inner = describeNode(childrenOf(rule)[0], names);
      return {
        text: `not ${inner.compound ? `(${inner.text})` : inner.text}`,
        codes: new Set(['FORBIDDEN']),
        compound: false,
      };
    }
  }
  const name = (rule as { name?: unknown }).name;
  if (typeof name === 'string' && name.startsWith(PERMISSION_PREFIX)) {
    return leaf(`\`${name.slice(PERMISSION_PREFIX.length)}\``, 'FORBIDDEN');
  }
  const exported = names.get(rule);
  if (exported) return leaf(`\`${exported}\``, 'FORBIDDEN');
  if (typeof name === 'string' && name !== '' && !RANDOM_NAME.test(name)) return leaf(`\`${name}\``, 'FORBIDDEN');
  return leaf('a custom check', 'FORBIDDEN');
}

/** The words for `rule`, and the codes its refusals carry. */
export function describeRule(rule: unknown, names: RuleNames = new Map()): Access {
  const { text, codes } = describeNode(rule, names);
  return { text, codes };
}

/** The exported values of a module's rules file that are rules (objects), by identity. */
export function ruleNamesOf(exports: Record<string, unknown>): Map<object, string> {
  const names = new Map<object, string>();
  for (const [name, value] of Object.entries(exports).sort(([a], [b]) => a.localeCompare(b))) {
    if (typeof value === 'object' && value !== null && name !== 'rules' && !names.has(value)) names.set(value, name);
  }
  return names;
}

/** Types whose fields only wrap what their root field already guards (the kernel allows them). */
export const implicitlyAllowed = (typeName: string): boolean =>
  typeName === 'PageInfo' || typeName.endsWith('Connection') || typeName.endsWith('Edge');

/**
 * The rule guarding `type.field` in a module's rule map: a type-wide rule, the field's own, or
 * `undefined` (denied by the fallback, or allowed as a wrapper type: see implicitlyAllowed).
 */
export function fieldRule(rules: Record<string, unknown>, type: string, field: string): unknown {
  const typeRules = rules[type];
  if (
    typeof typeRules === 'object' &&
    typeRules !== null &&
    typeof (typeRules as { resolve?: unknown }).resolve === 'function'
  ) {
    return typeRules;
  }
  return (typeRules as Record<string, unknown> | undefined)?.[field];
}
