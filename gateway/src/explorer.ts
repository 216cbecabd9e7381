import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger, PlatformConfig } from '@platform/kernel';

/** `gateway.explorer`: what a browser's GET /graphql shows. */
export type ExplorerMode = PlatformConfig['gateway']['explorer'];

/** gateway/explorer, beside both gateway/src (sources) and gateway/dist (compiled). */
const EXPLORER_DIR = fileURLToPath(new URL('../explorer/', import.meta.url));

const UNAVAILABLE =
  'GraphiQL is not built: run `npm run build` (or `node gateway/explorer/build.mjs`) where esbuild is installed.\n';

/**
 * The explorer page's policy: scripts, workers, styles and fonts from the gateway only (GraphiQL
 * sets inline styles, hence 'unsafe-inline' for styles alone; its fonts are data: URLs), and
 * connections to this host's /graphql over HTTP and graphql-ws. No inline script runs.
 */
export function explorerContentSecurityPolicy(host: string | undefined): string {
  // A Host header is the client's own claim: used only when it is a plain host[:port].
  const sockets = host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Whether a GET is a browser asking for a page rather than a GraphQL client (as Apollo decides). */
export function prefersHtml(req: Request): boolean {
  return req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

export interface ExplorerOptions {
  mode: ExplorerMode;
  logger: Logger;
  /** Where the bundle is (default gateway/explorer/dist). */
  distDir?: string;
  /** Makes the bundle when it is missing (default: gateway/explorer/build.mjs, which needs esbuild). */
  build?: () => Promise<void>;
}

/** GraphiQL's routes on the gateway; `undefined` when `gateway.explorer` is `off`. */
export interface ExplorerRoutes {
  /** GET /graphiql, and its assets under /graphiql/assets/. */
  page: RequestHandler;
  /** Before /graphql: a browser's GET gets GraphiQL when the explorer is `graphiql`; others pass on. */
  landing: RequestHandler;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

async function buildWithEsbuild(): Promise<void> {
  // A computed specifier: the gateway compiles without the (untyped, build-time) script.
  const script = pathToFileURL(join(EXPLORER_DIR, 'build.mjs')).href;
  const { buildExplorer } = (await import(script)) as { buildExplorer: () => Promise<unknown> };
  await buildExplorer();
}

/**
 * GraphiQL, bundled at build time (gateway/explorer), served by the gateway itself so it works
 * offline. Without a bundle (a fresh checkout) the gateway builds it once, in the background;
 * where esbuild is absent too (a production image built wrongly), /graphiql answers 503 with one
 * line saying so and the gateway logs one warning; it never fails to start for it.
 */
export function explorerRoutes(options: ExplorerOptions): ExplorerRoutes | undefined {
  if (options.mode === 'off') return undefined;
  const { logger } = options;
  const distDir = options.distDir ?? join(EXPLORER_DIR, 'dist');
  const assetsDir = join(distDir, 'assets');
  const indexFile = join(distDir, 'index.html');

  let ready: Promise<boolean>;
  if (existsSync(indexFile)) {
    ready = Promise.resolve(true);
  } else {
    const started = Date.now();
    ready = (options.build ?? buildWithEsbuild)().then(
      () => {
        logger.info({ ms: Date.now() - started }, 'GraphiQL built (gateway/explorer/dist)');
        return true;
      },
      (error: unknown) => {
        logger.warn({ err: error }, `GraphiQL unavailable: ${UNAVAILABLE.trim()}`);
        return false;
      },
    );
  }
  async function sendPage(req: Request, res: Response): Promise<void> {
    res.setHeader('Content-Security-Policy', explorerContentSecurityPolicy(req.headers.host));
    if (!(await ready)) {
      res.status(503).type('text/plain').send(UNAVAILABLE);
      return;
    }
    // Read each time (a few hundred bytes): a rebuild while the gateway runs renames every asset.
    const html = await readFile(indexFile, 'utf8');
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(html);
  }

  async function sendAsset(req: Request, res: Response, next: () => void): Promise<void> {
    const name = normalize(req.path.slice('/assets/'.length));
    const type = TYPES[extname(name)];
    // Only the bundle's own flat files: no directories, no way out of it.
    if (!type || name.includes(sep) || name.startsWith('.') || !(await ready)) return next();
    res.setHeader('Content-Security-Policy', explorerContentSecurityPolicy(req.headers.host));
    res.type(type);
    // Every name carries a content hash: a name always means the same bytes.
    res.sendFile(join(assetsDir, name), { maxAge: '365d', immutable: true, dotfiles: 'deny' }, (error) => {
      if (error && !res.headersSent) next();
    });
  }

  return {
    page: (req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      const work =
        req.path === '/' || req.path === ''
          ? sendPage(req, res)
          : req.path.startsWith('/assets/')
            ? sendAsset(req, res, next)
            : undefined;
      if (!work) return next();
      work.catch(next);
    },
    landing: (req, res, next) => {
      if (options.mode !== 'graphiql' || req.method !== 'GET' || req.query.query !== undefined || !prefersHtml(req)) {
        return next();
      }
      sendPage(req, res).catch(next);
    },
  };
}
