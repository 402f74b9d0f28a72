// A minimal host for the emitter's tests (not the runtime): instantiate a scoring module, copy rows
// in column by column per the ABI v1 descriptors, call proml_score, read outputs and the status.
// Input: module bytes, its manifest, rows `{input: value | null}`. Output: per output a column of
// values (null = missing), the status words and proml_score's result. Scalar, string and category
// inputs (a Uint8Array value passes raw bytes, e.g. invalid UTF-8).

import { INPUT_DESCRIPTOR, MANIFEST_SECTION, OUTPUT_DESCRIPTOR, parseManifest } from '../../abi/index.js';
import { entityKey, type Bundle, type Manifest, type Row } from '../../abi/index.js';

export interface ModuleExports {
  memory: WebAssembly.Memory;
  proml_abi_version: () => number;
  proml_alloc: (bytes: number) => number;
  proml_reset: () => void;
  proml_score: (n: number, inputs: number, outputs: number, status: number) => number;
  /** Transform modules export this instead of proml_score. */
  proml_transform?: (n: number, inputs: number, outputs: number, status: number) => number;
}

export interface HostResult {
  /** proml_score's return value: rejected rows, or a negative fatal code. */
  result: number;
  status: number[];
  outputs: Record<string, (number | boolean | number[] | null)[]>;
  /**
   * Transform modules: per component, per row, its input columns: gbdt one cell per column (null =
   * missing), linear/mlp (column, value) pairs.
   */
  columns?: Record<string, ((number | null)[] | [number, number][])[]>;
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

/** Bytes of an input column's values buffer (vectors: n·size numbers). */
function inputBytes(type: Manifest['inputs'][number]['type'], n: number): number {
  if (type.kind === 'vector') return n * type.size * (type.elem === 'f64' ? 8 : 4);
  return bytesOf(type.kind, n);
}

/** Scores rows; entity-block columns are looked up in `bundle` (an unknown or missing id: a null block). */
export function score(exports: ModuleExports, manifest: Manifest, rows: Row[], bundle?: Bundle): HostResult {
  return call(exports, manifest, rows, bundle);
}

/** Runs a transform module (docs/abi.md 3.4) on rows: `columns` holds every component's input. */
export function transformRows(exports: ModuleExports, manifest: Manifest, rows: Row[]): HostResult {
  if (manifest.product !== 'transform') throw new Error('not a transform module');
  return call(exports, manifest, rows, undefined);
}

function call(exports: ModuleExports, manifest: Manifest, rows: Row[], bundle?: Bundle): HostResult {
  const n = rows.length;
  const e = exports;
  e.proml_reset();
  const alloc = (bytes: number): number => {
    const p = e.proml_alloc(Math.max(bytes, 1));
    if (p === 0) throw new Error('proml_alloc failed');
    return p;
  };
  const enc = new TextEncoder();
  const isText = (kind: string): boolean => kind === 'string' || kind === 'category';
  const texts = manifest.inputs.map((c) =>
    isText(c.type.kind)
      ? rows.map((row) => {
          const v = row[c.name] as unknown;
          return v instanceof Uint8Array ? v : typeof v === 'string' ? enc.encode(v) : null;
        })
      : null,
  );
  // bags: list<utf8> / list<int32>, null items marked in the child validity bitmap
  const bags = manifest.inputs.map((c) => {
    if (c.type.kind !== 'bag') return null;
    const items: (string | number | Uint8Array | null)[][] = rows.map((row) => {
      const v = row[c.name] as unknown;
      return Array.isArray(v) ? (v as (string | number | Uint8Array | null)[]) : [];
    });
    const flat = items.flat();
    const bytes = flat.map((x) =>
      x instanceof Uint8Array ? x : typeof x === 'string' ? enc.encode(x) : new Uint8Array(0),
    );
    const m = flat.length;
    return {
      items,
      flat,
      bytes,
      offsets: alloc(4 * (n + 1)),
      values: alloc(c.type.elem === 'string' ? 4 * (m + 1) : 4 * m),
      data: alloc(bytes.reduce((t, b) => t + b.length, 0)),
      child: alloc(Math.ceil(m / 8)),
    };
  });
  const inputs = manifest.inputs.map((c, i) => ({
    col: c,
    validity: alloc(Math.ceil(n / 8)),
    values: alloc(
      texts[i] === null ? inputBytes(c.type, n) : texts[i]!.reduce((t, b) => t + (b?.length ?? 0), 0),
    ),
    offsets: texts[i] === null ? 0 : alloc(4 * (n + 1)),
  }));
  const outputs = manifest.outputs.map((c) => ({
    col: c,
    validity: alloc(Math.ceil(n / 8)),
    values: alloc(bytesOf(c.type, n) * c.size),
  }));
  const blocks = manifest.entityBlocks.map((b) => ({
    b,
    validity: alloc(Math.ceil(n / 8)),
    values: alloc(8 * b.width * n),
  }));
  const inTable = alloc(INPUT_DESCRIPTOR.size * Math.max(1, inputs.length + blocks.length));
  const transform = manifest.product === 'transform';
  const outTable = alloc(
    OUTPUT_DESCRIPTOR.size * Math.max(1, transform ? manifest.components.length : outputs.length),
  );
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
    dv.setUint32(d + INPUT_DESCRIPTOR.offsets, inp.offsets, true);
    const kind = inp.col.type.kind;
    u8.fill(0, inp.validity, inp.validity + Math.ceil(n / 8));
    const bag = bags[i];
    if (bag !== null && bag !== undefined) {
      dv.setUint32(d + INPUT_DESCRIPTOR.values, bag.values, true);
      dv.setUint32(d + INPUT_DESCRIPTOR.offsets, bag.offsets, true);
      dv.setUint32(d + INPUT_DESCRIPTOR.data, bag.data, true);
      dv.setUint32(d + INPUT_DESCRIPTOR.childValidity, bag.child, true);
      u8.fill(0, bag.child, bag.child + Math.ceil(bag.flat.length / 8));
      let item = 0;
      let at = 0;
      bag.items.forEach((items, r) => {
        dv.setInt32(bag.offsets + 4 * r, item, true);
        const v = rows[r]![inp.col.name];
        if (v !== null && v !== undefined) u8[inp.validity + (r >> 3)]! |= 1 << (r & 7);
        for (const x of items) {
          if (x !== null) u8[bag.child + (item >> 3)]! |= 1 << (item & 7);
          if (typeof x === 'number') dv.setInt32(bag.values + 4 * item, x, true);
          else {
            dv.setInt32(bag.values + 4 * item, at, true);
            u8.set(bag.bytes[item]!, bag.data + at);
            at += bag.bytes[item]!.length;
          }
          item++;
        }
      });
      dv.setInt32(bag.offsets + 4 * n, item, true);
      if (inp.col.type.kind === 'bag' && inp.col.type.elem === 'string')
        dv.setInt32(bag.values + 4 * item, at, true);
      return;
    }
    const text = texts[i];
    if (text !== null && text !== undefined) {
      let at = 0;
      text.forEach((b, r) => {
        dv.setInt32(inp.offsets + 4 * r, at, true);
        if (b === null) return;
        u8[inp.validity + (r >> 3)]! |= 1 << (r & 7);
        u8.set(b, inp.values + at);
        at += b.length;
      });
      dv.setInt32(inp.offsets + 4 * n, at, true);
      return;
    }
    if (kind === 'bool') u8.fill(0, inp.values, inp.values + Math.ceil(n / 8));
    const vt = inp.col.type;
    if (vt.kind === 'vector') {
      const size = vt.elem === 'f64' ? 8 : 4;
      u8.fill(0, inp.values, inp.values + n * vt.size * size);
      rows.forEach((row, r) => {
        const v = row[inp.col.name];
        if (v === null || v === undefined) return;
        u8[inp.validity + (r >> 3)]! |= 1 << (r & 7);
        (v as number[]).forEach((x, k) => {
          const at = inp.values + (r * vt.size + k) * size;
          if (size === 8) dv.setFloat64(at, x, true);
          else dv.setFloat32(at, x, true);
        });
      });
      return;
    }
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
      } else if (kind === 'entity') {
        // ids stay on the host: only the validity bit is passed
      } else throw new Error(`host: input type ${kind} is not supported`);
    });
  });
  blocks.forEach((blk, k) => {
    const d = inTable + (inputs.length + k) * INPUT_DESCRIPTOR.size;
    for (let q = 0; q < INPUT_DESCRIPTOR.size; q += 4) dv.setUint32(d + q, 0, true);
    dv.setUint32(d + INPUT_DESCRIPTOR.validity, blk.validity, true);
    dv.setUint32(d + INPUT_DESCRIPTOR.values, blk.values, true);
    u8.fill(0, blk.validity, blk.validity + Math.ceil(n / 8));
    const coef = bundle?.components.get(blk.b.component);
    rows.forEach((row, r) => {
      const id = row[blk.b.entity];
      for (let q = 0; q < blk.b.width; q++) dv.setFloat64(blk.values + 8 * (r * blk.b.width + q), NaN, true);
      if (id === null || id === undefined || coef?.kind !== 'random_effect') return;
      const block = coef.blocks.get(entityKey(id as string | number));
      if (block === undefined) return;
      u8[blk.validity + (r >> 3)]! |= 1 << (r & 7);
      block.forEach((x, q) => dv.setFloat64(blk.values + 8 * (r * blk.b.width + q), x, true));
    });
  });
  outputs.forEach((o, j) => {
    const d = outTable + j * OUTPUT_DESCRIPTOR.size;
    for (let k = 0; k < OUTPUT_DESCRIPTOR.size; k += 4) dv.setUint32(d + k, 0, true);
    dv.setUint32(d + OUTPUT_DESCRIPTOR.validity, o.validity, true);
    dv.setUint32(d + OUTPUT_DESCRIPTOR.values, o.values, true);
    // garbage, to prove the module writes every bit and value
    u8.fill(0xa5, o.validity, o.validity + Math.ceil(n / 8));
    u8.fill(0xa5, o.values, o.values + bytesOf(o.col.type, n) * o.col.size);
  });
  const result = transform
    ? e.proml_transform!(n, inTable, outTable, status)
    : e.proml_score(n, inTable, outTable, status);
  const after = new DataView(e.memory.buffer);
  const bit = (base: number, r: number): boolean => ((after.getUint8(base + (r >> 3)) >> (r & 7)) & 1) === 1;
  const out: HostResult['outputs'] = {};
  for (const o of outputs) {
    const col: (number | boolean | number[] | null)[] = [];
    if (o.col.size > 1) {
      for (let r = 0; r < n; r++) {
        const xs: number[] = [];
        for (let k = 0; k < o.col.size; k++)
          xs.push(after.getFloat32(o.values + 4 * (r * o.col.size + k), true));
        if (!bit(o.validity, r)) {
          if (xs.some((x) => x !== 0)) throw new Error(`output '${o.col.name}' row ${r}: null with values`);
          col.push(null);
        } else col.push(xs);
      }
      out[o.col.name] = col;
      continue;
    }
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
  if (!transform) return { result, status: st, outputs: out };
  const columns: NonNullable<HostResult['columns']> = {};
  manifest.components.forEach((c, k) => {
    const d = outTable + k * OUTPUT_DESCRIPTOR.size;
    const valid = after.getUint32(d, true);
    const values = after.getUint32(d + 4, true);
    const offsets = after.getUint32(d + 8, true);
    const indices = after.getUint32(d + 12, true);
    const rowsOut: ((number | null)[] | [number, number][])[] = [];
    for (let r = 0; r < n; r++) {
      if (c.kind === 'gbdt') {
        const cells: (number | null)[] = [];
        for (let j = 0; j < c.inputWidth; j++) {
          const at = r * c.inputWidth + j;
          cells.push(bit(valid, at) ? after.getFloat64(values + 8 * at, true) : null);
        }
        rowsOut.push(cells);
      } else {
        const pairs: [number, number][] = [];
        const from = after.getInt32(offsets + 4 * r, true);
        const to = after.getInt32(offsets + 4 * (r + 1), true);
        for (let q = from; q < to; q++)
          pairs.push([after.getInt32(indices + 4 * q, true), after.getFloat64(values + 8 * q, true)]);
        rowsOut.push(pairs);
      }
    }
    columns[c.name] = rowsOut;
  });
  return { result, status: st, outputs: out, columns };
}
