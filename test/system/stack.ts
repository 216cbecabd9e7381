/** The supergraph test/system/global-setup.mjs started, as the system suites see it. */
export interface SystemStack {
  /** The gateway's origin, e.g. http://127.0.0.1:41234 (GraphQL on /graphql). */
  gateway: string;
  /** Its private data directory (embedded databases, mail outbox, files). */
  dataDir: string;
  /** The `npm start` process (its process group). */
  pid: number;
  /** Each subgraph's origin (health, readiness and metrics on /healthz, /ready, /metrics). */
  subgraphs: Record<string, string>;
}

export function systemStack(): SystemStack {
  const raw = process.env.SYSTEM_STACK;
  if (!raw) throw new Error('SYSTEM_STACK is not set: run the system suites with `npm run test:system`');
  return JSON.parse(raw) as SystemStack;
}
