// Arrow record batches ⇄ the ABI's HostColumns (docs/abi.md section 3: the column buffers ARE Arrow's
// buffer layout). Input: an apache-arrow RecordBatch and the manifest inputs. Output: one HostColumn
// per input, taken from the Arrow buffers without copying where the layouts match (float32/64, int32,
// bool, utf8, list<utf8>, list<int32>, fixed_size_list<float>); other compatible types (int64 ids,
// dictionaries, large_utf8, float64 for an f32 input, ...) go through JS values and rowsToColumns, so
// they round exactly as a JSON row would. Also: score results → an Arrow batch, and HostColumns → an
// Arrow batch (how tests and tools write input files in the model's own layout).

import * as A from 'apache-arrow';
import type { InputColumn, Row, RowValue } from '../../abi/index.js';
import { bitsAt, rowsToColumns, type HostColumn } from '../columns.js';
import { rebaseRow, RuntimeError } from '../errors.js';
import type { ScoreResult } from '../model.js';

const dec = new TextDecoder();

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The validity bitmap of d (null when every row is present), at least ⌈n/8⌉ bytes. */
function validityOf(d: A.Data, n: number): Uint8Array | null {
  const b = d.nullBitmap as Uint8Array | undefined;
  if (b === undefined || b.length === 0 || d.nullCount === 0) return null;
  return bitsAt(b, d.offset, n);
}

function typeError(c: InputColumn, t: A.DataType, want: string): RuntimeError {
  return new RuntimeError(
    'wrongType',
    `column '${c.name}' has Arrow type ${String(t)}; input '${c.name}' (${describeInput(c)}) needs ${want}`,
    c.name,
  );
}

export function describeInput(c: InputColumn): string {
  const t = c.type;
  switch (t.kind) {
    case 'bag':
      return `bag<${t.elem}>`;
    case 'vector':
      return `vector<${t.elem}, ${t.size}>`;
    case 'category':
      return 'category';
    default:
      return t.kind;
  }
}

const isFloat = (t: A.DataType, p?: A.Precision): boolean =>
  A.DataType.isFloat(t) && (p === undefined || t.precision === p);
const isInt32 = (t: A.DataType): boolean => A.DataType.isInt(t) && t.bitWidth === 32 && t.isSigned;
const isText = (t: A.DataType): boolean =>
  A.DataType.isUtf8(t) ||
  A.DataType.isLargeUtf8(t) ||
  (A.DataType.isDictionary(t) && (A.DataType.isUtf8(t.dictionary) || A.DataType.isLargeUtf8(t.dictionary)));
const isIntegral = (t: A.DataType): boolean =>
  A.DataType.isInt(t) || (A.DataType.isDictionary(t) && A.DataType.isInt(t.dictionary));

/** Throws PML4202 unless the Arrow type can carry the input (exactly, or by an exact conversion). */
export function checkArrowType(c: InputColumn, t: A.DataType): void {
  const k = c.type;
  switch (k.kind) {
    case 'f32':
    case 'f64':
      if (!isFloat(t) && !A.DataType.isInt(t)) throw typeError(c, t, 'a float or integer column');
      return;
    case 'int':
      if (!A.DataType.isInt(t)) throw typeError(c, t, 'an integer column (int32)');
      return;
    case 'bool':
      if (!A.DataType.isBool(t)) throw typeError(c, t, 'a bool column');
      return;
    case 'string':
    case 'category':
      if (!isText(t)) throw typeError(c, t, 'a utf8 column');
      return;
    case 'entity':
      if (!isText(t) && !isIntegral(t)) throw typeError(c, t, 'a utf8 or integer column (entity ids)');
      return;
    case 'bag': {
      const ok =
        (A.DataType.isList(t) || A.DataType.isLargeList(t)) &&
        (k.elem === 'string' ? isText(t.children[0]!.type) : A.DataType.isInt(t.children[0]!.type));
      if (!ok) throw typeError(c, t, k.elem === 'string' ? 'a list<utf8> column' : 'a list<int32> column');
      return;
    }
    case 'vector': {
      const list = A.DataType.isFixedSizeList(t) || A.DataType.isList(t) || A.DataType.isLargeList(t);
      const child = list ? t.children[0]!.type : null;
      if (child === null || (!isFloat(child) && !A.DataType.isInt(child)))
        throw typeError(c, t, `a fixed_size_list<float${k.elem === 'f64' ? 64 : 32}>[${k.size}] column`);
      if (A.DataType.isFixedSizeList(t) && t.listSize !== k.size)
        throw new RuntimeError(
          'wrongShape',
          `column '${c.name}' holds lists of ${t.listSize} numbers; input '${c.name}' is a vector of ${k.size}`,
          c.name,
        );
      return;
    }
  }
}

