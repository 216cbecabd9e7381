import { loadConfig } from '@platform/kernel/tools';
import { serviceCredential, serviceSecret } from '@platform/kernel/gateway';

/**
 * `service-credential`: prints the credential the deployment's services present to each other,
 * derived from the configured service secret (`SERVICE_SECRET` / `SERVICE_SECRET_FILE`, or the
 * one generated under DATA_DIR outside production). Give it to Prometheus as its bearer token for
 * `/metrics` when `metrics.requireCredential` is on; it cannot sign client addresses.
 */
export function printServiceCredential(root: string, env: Record<string, string | undefined>): number {
  const config = loadConfig({ env, cwd: root });
  process.stdout.write(`${serviceCredential(serviceSecret(config))}\n`);
  return 0;
}
