/**
 * One suite for the whole workspace: unit tests beside the code, module integration tests
 * in subgraphs/*, end-to-end tests in test/. TypeScript runs through swc with decorator
 * metadata (type-graphql and MikroORM need it); workspace packages resolve to their sources.
 */
import { swcOptions } from './scripts/swc-options.mjs';

export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@platform/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  roots: ['<rootDir>/kernel', '<rootDir>/gateway', '<rootDir>/subgraphs', '<rootDir>/scripts', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
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
};
