// The cases of the gateway benchmark (issue 8): what each sends, to which server, and how an
// answer is judged. Every GraphQL case reads the same first page of the same seeded posts.

/** Servers a case can be sent to. */
/** `ours-nodedupe`: our gateway with `gateway.dedupeInflightQueries: false` (every request calls the subgraphs). */
export type TargetName = 'ceiling' | 'blog' | 'ours' | 'ours-nodedupe' | 'stock' | 'hive';

export interface CaseSpec {
  id: string;
  /** Case number in the issue (1–7) and a short title for tables. */
  issueCase: number;
  title: string;
  target: TargetName;
  body: string;
  /** `closed`: as fast as answers come over the bench's connections; a number: paced arrivals per second. */
  load: 'closed' | number;
  /** Sends the access token of a signed-in user. */
  authenticated?: boolean;
  /** Each request signs in the next seeded user (login). */
  login?: boolean;
  /** Cheap check of a response body (the load generator runs it on every answer). */
  accept(body: string): boolean;
}

export const PAGE_QUERY = 'query Page { posts(first: 20) { edges { node { id title } } } }';
export const JOIN_QUERY =
  'query PageWithAuthors { posts(first: 20) { edges { node { id title author { id displayName } } } } }';
export const LOGIN_MUTATION =
  'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken expiresIn } }';

const page = JSON.stringify({ query: PAGE_QUERY, operationName: 'Page' });
const join = JSON.stringify({ query: JOIN_QUERY, operationName: 'PageWithAuthors' });
const noErrors = (body: string): boolean => !body.includes('"errors"');
const isPage = (body: string): boolean => noErrors(body) && body.includes('"edges":[{');
const isJoin = (body: string): boolean => isPage(body) && body.includes('"displayName":"');

export const CASES: readonly CaseSpec[] = [
  {
    id: 'ceiling',
    issueCase: 1,
    title: 'ceiling: bare node:http, fixed JSON',
    target: 'ceiling',
    body: '{}',
    load: 'closed',
    accept: (b) => b.includes('"ok":true'),
  },
  {
    id: 'direct',
    issueCase: 2,
    title: 'direct: blog subgraph, posts page',
    target: 'blog',
    body: page,
    load: 'closed',
    accept: isPage,
  },
  {
    id: 'ours-page',
    issueCase: 3,
    title: 'single hop: our gateway',
    target: 'ours',
    body: page,
    load: 'closed',
    accept: isPage,
  },
  {
    id: 'ours-join',
    issueCase: 4,
    title: 'two-hop join: our gateway',
    target: 'ours',
    body: join,
    load: 'closed',
    accept: isJoin,
  },
  {
    id: 'ours-page-nodedupe',
    issueCase: 3,
    title: 'single hop: our gateway, in-flight dedupe off',
    target: 'ours-nodedupe',
    body: page,
    load: 'closed',
    accept: isPage,
  },
  {
    id: 'ours-join-nodedupe',
    issueCase: 4,
    title: 'two-hop join: our gateway, in-flight dedupe off',
    target: 'ours-nodedupe',
    body: join,
    load: 'closed',
    accept: isJoin,
  },
  {
    id: 'stock-page',
    issueCase: 5,
    title: 'single hop: stock @apollo/gateway',
    target: 'stock',
    body: page,
    load: 'closed',
    accept: isPage,
  },
  {
    id: 'stock-join',
    issueCase: 5,
    title: 'two-hop join: stock @apollo/gateway',
    target: 'stock',
    body: join,
    load: 'closed',
    accept: isJoin,
  },
  {
    id: 'hive-page',
    issueCase: 5,
    title: 'single hop: Hive Gateway',
    target: 'hive',
    body: page,
    load: 'closed',
    accept: isPage,
  },
  {
    id: 'hive-join',
    issueCase: 5,
    title: 'two-hop join: Hive Gateway',
    target: 'hive',
    body: join,
    load: 'closed',
    accept: isJoin,
  },
  {
    id: 'login',
    issueCase: 6,
    title: 'login, 40/s paced, our gateway',
    target: 'ours',
    body: '',
    load: 40,
    login: true,
    accept: (b) => noErrors(b) && b.includes('"accessToken":"'),
  },
  {
    id: 'ours-page-auth',
    issueCase: 7,
    title: 'single hop, authenticated: our gateway',
    target: 'ours',
    body: page,
    load: 'closed',
    authenticated: true,
    accept: isPage,
  },
];

