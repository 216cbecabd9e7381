// Flat config: ESLint's and typescript-eslint's recommended rules (not the type-checked set,
// to keep `npm run lint` fast); `tsc --noEmit` does the type checking.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node globals for the few plain .js/.mjs files (TypeScript files get them from @types/node). */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'URL',
    'Buffer',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'fetch',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: ['**/node_modules/', '**/dist/', 'coverage/', 'var/', 'schema/', '**/*.generated.ts'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // type-graphql and MikroORM APIs take `Function` (type thunks, decorators).
      '@typescript-eslint/no-unsafe-function-type': 'off',
    },
  },
  {
    // CLI output and test diagnostics may print.
    files: ['scripts/**', 'test/**', 'bench/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
);
