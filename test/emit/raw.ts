// Raw scoring for the byte-identity tests: scores rows through test/emit/host.ts and, instead of
// decoded values, returns the bytes the module wrote (every output's validity bitmap and value
// buffer, the status words) and a SHA-256 over them. Imports no binaryen, so it runs in a child
// process or a worker thread under plain tsx.
// Input: module bytes (or a job file naming .wasm files), rows, the bundle (entity blocks).
// Output: RawScore, rawBytes() of it, or an IdentityReport (a digest per model).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { OUTPUT_DESCRIPTOR, type Bundle, type Row } from '../../abi/index.js';
import { instantiate, score, type ModuleExports } from './host.js';

export interface RawScore {
  /** proml_score's return value. */
  result: number;
  /** Per output, in manifest order: its name, validity bitmap bytes and value bytes. */
  outputs: { name: string; validity: Uint8Array; values: Uint8Array }[];
  /** The status words, as the module wrote them (4 bytes per row, little-endian). */
  status: Uint8Array;
}

/** One model to score: what a parent hands to a child process or worker (structured-clonable). */
export interface IdentityJob {
  name: string;
  /** Path of the compiled .wasm file; every scorer reads the module from this file. */
  wasmFile: string;
  rows: Row[];
  bundle: Bundle;
}

/** A job file: v8.serialize({ jobs, fullName }) (keeps NaN, -0, Maps and typed arrays exact). */
export interface IdentityJobFile {
  jobs: IdentityJob[];
  /** The model whose raw bytes come back whole. */
  fullName: string;
}

/**
 * What host.score needs of a bundle: the per-entity blocks (a job file stays small; the other
 * coefficients are inside the module already).
 */
export function entityBlocksOnly(bundle: Bundle): Bundle {
  const components = new Map([...bundle.components].filter(([, c]) => c.kind === 'random_effect'));
  return { ...bundle, components, transforms: new Map(), calibrations: new Map() };
}

export function readIdentityJobs(file: string): IdentityJobFile {
  return deserialize(readFileSync(file)) as IdentityJobFile;
}

/** What each scorer hands back: a digest per model, and the raw bytes of one model in full. */
export interface IdentityReport {
  digests: Record<string, string>;
  full: { name: string; bytes: string } | null;
}

function valueBytes(type: string, n: number): number {
  if (type === 'bool') return Math.ceil(n / 8);
  return n * (type === 'f64' ? 8 : 4);
}

/** Scores `rows` with host.score and copies out the raw output and status buffers it used. */
export function scoreRaw(wasm: Uint8Array, rows: Row[], bundle: Bundle): RawScore {
  const { exports, manifest } = instantiate(wasm);
  let call: { outputs: number; status: number } | null = null;
  // the host allocates the buffers itself: record where proml_score was told to write
  const spy: ModuleExports = {
    ...exports,
    proml_score: (n, inputs, outputs, status) => {
      call = { outputs, status };
      return exports.proml_score(n, inputs, outputs, status);
    },
  };
  const { result } = score(spy, manifest, rows, bundle);
  const at = call as { outputs: number; status: number } | null;
  if (at === null) throw new Error('scoreRaw: proml_score was not called');
  const n = rows.length;
  const buf = exports.memory.buffer;
  const dv = new DataView(buf);
  const copy = (ptr: number, len: number): Uint8Array => new Uint8Array(buf, ptr, len).slice();
  const outputs = manifest.outputs.map((o, j) => {
    const d = at.outputs + j * OUTPUT_DESCRIPTOR.size;
    return {
      name: o.name,
      validity: copy(dv.getUint32(d + OUTPUT_DESCRIPTOR.validity, true), Math.ceil(n / 8)),
      // vector outputs (size > 1): n·size values, one validity bit per row
      values: copy(dv.getUint32(d + OUTPUT_DESCRIPTOR.values, true), valueBytes(o.type, n) * o.size),
    };
  });
  return { result, outputs, status: copy(at.status, 4 * n) };
}

/** Every byte of a RawScore, in a fixed order: result, then per output name/validity/values, then status. */
export function rawBytes(r: RawScore): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(4);
  new DataView(head.buffer).setInt32(0, r.result, true);
  parts.push(head);
  for (const o of r.outputs) parts.push(new TextEncoder().encode(o.name + '\0'), o.validity, o.values);
  parts.push(r.status);
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Scores every job of a job file; the raw bytes of `fullName` come back whole (base64). */
export function runIdentityJobs(file: string | IdentityJobFile): IdentityReport {
  const { jobs, fullName } = typeof file === 'string' ? readIdentityJobs(file) : file;
  const report: IdentityReport = { digests: {}, full: null };
  for (const job of jobs) {
    const wasm = new Uint8Array(readFileSync(job.wasmFile));
    const bytes = rawBytes(scoreRaw(wasm, job.rows, job.bundle));
    report.digests[job.name] = createHash('sha256').update(bytes).digest('hex');
    if (job.name === fullName) report.full = { name: job.name, bytes: Buffer.from(bytes).toString('base64') };
  }
  return report;
}
