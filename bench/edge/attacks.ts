// The attacks of issue 17, as loops a hostile guest runs against the gateway, each recording how
// it was answered (HTTP status and error code, or how a socket was refused) and how fast.
import WebSocket from 'ws';

/** Three nested 100-post pages: 10^6 posts once one author has 100. */
export const MILLION = `{ posts(first:100){ edges{ node{ author{ posts(first:100){ edges{ node{
  author { posts(first:100){ edges { node { id title } } } } } } } } } } } }`;
export const ALIASES_10K = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: posts(first:1){totalCount}`).join(' ')} }`;
export const PAGES_1K = `{ ${Array.from(
  { length: 1000 },
  (_, i) => `p${i}: posts(first:100){ edges { node { id title author { displayName } } } }`,
).join(' ')} }`;

/** What one attack saw: outcome label → count, and the time each answer took. */
export interface AttackTally {
  outcomes: Record<string, number>;
  latencies: number[];
}

export interface AttackContext {
  url: string;
  /** The attacker's address, as the trusted proxy in front of the gateway reports it. */
  headers: Record<string, string>;
  /** The account whose mail and password the attacker goes after. */
  victim: string;
  until: number;
  /** Requests per second of each HTTP attack; 0: each as fast as the gateway answers (a flood). */
  rate: number;
}

const tally = (): AttackTally => ({ outcomes: {}, latencies: [] });
const count = (t: AttackTally, outcome: string): void => {
  t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
};

/** Sends one operation; the outcome is the status and the first error's code. */
async function send(context: AttackContext, t: AttackTally, body: unknown): Promise<void> {
  const started = performance.now();
  try {
    const response = await fetch(context.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...context.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    t.latencies.push(performance.now() - started);
    let code = '';
    try {
      code =
        (JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code ??
        '';
    } catch {
      code = 'not-json';
    }
    count(t, `${response.status}${code ? ` ${code}` : ''}`);
  } catch (error) {
    t.latencies.push(performance.now() - started);
    count(t, `failed: ${(error as Error).name}`);
  }
}

async function loop(context: AttackContext, next: (i: number) => unknown, t: AttackTally): Promise<void> {
  const started = Date.now();
  for (let i = 0; Date.now() < context.until; i++) {
    await send(context, t, next(i));
    if (context.rate > 0) {
      const due = started + ((i + 1) * 1000) / context.rate;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    }
  }
}

/** Every HTTP attack at once, each in its own loop; resolves with the tallies when time is up. */
export async function httpAttacks(context: AttackContext): Promise<Record<string, AttackTally>> {
  const attacks: Record<string, (i: number) => unknown> = {
    'the 10^6-post query': () => ({ query: MILLION }),
    '10,000 aliases (350 KiB)': () => ({ query: ALIASES_10K }),
    '1,000 aliased 100-post pages': () => ({ query: PAGES_1K }),
    registrations: (i) => ({
      query: 'mutation ($input: RegisterInput!) { register(input: $input) { id } }',
      variables: { input: { email: `flood-${Date.now()}-${i}@example.com`, password: 'a flood of new accounts 2026' } },
    }),
    'password resets to one victim': () => ({
      query: 'mutation ($email: String!) { requestPasswordReset(email: $email) }',
      variables: { email: context.victim },
    }),
    "guessing the victim's password": (i) => ({
      query:
        'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
      variables: { email: context.victim, password: `guess number ${i} of many` },
    }),
    'cheap queries as fast as possible': () => ({ query: '{ posts(first: 1) { totalCount } }' }),
  };
  const tallies = Object.fromEntries(Object.keys(attacks).map((name) => [name, tally()]));
  await Promise.all(Object.entries(attacks).map(([name, next]) => loop(context, next, tallies[name]!)));
  return tallies;
}

/**
 * Opens up to `sockets` WebSockets (as fast as the gateway answers, for at most a third of the
 * time, stopping after 50 refusals in a row), then subscribes `subscriptions` times spread over
 * those it got, and holds them until time is up.
 */
export async function socketAttack(
  context: AttackContext,
  sockets: number,
  subscriptions: number,
): Promise<Record<string, AttackTally>> {
  const opened = tally();
  const subscribed = tally();
  const open: WebSocket[] = [];
  const wsUrl = context.url.replace(/^http/, 'ws');
  const openUntil = Date.now() + (context.until - Date.now()) / 3;
  let refusedInARow = 0;
  // Paced: sockets and subscriptions at four times one HTTP attack's rate; a flood sends them at once.
  const pace = async (i: number, since: number): Promise<void> => {
    if (context.rate <= 0) return;
    const due = since + ((i + 1) * 1000) / (context.rate * 4);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  };
  const openingSince = Date.now();
  for (let i = 0; i < sockets && Date.now() < openUntil && refusedInARow < 50; i++) {
    await pace(i, openingSince);
    const started = performance.now();
    const outcome = await new Promise<string>((resolve) => {
      const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { headers: context.headers });
      ws.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      ws.once('error', () => resolve('failed'));
      ws.once('open', () => {
        ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
        ws.once('message', () => {
          open.push(ws);
          resolve('open');
        });
      });
    });
    opened.latencies.push(performance.now() - started);
    count(opened, outcome);
    refusedInARow = outcome === 'open' ? 0 : refusedInARow + 1;
  }
  const pending = new Map<string, number>();
  /** Each socket's pending operation ids, and how the socket closed (if it did). */
  const idsOf = new Map<WebSocket, string[]>();
  const closedWith = new Map<WebSocket, number>();
  for (const ws of open) {
    idsOf.set(ws, []);
    ws.once('close', (code: number) => closedWith.set(ws, code));
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as {
        id?: string;
        type: string;
        payload?: Array<{ extensions?: { code?: string } }>;
      };
      const started = message.id ? pending.get(message.id) : undefined;
      if (started === undefined) return;
      pending.delete(message.id!);
      subscribed.latencies.push(performance.now() - started);
      count(
        subscribed,
        message.type === 'error' ? `error ${message.payload?.[0]?.extensions?.code ?? ''}` : message.type,
      );
    });
  }
  const subscribingSince = Date.now();
  for (let i = 0; i < subscriptions && open.length > 0 && Date.now() < context.until; i++) {
    await pace(i, subscribingSince);
    const id = `s${i}`;
    const ws = open[i % open.length]!;
    if (ws.readyState !== ws.OPEN) continue;
    pending.set(id, performance.now());
    idsOf.get(ws)!.push(id);
    ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription { postCreated { id title } }` } }));
  }
  // Accepted subscriptions say nothing until an event: those still unanswered when time is up run,
  // unless the gateway closed their socket.
  while (Date.now() < context.until) await new Promise((resolve) => setTimeout(resolve, 200));
  for (const [ws, ids] of idsOf) {
    const code = closedWith.get(ws);
    const unanswered = ids.filter((id) => pending.has(id)).length;
    if (unanswered === 0) continue;
    const outcome = code === undefined ? 'running (accepted)' : `socket closed ${code}`;
    subscribed.outcomes[outcome] = (subscribed.outcomes[outcome] ?? 0) + unanswered;
  }
  const notSent = subscriptions - [...idsOf.values()].reduce((sum, ids) => sum + ids.length, 0);
  if (notSent > 0) subscribed.outcomes['not sent (sockets closed, or time up)'] = notSent;
  for (const ws of open) ws.terminate();
  return { 'WebSockets opened': opened, 'subscriptions started': subscribed };
}
