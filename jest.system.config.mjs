/**
 * System suites (`npm run test:system`): real outside programs against one running supergraph —
 * Debian's Chromium driven by playwright-core, Debian's Prometheus and promtool. They need those
 * programs installed (`.ci/run` installs them: apt-get install chromium prometheus), so they are
 * not part of `npm test`; each fails, naming what is missing, when run without them.
 */
import base from './jest.config.mjs';

export default {
  ...base,
  roots: ['<rootDir>/test/system'],
  testMatch: ['**/*.system.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/test/system/global-setup.mjs',
  globalTeardown: '<rootDir>/test/system/global-teardown.mjs',
  // One stack, suites one after another: the browser and Prometheus each want a core.
  maxWorkers: 1,
  testTimeout: 120000,
  collectCoverageFrom: undefined,
  coverageThreshold: undefined,
};
