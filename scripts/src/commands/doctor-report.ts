/** What one doctor check found; every line that is not OK says what to do. */
export interface Finding {
  check: string;
  status: 'OK' | 'WARN' | 'FAIL';
  detail: string;
  /** What to do about it (WARN and FAIL). */
  fix?: string;
}

export const ok = (check: string, detail: string): Finding => ({ check, status: 'OK', detail });
export const warn = (check: string, detail: string, fix: string): Finding => ({ check, status: 'WARN', detail, fix });
export const fail = (check: string, detail: string, fix: string): Finding => ({ check, status: 'FAIL', detail, fix });

/** A failure's message without a stack; fetch's "fetch failed" with its cause (ECONNREFUSED …). */
export function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (error.message === 'fetch failed' && cause) {
    return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  if (error.name === 'TimeoutError') return 'no answer within the timeout';
  return error.message.split('\n', 1)[0]!;
}

/** The report as people read it: one line per check, a `fix:` line under each that is not OK. */
export function renderReport(findings: Finding[]): string {
  const width = Math.max(...findings.map((finding) => finding.check.length));
  const lines: string[] = [];
  for (const finding of findings) {
    lines.push(`${finding.status.padEnd(4)}  ${finding.check.padEnd(width)}  ${finding.detail}`);
    if (finding.fix) lines.push(`${' '.repeat(6 + width)}  fix: ${finding.fix}`);
  }
  const count = (status: Finding['status']) => findings.filter((finding) => finding.status === status).length;
  lines.push('', `${count('OK')} OK, ${count('WARN')} WARN, ${count('FAIL')} FAIL`);
  return lines.join('\n');
}
