import type { PlatformConfig } from '../config/schema.js';

/**
 * A service's origin where the platform's config says it is: its `url`, else its `port` on the
 * configured host; undefined when neither is known (only "a free port", as for a lone test
 * service, whose address is not known in advance).
 */
export function serviceOrigin(config: PlatformConfig, name: string): string | undefined {
  const service = config.services[name];
  if (service?.url) return new URL(service.url).origin;
  if (!service?.port) return undefined;
  return `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${service.port}`;
}
