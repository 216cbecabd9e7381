/** `platformctl service-credential`: the credential services accept, never the secret. */
import { describe, expect, it } from '@jest/globals';
import { serviceCredential } from '@platform/kernel/gateway';
import { platformctl } from './platformctl-cli.js';

describe('platformctl service-credential', () => {
  it('prints the credential the services accept, derived from the service secret', async () => {
    const secret = 'a service secret of more than thirty-two characters';
    const result = await platformctl(['service-credential'], { PLATFORM_ENV: 'test', SERVICE_SECRET: secret });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(serviceCredential(secret));
    expect(result.stdout).not.toContain(secret);
  });

  it('refuses to make one up in production', async () => {
    const result = await platformctl(['service-credential'], { PLATFORM_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SERVICE_SECRET');
  });
});
