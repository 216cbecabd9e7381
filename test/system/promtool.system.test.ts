import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse as parseYaml, stringify } from 'yaml';
import { ALERTS, promtool, ROOT } from './dashboards-prometheus.js';
import { systemStack } from './stack.js';

/**
 * Debian's promtool over what the repository ships for Prometheus and what the running services
 * expose: the alert rules (checked, and their unit tests), the scrape configurations, and every
 * service's /metrics, each with no warning at all.
 */

const stack = systemStack();

describe('promtool', () => {
  it('checks deploy/prometheus/alerts.yml without a warning', () => {
    const run = promtool(['check', 'rules', ALERTS]);
    expect(run).toEqual({
      status: 0,
      output: expect.stringMatching(/^Checking .*alerts\.yml\n {2}SUCCESS: \d+ rules found$/),
    });
  });

  it('passes the unit tests of deploy/prometheus/alerts.test.yml (each alert fires, and not on healthy series)', () => {
    const run = promtool(['test', 'rules', join(ROOT, 'deploy/prometheus/alerts.test.yml')]);
    expect(run.output).toMatch(/SUCCESS/);
    expect(run.status).toBe(0);
  });

  it('checks the Compose scrape configuration, with the rules and the credential file where Compose mounts them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promtool-config-'));
    try {
      // The paths are the container's: point them at a copy of the rules and a stand-in credential.
      const config = parseYaml(readFileSync(join(ROOT, 'deploy/compose/prometheus.yml'), 'utf8')) as {
        rule_files: string[];
        scrape_configs: Array<{ authorization?: { credentials_file?: string } }>;
      };
      expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
      writeFileSync(join(dir, 'alerts.yml'), readFileSync(ALERTS));
      writeFileSync(join(dir, 'credential'), 'stand-in');
      config.rule_files = [join(dir, 'alerts.yml')];
      for (const job of config.scrape_configs) {
        if (job.authorization?.credentials_file) job.authorization.credentials_file = join(dir, 'credential');
      }
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const run = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(run.output).not.toMatch(/WARNING|FAILED/);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the Kubernetes scrape configuration (its pod discovery as static targets: Debian builds Prometheus without it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promtool-config-'));
    try {
      const config = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/kubernetes.yml'), 'utf8')) as {
        rule_files: string[];
        scrape_configs: Array<{
          job_name: string;
          authorization?: { credentials_file?: string };
          kubernetes_sd_configs?: Array<{ role: string; namespaces?: { names: string[] } }>;
          static_configs?: Array<{ targets: string[] }>;
          relabel_configs: Array<{ source_labels?: string[]; regex?: string; action?: string; target_label?: string }>;
        }>;
      };
      const [job] = config.scrape_configs;
      // What alerts.yml and the manifests rely on.
      expect(job!.job_name).toBe('platform');
      expect(job!.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['platform'] } }]);
      expect(job!.relabel_configs).toEqual(
        expect.arrayContaining([
          {
            source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_part_of'],
            regex: 'platform',
            action: 'keep',
          },
          { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'service' },
        ]),
      );
      writeFileSync(join(dir, 'alerts.yml'), readFileSync(ALERTS));
      writeFileSync(join(dir, 'credential'), 'stand-in');
      config.rule_files = [join(dir, 'alerts.yml')];
      job!.authorization!.credentials_file = join(dir, 'credential');
      delete job!.kubernetes_sd_configs;
      job!.static_configs = [{ targets: ['127.0.0.1:4004'] }];
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const run = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(run.output).not.toMatch(/WARNING|FAILED/);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a summary, a description and a runbook_url that is a section of docs/operations.md', () => {
    const rules = parseYaml(readFileSync(ALERTS, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }>;
    };
    // GitHub's anchors: the heading in lower case, spaces as hyphens, punctuation dropped.
    const anchors = new Set(
      [...readFileSync(join(ROOT, 'docs/operations.md'), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const rule of rules.groups.flatMap((group) => group.rules)) {
      const { summary, description, runbook_url: runbook } = rule.annotations;
      expect({ alert: rule.alert, summary: Boolean(summary), description: Boolean(description) }).toEqual({
        alert: rule.alert,
        summary: true,
        description: true,
      });
      const [path, anchor] = (runbook ?? '').split('#');
      expect({ alert: rule.alert, path, anchor: anchors.has(anchor ?? '') }).toEqual({
        alert: rule.alert,
        path: 'docs/operations.md',
        anchor: true,
      });
    }
  });

  it('the dashboards are what deploy/grafana/generate-dashboards.mjs writes', () => {
    const run = spawnSync(process.execPath, ['deploy/grafana/generate-dashboards.mjs', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each(['gateway', ...Object.keys(stack.subgraphs)])(
    '%s: /metrics passes `promtool check metrics` with no output (no warning)',
    async (service) => {
      const origin = service === 'gateway' ? stack.gateway : stack.subgraphs[service]!;
      const res = await fetch(`${origin}/metrics`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('# TYPE http_request_duration_seconds histogram');
      expect(promtool(['check', 'metrics'], body)).toEqual({ status: 0, output: '' });
    },
  );
});
