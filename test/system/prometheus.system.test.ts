import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ALERTS, dashboards, metricNames, Prometheus, program, ROOT, runnable } from './dashboards-prometheus.js';
import { renderDashboards } from './dashboards-render.js';
import { makeTraffic, steadyTraffic } from './dashboards-traffic.js';
import { systemStack } from './stack.js';

/**
 * Debian's real Prometheus scrapes the running supergraph (gateway and every subgraph, every
 * second) with deploy/prometheus/alerts.yml loaded. After traffic that makes the series, every
 * expression of every panel of every dashboard in deploy/grafana/dashboards is checked: each
 * metric it reads has series, and Prometheus evaluates it without an error. So a dashboard never
 * points at a metric that does not exist. Then the dashboards are drawn from the same Prometheus
 * (docs/images/dashboards with UPDATE_SCREENSHOTS=1).
 */

const stack = systemStack();
let prometheus: Prometheus;
let renderDir: string | undefined;

beforeAll(async () => {
  program('prometheus');
  prometheus = await Prometheus.start({ gateway: stack.gateway, ...stack.subgraphs });
  await waitFor('every target up', async () => {
    const targets = await prometheus.targets();
    return targets.length === 1 + Object.keys(stack.subgraphs).length && targets.every((t) => t.health === 'up')
      ? true
      : JSON.stringify(targets.map((t) => [t.scrapeUrl, t.health, t.lastError]));
  });
  await makeTraffic(stack);
  // A background job (the registration's mail) finishes after the answer; and rates need two
  // scrapes after the traffic.
  await waitFor('a background job counted', async () =>
    (await prometheus.series('jobs_total')).length > 0 ? true : 'no jobs_total yet',
  );
  await new Promise((resolve) => setTimeout(resolve, 5000));
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  if (renderDir) rmSync(renderDir, { recursive: true, force: true });
});

async function waitFor(what: string, check: () => Promise<true | string>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: string;
  for (;;) {
    const result = await check().catch((error: unknown) => String(error));
    if (result === true) return;
    last = result;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms / 1000} s (${last})\n${prometheus.log}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const PANELS = dashboards().flatMap((dashboard) =>
  dashboard.panels.map((panel) => ({ ...panel, file: dashboard.file })),
);

describe('the dashboards against a real Prometheus scraping the running services', () => {
  it('has dashboards, each panel with expressions', () => {
    expect(dashboards().length).toBeGreaterThanOrEqual(9);
    for (const panel of PANELS)
      expect({ panel: `${panel.uid}: ${panel.title}`, exprs: panel.exprs.length > 0 }).toEqual({
        panel: `${panel.uid}: ${panel.title}`,
        exprs: true,
      });
  });

  it.each(PANELS.map((panel) => [`${panel.uid}: ${panel.title}`, panel] as const))(
    '%s: every metric it reads has series, and Prometheus runs its expressions',
    async (_, panel) => {
      for (const expr of panel.exprs) {
        const names = metricNames(expr);
        expect({ expr, names: names.length > 0 }).toEqual({ expr, names: true });
        for (const name of names) {
          const series = await prometheus.series(name);
          expect({ metric: name, panel: panel.title, series: series.length > 0 }).toEqual({
            metric: name,
            panel: panel.title,
            series: true,
          });
        }
        await expect(prometheus.query(runnable(expr))).resolves.toEqual(expect.any(Array));
      }
    },
  );

  it('loaded every rule of deploy/prometheus/alerts.yml, each evaluating without an error', async () => {
    const file = parseYaml(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string }> }> };
    const expected = file.groups.flatMap((group) => group.rules.map((rule) => rule.alert)).sort();
    // Every rule has been evaluated at least once (evaluation every second).
    await waitFor('every rule evaluated', async () => {
      const { groups } = await prometheus.api<{
        groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
      }>('rules');
      const rules = groups.flatMap((group) => group.rules);
      return rules.length === expected.length && rules.every((rule) => rule.health !== 'unknown')
        ? true
        : JSON.stringify(rules.map((rule) => [rule.name, rule.health]));
    });
    const { groups } = await prometheus.api<{
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
    }>('rules');
    const rules = groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.name).sort()).toEqual(expected);
    for (const rule of rules) {
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        error: '',
      });
    }
  });

  it('draws every dashboard from Prometheus into a picture (docs/images/dashboards with UPDATE_SCREENSHOTS=1)', async () => {
    const update = process.env.UPDATE_SCREENSHOTS === '1';
    const out = update
      ? join(ROOT, 'docs/images/dashboards')
      : (renderDir = mkdtempSync(join(tmpdir(), 'dashboards-')));
    // For the pictures of docs/, curves over a minute of use rather than a few seconds.
    if (update) await steadyTraffic(stack, 75_000);
    const pictures = await renderDashboards(prometheus, dashboards(), out);
    expect(pictures.map((picture) => picture.uid).sort()).toEqual(
      dashboards()
        .map((d) => d.uid)
        .sort(),
    );
    for (const picture of pictures) {
      // A PNG of every panel, most of which had data to draw (some count events this run has none of).
      expect(readFileSync(picture.path).subarray(1, 4).toString()).toBe('PNG');
      expect({ uid: picture.uid, panels: picture.panels }).toEqual({
        uid: picture.uid,
        panels: PANELS.filter((panel) => panel.uid === picture.uid).length,
      });
      expect({ uid: picture.uid, drawn: picture.drawn * 2 >= picture.panels }).toEqual({
        uid: picture.uid,
        drawn: true,
      });
    }
  }, 180_000);
});
