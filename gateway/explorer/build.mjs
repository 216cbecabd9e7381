/**
 * Builds the gateway's explorer (GraphiQL 5 with its Monaco editor, web workers, styles and fonts)
 * into gateway/explorer/dist with esbuild: everything the page loads comes from the gateway, so
 * it works offline. Run by `npm run build`, the root `postinstall`, the Docker build stage, and
 * by the gateway itself when it starts without a bundle (development, with esbuild installed).
 *
 * Output: dist/index.html (names the hashed assets), dist/assets/* (immutable: every name carries
 * a content hash) and dist/manifest.json. The bundle is written to a temporary directory and
 * renamed into place, so gateways starting at once never serve a half-written one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Where the gateway serves the assets from (absolute: the page is also served on /graphql). */
export const ASSETS_PATH = '/graphiql/assets/';
export const DIST = join(HERE, 'dist');

/** Monaco's web workers, by the label Monaco asks `MonacoEnvironment.getWorker` for. */
const WORKERS = {
  editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
  json: 'monaco-editor/esm/vs/language/json/json.worker.js',
  graphql: 'monaco-graphql/esm/graphql.worker.js',
};

const shared = {
  bundle: true,
  minify: true,
  target: ['chrome120', 'firefox120', 'safari17'],
  // Licences go to *.LEGAL.txt beside each file instead of into the bundles.
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  metafile: true,
};

/**
 * Builds the explorer into `outDir` (default gateway/explorer/dist) and returns its manifest:
 * the page's script and stylesheet, each worker, and the total size in bytes.
 */
export async function buildExplorer({ outDir = DIST } = {}) {
  // esbuild is a build-time dependency: imported here so the gateway only needs it to build.
  const esbuild = await import('esbuild');
  const staging = `${outDir}.tmp-${randomBytes(4).toString('hex')}`;
  const assets = join(staging, 'assets');
  try {
    const require = createRequire(import.meta.url);
    const workerResult = await esbuild.build({
      ...shared,
      entryPoints: Object.fromEntries(
        Object.entries(WORKERS).map(([label, entry]) => [`${label}.worker`, require.resolve(entry)]),
      ),
      // Classic workers: every browser GraphiQL supports runs them.
      format: 'iife',
      outdir: assets,
      entryNames: '[name]-[hash]',
    });
    const workers = Object.fromEntries(
      Object.entries(workerResult.metafile.outputs)
        .filter(([, output]) => output.entryPoint)
        .map(([file]) => [basename(file).replace(/\.worker-.*$/, ''), ASSETS_PATH + basename(file)]),
    );

    const pageResult = await esbuild.build({
      ...shared,
      entryPoints: { explorer: join(HERE, 'src', 'main.tsx') },
      format: 'esm',
      splitting: true,
      outdir: assets,
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      assetNames: '[name]-[hash]',
      jsx: 'automatic',
      loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
      define: { ...shared.define, __EXPLORER_WORKERS__: JSON.stringify(workers) },
    });
    // Dynamically imported modules (Monaco) are entry points of their own chunks: pick the page's.
    const [script, entry] = Object.entries(pageResult.metafile.outputs).find(
      ([file]) => basename(file).startsWith('explorer-') && file.endsWith('.js'),
    );
    const manifest = {
      script: ASSETS_PATH + basename(script),
      stylesheet: entry.cssBundle ? ASSETS_PATH + basename(entry.cssBundle) : null,
      workers,
      bytes: [workerResult, pageResult]
        .flatMap((result) => Object.values(result.metafile.outputs))
        .reduce((sum, output) => sum + output.bytes, 0),
    };

    const template = await readFile(join(HERE, 'index.html'), 'utf8');
    const html = template.replace('%STYLESHEET%', manifest.stylesheet ?? '').replace('%SCRIPT%', manifest.script);
    await writeFile(join(staging, 'index.html'), html);
    await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    await rm(outDir, { recursive: true, force: true });
    await mkdir(dirname(outDir), { recursive: true });
    try {
      await rename(staging, outDir);
    } catch (error) {
      // Another process renamed its (identical) bundle into place first.
      if (!['ENOTEMPTY', 'EEXIST'].includes(error.code)) throw error;
    }
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const manifest = await buildExplorer();
  const where = relative(process.cwd(), DIST) || '.';
  const size = `${(manifest.bytes / 1024 / 1024).toFixed(1)} MiB`;
  process.stdout.write(`explorer built in ${where} (${size}, ${Date.now() - started} ms)\n`);
}
