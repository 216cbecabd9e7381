import { describe, expect, it } from '@jest/globals';
import {
  and,
  AuthenticationError,
  authenticated,
  ConflictError,
  ForbiddenError,
  InputError,
  MfaRequiredError,
  NotFoundError,
  not,
  or,
  perCaller,
  permission,
  publicAccess,
  RateLimitError,
  rule,
} from '@platform/kernel';
import { QueryTooComplexError } from '@platform/kernel/gateway';
import { describeRule, ruleNamesOf } from './api-access.js';
import { renderApiDocs, type ModuleApi } from './api-docs.js';
import { ERROR_CODES } from './api-errors.js';
import { composeSupergraph } from './artifacts.js';

const isOwner = rule({ cache: 'no_cache' })(() => true);
const unnamed = rule({ cache: 'no_cache' })(() => true);
const named = rule('isAuthor:shop.product.update', { cache: 'strict' })(() => true);
const names = ruleNamesOf({ isOwner, rules: {}, helper: () => true });

describe('describeRule', () => {
  it.each([
    ['publicAccess', publicAccess, 'public', []],
    ['authenticated', authenticated, 'signed in', ['UNAUTHENTICATED']],
    ['permission()', permission('shop.product.read'), '`shop.product.read`', ['FORBIDDEN']],
    ['perCaller() reads as its rule', perCaller(authenticated), 'signed in', ['UNAUTHENTICATED']],
    ['an exported rule by its export name', isOwner, '`isOwner`', ['FORBIDDEN']],
    ['a rule by its own name', named, '`isAuthor:shop.product.update`', ['FORBIDDEN']],
    ['an unnamed rule', unnamed, 'a custom check', ['FORBIDDEN']],
    ['no rule (denied by the fallback)', undefined, 'nobody', ['FORBIDDEN']],
    [
      'and/or with parentheses',
      or(and(permission('shop.product.update'), named), permission('shop.product.moderate')),
      '(`shop.product.update` and `isAuthor:shop.product.update`) or `shop.product.moderate`',
      ['FORBIDDEN'],
    ],
    [
      'signed in and a permission',
      and(authenticated, permission('shop.order.create')),
      'signed in and `shop.order.create`',
      ['FORBIDDEN', 'UNAUTHENTICATED'],
    ],
    ['not', not(isOwner), 'not `isOwner`', ['FORBIDDEN']],
  ])('%s', (_case, guard, text, codes) => {
    const access = describeRule(guard, names);
    expect(access.text).toBe(text);
    expect([...access.codes].sort()).toEqual(codes);
  });
});

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@tag", "@external"])';

const SHOP_SDL = `${LINK}
"""A product on sale"""
type Product @key(fields: "id") {
  id: ID!
  name: String!
  """Only its owner sees it"""
  cost: Int @tag(name: "perCaller")
  color: Color
}
"""Colours | shades"""
enum Color {
  """Like a tomato | or a cherry"""
  RED
  BLUE @deprecated(reason: "Out of stock")
}
input BuyInput {
  """How many to buy"""
  quantity: Int! = 1
}
type PageInfo @shareable { hasNextPage: Boolean! }
type ProductConnection { items: [Product!]! pageInfo: PageInfo! }
type Query {
  """One product by id"""
  product(id: ID!, """Include drafts""" drafts: Boolean = false): Product
  products: ProductConnection!
}
type Mutation {
  buy(input: BuyInput!): Boolean! @tag(name: "perCaller")
}
`;

const REVIEWS_SDL = `${LINK}
type Product @key(fields: "id") {
  id: ID!
  reviews: [String!]!
}
type PageInfo @shareable { hasNextPage: Boolean! }
`;

const MODULES: ModuleApi[] = [
  {
    name: 'reviews',
    sdl: REVIEWS_SDL,
    rules: { Product: { id: publicAccess, reviews: and(authenticated, unnamed) } },
    references: { Product: { rule: publicAccess } },
    permissions: [],
  },
  {
    name: 'shop',
    sdl: SHOP_SDL,
    rules: {
      Query: { product: permission('shop.product.read'), products: publicAccess },
      Mutation: { buy: perCaller(authenticated) },
      Product: {
        id: publicAccess,
        name: publicAccess,
        cost: or(isOwner, permission('shop.product.audit')),
        color: publicAccess,
      },
    },
    references: { Product: { rule: permission('shop.product.read') } },
    ruleNames: names,
    permissions: [
      { name: 'shop.product.read', description: 'Read products', public: true },
      { name: 'shop.product.audit', description: 'See costs' },
    ],
  },
];

