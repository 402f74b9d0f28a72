// Host-side columns in the ABI v1 buffer layout (docs/abi.md section 3.1), and the encoder from
// plain row objects. Input: the manifest's input columns and rows ({input: value | null}). Output:
// one HostColumn per input, checked against the manifest (unknown fields, wrong types and vector
// lengths raise RuntimeError naming the field and row). Range, required and unknown-category rules
// are NOT checked here: the module decides those and reports them per row (status words).
// Browser-safe: no Node built-ins.

import { entityKey, utf8Into, utf8Length, type InputColumn, type Row } from '../abi/index.js';
import { RuntimeError } from './errors.js';

/** One input column, buffer by buffer as the module reads it. */
export interface HostColumn {
  /** Validity bitmap (bit r = row r present); null = every row present. */
  validity: Uint8Array | null;
  /** The values buffer (numbers little-endian, a bool bitmap, UTF-8 bytes, or bag item offsets/ints). */
  values: Uint8Array;
  /** Strings and bags: int32[n + 1]. */
  offsets: Int32Array | null;
  /** bag<string>: the items' UTF-8 bytes. */
  data: Uint8Array | null;
  /** bags: validity of the items (null = all present). */
  childValidity: Uint8Array | null;
  /** Entity inputs: the ids as text (the host looks their blocks up; the module reads only validity). */
  ids: (string | null)[] | null;
}

/** Typed arrays are in the host's byte order; the ABI's is little endian (DataView otherwise). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function setBit(b: Uint8Array, i: number): void {
  b[i >> 3]! |= 1 << (i & 7);
}

/**
 * Reusable memory for the number buffers of columns that are consumed before the next encode (the
 * synchronous Model.score copies them into module memory at once). Every ArrayBuffer costs a
 * backing-store allocation (measured here: 1.2 µs for 40 bytes, 4.3 µs for 4 KB), which dominated
 * Model.score at batch 1; with an arena a batch allocates only when it outgrows the last one.
 * Regions handed out stay valid until the next reset(); reset() before each encode.
 */
export class ColumnArena {
  private buf = new ArrayBuffer(1 << 16);
  private at = 0;

  reset(): void {
    this.at = 0;
  }

  /** A zeroed, 8-aligned region of `bytes` bytes. */
  take(bytes: number): Uint8Array {
    const size = (Math.max(1, bytes) + 7) & ~7;
    if (this.at + size > this.buf.byteLength) {
      // earlier regions keep the old buffer alive; the next batch starts in the bigger one
      this.buf = new ArrayBuffer(Math.max(this.buf.byteLength * 2, size * 2));
      this.at = 0;
    }
    const region = new Uint8Array(this.buf, this.at, size);
    region.fill(0);
    this.at += size;
    return region;
  }
}

/** A zeroed byte buffer from the arena, or a fresh one. */
function bytesFor(arena: ColumnArena | undefined, bytes: number): Uint8Array {
  return arena === undefined ? new Uint8Array(Math.max(1, bytes)) : arena.take(bytes);
}

/**
 * Encodes rows into one column per manifest input. Fields the model does not know are an error.
 * With an arena, number and vector buffers live in it (valid until its next reset).
 */
export function rowsToColumns(
  inputs: readonly InputColumn[],
  rows: readonly Row[],
  arena?: ColumnArena,
): HostColumn[] {
  const known = knownNames(inputs);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      throw new RuntimeError('wrongType', `row ${r} is not an object of input values`, null, r);
    // for..in allocates nothing (Object.keys would, per row); inherited fields are not the row's
    for (const k in row)
      if (!known.has(k) && Object.hasOwn(row, k))
        throw new RuntimeError(
          'unknownField',
          `row ${r} has a field '${k}' the model has no input for (inputs: ${[...known].join(', ')})`,
          k,
          r,
        );
  }
  const cols = new Array<HostColumn>(inputs.length);
  for (let i = 0; i < inputs.length; i++) cols[i] = encodeColumn(inputs[i]!, rows, arena);
  return cols;
}

/** The input names of a manifest's inputs, computed once per inputs array. */
const knownSets = new WeakMap<readonly InputColumn[], Set<string>>();
function knownNames(inputs: readonly InputColumn[]): Set<string> {
  let s = knownSets.get(inputs);
  if (s === undefined) knownSets.set(inputs, (s = new Set(inputs.map((c) => c.name))));
  return s;
}

