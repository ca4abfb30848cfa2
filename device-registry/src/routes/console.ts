import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
};

/**
 * Where the built console is: $CITYEDGE_CONSOLE_DIR, else console/dist of this checkout, seen
 * from the sources (device-registry/src/routes) or from the bundle (dist/).
 */
export function defaultConsoleDir(): string | undefined {
  const env = process.env.CITYEDGE_CONSOLE_DIR;
  if (env) return resolve(env);
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../../console/dist', '../console/dist']) {
    const dir = resolve(here, up);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cityedge console not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style></head>
<body><h1>The console is not built</h1>
<p>This registry serves the technician and operator console from <code>console/dist</code>, which is
not there. Build it with <code>npm run build</code> (or <code>npm run build -w @cityedge/console</code>)
in the cityedge checkout, or point <code>CITYEDGE_CONSOLE_DIR</code> at a built copy, then reload.</p>
<p>The HTTP API works without it: <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
`;

export interface ConsoleRouteOptions {
  /** The built console (index.html and assets/); undefined: answer / with how to build it. */
  dir: string | undefined;
}

/**
 * The console's files: `/` (and `/enroll`, where the QR code's link lands) answer index.html
 * (pages are `#/...` routes in the browser), `/assets/*` the hashed bundles, cached for a year
 * and sent precompressed (brotli or gzip) when the browser accepts it.
 */
export async function consoleRoutes(app: FastifyInstance, { dir }: ConsoleRouteOptions): Promise<void> {
  const root = dir === undefined ? undefined : resolve(dir);

  const sendFile = async (req: FastifyRequest, reply: FastifyReply, file: string, cache: string) => {
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const accept = String(req.headers['accept-encoding'] ?? '');
    reply.header('content-type', type).header('cache-control', cache).header('vary', 'accept-encoding').header('x-content-type-options', 'nosniff');
    for (const [enc, ext] of [['br', '.br'], ['gzip', '.gz']] as const) {
      if (!new RegExp(`\\b${enc}\\b`).test(accept)) continue;
      const body = await readFile(file + ext).catch(() => undefined);
      if (body) return reply.header('content-encoding', enc).send(body);
    }
    return reply.send(await readFile(file));
  };

  const index = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!root || !existsSync(join(root, 'index.html'))) return reply.code(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    // Only the registry itself: scripts, styles, pictures, API calls and the live view's WebSocket.
    reply.header('content-security-policy', "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    reply.header('referrer-policy', 'no-referrer');
    return sendFile(req, reply, join(root, 'index.html'), 'no-cache');
  };
  const hide = { schema: { hide: true } };
  app.get('/', hide, index);
  app.get('/index.html', hide, index);
  app.get('/enroll', hide, index);

  app.get<{ Params: { '*': string } }>('/assets/*', hide, async (req, reply) => {
    const name = req.params['*'];
    const assets = root && join(root, 'assets');
    const file = assets && resolve(assets, name);
    if (!file || !file.startsWith(assets + sep) || !(await stat(file).catch(() => undefined))?.isFile()) {
      throw new RegistryError('REG_NOT_FOUND', `no console asset ${name}`);
    }
    return sendFile(req, reply, file, 'public, max-age=31536000, immutable');
  });
}
