#!/usr/bin/env node
// `npm run serve:web`: a tiny static file server (node:http, loopback) for the browser demo and the
// browser tests. Serves a directory (default dist/browser, made by `npm run build:browser`) with the
// right content types (application/wasm for modules, so WebAssembly.compileStreaming works) and no
// caching. Optional mounts put one model and its entity blocks at fixed URLs:
//   --model <file.wasm>    served at /model.wasm   (open /?model=model.wasm)
//   --entities <file.json> served at /entities.json ({component: {id: [numbers] | base64 f64}})
//   --bundle <dir>         a coefficient bundle: its random-effect blocks served at /entities.json
// Usage: node scripts/serve-web.mjs [--root <dir>] [--port 8080 (0: any free port)] [--host 127.0.0.1]
// Output: prints `serving <root> at http://host:port/` (the test reads the port from it); runs until
// killed (SIGINT/SIGTERM close it cleanly).

import { Buffer } from 'node:buffer';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Base64 of a Float64Array's little-endian bytes (exact: keeps -0 and NaN payloads). */
function f64Base64(a) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** The entities JSON of a bundle's random-effect components (loads abi/node.ts through tsx). */
async function entitiesFromBundle(dir) {
  const { register } = await import('tsx/esm/api');
  register();
  const { readBundle } = await import('../abi/node.ts');
  const bundle = readBundle(resolve(dir));
  const out = {};
  for (const [name, c] of bundle.components) {
    if (c.kind !== 'random_effect') continue;
    const blocks = {};
    for (const [id, block] of c.blocks) blocks[id] = f64Base64(block);
    out[name] = blocks;
  }
  return Buffer.from(JSON.stringify(out));
}

/**
 * Starts the server. `mounts` maps a URL path ('/model.wasm') to a file path or to bytes.
 * Resolves to { url, port, close() }.
 */
export function serve({ root, port = 8080, host = '127.0.0.1', mounts = {} }) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const send = (status, type, body) => {
      res.writeHead(status, {
        'content-type': type,
        'content-length': body.length,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(405, 'text/plain', Buffer.from('GET only\n'));
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'text/plain', Buffer.from('bad path\n'));
    }
    if (path.endsWith('/')) path += 'index.html';
    const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    const mount = mounts[path];
    if (mount !== undefined) {
      const body = typeof mount === 'string' ? readFileSync(mount) : Buffer.from(mount);
      return send(200, type, body);
    }
    const file = resolve(join(base, path));
    if (file !== base && !file.startsWith(base + sep))
      return send(403, 'text/plain', Buffer.from('forbidden\n'));
    if (!existsSync(file) || !statSync(file).isFile())
      return send(404, 'text/plain', Buffer.from(`not found: ${path}\n`));
    return send(200, type, readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const p = server.address().port;
      ok({
        port: p,
        url: `http://${host}:${p}/`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function option(args, name) {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const v = args[at + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)
) {
  const args = process.argv.slice(2);
  try {
    const root = resolve(option(args, '--root') ?? join(ROOT, 'dist', 'browser'));
    if (!existsSync(join(root, 'index.html')) && option(args, '--root') === undefined)
      throw new Error(`${root} has no index.html: run \`npm run build:browser\` first`);
    const mounts = {};
    const model = option(args, '--model');
    if (model !== undefined) {
      if (!existsSync(model)) throw new Error(`no such file: ${model}`);
      mounts['/model.wasm'] = resolve(model);
    }
    const entities = option(args, '--entities');
    if (entities !== undefined) mounts['/entities.json'] = resolve(entities);
    const bundle = option(args, '--bundle');
    if (bundle !== undefined) mounts['/entities.json'] = await entitiesFromBundle(bundle);
    const s = await serve({
      root,
      port: Number(option(args, '--port') ?? 8080),
      host: option(args, '--host') ?? '127.0.0.1',
      mounts,
    });
    const query = [
      model !== undefined ? 'model=model.wasm' : null,
      mounts['/entities.json'] !== undefined ? 'entities=entities.json' : null,
    ].filter((q) => q !== null);
    console.log(`serving ${root} at ${s.url}${query.length > 0 ? `?${query.join('&')}` : ''}`);
    const stop = () => void s.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    console.error(`serve-web: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
