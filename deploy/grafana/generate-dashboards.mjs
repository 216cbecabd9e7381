#!/usr/bin/env node
/**
 * Writes the Grafana dashboards of deploy/grafana/dashboards/*.json from the compact definitions
 * of dashboard-specs.mjs. `node deploy/grafana/generate-dashboards.mjs` writes them; `--check`
 * fails when a file differs from what would be written (test/system/promtool.system.test.ts runs
 * it), so edit the definitions, not the JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS } from './dashboard-specs.mjs';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/**
 * Grafana's grid: 24 columns; panels fill rows left to right, half the width unless they say
 * otherwise (`w`, `h`), and a row is as tall as its tallest panel.
 */
function layout(specs) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return specs.map((spec) => {
    const w = spec.w ?? 12;
    const h = spec.h ?? 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h, w, x, y };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return gridPos;
  });
}

function panel(spec, index, gridPos) {
  const colors = spec.thresholds ?? [['green', null]];
  return {
    id: index + 1,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        thresholds: { mode: 'absolute', steps: colors.map(([color, value]) => ({ color, value })) },
        ...(spec.type === 'timeseries'
          ? { custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never' } }
          : {}),
      },
      overrides: [],
    },
    options:
      spec.type === 'stat'
        ? {
            reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
            colorMode: 'background',
            textMode: 'value_and_name',
          }
        : {
            legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
            tooltip: { mode: 'multi', sort: 'desc' },
          },
    targets: spec.targets.map(([expr, legendFormat], i) => ({
      datasource: DATASOURCE,
      expr,
      legendFormat,
      range: true,
      refId: String.fromCharCode(65 + i),
    })),
  };
}

const variable = (name, label, query) => ({
  name,
  label,
  type: 'query',
  datasource: DATASOURCE,
  query: { query, refId: `${name}-variable` },
  definition: query,
  includeAll: true,
  multi: true,
  allValue: '.*',
  current: { selected: true, text: ['All'], value: ['$__all'] },
  refresh: 2,
  sort: 1,
});

function dashboard(spec) {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['platform'],
    schemaVersion: 39,
    version: 1,
    editable: false,
    graphTooltip: 1,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: { list: [] },
    links: [
      {
        type: 'dashboards',
        tags: ['platform'],
        asDropdown: true,
        title: 'Platform',
        includeVars: true,
        keepTime: true,
      },
    ],
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        variable('job', 'Job', 'label_values(up, job)'),
        variable('instance', 'Instance', 'label_values(up{job=~"$job"}, instance)'),
      ],
    },
    panels: ((grid) => spec.panels.map((one, i) => panel(one, i, grid[i])))(layout(spec.panels)),
  };
}

/** The dashboards, by file name. */
export function dashboards() {
  return Object.fromEntries(
    DASHBOARDS.map((spec) => [`${spec.uid}.json`, `${JSON.stringify(dashboard(spec), null, 2)}\n`]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const [file, text] of Object.entries(dashboards())) {
    const path = join(OUT, file);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // missing: stale
      }
      if (current !== text) stale.push(file);
    } else writeFileSync(path, text);
  }
  if (stale.length > 0) {
    process.stderr.write(
      `deploy/grafana/dashboards is not what generate-dashboards.mjs writes: ${stale.join(', ')}; run node deploy/grafana/generate-dashboards.mjs\n`,
    );
    process.exit(1);
  }
}
