// Runs TypeScript sources directly (dev, start, platformctl): swc strips types and emits the
// legacy decorators *with* metadata that type-graphql and MikroORM need (tsx/esbuild emit none).
// `.js` specifiers resolve to the `.ts` file beside them, and workspace packages resolve to
// their sources through the `@platform/source` export condition.
import { registerHooks } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transformSync } from '@swc/core';
import { swcOptions } from './swc-options.mjs';

const SOURCE_CONDITION = '@platform/source';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const ctx = context.conditions.includes(SOURCE_CONDITION)
      ? context
      : { ...context, conditions: [...context.conditions, SOURCE_CONDITION] };
    const fromTs = context.parentURL?.endsWith('.ts') && !context.parentURL.includes('/node_modules/');
    if (fromTs && specifier.startsWith('.') && specifier.endsWith('.js')) {
      try {
        return nextResolve(specifier.slice(0, -3) + '.ts', ctx);
      } catch {
        // a real .js file: fall through
      }
    }
    return nextResolve(specifier, ctx);
  },
  load(url, context, nextLoad) {
    if (!url.endsWith('.ts') || url.includes('/node_modules/')) return nextLoad(url, context);
    const filename = fileURLToPath(url);
    const { code } = transformSync(readFileSync(filename, 'utf8'), { ...swcOptions, filename });
    return { format: 'module', source: code, shortCircuit: true };
  },
});
