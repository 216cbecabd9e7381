import type { IncomingHttpHeaders } from 'node:http';

/** The named headers that are present, for the gateway's proxies (files, OpenID Connect) to pass on. */
export function pickHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string | string[]> {
  const picked: Record<string, string | string[]> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