/** JS value of row r of a vector, as a JSON row would carry it (bigint → number, lists → arrays). */
function jsValue(v: unknown): RowValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof A.Vector || ArrayBuffer.isView(v) || Array.isArray(v)) {
    const arr = v instanceof A.Vector ? (v.toArray() as ArrayLike<unknown>) : (v as ArrayLike<unknown>);
    return Array.from(arr, (x) => (typeof x === 'bigint' ? Number(x) : x)) as string[] | number[];
  }
  return String(v) as RowValue;
}

/** The generic path: values through JS, encoded exactly as rowsToColumns encodes a JSON row. */
function viaRows(c: InputColumn, vec: A.Vector, n: number, rowBase: number): HostColumn {
  const rows: Row[] = new Array<Row>(n);
  const bigInt = A.DataType.isInt(vec.type) && vec.type.bitWidth === 64;
  for (let r = 0; r < n; r++) {
    const raw: unknown = vec.get(r);
    if (
      bigInt &&
      typeof raw === 'bigint' &&
      c.type.kind === 'int' &&
      (raw > 2147483647n || raw < -2147483648n)
    )
      throw new RuntimeError(
        'wrongType',
        `column '${c.name}' row ${rowBase + r}: ${raw} is not a 32-bit integer`,
        c.name,
        rowBase + r,
      );
    if (c.type.kind === 'entity' && typeof raw === 'bigint') rows[r] = { [c.name]: raw.toString() };
    else rows[r] = { [c.name]: jsValue(raw) };
  }
  try {
    return rowsToColumns([c], rows)[0]!;
  } catch (e) {
    throw rebaseRow(e, rowBase);
  }
}

/** The batch's column for input c (by name), checked against the input's type; PML4601 if absent. */
function inputVector(batch: A.RecordBatch, c: InputColumn): A.Vector {
  const vec = batch.getChild(c.name);
  if (vec === null)
    throw new RuntimeError(
      'missingColumn',
      `the input has no column '${c.name}' (${describeInput(c)})`,
      c.name,
    );
  checkArrowType(c, vec.type);
  return vec;
}

/**
 * One HostColumn per manifest input from an Arrow batch (columns found by name; extra columns are
 * ignored). `rowBase` is the file row of the batch's first row, for messages.
 */
export function arrowToColumns(
  inputs: readonly InputColumn[],
  batch: A.RecordBatch,
  rowBase = 0,
): HostColumn[] {
  const n = batch.numRows;
  return inputs.map((c) => {
    const vec = inputVector(batch, c);
    const d = vec.data.length === 1 ? vec.data[0]! : null;
    const fast = d !== null ? fastColumn(c, d, n) : null;
    return fast ?? viaRows(c, vec, n, rowBase);
  });
}

/** Throws PML4202 unless the Arrow type can carry a number column (a label, a weight): float, int, bool. */
export function checkNumberType(name: string, t: A.DataType): void {
  if (!isFloat(t) && !A.DataType.isInt(t) && !A.DataType.isBool(t))
    throw new RuntimeError(
      'wrongType',
      `column '${name}' has Arrow type ${String(t)}; '${name}' needs a float, integer or bool column`,
      name,
    );
}