/** Scenario names → case ids; a comma-separated list of scenarios or case ids also works. */
export const SCENARIOS: Record<string, readonly string[]> = {
  ceiling: ['ceiling'],
  direct: ['direct'],
  'single-hop': ['ours-page'],
  join: ['ours-join'],
  stock: ['stock-page', 'stock-join'],
  hive: ['hive-page', 'hive-join'],
  login: ['login'],
  auth: ['ours-page', 'ours-page-auth'],
  nodedupe: ['ours-page-nodedupe', 'ours-join-nodedupe'],
  gateways: [
    'direct',
    'ours-page',
    'ours-join',
    'ours-page-nodedupe',
    'ours-join-nodedupe',
    'stock-page',
    'stock-join',
    'hive-page',
    'hive-join',
  ],
  all: CASES.map((c) => c.id),
  smoke: CASES.map((c) => c.id),
};

/** The issue's targets, as ratios of median RPS (or login p95). */
export interface Target {
  id: string;
  label: string;
  numerator: string;
  denominator: string;
  /** ratio ≥ min */
  min: number;
}

export const RATIO_TARGETS: readonly Target[] = [
  {
    id: 'single-hop/direct',
    label: 'our single hop / direct',
    numerator: 'ours-page',
    denominator: 'direct',
    min: 0.4,
  },
  { id: 'join/direct', label: 'our two-hop join / direct', numerator: 'ours-join', denominator: 'direct', min: 0.25 },
  {
    id: 'page/stock',
    label: 'ours / stock @apollo/gateway, single hop',
    numerator: 'ours-page',
    denominator: 'stock-page',
    min: 1.5,
  },
  {
    id: 'join/stock',
    label: 'ours / stock @apollo/gateway, join',
    numerator: 'ours-join',
    denominator: 'stock-join',
    min: 1.5,
  },
  {
    id: 'page/hive',
    label: 'ours / Hive Gateway, single hop',
    numerator: 'ours-page',
    denominator: 'hive-page',
    min: 1.0,
  },
  { id: 'join/hive', label: 'ours / Hive Gateway, join', numerator: 'ours-join', denominator: 'hive-join', min: 1.0 },
  {
    id: 'page/stock nodedupe',
    label: 'ours with dedupe off / stock, single hop (informational)',
    numerator: 'ours-page-nodedupe',
    denominator: 'stock-page',
    min: 0,
  },
  {
    id: 'join/stock nodedupe',
    label: 'ours with dedupe off / stock, join (informational)',
    numerator: 'ours-join-nodedupe',
    denominator: 'stock-join',
    min: 0,
  },
  {
    id: 'auth/anonymous',
    label: 'authenticated / anonymous (informational)',
    numerator: 'ours-page-auth',
    denominator: 'ours-page',
    min: 0,
  },
  {
    id: 'direct/ceiling',
    label: 'direct / ceiling (informational)',
    numerator: 'direct',
    denominator: 'ceiling',
    min: 0,
  },
];

export const LOGIN_P95_TARGET_MS = 100;

export function casesFor(scenario: string): CaseSpec[] {
  const ids = new Set<string>();
  for (const part of scenario
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const named = SCENARIOS[part] ?? (CASES.some((c) => c.id === part) ? [part] : undefined);
    if (!named) throw new Error(`unknown scenario or case "${part}"`);
    for (const id of named) ids.add(id);
  }
  return CASES.filter((c) => ids.has(c.id));
}
