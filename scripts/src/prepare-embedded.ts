// `npm install` runs this (postinstall): it makes the template the embedded PostgreSQL clusters
// are copied from, so the first `npm start` does not spend seconds in initdb. It never fails the
// install: without the template, the first start makes it.
import { performance } from 'node:perf_hooks';
import { prepareEmbeddedTemplate } from '@platform/kernel/boot';

if (process.env.PLATFORM_SKIP_EMBEDDED_TEMPLATE) {
  process.exit(0);
}
try {
  const started = performance.now();
  const dir = await prepareEmbeddedTemplate();
  console.log(`embedded PostgreSQL template ready in ${((performance.now() - started) / 1000).toFixed(1)}s: ${dir}`);
} catch (error) {
  console.warn(`could not prepare the embedded PostgreSQL template (the first start will): ${String(error)}`);
}