/**
 * Plain rows from an Arrow batch (the trainer's input): the inputs' columns, their types checked as
 * arrowToColumns checks them and their values as a JSON row carries them (what viaRows encodes), plus
 * `numbers`: columns that are not model inputs (labels, weights: float, integer or bool). Values are
 * not range-checked here (the caller encodes them: see batch-io's openRowSource).
 */
export function arrowToRows(
  inputs: readonly InputColumn[],
  batch: A.RecordBatch,
  numbers: readonly string[] = [],
): Row[] {
  const n = batch.numRows;
  const rows: Row[] = new Array<Row>(n);
  for (let r = 0; r < n; r++) rows[r] = {};
  const fill = (name: string, vec: A.Vector, entity: boolean): void => {
    const bigInt = A.DataType.isInt(vec.type) && vec.type.bitWidth === 64;
    // one chunk of floats or 32-bit ints: the typed array itself (no per-cell get)
    const d = vec.data.length === 1 ? vec.data[0]! : null;
    const plain =
      isFloat(vec.type, A.Precision.SINGLE) ||
      isFloat(vec.type, A.Precision.DOUBLE) ||
      (A.DataType.isInt(vec.type) && !bigInt);
    if (d !== null && !entity && plain) {
      const values = d.values as ArrayLike<number>;
      const valid = validityOf(d, n);
      for (let r = 0; r < n; r++)
        rows[r]![name] = valid === null || ((valid[r >> 3]! >> (r & 7)) & 1) === 1 ? values[r]! : null;
      return;
    }
    for (let r = 0; r < n; r++) {
      const raw: unknown = vec.get(r);
      rows[r]![name] = entity && typeof raw === 'bigint' ? raw.toString() : jsValue(raw);
    }
  };
  for (const c of inputs) {
    fill(c.name, inputVector(batch, c), c.type.kind === 'entity');
  }
  for (const name of numbers) {
    const vec = batch.getChild(name);
    if (vec === null) throw new RuntimeError('missingColumn', `the input has no column '${name}'`, name);
    checkNumberType(name, vec.type);
    fill(name, vec, false);
  }
  return rows;
}

function column(validity: Uint8Array | null, values: Uint8Array): HostColumn {
  return { validity, values, offsets: null, data: null, childValidity: null, ids: null };
}

/** Buffers straight from Arrow when the layout is the ABI's; null when a conversion is needed. */
function fastColumn(c: InputColumn, d: A.Data, n: number): HostColumn | null {
  const t = d.type as A.DataType;
  const k = c.type;
  const validity = validityOf(d, n);
  switch (k.kind) {
    case 'f32':
    case 'f64':
      if (!isFloat(t, k.kind === 'f32' ? A.Precision.SINGLE : A.Precision.DOUBLE)) return null;
      return column(validity, bytesOf(d.values as Float32Array | Float64Array));
    case 'int':
      return isInt32(t) ? column(validity, bytesOf(d.values as Int32Array)) : null;
    case 'bool':
      return column(validity, bitsAt(d.values as Uint8Array, d.offset, n));
    case 'string':
    case 'category': {
      if (!A.DataType.isUtf8(t)) return null;
      const col = column(validity, d.values as Uint8Array);
      col.offsets = d.valueOffsets as Int32Array;
      return col;
    }
    case 'bag': {
      if (!A.DataType.isList(t)) return null;
      const child = d.children[0]!;
      const ct = child.type as A.DataType;
      if (k.elem === 'string' && !A.DataType.isUtf8(ct)) return null;
      if (k.elem === 'int' && !isInt32(ct)) return null;
      const m = child.length;
      const col = column(
        validity,
        k.elem === 'string' ? bytesOf(child.valueOffsets as Int32Array) : bytesOf(child.values as Int32Array),
      );
      col.offsets = d.valueOffsets as Int32Array;
      if (k.elem === 'string') col.data = child.values as Uint8Array;
      col.childValidity = validityOf(child, m);
      return col;
    }
    case 'vector': {
      if (!A.DataType.isFixedSizeList(t)) return null;
      const child = d.children[0]!;
      if (!isFloat(child.type, k.elem === 'f32' ? A.Precision.SINGLE : A.Precision.DOUBLE)) return null;
      return column(validity, bytesOf(child.values as Float32Array | Float64Array));
    }
    case 'entity': {
      if (!A.DataType.isUtf8(t)) return null;
      const offs = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      const ids: (string | null)[] = new Array<string | null>(n);
      for (let r = 0; r < n; r++)
        ids[r] =
          validity === null || ((validity[r >> 3]! >> (r & 7)) & 1) === 1
            ? dec.decode(bytes.subarray(offs[r]!, offs[r + 1]!))
            : null;
      const col = column(validity, new Uint8Array(1));
      col.ids = ids;
      return col;
    }
  }
}

