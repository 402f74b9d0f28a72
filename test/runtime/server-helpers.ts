// Helpers for the HTTP service tests: compile a fixture (optionally as another version: a new
// version string and scaled linear weights), start a ModelServer on port 0, and a small keep-alive
// HTTP client returning status, headers and body. Input: fixture names. Output: bytes, servers,
// responses.

import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest, type AgentOptions, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { parseRowsCsv, type Bundle, type ComponentCoefficients, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MODELS_DIR } from '../helpers.js';

export interface Compiled {
  checked: CheckedModel;
  bundle: Bundle;
  bytes: Uint8Array;
  csv: Row[];
}

/** Compiles fixture `name`; with `version`, as that version with every linear weight scaled by `scale`. */
export async function compileFixture(
  name: string,
  kernelBytes: Uint8Array,
  variant?: { version: string; scale: number },
): Promise<Compiled> {
  const dir = join(MODELS_DIR, name);
  let source = readFileSync(join(dir, 'model.pml'), 'utf8');
  if (variant !== undefined) source = source.replace(/version\s+"[^"]*"/, `version "${variant.version}"`);
  const checked = checkSource('model.pml', source).checked!;
  let bundle = readBundle(join(dir, 'bundle'));
  if (variant !== undefined) {
    const components = new Map<string, ComponentCoefficients>();
    for (const [k, c] of bundle.components)
      components.set(
        k,
        c.kind === 'linear'
          ? {
              ...c,
              weights: c.weights.map((w) => w * variant.scale),
              intercepts: c.intercepts.map((w) => w + variant.scale),
            }
          : c,
      );
    bundle = { ...bundle, components };
  }
  const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes,
  });
  const csv = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(checked));
  return { checked, bundle, bytes, csv };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** JSON with the service's encoding of non-finite numbers and -0 (strings). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0))
      ? Object.is(x, -0)
        ? '-0'
        : String(x)
      : x,
  );
}

/** "NaN", "Infinity", "-Infinity", "-0" → numbers (how the service writes them). */
export function num(v: unknown): unknown {
  if (typeof v === 'string' && ['NaN', 'Infinity', '-Infinity', '-0'].includes(v)) return Number(v);
  if (Array.isArray(v)) return v.map(num);
  return v;
}

/** A keep-alive client; noDelay, or Nagle + delayed ACKs stall each request by up to 40 ms. */
export function client(
  base: string,
  agent = new Agent({ keepAlive: true, maxSockets: 64, noDelay: true } as AgentOptions),
) {
  return {
    agent,
    request(
      method: string,
      path: string,
      body?: string | Uint8Array,
      headers: Record<string, string | number> = {},
    ): Promise<Reply> {
      return new Promise((resolve, reject) => {
        const h: Record<string, string | number> = { ...headers };
        if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
        if (body !== undefined && h['content-length'] === undefined && h['transfer-encoding'] === undefined)
          h['content-length'] = Buffer.byteLength(body);
        const req = httpRequest(`${base}${path}`, { method, headers: h, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const buf = Buffer.concat(chunks);
            let json: unknown;
            try {
              json = JSON.parse(buf.toString('utf8'));
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}

/** The `error` object of an error reply. */
export function errorOf(r: Reply): { code: string; message: string; field?: string; row?: number } {
  return (r.json as { error: { code: string; message: string; field?: string; row?: number } }).error;
}
