import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, runnable, type Dashboard, type Prometheus } from './dashboards-prometheus.js';

/**
 * Pictures of the dashboards for docs/: Grafana is not installable here, so each dashboard is
 * drawn from its JSON by a small page (uPlot, from node_modules) with the data of each panel's
 * expressions from Prometheus' `query_range`, laid out like Grafana lays the panels out, and
 * screenshotted by Debian's Chromium. The page is set from memory and may not load anything:
 * every request is refused, and one to anywhere but loopback fails the rendering.
 */

const CHROMIUM = '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Series {
  label: string;
  values: Array<[number, number]>;
}

interface PanelData {
  title: string;
  type: string;
  unit: string;
  gridPos: { x: number; y: number; w: number; h: number };
  series: Series[];
}

export interface Picture {
  uid: string;
  path: string;
  panels: number;
  /** Panels that drew at least one series. */
  drawn: number;
}

/** `{{label}}` of a legend format filled from a series' labels. */
const legend = (format: string, metric: Record<string, string>): string =>
  format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => metric[name] ?? '') || JSON.stringify(metric);

export async function renderDashboards(
  prometheus: Prometheus,
  dashboards: Dashboard[],
  out: string,
): Promise<Picture[]> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  mkdirSync(out, { recursive: true });
  const uplot = readFileSync(join(ROOT, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(join(ROOT, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8');
  // What Prometheus has: since it started, at most the last 10 minutes, one point a second.
  const end = Math.floor(Date.now() / 1000);
  const start = Math.max(prometheus.startedAt, end - 600);
  const foreign: string[] = [];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--no-pings',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1 });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (!LOOPBACK.has(url.hostname)) foreign.push(url.href);
      // The page needs nothing from anywhere: everything it shows is inlined.
      return route.abort('blockedbyclient');
    });
    const pictures: Picture[] = [];
    for (const dashboard of dashboards) {
      const json = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards', dashboard.file), 'utf8')) as {
        panels: Array<{
          title: string;
          type: string;
          gridPos: PanelData['gridPos'];
          fieldConfig: { defaults: { unit?: string } };
          targets: Array<{ expr: string; legendFormat: string }>;
        }>;
      };
      const panels: PanelData[] = [];
      for (const panel of json.panels) {
        const series: Series[] = [];
        for (const target of panel.targets) {
          const result = await prometheus.queryRange(runnable(target.expr, '15s'), start, end, 1);
          for (const one of result) {
            series.push({
              label: legend(target.legendFormat, one.metric),
              values: one.values.map(([t, v]) => [t, Number(v)]),
            });
          }
        }
        panels.push({
          title: panel.title,
          type: panel.type,
          unit: panel.fieldConfig.defaults.unit ?? '',
          gridPos: panel.gridPos,
          series: series.slice(0, 10),
        });
      }
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.setContent(html(dashboard.title, panels, uplotCss, uplot, start, end));
      await page.waitForFunction('window.__drawn === true');
      if (errors.length > 0) throw new Error(`drawing ${dashboard.uid} failed: ${errors.join('\n')}`);
      const path = join(out, `${dashboard.uid}.png`);
      await page.screenshot({ path, fullPage: true });
      await page.close();
      pictures.push({
        uid: dashboard.uid,
        path,
        panels: panels.length,
        drawn: panels.filter((p) => p.series.length > 0).length,
      });
    }
    if (foreign.length > 0)
      throw new Error(`the dashboard page asked for addresses off loopback: ${foreign.join(', ')}`);
    return pictures;
  } finally {
    await browser.close();
  }
}