function supergraph(): string {
  const composed = composeSupergraph([
    { name: 'reviews', sdl: REVIEWS_SDL, url: 'http://localhost:1/graphql' },
    { name: 'shop', sdl: SHOP_SDL, url: 'http://localhost:2/graphql' },
  ]);
  expect(composed.errors).toEqual([]);
  return composed.supergraph!;
}

describe('renderApiDocs', () => {
  const docs = renderApiDocs(supergraph(), MODULES);

  it('documents a root field: signature, description, arguments with defaults, access and error codes', () => {
    const section = docs.slice(docs.indexOf('### Query.product\n'), docs.indexOf('### Query.products\n'));
    expect(section).toContain('```graphql\nproduct(id: ID!, drafts: Boolean = false): Product\n```');
    expect(section).toContain('One product by id');
    expect(section).toContain('| `id` | [`ID!`](#id) |  |  |');
    expect(section).toContain('| `drafts` | [`Boolean`](#boolean) | `false` | Include drafts |');
    expect(section).toContain('Returns [`Product`](#product).');
    expect(section).toContain('- **Access** (shop): `shop.product.read`');
    expect(section).toContain('- **Errors**: [`BAD_USER_INPUT`](#bad_user_input), [`FORBIDDEN`](#forbidden)');
  });

  it('says when an answer depends on the caller, and lists no errors a public field without arguments cannot give', () => {
    expect(docs).toContain('- **Access** (shop): signed in (answer depends on the caller)');
    const products = docs.slice(docs.indexOf('### Query.products\n'), docs.indexOf('## Mutation fields'));
    expect(products).toContain('- **Access** (shop): public');
    expect(products).not.toContain('**Errors**');
  });

  it("documents an entity's fields from every subgraph, with each module's reference rule", () => {
    const product = docs.slice(docs.indexOf('#### Product\n'), docs.indexOf('#### ProductConnection\n'));
    expect(product).toContain('A product on sale');
    expect(product).toContain(
      'Entity; other subgraphs look it up by key (`_entities`) as reviews: public; shop: `shop.product.read`.',
    );
    expect(product).toContain(
      '| `cost` | [`Int`](#int) | `isOwner` or `shop.product.audit` (answer depends on the caller) | Only its owner sees it |',
    );
    expect(product).toContain('| `reviews` | [`[String!]!`](#string) | signed in and a custom check |  |');
    expect(product).toContain('| `id` | [`ID!`](#id) | public |  |');
  });

  it('documents wrappers as guarded by their parent field, and inputs, enums (escaped, deprecated) and scalars', () => {
    expect(docs).toContain('| `hasNextPage` | [`Boolean!`](#boolean) | as its parent field |  |');
    expect(docs).toContain('| `quantity` | [`Int!`](#int) | `1` | How many to buy |');
    expect(docs).toContain('#### Color\n\nColours | shades\n');
    expect(docs).toContain('| `RED` | Like a tomato \\| or a cherry |');
    expect(docs).toContain('| `BLUE` | **Deprecated:** Out of stock |');
    expect(docs).toMatch(/### Scalars\n\n#### Boolean\n/);
  });

  it('lists the permissions and the error catalogue with anchors the fields link to', () => {
    expect(docs).toContain('| `shop.product.audit` | shop |  | See costs |');
    expect(docs).toContain('| `shop.product.read` | shop | yes | Read products |');
    for (const { code } of ERROR_CODES) expect(docs).toContain(`<a id="${code.toLowerCase()}"></a>\`${code}\``);
  });

  it('is deterministic and leaves out what clients cannot see (federation machinery, introspection)', () => {
    expect(renderApiDocs(supergraph(), MODULES)).toBe(docs);
    expect(docs).not.toMatch(/join__|link__|_entities\(|_service|__Schema/);
  });
});

describe('the error catalogue', () => {
  it.each([
    [new InputError('x'), '400'],
    [new AuthenticationError(), '200'],
    [new MfaRequiredError(), '200'],
    [new ForbiddenError(), '200'],
    [new NotFoundError('Post'), '200'],
    [new ConflictError('x'), '200'],
    [new RateLimitError(1), '429'],
    [new QueryTooComplexError('depth', 10, 11), '400'],
  ])('documents the kernel error %p with its code and the HTTP status the gateway answers', (error, status) => {
    const documented = ERROR_CODES.find((entry) => entry.code === error.extensions.code);
    expect(documented).toBeDefined();
    expect(documented!.http).toContain(status);
  });

  it('lists each code once', () => {
    const codes = ERROR_CODES.map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
