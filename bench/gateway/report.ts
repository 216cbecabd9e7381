// Summaries of the gateway benchmark: medians over the runs of each case, the issue's ratios,
// the console table, and the section of docs/performance.md the harness owns.
import { readFileSync, writeFileSync } from 'node:fs';
import { CASES, LOGIN_P95_TARGET_MS, RATIO_TARGETS } from './cases.js';
import type { RunResult } from './measure.js';

export interface CaseSummary {
  caseId: string;
  title: string;
  runs: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  serverMsPerRequest: number;
  frontMsPerRequest: number;
  loadGeneratorMsPerRequest: number;
  blogCallsPerRequest: number;
  failed: number;
  disturbedRuns: number;
}

export interface RatioResult {
  id: string;
  label: string;
  value: number | null;
  min: number;
  met: boolean | null;
}

export const median = (values: number[]): number => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function summarise(runs: RunResult[]): CaseSummary[] {
  return CASES.flatMap((spec) => {
    const own = runs.filter((run) => run.caseId === spec.id && !run.warmup);
    if (own.length === 0) return [];
    return [
      {
        caseId: spec.id,
        title: spec.title,
        runs: own.length,
        rps: median(own.map((r) => r.rps)),
        p50: median(own.map((r) => r.latency.p50)),
        p95: median(own.map((r) => r.latency.p95)),
        p99: median(own.map((r) => r.latency.p99)),
        serverMsPerRequest: median(own.map((r) => r.cpu.serverMsPerRequest)),
        frontMsPerRequest: median(own.map((r) => r.cpu.frontMsPerRequest)),
        loadGeneratorMsPerRequest: median(own.map((r) => r.cpu.loadGeneratorMsPerRequest)),
        blogCallsPerRequest: median(own.map((r) => r.blogCallsPerRequest ?? NaN)),
        failed: own.reduce((acc, r) => acc + r.failed, 0),
        disturbedRuns: own.filter((r) => r.disturbed).length,
      },
    ];
  });
}

export function ratios(summaries: CaseSummary[]): RatioResult[] {
  const byId = new Map(summaries.map((s) => [s.caseId, s]));
  const results: RatioResult[] = RATIO_TARGETS.map((target) => {
    const top = byId.get(target.numerator)?.rps;
    const bottom = byId.get(target.denominator)?.rps;
    const value = top !== undefined && bottom ? top / bottom : null;
    return {
      id: target.id,
      label: target.label,
      value,
      min: target.min,
      met: value === null || target.min === 0 ? null : value >= target.min,
    };
  });
  const login = byId.get('login');
  if (login) {
    results.push({
      id: 'login-p95',
      label: `login p95 at 40/s < ${LOGIN_P95_TARGET_MS} ms`,
      value: login.p95,
      min: LOGIN_P95_TARGET_MS,
      met: login.p95 < LOGIN_P95_TARGET_MS && login.failed === 0,
    });
  }
  return results;
}

const f = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');

export function casesTable(summaries: CaseSummary[]): string {
  const lines = [
    '| # | case | median RPS | p50 ms | p95 ms | p99 ms | server CPU ms/req | of which gateway | load generator CPU ms/req | blog calls/req | failed | disturbed runs |',
    '| -: | --- | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: |',
  ];
  for (const s of summaries) {
    const issueCase = CASES.find((c) => c.id === s.caseId)?.issueCase ?? '';
    lines.push(
      `| ${issueCase} | ${s.title} (\`${s.caseId}\`) | ${f(s.rps)} | ${f(s.p50, 1)} | ${f(s.p95, 1)} | ${f(s.p99, 1)} | ${f(s.serverMsPerRequest, 2)} | ${['ceiling', 'direct'].includes(s.caseId) ? '–' : f(s.frontMsPerRequest, 2)} | ${f(s.loadGeneratorMsPerRequest, 2)} | ${f(s.blogCallsPerRequest, 2)} | ${s.failed} | ${s.disturbedRuns}/${s.runs} |`,
    );
  }
  return lines.join('\n');
}

export function ratiosTable(results: RatioResult[]): string {
  const lines = ['| ratio | value | target | verdict |', '| --- | -: | -: | --- |'];
  for (const r of results) {
    const isLogin = r.id === 'login-p95';
    const value = r.value === null ? '–' : isLogin ? `${f(r.value, 1)} ms` : r.value.toFixed(2);
    const target = isLogin ? `< ${r.min} ms` : r.min ? `≥ ${r.min.toFixed(2)}` : '–';
    const verdict =
      r.met === null ? (r.value === null ? 'not measured' : 'info') : r.met ? '**met**' : `**missed** (${missBy(r)})`;
    lines.push(`| ${r.label} | ${value} | ${target} | ${verdict} |`);
  }
  return lines.join('\n');
}

function missBy(r: RatioResult): string {
  if (r.value === null) return '';
  if (r.id === 'login-p95') return `${f(r.value - r.min, 0)} ms over`;
  return `${f((1 - r.value / r.min) * 100, 0)} % short`;
}

export const SECTION_START =
  '<!-- bench:gateway:start (written by `npm run bench -- all`; edits here are overwritten) -->';
export const SECTION_END = '<!-- bench:gateway:end -->';

/** Replaces the harness's part of docs/performance.md (between the markers), or appends it. */
export function writeDocsSection(file: string, body: string): void {
  const text = readFileSync(file, 'utf8');
  const section = `${SECTION_START}\n${body.trim()}\n${SECTION_END}`;
  const start = text.indexOf(SECTION_START);
  const end = text.indexOf(SECTION_END);
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + SECTION_END.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
