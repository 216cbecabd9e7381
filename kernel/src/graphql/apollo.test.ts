import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { loadConfig } from '../config/load.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { platformApolloOptions } from './apollo.js';
import { foundBeforeValidationRule, knownOperationTypesRule, reservedAliasesRule } from './client-errors.js';

const logger = pino({ level: 'silent' });
const metrics = new ServiceMetrics('apollo-options-test');
const limits = loadConfig({ env: { PLATFORM_ENV: 'test' } }).gateway.limits;

describe('platformApolloOptions', () => {
  it.each<[string, { introspection: boolean; hideSchemaDetails?: boolean }, boolean]>([
    ['introspection on (development): suggestions shown', { introspection: true }, false],
    ['introspection off (production): suggestions hidden', { introspection: false }, true],
    ['hidden on request despite introspection', { introspection: true, hideSchemaDetails: true }, true],
    ['shown on request despite no introspection', { introspection: false, hideSchemaDetails: false }, false],
  ])('%s', (_case, options, hidden) => {
    const apollo = platformApolloOptions({ logger, metrics, sandbox: false, limits, ...options });
    expect(apollo.hideSchemaDetailsFromClientErrors).toBe(hidden);
    expect(apollo.introspection).toBe(options.introspection);
  });

  it("logs Apollo's own messages to the service's logger, and validates with the kernel's rules", () => {
    const apollo = platformApolloOptions({ logger, metrics, sandbox: false, limits, introspection: false });
    expect(apollo.logger).toBe(logger);
    expect(apollo.validationRules).toEqual([knownOperationTypesRule, reservedAliasesRule, foundBeforeValidationRule]);
    expect(apollo.includeStacktraceInErrorResponses).toBe(false);
  });
});
