// `proml serve model.wasm [--port 8080] [--host 127.0.0.1] [--name N] [--entities <bundle dir>]
// [--max-body 1mb] [--timeout-ms 5000] [--threads N] [--admin]`: flags → runtime/node/server.ts.
// Input: argv after `serve`. Output: a running HTTP service until SIGTERM/SIGINT (graceful: finish
// in-flight requests, exit 0); SIGHUP reloads the model file (hot swap, the old version keeps
// serving if the new one fails to load). Exit 2 on bad usage, 1 when the model cannot be loaded.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { readBundle } from '../abi/node.js';
import { MemoryEntityStore, RuntimeError, type EntityStore } from '../runtime/index.js';
import { ModelServer, parseByteSize, type ScorerFactory } from '../runtime/node/server.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const SERVE_USAGE = `  serve <model.wasm>     serve a model over HTTP (Open Inference Protocol v2, POST /score, /metrics)
                         [--port 8080] [--host 127.0.0.1] [--name <model name>]
                         [--entities <bundle dir>] [--max-body 1mb] [--timeout-ms 5000]
                         [--threads N] [--admin]   (docs/serving.md)`;

const VALUED = ['--port', '--host', '--name', '--entities', '--max-body', '--timeout-ms', '--threads'];
const FLAGS = ['--admin'];

/** Scores in a worker pool (runtime/node/pool.ts, loaded only when --threads is given). */
async function poolScorer(threads: number, entities: EntityStore | undefined): Promise<ScorerFactory> {
  const { ScoringPool } = await import('../runtime/node/pool.js');
  return (bytes) => ScoringPool.create(bytes, { threads, ...(entities ? { entities } : {}) });
}

export async function cmdServe(args: string[], io: Io, version: string): Promise<number> {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUED.includes(a)) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) return usage(io, `${a} needs a value`);
      values.set(a, v);
    } else if (FLAGS.includes(a)) flags.add(a);
    else if (a.startsWith('-')) return usage(io, `unknown option '${a}'`);
    else rest.push(a);
  }
  if (rest.length !== 1) return usage(io, 'serve: give exactly one .wasm file');
  const path = rest[0]!;
  if (!existsSync(path) || statSync(path).isDirectory()) return usage(io, `no such file: ${path}`);
  const int = (flag: string, dflt: number, min: number): number | null => {
    const v = values.get(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    return Number.isInteger(n) && n >= min ? n : null;
  };
  const port = int('--port', 8080, 0);
  const timeoutMs = int('--timeout-ms', 5000, 1);
  const threads = int('--threads', 0, 0);
  const maxBody = parseByteSize(values.get('--max-body') ?? '1mb');
  if (port === null || port > 65535) return usage(io, `--port: not a port number`);
  if (timeoutMs === null) return usage(io, '--timeout-ms: give a positive integer');
  if (threads === null) return usage(io, '--threads: give a non-negative integer');
  if (maxBody === null || maxBody < 1) return usage(io, `--max-body: not a size (e.g. 1mb, 512kb)`);
  const host = values.get('--host') ?? '127.0.0.1';

  let entities: EntityStore | undefined;
  const bundleDir = values.get('--entities');
  if (bundleDir !== undefined) {
    try {
      entities = new MemoryEntityStore(readBundle(bundleDir));
    } catch (e) {
      io.err(`${bundleDir}: error ${(e as Error).message}`);
      return 1;
    }
  }
  let scorer: ScorerFactory | undefined;
  if (threads > 0) {
    try {
      scorer = await poolScorer(threads, entities);
    } catch (e) {
      io.err(`proml serve: --threads needs the worker pool (runtime/node/pool.ts): ${(e as Error).message}`);
      return 1;
    }
  }

  let server: ModelServer;
  try {
    server = await ModelServer.create(new Uint8Array(readFileSync(path)), {
      ...(values.has('--name') ? { name: values.get('--name')! } : {}),
      ...(entities ? { entities } : {}),
      ...(scorer ? { scorer } : {}),
      maxBodyBytes: maxBody,
      timeoutMs,
      admin: flags.has('--admin'),
      modelPath: path,
      serverVersion: version,
      log: (line) => io.err(`proml serve: ${line}`),
    });
  } catch (e) {
    if (e instanceof RuntimeError) {
      io.err(`${path}: error ${e.message}`);
      return 1;
    }
    throw e;
  }
  let addr;
  try {
    addr = await server.listen(port, host);
  } catch (e) {
    io.err(`proml serve: cannot listen on ${host}:${port}: ${(e as Error).message}`);
    return 1;
  }
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  io.err(
    `proml serve: ${server.name} ${server.version} on http://${shown}:${addr.port}` +
      ` (${threads > 0 ? `${threads} worker threads` : 'in process'}${flags.has('--admin') ? ', admin on (loopback only)' : ''})`,
  );

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      io.err(`proml serve: ${signal}: finishing in-flight requests`);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      server.close().then(
        () => resolve(0),
        (e: unknown) => {
          io.err(`proml serve: shutdown: ${String(e)}`);
          resolve(1);
        },
      );
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    const onHup = (): void => {
      server.reload().then(
        (tag) => io.err(`proml serve: SIGHUP: now serving ${tag}`),
        (e: unknown) =>
          io.err(
            `proml serve: SIGHUP: reload failed, still serving ${server.version}: ${(e as Error).message}`,
          ),
      );
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
  });
}

function usage(io: Io, message: string): number {
  io.err(`proml: ${message}`);
  io.err("run 'proml --help' for usage");
  return 2;
}