function wrong(c: InputColumn, r: number, want: string, v: unknown): RuntimeError {
  const got = v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
  return new RuntimeError('wrongType', `input '${c.name}' row ${r}: expected ${want}, got ${got}`, c.name, r);
}

/** One input's column from rows (also how readers check a batch's values: errors name field and row). */
export function encodeColumn(c: InputColumn, rows: readonly Row[], arena?: ColumnArena): HostColumn {
  const n = rows.length;
  const validity = bytesFor(arena, Math.ceil(n / 8));
  const col: HostColumn = {
    validity,
    values: new Uint8Array(0),
    offsets: null,
    data: null,
    childValidity: null,
    ids: null,
  };
  const t = c.type;
  switch (t.kind) {
    case 'f32':
    case 'f64':
    case 'int': {
      const size = t.kind === 'f64' ? 8 : 4;
      const region = bytesFor(arena, n * size);
      const dv = new DataView(region.buffer, region.byteOffset, region.byteLength);
      for (let r = 0; r < n; r++) {
        const v = rows[r]![c.name];
        if (v === null || v === undefined) continue;
        if (typeof v !== 'number') throw wrong(c, r, t.kind === 'int' ? 'an integer' : 'a number', v);
        if (t.kind === 'int' && (!Number.isInteger(v) || v < -2147483648 || v > 2147483647))
          throw new RuntimeError(
            'wrongType',
            `input '${c.name}' row ${r}: ${v} is not a 32-bit integer`,
            c.name,
            r,
          );
        setBit(validity, r);
        if (t.kind === 'f32') dv.setFloat32(r * 4, v, true);
        else if (t.kind === 'f64') dv.setFloat64(r * 8, v, true);
        else dv.setInt32(r * 4, v, true);
      }
      col.values = region;
      return col;
    }
    case 'bool': {
      const values = bytesFor(arena, Math.ceil(n / 8));
      for (let r = 0; r < n; r++) {
        const v = rows[r]![c.name];
        if (v === null || v === undefined) continue;
        if (typeof v !== 'boolean') throw wrong(c, r, 'true or false', v);
        setBit(validity, r);
        if (v) setBit(values, r);
      }
      col.values = values;
      return col;
    }
    case 'string':
    case 'category':
      encodeStrings(col, c, t.kind, rows, arena);
      return col;
    case 'bag':
      encodeBags(col, c, t.elem, rows, arena);
      return col;
    case 'vector':
      col.values = encodeVectors(c, t.elem, t.size, rows, validity, arena);
      return col;
    case 'entity': {
      const ids = new Array<string | null>(n);
      for (let r = 0; r < n; r++) {
        const v = rows[r]![c.name];
        if (v === null || v === undefined) {
          ids[r] = null;
          continue;
        }
        if (typeof v !== 'string' && typeof v !== 'number')
          throw wrong(c, r, 'an entity id (string or integer)', v);
        setBit(validity, r);
        ids[r] = entityKey(v);
      }
      col.values = bytesFor(arena, 1);
      col.ids = ids;
      return col;
    }
  }
}

/** An int32 buffer of `n` zeros from the arena, or a fresh one. */
function int32sFor(arena: ColumnArena | undefined, n: number): Int32Array {
  if (arena === undefined) return new Int32Array(n);
  const region = arena.take(n * 4);
  return new Int32Array(region.buffer, region.byteOffset, n);
}

/** string / category values: offsets int32[n + 1] and the UTF-8 bytes, written once (no copy per row). */
function encodeStrings(
  col: HostColumn,
  c: InputColumn,
  kind: 'string' | 'category',
  rows: readonly Row[],
  arena: ColumnArena | undefined,
): void {
  const n = rows.length;
  const validity = col.validity!;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const v = rows[r]![c.name];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string') throw wrong(c, r, kind === 'category' ? 'a label (string)' : 'a string', v);
    total += utf8Length(v);
  }
  const offsets = int32sFor(arena, n + 1);
  const bytes = bytesFor(arena, total);
  let at = 0;
  for (let r = 0; r < n; r++) {
    offsets[r] = at;
    const v = rows[r]![c.name];
    if (typeof v !== 'string') continue;
    setBit(validity, r);
    at = utf8Into(v, bytes, at);
  }
  offsets[n] = at;
  col.values = bytes;
  col.offsets = offsets;
}

/**
 * bag<string|int> values: row offsets into the items, the items' validity, and either item offsets
 * + UTF-8 bytes (strings) or the int32 items. Two passes over the rows: check and size, then write.
 */