// ---- HostColumns → Arrow (writing input files in the ABI layout) ----

function nulls(validity: Uint8Array | null, n: number): number {
  if (validity === null) return 0;
  let k = 0;
  for (let r = 0; r < n; r++) if (((validity[r >> 3]! >> (r & 7)) & 1) === 0) k++;
  return k;
}

/** The Arrow type an input is written with (the ABI's layout). */
export function arrowTypeOf(c: InputColumn): A.DataType {
  const k = c.type;
  switch (k.kind) {
    case 'f32':
      return new A.Float32();
    case 'f64':
      return new A.Float64();
    case 'int':
      return new A.Int32();
    case 'bool':
      return new A.Bool();
    case 'string':
    case 'category':
    case 'entity':
      return new A.Utf8();
    case 'bag':
      return new A.List(new A.Field('item', k.elem === 'string' ? new A.Utf8() : new A.Int32(), true));
    case 'vector':
      return new A.FixedSizeList(
        k.size,
        new A.Field('item', k.elem === 'f32' ? new A.Float32() : new A.Float64(), false),
      );
  }
}

/** An Arrow batch whose buffers are the HostColumns' buffers (entity ids written as utf8). */
export function columnsToArrow(
  inputs: readonly InputColumn[],
  n: number,
  cols: readonly HostColumn[],
): A.RecordBatch {
  const children = inputs.map((c, i) => {
    const col = cols[i]!;
    const type = arrowTypeOf(c);
    const nullCount = nulls(col.validity, n);
    const nullBitmap = col.validity ?? undefined;
    const k = c.type;
    switch (k.kind) {
      case 'f32':
        return A.makeData({
          type: type as A.Float32,
          length: n,
          nullCount,
          nullBitmap,
          data: new Float32Array(col.values.slice().buffer, 0, n),
        });
      case 'f64':
        return A.makeData({
          type: type as A.Float64,
          length: n,
          nullCount,
          nullBitmap,
          data: new Float64Array(col.values.slice().buffer, 0, n),
        });
      case 'int':
        return A.makeData({
          type: type as A.Int32,
          length: n,
          nullCount,
          nullBitmap,
          data: new Int32Array(col.values.slice().buffer, 0, n),
        });
      case 'bool':
        return A.makeData({ type: type as A.Bool, length: n, nullCount, nullBitmap, data: col.values });
      case 'string':
      case 'category':
        return A.makeData({
          type: type as A.Utf8,
          length: n,
          nullCount,
          nullBitmap,
          valueOffsets: col.offsets!,
          data: col.values,
        });
      case 'entity':
        return A.vectorFromArray(col.ids ?? new Array<null>(n).fill(null), new A.Utf8()).data[0]!;
      case 'bag': {
        const offsets = col.offsets!;
        const m = offsets[n]!;
        const itemValidity = col.childValidity;
        const child =
          k.elem === 'string'
            ? A.makeData({
                type: new A.Utf8(),
                length: m,
                nullCount: nulls(itemValidity, m),
                nullBitmap: itemValidity ?? undefined,
                valueOffsets: new Int32Array(col.values.slice().buffer, 0, m + 1),
                data: col.data!,
              })
            : A.makeData({
                type: new A.Int32(),
                length: m,
                nullCount: nulls(itemValidity, m),
                nullBitmap: itemValidity ?? undefined,
                data: new Int32Array(col.values.slice().buffer, 0, m),
              });
        return A.makeData({
          type: type as A.List,
          length: n,
          nullCount,
          nullBitmap,
          valueOffsets: offsets,
          child,
        });
      }
      case 'vector': {
        const m = n * k.size;
        const child =
          k.elem === 'f32'
            ? A.makeData({
                type: new A.Float32(),
                length: m,
                nullCount: 0,
                data: new Float32Array(col.values.slice().buffer, 0, m),
              })
            : A.makeData({
                type: new A.Float64(),
                length: m,
                nullCount: 0,
                data: new Float64Array(col.values.slice().buffer, 0, m),
              });
        return A.makeData({ type: type as A.FixedSizeList, length: n, nullCount, nullBitmap, child });
      }
    }
  });
  const schema = new A.Schema(inputs.map((c, i) => new A.Field(c.name, children[i]!.type, true)));
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: n, children }));
}