/** The page: a Grafana-like grid (24 columns, 30 px rows) of uPlot charts and stat tiles. */
function html(title: string, panels: PanelData[], css: string, uplot: string, start: number, end: number): string {
  const data = JSON.stringify({ title, panels, start, end }).replace(/</g, '\\u003c');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>${css}
body { margin: 0; padding: 12px; background: #111217; color: #ccccdc; font: 13px/1.4 system-ui, sans-serif; }
h1 { font-size: 18px; font-weight: 500; margin: 0 0 4px; }
.note { color: #8e8e99; font-size: 12px; margin-bottom: 10px; }
.grid { position: relative; }
.panel { position: absolute; box-sizing: border-box; background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; padding: 6px 8px; overflow: hidden; }
.panel h2 { font-size: 13px; font-weight: 500; margin: 0 0 4px; color: #d8d9da; }
.empty { color: #8e8e99; padding-top: 30px; text-align: center; }
.stats { display: flex; flex-wrap: wrap; gap: 4px; }
.stat { flex: 1 1 150px; padding: 4px 6px; border-radius: 2px; color: #fff; font-size: 11px; }
.stat b { display: block; font-size: 16px; }
.u-legend { font-size: 11px; color: #ccccdc; text-align: left; }
.u-legend .u-marker { width: 10px; height: 3px; }
.u-axis { color: #8e8e99; }
</style></head><body>
<h1>${title}</h1>
<div class="note">Rendered from deploy/grafana/dashboards against a real Prometheus scraping the running services; Grafana shows the same queries.</div>
<div class="grid" id="grid"></div>
<script>${uplot}</script>
<script>
const { panels, start, end } = ${data};
const COLORS = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a', '#37872d', '#c4162a', '#1f60c4', '#8f3bb8'];
const COL = (1600 - 24) / 24, ROW = 30;
const grid = document.getElementById('grid');
let height = 0;
const fmt = (unit, v) => {
  if (v == null || Number.isNaN(v)) return '–';
  if (unit === 'percentunit') return (v * 100).toFixed(1) + '%';
  if (unit === 'bytes') return (v / 1048576).toFixed(0) + ' MiB';
  if (unit === 's') return v < 1 ? (v * 1000).toFixed(1) + ' ms' : v.toFixed(2) + ' s';
  if (unit === 'reqps' || unit === 'ops') return v.toFixed(2) + '/s';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
};
for (const p of panels) {
  const div = document.createElement('div');
  div.className = 'panel';
  const { x, y, w, h } = p.gridPos;
  Object.assign(div.style, { left: x * COL + 'px', top: y * ROW + 'px', width: w * COL - 6 + 'px', height: h * ROW - 6 + 'px' });
  height = Math.max(height, (y + h) * ROW);
  const heading = document.createElement('h2');
  heading.textContent = p.title;
  div.appendChild(heading);
  grid.appendChild(div);
  if (p.series.length === 0) {
    const empty = document.createElement('div');
    empty.className = 'empty';
    empty.textContent = 'No data (no such event in this run)';
    div.appendChild(empty);
    continue;
  }
  if (p.type === 'stat') {
    const stats = document.createElement('div');
    stats.className = 'stats';
    for (const s of p.series) {
      const last = s.values.length ? s.values[s.values.length - 1][1] : NaN;
      const tile = document.createElement('div');
      tile.className = 'stat';
      tile.style.background = last >= 1 ? '#37872d' : '#c4162a';
      tile.innerHTML = '<b></b><span></span>';
      tile.querySelector('b').textContent = fmt(p.unit, last);
      tile.querySelector('span').textContent = s.label;
      stats.appendChild(tile);
    }
    div.appendChild(stats);
    continue;
  }
  const times = [];
  for (let t = start; t <= end; t++) times.push(t);
  const columns = p.series.map((s) => {
    const byTime = new Map(s.values);
    return times.map((t) => (byTime.has(t) ? byTime.get(t) : null));
  });
  new uPlot({
    width: w * COL - 24,
    // The legend wraps: as many lines as its labels need at about 7 px a character.
    height: h * ROW - 44 - Math.ceil(p.series.reduce((n, s) => n + s.label.length * 7 + 40, 0) / (w * COL - 40)) * 19,
    scales: { y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    legend: { show: true, live: false },
    cursor: { show: false },
    axes: [
      { stroke: '#8e8e99', grid: { stroke: '#2c3235' }, ticks: { stroke: '#2c3235' } },
      { stroke: '#8e8e99', grid: { stroke: '#2c3235' }, ticks: { stroke: '#2c3235' }, size: 70, values: (u, vals) => vals.map((v) => fmt(p.unit, v)) },
    ],
    series: [{}, ...p.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
  }, [times, ...columns], div);
}
grid.style.height = height + 'px';
window.__drawn = true;
</script></body></html>`;
}
