import { escapeHtml } from '@platform/kernel';
import { fill, stringsFor, type OidcStrings } from './strings.js';

/**
 * The provider's pages: plain server-rendered HTML forms that work without JavaScript, every
 * input with its label, errors announced (`role="alert"`), strings from strings.ts. Nothing the
 * user or the client supplied is written unescaped.
 */
/**
 * The Content-Security-Policy of these pages: no scripts, inline styles only, forms posting to
 * this origin and to where the provider then redirects the browser (`origins`: the client's
 * redirect URIs' origins), which browsers check for the redirects after a form post too.
 */
export function pageCsp(uris: readonly string[] = []): string {
  const origins = new Set<string>();
  for (const uri of uris) {
    try {
      origins.add(new URL(uri).origin);
    } catch {
      // not a URL: not an origin to allow
    }
  }
  const formAction = ["'self'", ...origins].join(' ');
  return `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

function layout(t: OidcStrings, title: string, body: string): string {
  return `<!doctype html>
<html lang="${escapeHtml(t.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}
label{display:block;margin-top:1rem;font-weight:600}
input{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font-size:1rem}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}
.hint{font-size:.875rem;color:#444;margin:.25rem 0 0}
[role=alert]{background:#fdecea;border:1px solid #b3261e;padding:.5rem .75rem}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

/** What the client will get: the scopes' claims, and always the API as the user (its access token is theirs). */
function scopeList(t: OidcStrings, scopes: string[]): string {
  const items = [...scopes.map((scope) => (t as Record<string, string>)[`scope_${scope}`] ?? scope), t.apiAccess]
    .map((text) => `<li>${escapeHtml(text)}</li>`)
    .join('');
  return `<ul>${items}</ul>`;
}

function alert(message: string | undefined): string {
  return message ? `<p role="alert">${escapeHtml(message)}</p>` : '';
}

export interface SignInPageInput {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  scopes: string[];
  email?: string;
  /** Already translated. */
  error?: string;
  /** The account has a second factor: the code is required (focus it). */
  codeRequired?: boolean;
}

/** Sign-in and consent in one form: who asks, for what, and the credentials. */
export function signInPage(input: SignInPageInput, acceptLanguage: string | undefined): string {
  const t = stringsFor(acceptLanguage);
  const body = `<p>${escapeHtml(fill(t.signInLead, { client: input.clientName }))}</p>
<p>${escapeHtml(fill(t.consentLead, { client: input.clientName }))}</p>
${scopeList(t, input.scopes)}
${alert(input.error)}
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="email">${escapeHtml(t.email)}</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(input.email ?? '')}"${input.codeRequired ? '' : ' autofocus'}>
<label for="password">${escapeHtml(t.password)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="totp">${escapeHtml(t.totp)}</label>
<input id="totp" name="totp" type="text" inputmode="numeric" autocomplete="one-time-code" aria-describedby="totp-hint"${input.codeRequired ? ' required autofocus' : ''}>
<p class="hint" id="totp-hint">${escapeHtml(t.totpHint)}</p>
<button type="submit">${escapeHtml(t.signIn)}</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">${escapeHtml(t.deny)}</button>
</form>`;
  return layout(t, t.signInTitle, body);
}

export interface ConsentPageInput {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  scopes: string[];
}

/** For a signed-in user: what a client asks for, to allow or refuse. */
export function consentPage(input: ConsentPageInput, acceptLanguage: string | undefined): string {
  const t = stringsFor(acceptLanguage);
  const body = `<p>${escapeHtml(fill(t.consentLead, { client: input.clientName }))}</p>
${scopeList(t, input.scopes)}
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">${escapeHtml(t.allow)}</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">${escapeHtml(t.deny)}</button>
</form>`;
  return layout(t, t.consentTitle, body);
}

/** An error the provider answers in the browser (an unknown client, a bad redirect_uri, …). */
export function errorPage(out: { error?: string; error_description?: string }, acceptLanguage?: string): string {
  const t = stringsFor(acceptLanguage);
  return layout(
    t,
    t.errorTitle,
    `<p role="alert"><code>${escapeHtml(out.error ?? 'server_error')}</code> ${escapeHtml(out.error_description ?? '')}</p>`,
  );
}

/** A plain message page (an interaction that expired). */
export function messagePage(message: string, acceptLanguage?: string): string {
  const t = stringsFor(acceptLanguage);
  return layout(t, t.errorTitle, alert(message));
}

/** End-session's confirmation; `form` is the provider's own form (with its CSRF token). */
export function logoutPage(form: string, acceptLanguage?: string): string {
  const t = stringsFor(acceptLanguage);
  return layout(
    t,
    t.logoutTitle,
    `${form}<p>${escapeHtml(t.logoutLead)}</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">${escapeHtml(t.logoutYes)}</button>
<button type="submit" form="op.logoutForm">${escapeHtml(t.logoutNo)}</button>`,
  );
}

export function logoutDonePage(acceptLanguage?: string): string {
  const t = stringsFor(acceptLanguage);
  return layout(t, t.logoutTitle, `<p>${escapeHtml(t.loggedOut)}</p>`);
}
