// `/ready` checks of what a service depends on over HTTP.

/** identity's key set, for a `/ready` check: reachable and holding at least one key. */
export async function jwksCheck(url: string): Promise<{ ok: boolean; detail?: string; keys?: number }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  if (!response.ok) return { ok: false, detail: `HTTP ${response.status}` };
  const { keys } = (await response.json()) as { keys?: unknown[] };
  return Array.isArray(keys) && keys.length > 0 ? { ok: true, keys: keys.length } : { ok: false, detail: 'no keys' };
}

/** Another service's `/healthz`, for a `/ready` check. */
export async function healthOf(base: string | undefined): Promise<{ ok: boolean; detail?: string }> {
  if (!base) return { ok: false, detail: 'not known yet' };
  const response = await fetch(new URL('/healthz', base), { signal: AbortSignal.timeout(1000) });
  return response.ok ? { ok: true } : { ok: false, detail: `HTTP ${response.status}` };
}