// ---- score results → Arrow ----

/** Output columns of a scored batch: every manifest output, then `_status` and `_rejection`. */
export function resultToArrow(
  result: ScoreResult,
  keep: { name: string; data: A.Data } | null,
): A.RecordBatch {
  const n = result.n;
  const children: A.Data[] = [];
  const fields: A.Field[] = [];
  if (keep !== null) {
    children.push(keep.data);
    fields.push(new A.Field(keep.name, keep.data.type, true));
  }
  for (const o of result.outputs) {
    const nullCount = nulls(o.validity, n);
    const nullBitmap = o.validity;
    let d: A.Data;
    if (o.size > 1) {
      const child = A.makeData({
        type: new A.Float32(),
        length: n * o.size,
        nullCount: 0,
        data: o.values as Float32Array,
      });
      d = A.makeData({
        type: new A.FixedSizeList(o.size, new A.Field('item', new A.Float32(), false)),
        length: n,
        nullCount,
        nullBitmap,
        child,
      });
    } else if (o.type === 'f32')
      d = A.makeData({
        type: new A.Float32(),
        length: n,
        nullCount,
        nullBitmap,
        data: o.values as Float32Array,
      });
    else if (o.type === 'f64')
      d = A.makeData({
        type: new A.Float64(),
        length: n,
        nullCount,
        nullBitmap,
        data: o.values as Float64Array,
      });
    else if (o.type === 'int')
      d = A.makeData({ type: new A.Int32(), length: n, nullCount, nullBitmap, data: o.values as Int32Array });
    else
      d = A.makeData({ type: new A.Bool(), length: n, nullCount, nullBitmap, data: o.values as Uint8Array });
    children.push(d);
    fields.push(new A.Field(o.name, d.type, true));
  }
  children.push(A.makeData({ type: new A.Uint32(), length: n, nullCount: 0, data: result.status }));
  fields.push(new A.Field('_status', new A.Uint32(), false));
  const rejections = new Array<string | null>(n);
  for (let r = 0; r < n; r++) {
    const rej = result.status[r] === 0 ? null : result.rejection(r);
    rejections[r] = rej === null ? null : `${rej.code}:${rej.input}`;
  }
  children.push(A.vectorFromArray(rejections, new A.Utf8()).data[0]!);
  fields.push(new A.Field('_rejection', new A.Utf8(), true));
  const schema = new A.Schema(fields);
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: n, children }));
}