function encodeBags(
  col: HostColumn,
  c: InputColumn,
  elem: 'string' | 'int',
  rows: readonly Row[],
  arena: ColumnArena | undefined,
): void {
  const n = rows.length;
  const validity = col.validity!;
  const want = `a list of ${elem === 'string' ? 'strings' : 'integers'}`;
  let m = 0;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const v = rows[r]![c.name];
    if (v === null || v === undefined) continue;
    if (!Array.isArray(v)) throw wrong(c, r, want, v);
    for (const x of v as unknown[]) {
      if (x === null) continue;
      if (elem === 'string' && typeof x === 'string') total += utf8Length(x);
      else if (elem !== 'int' || typeof x !== 'number' || !Number.isInteger(x)) throw wrong(c, r, want, x);
    }
    m += v.length;
  }
  const offsets = int32sFor(arena, n + 1);
  const child = bytesFor(arena, Math.ceil(m / 8));
  const items = int32sFor(arena, elem === 'string' ? m + 1 : Math.max(1, m));
  const bytes = elem === 'string' ? bytesFor(arena, total) : null;
  let i = 0;
  let at = 0;
  for (let r = 0; r < n; r++) {
    offsets[r] = i;
    const v = rows[r]![c.name];
    if (!Array.isArray(v)) continue;
    setBit(validity, r);
    for (const x of v as (string | number | null)[]) {
      if (x !== null) {
        setBit(child, i);
        if (bytes === null) items[i] = x as number;
      }
      if (bytes !== null) {
        items[i] = at;
        if (x !== null) at = utf8Into(x as string, bytes, at);
      }
      i++;
    }
  }
  offsets[n] = i;
  if (bytes !== null) items[m] = at;
  col.values = new Uint8Array(items.buffer, items.byteOffset, items.byteLength);
  col.data = bytes;
  col.offsets = offsets;
  col.childValidity = child;
}

/**
 * vector<f32|f64, size> values, row-major: a list of numbers or a typed array per row (a separate
 * function so that V8 optimises its loop on its own: inside encodeColumn's switch it ran ~5× slower).
 */
function encodeVectors(
  c: InputColumn,
  elem: 'f32' | 'f64',
  size: number,
  rows: readonly Row[],
  validity: Uint8Array,
  arena: ColumnArena | undefined,
): Uint8Array {
  const n = rows.length;
  const bytes = elem === 'f64' ? 8 : 4;
  const region = bytesFor(arena, n * size * bytes);
  const { buffer, byteOffset } = region;
  const len = Math.floor(region.byteLength / bytes);
  const f64 = elem === 'f64' && LITTLE_ENDIAN ? new Float64Array(buffer, byteOffset, len) : null;
  const f32 = elem === 'f32' && LITTLE_ENDIAN ? new Float32Array(buffer, byteOffset, len) : null;
  const dv = LITTLE_ENDIAN ? null : new DataView(buffer, byteOffset, region.byteLength);
  for (let r = 0; r < n; r++) {
    const v = rows[r]![c.name];
    if (v === null || v === undefined) continue;
    // plain arrays first: the common case skips the typed-array checks
    const list = Array.isArray(v);
    if (!list && !(ArrayBuffer.isView(v) && !(v instanceof DataView)))
      throw wrong(c, r, `a list of ${size} numbers`, v);
    const xs = v as ArrayLike<unknown>;
    if (xs.length !== size)
      throw new RuntimeError(
        'wrongShape',
        `input '${c.name}' row ${r}: expected ${size} numbers, got ${xs.length}`,
        c.name,
        r,
      );
    setBit(validity, r);
    const base = r * size;
    if (!list && (v instanceof Float32Array || v instanceof Float64Array)) {
      if (f32 !== null) f32.set(v, base);
      else if (f64 !== null) f64.set(v, base);
      else for (let k = 0; k < size; k++) writeNumber(dv!, elem, base + k, v[k]!);
      continue;
    }
    const bad =
      f32 !== null
        ? copyNumbers(xs, f32, base, size)
        : f64 !== null
          ? copyNumbers(xs, f64, base, size)
          : writeNumbers(xs, dv!, elem, base, size);
    if (bad >= 0) throw wrong(c, r, `a list of ${size} numbers`, xs[bad]);
  }
  return region;
}

/**
 * Copies xs[0..size) to out[base..): the index of the first element that is not a number, or -1.
 * Small and monomorphic on purpose: V8 keeps this loop tight (~0.8 ns a number, measured).
 */
