/**
 * The sign-in helper: a GraphiQL plugin panel (the person icon in the sidebar) that runs `login`
 * with an email and password and puts `Authorization: Bearer <accessToken>` into the request
 * headers; sign-out runs `logout` and takes the header out again. `SessionHeaders` keeps each
 * tab's headers editor in step as tabs are opened (see session.ts for what is left alone).
 */
import { type FormEvent, useEffect, useState } from 'react';
import { type GraphiQLPlugin, useGraphiQL } from '@graphiql/react';
import { currentSession, onSessionChange, type Session, setSession, withSessionHeader } from './session.js';

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken expiresIn }
}`;
const LOGOUT = 'mutation Logout { logout }';

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string }[];
}

async function post<T>(endpoint: string, query: string, variables: object, token?: string): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as GraphQLAnswer<T>;
  if (answer.errors?.length || !answer.data) {
    throw new Error(answer.errors?.map((error) => error.message).join('; ') ?? `HTTP ${response.status}`);
  }
  return answer.data;
}

function useSession(): Session | undefined {
  const [session, setState] = useState(currentSession);
  useEffect(() => onSessionChange(setState), []);
  return session;
}

function PersonIcon() {
  return (
    <svg viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" strokeWidth="1.5">
      <title>Sign in</title>
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8" />
    </svg>
  );
}

function SignInPanel({ endpoint }: { endpoint: string }) {
  const session = useSession();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function signIn(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email') ?? '');
    setBusy(true);
    setError(undefined);
    try {
      const { login } = await post<{ login: { accessToken: string; expiresIn: number } }>(endpoint, LOGIN, {
        email,
        password: String(form.get('password') ?? ''),
      });
      setSession({ token: login.accessToken, email, expiresAt: Date.now() + login.expiresIn * 1000 });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function signOut() {
    const token = session?.token;
    setSession(undefined);
    // Ends the session on the server too; signed out here whatever it answers.
    if (token) await post(endpoint, LOGOUT, {}, token).catch(() => undefined);
  }

  if (session) {
    return (
      <div className="platform-sign-in">
        <div className="graphiql-doc-explorer-title">Signed in</div>
        <p>
          As <strong data-testid="signed-in-as">{session.email}</strong>, until{' '}
          {new Date(session.expiresAt).toLocaleTimeString()}. The token is in the request headers of every tab (Headers,
          below the operation), for queries and subscriptions alike.
        </p>
        <button type="button" className="graphiql-button" onClick={signOut}>
          Sign out
        </button>
      </div>
    );
  }
  return (
    <form className="platform-sign-in" onSubmit={signIn}>
      <div className="graphiql-doc-explorer-title">Sign in</div>
      <p>Runs the login mutation and puts the access token into the request headers.</p>
      <label>
        Email
        <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit" className="graphiql-button graphiql-button-success" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {error ? (
        <p role="alert" className="platform-sign-in-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

export function signInPlugin(endpoint: string): GraphiQLPlugin {
  return { title: 'Sign in', icon: PersonIcon, content: () => <SignInPanel endpoint={endpoint} /> };
}

/**
 * Puts the session's token into the active tab's headers editor (or takes it out), on sign-in,
 * sign-out, and each time another tab becomes active. Renders nothing.
 */
export function SessionHeaders() {
  const session = useSession();
  const { headerEditor, activeTabIndex } = useGraphiQL((state) => ({
    headerEditor: state.headerEditor,
    activeTabIndex: state.activeTabIndex,
  }));
  useEffect(() => {
    if (!headerEditor) return;
    const text = withSessionHeader(headerEditor.getValue(), session);
    if (text !== undefined) headerEditor.setValue(text);
  }, [headerEditor, activeTabIndex, session]);
  return null;
}
