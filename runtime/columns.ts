// Host-side columns in the ABI v1 buffer layout (docs/abi.md section 3.1), and the encoder from
// plain row objects. Input: the manifest's input columns and rows ({input: value | null}). Output:
// one HostColumn per input, checked against the manifest (unknown fields, wrong types and vector
// lengths raise RuntimeError naming the field and row). Range, required and unknown-category rules
// are NOT checked here: the module decides those and reports them per row (status words).
// Browser-safe: no Node built-ins.

import { entityKey, type InputColumn, type Row } from '../abi/index.js';
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

const enc = new TextEncoder();

function bitmap(n: number): Uint8Array {
  return new Uint8Array(Math.max(1, Math.ceil(n / 8)));
}

function setBit(b: Uint8Array, i: number): void {
  b[i >> 3]! |= 1 << (i & 7);
}

/** Encodes rows into one column per manifest input. Fields the model does not know are an error. */
export function rowsToColumns(inputs: readonly InputColumn[], rows: readonly Row[]): HostColumn[] {
  const known = new Set(inputs.map((c) => c.name));
  rows.forEach((row, r) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      throw new RuntimeError('wrongType', `row ${r} is not an object of input values`, null, r);
    for (const k of Object.keys(row))
      if (!known.has(k))
        throw new RuntimeError(
          'unknownField',
          `row ${r} has a field '${k}' the model has no input for (inputs: ${[...known].join(', ')})`,
          k,
          r,
        );
  });
  return inputs.map((c) => encodeColumn(c, rows));
}

function wrong(c: InputColumn, r: number, want: string, v: unknown): RuntimeError {
  const got = v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
  return new RuntimeError('wrongType', `input '${c.name}' row ${r}: expected ${want}, got ${got}`, c.name, r);
}

/** One input's column from rows (also how readers check a batch's values: errors name field and row). */
export function encodeColumn(c: InputColumn, rows: readonly Row[]): HostColumn {
  const n = rows.length;
  const validity = bitmap(n);
  const col: HostColumn = {
    validity,
    values: new Uint8Array(0),
    offsets: null,
    data: null,
    childValidity: null,
    ids: null,
  };
  const t = c.type;
  const present = (v: unknown): boolean => v !== null && v !== undefined;
  switch (t.kind) {
    case 'f32':
    case 'f64':
    case 'int': {
      const size = t.kind === 'f64' ? 8 : 4;
      const buf = new ArrayBuffer(Math.max(1, n) * size);
      const dv = new DataView(buf);
      rows.forEach((row, r) => {
        const v = row[c.name];
        if (!present(v)) return;
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
      });
      col.values = new Uint8Array(buf);
      return col;
    }
    case 'bool': {
      const values = bitmap(n);
      rows.forEach((row, r) => {
        const v = row[c.name];
        if (!present(v)) return;
        if (typeof v !== 'boolean') throw wrong(c, r, 'true or false', v);
        setBit(validity, r);
        if (v) setBit(values, r);
      });
      col.values = values;
      return col;
    }
    case 'string':
    case 'category': {
      const parts: Uint8Array[] = [];
      const offsets = new Int32Array(n + 1);
      let at = 0;
      rows.forEach((row, r) => {
        offsets[r] = at;
        const v = row[c.name];
        if (!present(v)) return;
        if (typeof v !== 'string')
          throw wrong(c, r, t.kind === 'category' ? 'a label (string)' : 'a string', v);
        const b = enc.encode(v);
        setBit(validity, r);
        parts.push(b);
        at += b.length;
      });
      offsets[n] = at;
      col.values = concat(parts, at);
      col.offsets = offsets;
      return col;
    }
    case 'bag': {
      const offsets = new Int32Array(n + 1);
      const items: (string | number | null)[] = [];
      rows.forEach((row, r) => {
        offsets[r] = items.length;
        const v = row[c.name];
        if (!present(v)) return;
        if (!Array.isArray(v))
          throw wrong(c, r, `a list of ${t.elem === 'string' ? 'strings' : 'integers'}`, v);
        setBit(validity, r);
        for (const x of v as unknown[]) {
          if (x === null) items.push(null);
          else if (t.elem === 'string' && typeof x === 'string') items.push(x);
          else if (t.elem === 'int' && typeof x === 'number' && Number.isInteger(x)) items.push(x);
          else throw wrong(c, r, `a list of ${t.elem === 'string' ? 'strings' : 'integers'}`, x);
        }
      });
      offsets[n] = items.length;
      const m = items.length;
      const child = bitmap(m);
      items.forEach((x, i) => x !== null && setBit(child, i));
      if (t.elem === 'string') {
        const itemOffsets = new Int32Array(m + 1);
        const parts: Uint8Array[] = [];
        let at = 0;
        items.forEach((x, i) => {
          itemOffsets[i] = at;
          if (x === null) return;
          const b = enc.encode(x as string);
          parts.push(b);
          at += b.length;
        });
        itemOffsets[m] = at;
        col.values = new Uint8Array(itemOffsets.buffer);
        col.data = concat(parts, at);
      } else
        col.values = new Uint8Array(Int32Array.from(items, (x) => (x === null ? 0 : (x as number))).buffer);
      col.offsets = offsets;
      col.childValidity = child;
      return col;
    }
    case 'vector': {
      const size = t.elem === 'f64' ? 8 : 4;
      const buf = new ArrayBuffer(Math.max(1, n * t.size) * size);
      const dv = new DataView(buf);
      rows.forEach((row, r) => {
        const v = row[c.name];
        if (!present(v)) return;
        if (!Array.isArray(v)) throw wrong(c, r, `a list of ${t.size} numbers`, v);
        if (v.length !== t.size)
          throw new RuntimeError(
            'wrongShape',
            `input '${c.name}' row ${r}: expected ${t.size} numbers, got ${v.length}`,
            c.name,
            r,
          );
        setBit(validity, r);
        (v as unknown[]).forEach((x, k) => {
          if (typeof x !== 'number') throw wrong(c, r, `a list of ${t.size} numbers`, x);
          if (size === 8) dv.setFloat64((r * t.size + k) * 8, x, true);
          else dv.setFloat32((r * t.size + k) * 4, x, true);
        });
      });
      col.values = new Uint8Array(buf);
      return col;
    }
    case 'entity': {
      const ids: (string | null)[] = [];
      rows.forEach((row, r) => {
        const v = row[c.name];
        if (!present(v)) {
          ids.push(null);
          return;
        }
        if (typeof v !== 'string' && typeof v !== 'number')
          throw wrong(c, r, 'an entity id (string or integer)', v);
        setBit(validity, r);
        ids.push(entityKey(v));
      });
      col.values = new Uint8Array(1);
      col.ids = ids;
      return col;
    }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(Math.max(1, total));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
