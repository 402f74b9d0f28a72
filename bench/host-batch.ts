// A batch staged in a scoring module's memory for timing proml_score alone: the rows are copied in
// once by the test host's marshalling (test/emit/host.ts score(), reused unchanged: its proml_score
// call is intercepted to capture the descriptor/status pointers), then `call()` re-scores the same
// batch with no host work. Input: module exports + manifest (instantiate()), rows, the bundle.
// Output: the pointers, the first call's HostResult, the raw output+status bytes, a memory check.

import { OUTPUT_DESCRIPTOR, type Bundle, type Manifest, type Row } from '../abi/index.js';
import { score, type HostResult, type ModuleExports } from '../test/emit/host.js';

export interface StagedBatch {
  n: number;
  inputs: number;
  outputs: number;
  status: number;
  /** What the staging call returned (outputs decoded, status words, rejected count). */
  first: HostResult;
  /** proml_score on the staged batch (the timed operation). */
  call: () => number;
  /** Every output column's validity + values bytes and the status words, as the module wrote them. */
  outputBytes: () => Uint8Array;
}

function valueBytes(type: Manifest['outputs'][number]['type'], n: number): number {
  if (type === 'bool') return Math.ceil(n / 8);
  return n * (type === 'f64' ? 8 : 4);
}

/** Copies `rows` into the module's memory (after proml_reset) and scores them once. */
export function stage(exports: ModuleExports, manifest: Manifest, rows: Row[], bundle?: Bundle): StagedBatch {
  let captured: { n: number; inputs: number; outputs: number; status: number } | null = null;
  const spy: ModuleExports = {
    ...exports,
    proml_score: (n, inputs, outputs, status) => {
      captured = { n, inputs, outputs, status };
      return exports.proml_score(n, inputs, outputs, status);
    },
  };
  const first = score(spy, manifest, rows, bundle);
  const p = captured as { n: number; inputs: number; outputs: number; status: number } | null;
  if (p === null) throw new Error('host-batch: score() did not call proml_score');
  const { n, inputs, outputs, status } = p;
  const call = (): number => exports.proml_score(n, inputs, outputs, status);
  const outputBytes = (): Uint8Array => {
    const dv = new DataView(exports.memory.buffer);
    const parts: Uint8Array[] = [];
    manifest.outputs.forEach((o, j) => {
      const d = outputs + j * OUTPUT_DESCRIPTOR.size;
      const validity = dv.getUint32(d + OUTPUT_DESCRIPTOR.validity, true);
      const values = dv.getUint32(d + OUTPUT_DESCRIPTOR.values, true);
      parts.push(new Uint8Array(exports.memory.buffer, validity, Math.ceil(n / 8)).slice());
      parts.push(new Uint8Array(exports.memory.buffer, values, valueBytes(o.type, n) * o.size).slice());
    });
    parts.push(new Uint8Array(exports.memory.buffer, status, 4 * n).slice());
    const all = new Uint8Array(parts.reduce((t, x) => t + x.length, 0));
    let at = 0;
    for (const x of parts) {
      all.set(x, at);
      at += x.length;
    }
    return all;
  };
  return { n, inputs, outputs, status, first, call, outputBytes };
}

/**
 * Throws unless `calls` repeated proml_score calls leave the bump allocator and the memory size where
 * they were (so the timed loop neither allocates nor grows memory). Costs one 16-byte block per check.
 */
export function assertNoGrowth(exports: ModuleExports, batch: StagedBatch, calls: number): void {
  const bytes = exports.memory.buffer.byteLength;
  const before = exports.proml_alloc(16);
  for (let i = 0; i < calls; i++) batch.call();
  const after = exports.proml_alloc(16);
  if (after !== before + 16 || exports.memory.buffer.byteLength !== bytes)
    throw new Error(
      `proml_score allocates per call: heap ${before} → ${after}, memory ${bytes} → ${exports.memory.buffer.byteLength} bytes`,
    );
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
