// A minimal host for the emitter's tests (not the runtime): instantiate a scoring module, copy rows
// in column by column per the ABI v1 descriptors, call proml_score, read outputs and the status.
// Input: module bytes, its manifest, rows `{input: value | null}`. Output: per output a column of
// values (null = missing), the status words and proml_score's result. Scalar inputs only.

import { INPUT_DESCRIPTOR, MANIFEST_SECTION, OUTPUT_DESCRIPTOR, parseManifest } from '../../abi/index.js';
import type { Manifest, Row } from '../../abi/index.js';

export interface ModuleExports {
  memory: WebAssembly.Memory;
  proml_abi_version: () => number;
  proml_alloc: (bytes: number) => number;
  proml_reset: () => void;
  proml_score: (n: number, inputs: number, outputs: number, status: number) => number;
}

export interface HostResult {
  /** proml_score's return value: rejected rows, or a negative fatal code. */
  result: number;
  status: number[];
  outputs: Record<string, (number | boolean | null)[]>;
}

/** WebAssembly.Module.customSections (present in every engine; missing from this project's typings). */
export function customSections(module: WebAssembly.Module, name: string): ArrayBuffer[] {
  const M = WebAssembly.Module as unknown as {
    customSections(m: WebAssembly.Module, n: string): ArrayBuffer[];
  };
  return M.customSections(module, name);
}

export function instantiate(bytes: Uint8Array): { exports: ModuleExports; manifest: Manifest } {
  const module = new WebAssembly.Module(bytes);
  const sections = customSections(module, MANIFEST_SECTION);
  if (sections.length !== 1) throw new Error(`expected one ${MANIFEST_SECTION} section`);
  const manifest = parseManifest(new TextDecoder().decode(sections[0]!));
  const instance = new WebAssembly.Instance(module, {});
  return { exports: instance.exports as unknown as ModuleExports, manifest };
}

function bytesOf(kind: string, n: number): number {
  if (kind === 'bool') return Math.ceil(n / 8);
  return n * (kind === 'f64' ? 8 : 4);
}

export function score(exports: ModuleExports, manifest: Manifest, rows: Row[]): HostResult {
  const n = rows.length;
  const e = exports;
  e.proml_reset();
  const alloc = (bytes: number): number => {
    const p = e.proml_alloc(Math.max(bytes, 1));
    if (p === 0) throw new Error('proml_alloc failed');
    return p;
  };
  const inputs = manifest.inputs.map((c) => ({
    col: c,
    validity: alloc(Math.ceil(n / 8)),
    values: alloc(bytesOf(c.type.kind, n)),
  }));
  const outputs = manifest.outputs.map((c) => ({
    col: c,
    validity: alloc(Math.ceil(n / 8)),
    values: alloc(bytesOf(c.type, n)),
  }));
  const inTable = alloc(INPUT_DESCRIPTOR.size * Math.max(1, inputs.length));
  const outTable = alloc(OUTPUT_DESCRIPTOR.size * Math.max(1, outputs.length));
  const status = alloc(4 * n);
  // views only after the last alloc (growth detaches them)
  const buf = e.memory.buffer;
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  inputs.forEach((inp, i) => {
    const d = inTable + i * INPUT_DESCRIPTOR.size;
    for (let k = 0; k < INPUT_DESCRIPTOR.size; k += 4) dv.setUint32(d + k, 0, true);
    dv.setUint32(d + INPUT_DESCRIPTOR.validity, inp.validity, true);
    dv.setUint32(d + INPUT_DESCRIPTOR.values, inp.values, true);
    const kind = inp.col.type.kind;
    u8.fill(0, inp.validity, inp.validity + Math.ceil(n / 8));
    if (kind === 'bool') u8.fill(0, inp.values, inp.values + Math.ceil(n / 8));
    rows.forEach((row, r) => {
      const v = row[inp.col.name];
      if (v === null || v === undefined) {
        if (kind === 'f32') dv.setFloat32(inp.values + 4 * r, 0, true);
        else if (kind === 'f64') dv.setFloat64(inp.values + 8 * r, 0, true);
        else if (kind === 'int') dv.setInt32(inp.values + 4 * r, 0, true);
        return;
      }
      u8[inp.validity + (r >> 3)]! |= 1 << (r & 7);
      if (kind === 'f32') dv.setFloat32(inp.values + 4 * r, v as number, true);
      else if (kind === 'f64') dv.setFloat64(inp.values + 8 * r, v as number, true);
      else if (kind === 'int') dv.setInt32(inp.values + 4 * r, v as number, true);
      else if (kind === 'bool') {
        if (v === true) u8[inp.values + (r >> 3)]! |= 1 << (r & 7);
      } else throw new Error(`host: input type ${kind} is not supported`);
    });
  });
  outputs.forEach((o, j) => {
    const d = outTable + j * OUTPUT_DESCRIPTOR.size;
    for (let k = 0; k < OUTPUT_DESCRIPTOR.size; k += 4) dv.setUint32(d + k, 0, true);
    dv.setUint32(d + OUTPUT_DESCRIPTOR.validity, o.validity, true);
    dv.setUint32(d + OUTPUT_DESCRIPTOR.values, o.values, true);
    // garbage, to prove the module writes every bit and value
    u8.fill(0xa5, o.validity, o.validity + Math.ceil(n / 8));
    u8.fill(0xa5, o.values, o.values + bytesOf(o.col.type, n));
  });
  const result = e.proml_score(n, inTable, outTable, status);
  const after = new DataView(e.memory.buffer);
  const bit = (base: number, r: number): boolean => ((after.getUint8(base + (r >> 3)) >> (r & 7)) & 1) === 1;
  const out: HostResult['outputs'] = {};
  for (const o of outputs) {
    const col: (number | boolean | null)[] = [];
    for (let r = 0; r < n; r++) {
      const t = o.col.type;
      const value =
        t === 'f32'
          ? after.getFloat32(o.values + 4 * r, true)
          : t === 'f64'
            ? after.getFloat64(o.values + 8 * r, true)
            : t === 'int'
              ? after.getInt32(o.values + 4 * r, true)
              : bit(o.values, r);
      if (!bit(o.validity, r)) {
        if (value !== 0 && value !== false)
          throw new Error(`output '${o.col.name}' row ${r}: null with value ${String(value)}`);
        col.push(null);
      } else col.push(value);
    }
    out[o.col.name] = col;
  }
  const st: number[] = [];
  for (let r = 0; r < n; r++) st.push(after.getUint32(status + 4 * r, true));
  return { result, status: st, outputs: out };
}