function copyNumbers(
  xs: ArrayLike<unknown>,
  out: Float32Array | Float64Array,
  base: number,
  size: number,
): number {
  for (let k = 0; k < size; k++) {
    const x = xs[k];
    if (typeof x !== 'number') return k;
    out[base + k] = x;
  }
  return -1;
}

/** copyNumbers for a big-endian host (DataView writes, little endian). */
function writeNumbers(
  xs: ArrayLike<unknown>,
  dv: DataView,
  elem: 'f32' | 'f64',
  base: number,
  size: number,
): number {
  for (let k = 0; k < size; k++) {
    const x = xs[k];
    if (typeof x !== 'number') return k;
    writeNumber(dv, elem, base + k, x);
  }
  return -1;
}

function writeNumber(dv: DataView, elem: 'f32' | 'f64', i: number, x: number): void {
  if (elem === 'f64') dv.setFloat64(i * 8, x, true);
  else dv.setFloat32(i * 4, x, true);
}

/** An int32 view of `b` (a copy when it is not 4-byte aligned). */
function int32View(b: Uint8Array): Int32Array {
  if (b.byteOffset % 4 === 0) return new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  return new Int32Array(b.slice().buffer, 0, b.byteLength >> 2);
}

/** Offsets [a..b] of `o`, less o[a] (a slice's offsets start at 0). */
function rebased(o: Int32Array, a: number, b: number): Int32Array {
  const out = new Int32Array(b - a + 1);
  const base = o[a]!;
  for (let i = a; i <= b; i++) out[i - a] = o[i]! - base;
  return out;
}

/**
 * Bits [offset, offset + n) of a bitmap as a bitmap starting at bit 0, at least ⌈n/8⌉ bytes: a view
 * when offset is a multiple of 8, else a shifted copy (bits past the end of b read as 0). Used for
 * row slices here and for Arrow's offset bitmaps (arrow-columns.ts).
 */
export function bitsAt(b: Uint8Array, offset: number, n: number): Uint8Array {
  const need = Math.max(1, Math.ceil(n / 8));
  if (offset % 8 === 0 && b.length - offset / 8 >= need) return b.subarray(offset / 8, offset / 8 + need);
  const out = new Uint8Array(need);
  for (let r = 0; r < n; r++) {
    const i = offset + r;
    if (i >> 3 < b.length && ((b[i >> 3]! >> (i & 7)) & 1) === 1) out[r >> 3]! |= 1 << (r & 7);
  }
  return out;
}

/**
 * Rows [a, b) of a column (a multiple of 8, so row bitmaps slice on a byte): views where the layout
 * allows, rebased offsets and shifted item bitmaps where it does not. The module sees the slice as a
 * batch of its own; rows are independent, so scoring slices gives the batch's bytes (tested).
 */
export function sliceRows(c: HostColumn, t: InputColumn['type'], a: number, b: number): HostColumn {
  const rowBits = (m: Uint8Array | null): Uint8Array | null => (m === null ? null : bitsAt(m, a, b - a));
  const out: HostColumn = {
    validity: rowBits(c.validity),
    values: c.values,
    offsets: null,
    data: null,
    childValidity: null,
    ids: c.ids === null ? null : c.ids.slice(a, b),
  };
  switch (t.kind) {
    case 'f32':
    case 'int':
      out.values = c.values.subarray(a * 4, b * 4);
      break;
    case 'f64':
      out.values = c.values.subarray(a * 8, b * 8);
      break;
    case 'vector': {
      const w = t.size * (t.elem === 'f64' ? 8 : 4);
      out.values = c.values.subarray(a * w, b * w);
      break;
    }
    case 'bool':
      out.values = rowBits(c.values)!;
      break;
    case 'entity':
      break;
    case 'string':
    case 'category': {
      const o = c.offsets!;
      out.offsets = rebased(o, a, b);
      out.values = c.values.subarray(o[a]!, o[b]!);
      break;
    }
    case 'bag': {
      const o = c.offsets!;
      const i0 = o[a]!;
      const i1 = o[b]!;
      out.offsets = rebased(o, a, b);
      out.childValidity = c.childValidity === null ? null : bitsAt(c.childValidity, i0, i1 - i0);
      if (t.elem === 'string') {
        const items = int32View(c.values);
        const io = rebased(items, i0, i1);
        out.values = new Uint8Array(io.buffer);
        out.data = c.data === null ? null : c.data.subarray(items[i0]!, items[i1]!);
      } else out.values = c.values.subarray(i0 * 4, i1 * 4);
      break;
    }
  }
  return out;
}
