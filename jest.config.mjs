/**
 * One suite for the whole workspace: unit tests beside the code, module integration tests
 * in subgraphs/*, end-to-end tests in test/. TypeScript runs through swc with decorator
 * metadata (type-graphql and MikroORM need it); workspace packages resolve to their sources.
 */
import { swcOptions } from './scripts/swc-options.mjs';

/**
 * Suites that need real servers by construction (several processes on one database, locks
 * between connections), selected only when DATABASE_URL and REDIS_URL are set, as in .ci/run's
 * second pass; the first pass, on the embedded database, does not list them (rather than
 * reporting them skipped). Run alone without the servers, each fails saying what it needs.
 */
const SERVER_ONLY = [
  '<rootDir>/test/multi-instance\\.e2e\\.test\\.ts$',
  '<rootDir>/kernel/src/database/migrate-lock\\.test\\.ts$',
];
const servers = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@platform/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  roots: ['<rootDir>/kernel', '<rootDir>/gateway', '<rootDir>/subgraphs', '<rootDir>/scripts', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/system/ needs Chromium and Prometheus: `npm run test:system` (jest.system.config.mjs).
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/system/', ...(servers ? [] : SERVER_ONLY)],
  setupFiles: ['<rootDir>/test/setup-env.mjs'],
  testTimeout: 30000,
  maxWorkers: 2,
  collectCoverageFrom: [
    'kernel/src/**/*.ts',
    'gateway/src/**/*.ts',
    'subgraphs/*/src/**/*.ts',
    'scripts/src/**/*.ts',
    '!**/*.test.ts',
    '!**/main.ts',
  ],
  coverageReporters: ['text-summary', 'text'],
  // Checked on .ci/run's PostgreSQL + Redis pass (the one with --coverage), per package: the seed
  // plan's bar of 80 % branches, and statements at 85 %. Today's figures: statements 90-96 %
  // (audit 90.5, gateway 91.4, identity 92.1, authz 92.2, kernel 94.4, blog 96.5), branches 82-95 %
  // (gateway 82.3, identity 82.6, authz 82.9, audit 83.2, kernel 88.2, blog 94.8). scripts/ is left
  // out: platformctl's tests run it as a child process, which coverage does not see.
  coverageThreshold: Object.fromEntries(
    ['kernel', 'gateway', 'subgraphs/identity', 'subgraphs/authz', 'subgraphs/audit', 'subgraphs/blog'].map((pkg) => [
      `./${pkg}/src/`,
      { statements: 85, branches: 80 },
    ]),
  ),
};
