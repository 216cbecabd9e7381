/**
 * Who the explorer is signed in as: the access token the sign-in panel got from `login`, kept in
 * sessionStorage (it survives a reload, not the tab), and the headers-editor edits that put it in
 * or take it out. The headers editor stays the source of truth: what it says is what is sent,
 * over HTTP and in graphql-ws's `connection_init`.
 */
const STORAGE_KEY = 'platform-explorer:session';

export interface Session {
  token: string;
  email: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

type Listener = (session: Session | undefined) => void;

const listeners = new Set<Listener>();
let current: Session | undefined = read();

function read(): Session | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return stored && stored.expiresAt > Date.now() ? stored : undefined;
  } catch {
    return undefined;
  }
}

export function currentSession(): Session | undefined {
  return current;
}

export function setSession(session: Session | undefined): void {
  current = session;
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of listeners) listener(session);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tokens this page put into a headers editor: only those are replaced or removed again. */
const issued = new Set<string>(current ? [current.token] : []);

const bearer = (token: string): string => `Bearer ${token}`;

/**
 * The headers editor's text with `Authorization` set to the session's token (or, signed out,
 * without an `Authorization` this page put there). A header typed by hand is left alone, and so
 * is text that is not a JSON object; returns undefined when nothing changes.
 */
export function withSessionHeader(text: string, session: Session | undefined): string | undefined {
  let headers: Record<string, unknown>;
  try {
    const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    headers = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const key = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  const value = key === undefined ? undefined : headers[key];
  const ours = typeof value === 'string' && [...issued].some((token) => value === bearer(token));
  if (session) {
    if (value === bearer(session.token)) return undefined;
    if (value !== undefined && !ours) return undefined;
    issued.add(session.token);
    const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== key));
    return JSON.stringify({ Authorization: bearer(session.token), ...rest }, null, 2);
  }
  if (!ours || key === undefined) return undefined;
  const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== key));
  return Object.keys(rest).length === 0 ? '' : JSON.stringify(rest, null, 2);
}
