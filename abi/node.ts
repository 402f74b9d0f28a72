// Node entry point of abi/: reading and writing coefficient bundles on disk (node:fs, node:crypto;
// kept out of abi/index.ts so the browser runtime never pulls them in).
// Input: a bundle directory, or an in-memory Bundle. Output: the decoded Bundle (every number as f64,
// hashes verified), or the files bundle.json + Arrow IPC tables. Errors: BundleError PML3001–PML3006.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  Int8,
  List,
  Table,
  Utf8,
  type DataType,
  type Vector,
  RecordBatchReader,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
  type RecordBatch,
} from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  BUNDLE_JSON,
  type Bundle,
  type BundleJson,
  type CalibrationJson,
  type CalibrationParams,
  type ComponentCoefficients,
  type ComponentJson,
  type GbdtTree,
  type MlpLayer,
  type TableRef,
  type TransformJson,
  type TransformParams,
} from './bundle.js';
import { BundleError, BundleErrors } from './errors.js';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Canonical JSON (object keys sorted) — what componentHash() hashes. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The hash a manifest records for a bundle entry: SHA-256 of its canonical JSON (which holds its tables' hashes). */
export function entryHash(entry: ComponentJson | TransformJson | CalibrationJson): string {
  return sha256Hex(canonicalJson(entry));
}

// ---- writing ----

/**
 * A List or FixedSizeList vector built from exact buffers (vectorFromArray over-allocates list
 * children, which would put kilobytes of slack into every file).
 */
function listVector(
  rows: ArrayLike<number>[],
  item: Int32 | Float32 | Float64,
  fixed: number | null,
): Vector {
  const total = Array.from(rows).reduce((n, r) => n + r.length, 0);
  const values =
    item instanceof Int32
      ? new Int32Array(total)
      : item instanceof Float32
        ? new Float32Array(total)
        : new Float64Array(total);
  const offsets = new Int32Array(rows.length + 1);
  let at = 0;
  Array.from(rows).forEach((r, i) => {
    values.set(Array.from(r), at);
    at += r.length;
    offsets[i + 1] = at;
  });
  const child = makeData({ type: item, length: total, nullCount: 0, data: values } as never);
  const field = new Field('item', item, false);
  if (fixed !== null)
    return makeVector(
      makeData({ type: new FixedSizeList(fixed, field), length: rows.length, nullCount: 0, child } as never),
    );
  return makeVector(
    makeData({
      type: new List(field),
      length: rows.length,
      nullCount: 0,
      valueOffsets: offsets,
      child,
    } as never),
  );
}

export interface WriteOptions {
  /** Store floating columns as float32 (fixtures: half the bytes; values must already be f32-exact). */
  float32?: boolean;
}

/**
 * Writes `bundle` into `dir` (created if needed): one Arrow IPC file per table, then bundle.json.
 * Replaces the directory's previous bundle.json and *.arrow files; leaves other files alone.
 */
export function writeBundle(dir: string, bundle: Bundle, options: WriteOptions = {}): BundleJson {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.arrow') || f === BUNDLE_JSON) rmSync(join(dir, f));
  const float: DataType = options.float32 ? new Float32() : new Float64();
  const put = (file: string, table: Table): TableRef => {
    const bytes = tableToIPC(table, 'file');
    writeFileSync(join(dir, file), bytes);
    return { file, sha256: sha256Hex(bytes), rows: table.numRows };
  };
  const floats = (xs: ArrayLike<number>): Vector => vectorFromArray(Array.from(xs), float);
  const ints = (xs: number[]): Vector => vectorFromArray(xs, new Int32());

  const components: Record<string, ComponentJson> = {};
  for (const [name, c] of bundle.components) {
    const base = { classes: c.classes, inputWidth: c.inputWidth, hyperparameters: c.hyperparameters };
    const prefix = `component.${name}`;
    switch (c.kind) {
      case 'linear': {
        const cls: number[] = [];
        const idx: number[] = [];
        const w: number[] = [];
        for (let k = 0; k < c.classes; k++) {
          if (c.intercept) {
            cls.push(k);
            idx.push(-1);
            w.push(c.intercepts[k]!);
          }
          for (let j = 0; j < c.inputWidth; j++) {
            const v = c.weights[k * c.inputWidth + j]!;
            if (v === 0) continue;
            cls.push(k);
            idx.push(j);
            w.push(v);
          }
        }
        const t = new Table({ class: ints(cls), index: ints(idx), weight: floats(w) });
        components[name] = {
          kind: 'linear',
          ...base,
          intercept: c.intercept,
          tables: { weights: put(`${prefix}.weights.arrow`, t) },
        };
        break;
      }
      case 'random_effect': {
        const ids = [...c.blocks.keys()].sort(compareBytes);
        const blocks = ids.map((id) => c.blocks.get(id)!);
        const t = new Table({
          entity: vectorFromArray(ids, new Utf8()),
          block: listVector(blocks, float as Float32 | Float64, c.blockWidth),
        });
        components[name] = {
          kind: 'random_effect',
          ...base,
          intercept: c.intercept,
          entity: c.entity,
          blockWidth: c.blockWidth,
          tables: { entities: put(`${prefix}.entities.arrow`, t) },
        };
        break;
      }
      case 'gbdt': {
        const col = {
          tree: [] as number[],
          node: [] as number[],
          class: [] as number[],
          split: [] as number[],
          feature: [] as number[],
          threshold: [] as number[],
          categories: [] as number[][],
          default_left: [] as boolean[],
          left: [] as number[],
          right: [] as number[],
          value: [] as number[],
        };
        c.trees.forEach((tree, t) =>
          tree.nodes.forEach((n, i) => {
            col.tree.push(t);
            col.node.push(i);
            col.class.push(tree.class);
            col.split.push(n.split === 'leaf' ? 0 : n.split === 'numeric' ? 1 : 2);
            col.feature.push(n.feature);
            col.threshold.push(n.threshold);
            col.categories.push(n.categories);
            col.default_left.push(n.defaultLeft);
            col.left.push(n.left);
            col.right.push(n.right);
            col.value.push(n.value);
          }),
        );
        const nodes = new Table({
          tree: ints(col.tree),
          node: ints(col.node),
          class: ints(col.class),
          split: vectorFromArray(col.split, new Int8()),
          feature: ints(col.feature),
          threshold: floats(col.threshold),
          categories: listVector(col.categories, new Int32(), null),
          default_left: vectorFromArray(col.default_left, new Bool()),
          left: ints(col.left),
          right: ints(col.right),
          value: floats(col.value),
        });
        const baseT = new Table({ class: ints([...c.base.keys()]), value: floats(c.base) });
        components[name] = {
          kind: 'gbdt',
          ...base,
          trees: c.trees.length,
          tables: { nodes: put(`${prefix}.nodes.arrow`, nodes), base: put(`${prefix}.base.arrow`, baseT) },
        };
        break;
      }
      case 'mlp': {
        const t = new Table({
          layer: ints(c.layers.map((_, i) => i)),
          inputs: ints(c.layers.map((l) => l.inputs)),
          outputs: ints(c.layers.map((l) => l.outputs)),
          weights: listVector(
            c.layers.map((l) => l.weights),
            float as Float32 | Float64,
            null,
          ),
          bias: listVector(
            c.layers.map((l) => l.bias),
            float as Float32 | Float64,
            null,
          ),
        });
        components[name] = {
          kind: 'mlp',
          ...base,
          layers: [c.layers[0]?.inputs ?? c.inputWidth, ...c.layers.map((l) => l.outputs)],
          activation: c.activation,
          tables: { layers: put(`${prefix}.layers.arrow`, t) },
        };
        break;
      }
    }
  }

  const transforms: Record<string, TransformJson> = {};
  for (const [key, p] of bundle.transforms) {
    const file = `transform.${key}.arrow`;
    switch (p.kind) {
      case 'standardize':
        transforms[key] = {
          kind: 'standardize',
          width: p.mean.length,
          table: put(
            file,
            new Table({ element: ints([...p.mean.keys()]), mean: floats(p.mean), std: floats(p.std) }),
          ),
        };
        break;
      case 'quantiles':
        transforms[key] = {
          kind: 'quantiles',
          n: p.n,
          table: put(file, new Table({ boundary: floats(p.boundaries) })),
        };
        break;
      case 'vocab':
        transforms[key] = {
          kind: 'vocab',
          max: p.max,
          minCount: p.minCount,
          size: p.labels.length,
          table: put(
            file,
            new Table({ label: vectorFromArray(p.labels, new Utf8()), count: floats(p.counts) }),
          ),
        };
        break;
    }
  }

  const calibrations: Record<string, CalibrationJson> = {};
  for (const [key, p] of bundle.calibrations) {
    const file = `calibration.${key}.arrow`;
    if (p.kind === 'platt')
      calibrations[key] = {
        kind: 'platt',
        of: p.of,
        table: put(file, new Table({ a: floats([p.a]), b: floats([p.b]) })),
      };
    else
      calibrations[key] = {
        kind: 'isotonic',
        of: p.of,
        points: p.x.length,
        table: put(file, new Table({ x: floats(p.x), y: floats(p.y) })),
      };
  }

  const json: BundleJson = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    model: bundle.model,
    sourceSha256: bundle.sourceSha256,
    producer: bundle.producer,
    notes: bundle.notes,
    components,
    transforms,
    calibrations,
  };
  writeFileSync(join(dir, BUNDLE_JSON), JSON.stringify(json, null, 2) + '\n');
  return json;
}

// ---- reading ----

/** Reads and verifies a bundle directory. Throws BundleError (PML3001–PML3006). */
export function readBundle(dir: string): Bundle {
  const path = join(dir, BUNDLE_JSON);
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !isFile(path)) throw BundleErrors.notFound(dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw BundleErrors.notFound(dir, errorText(e));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw BundleErrors.malformed(`not valid JSON (${(e as Error).message})`);
  }
  const json = validateJson(raw);
  const load = (ref: TableRef): Table => loadTable(dir, ref);

  const components = new Map<string, ComponentCoefficients>();
  for (const [name, c] of Object.entries(json.components))
    components.set(name, decodeComponent(name, c, load));
  const transforms = new Map<string, TransformParams>();
  for (const [key, t] of Object.entries(json.transforms)) transforms.set(key, decodeTransform(t, load));
  const calibrations = new Map<string, CalibrationParams>();
  for (const [key, c] of Object.entries(json.calibrations)) calibrations.set(key, decodeCalibration(c, load));
  return {
    model: json.model,
    sourceSha256: json.sourceSha256,
    producer: json.producer,
    notes: json.notes,
    components,
    transforms,
    calibrations,
  };
}

function loadTable(dir: string, ref: TableRef): Table {
  const path = join(dir, ref.file);
  if (ref.file.includes('/') || ref.file.includes('\\') || !isFile(path))
    throw BundleErrors.tableMissing(ref.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw BundleErrors.tableMissing(ref.file, errorText(e));
  }
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256) throw BundleErrors.hashMismatch(ref.file, ref.sha256, actual);
  const magic = 'ARROW1';
  if (
    bytes.length < 12 ||
    bytes.subarray(0, 6).toString('latin1') !== magic ||
    bytes.subarray(bytes.length - 6).toString('latin1') !== magic
  )
    throw BundleErrors.tableCorrupt(ref.file, 'not an Arrow IPC file (magic ARROW1 missing)');
  let t: Table;
  try {
    t = decodeIpcFile(bytes);
  } catch (e) {
    throw BundleErrors.tableCorrupt(ref.file, `unreadable Arrow IPC (${(e as Error).message})`);
  }
  if (t.numRows !== ref.rows)
    throw BundleErrors.tableCorrupt(ref.file, `has ${t.numRows} rows, bundle.json says ${ref.rows}`);
  return t;
}

/** A regular file (not a directory, socket or device) at `path`. */
function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decodes an Arrow IPC file through its footer, one record batch at a time, after checking that the
 * footer's blocks lie inside the file. Not tableFromIPC: when a footer points at the wrong bytes (a
 * table cut in the middle, hashed again), apache-arrow 21's iterator rereads the same block forever.
 * Throws an Error saying what is wrong (loadTable turns it into PML3006).
 */
function decodeIpcFile(bytes: Uint8Array): Table {
  // ARROW1, padding, messages, footer, int32 footer length, ARROW1 (magic checked by the caller)
  const end = bytes.length - 10;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(end, true);
  if (!(length > 0 && length <= end - 8)) throw new Error(`footer length ${length} does not fit the file`);
  const footer = Footer.decode(bytes.subarray(end - length, end));
  const body = end - length;
  // every block holds a message of at least 8 bytes: more blocks than that cannot be real
  if (footer.numRecordBatches + footer.numDictionaries > body / 8)
    throw new Error('the footer lists more batches than the file can hold');
  const blocks = [...footer.dictionaryBatches(), ...footer.recordBatches()];
  for (const b of blocks) {
    const start = Number(b.offset);
    const stop = start + b.metaDataLength + Number(b.bodyLength);
    if (!(Number.isSafeInteger(start) && start >= 8 && b.metaDataLength > 0 && stop <= body))
      throw new Error(`a batch at offset ${start} lies outside the file's ${body} bytes of messages`);
  }
  const reader = RecordBatchReader.from(bytes);
  if (!reader.isFile()) throw new Error('not in the Arrow IPC file format');
  reader.open();
  const batches: RecordBatch[] = [];
  for (let i = 0; i < footer.numRecordBatches; i++) {
    const batch = reader.readRecordBatch(i);
    if (batch === null) throw new Error(`record batch ${i} is not a record batch`);
    batches.push(batch);
  }
  return new Table(reader.schema, batches);
}

type ColKind = 'int' | 'float' | 'bool' | 'utf8' | 'intList' | 'floatList' | 'floatFixed';

function column(t: Table, file: string, name: string, kind: ColKind): Vector {
  const v = t.getChild(name);
  if (v === null) throw BundleErrors.tableCorrupt(file, `no column '${name}'`);
  const type = String(v.type);
  const ok =
    kind === 'int'
      ? type === 'Int32' || type === 'Int8'
      : kind === 'float'
        ? type === 'Float64' || type === 'Float32'
        : kind === 'bool'
          ? type === 'Bool'
          : kind === 'utf8'
            ? type === 'Utf8'
            : kind === 'intList'
              ? type === 'List<Int32>'
              : kind === 'floatList'
                ? type === 'List<Float64>' || type === 'List<Float32>'
                : /^FixedSizeList\[\d+\]<Float(64|32)>$/.test(type);
  if (!ok) throw BundleErrors.tableCorrupt(file, `column '${name}' has type ${type}, expected ${kind}`);
  if (v.nullCount > 0) throw BundleErrors.tableCorrupt(file, `column '${name}' has nulls`);
  return v;
}

const nums = (v: Vector): Float64Array => Float64Array.from(v.toArray() as ArrayLike<number>);
const intsOf = (v: Vector): number[] => Array.from(v.toArray() as ArrayLike<number>);
const rowArray = (v: Vector, i: number): Float64Array =>
  Float64Array.from((v.get(i) as Vector).toArray() as ArrayLike<number>);

function decodeComponent(
  name: string,
  c: ComponentJson,
  load: (r: TableRef) => Table,
): ComponentCoefficients {
  const base = { classes: c.classes, inputWidth: c.inputWidth, hyperparameters: c.hyperparameters };
  switch (c.kind) {
    case 'linear': {
      const ref = c.tables.weights;
      const t = load(ref);
      const cls = intsOf(column(t, ref.file, 'class', 'int'));
      const idx = intsOf(column(t, ref.file, 'index', 'int'));
      const w = nums(column(t, ref.file, 'weight', 'float'));
      const weights = new Float64Array(c.classes * c.inputWidth);
      const intercepts = new Float64Array(c.classes);
      for (let i = 0; i < cls.length; i++) {
        const k = cls[i]!;
        const j = idx[i]!;
        if (k < 0 || k >= c.classes || j < -1 || j >= c.inputWidth)
          throw BundleErrors.tableCorrupt(
            ref.file,
            `row ${i}: class ${k} / index ${j} out of range for component '${name}'`,
          );
        if (j === -1) intercepts[k] = w[i]!;
        else weights[k * c.inputWidth + j] = w[i]!;
      }
      return { kind: 'linear', ...base, intercept: c.intercept, weights, intercepts };
    }
    case 'random_effect': {
      const ref = c.tables.entities;
      const t = load(ref);
      const ids = column(t, ref.file, 'entity', 'utf8');
      const block = column(t, ref.file, 'block', 'floatFixed');
      const blocks = new Map<string, Float64Array>();
      for (let i = 0; i < t.numRows; i++) {
        const b = rowArray(block, i);
        if (b.length !== c.blockWidth)
          throw BundleErrors.tableCorrupt(
            ref.file,
            `blocks have ${b.length} numbers, bundle.json says ${c.blockWidth}`,
          );
        blocks.set(ids.get(i) as string, b);
      }
      return {
        kind: 'random_effect',
        ...base,
        intercept: c.intercept,
        entity: c.entity,
        blockWidth: c.blockWidth,
        blocks,
      };
    }
    case 'gbdt': {
      const ref = c.tables.nodes;
      const t = load(ref);
      const tree = intsOf(column(t, ref.file, 'tree', 'int'));
      const node = intsOf(column(t, ref.file, 'node', 'int'));
      const cls = intsOf(column(t, ref.file, 'class', 'int'));
      const split = intsOf(column(t, ref.file, 'split', 'int'));
      const feature = intsOf(column(t, ref.file, 'feature', 'int'));
      const threshold = nums(column(t, ref.file, 'threshold', 'float'));
      const cats = column(t, ref.file, 'categories', 'intList');
      const defaultLeft = column(t, ref.file, 'default_left', 'bool');
      const left = intsOf(column(t, ref.file, 'left', 'int'));
      const right = intsOf(column(t, ref.file, 'right', 'int'));
      const value = nums(column(t, ref.file, 'value', 'float'));
      const trees: GbdtTree[] = [];
      for (let i = 0; i < t.numRows; i++) {
        if (tree[i] !== trees.length - 1 && tree[i] !== trees.length)
          throw BundleErrors.tableCorrupt(ref.file, `row ${i}: trees must be numbered 0, 1, ... in order`);
        if (tree[i] === trees.length) trees.push({ class: cls[i]!, nodes: [] });
        const tr = trees[trees.length - 1]!;
        if (node[i] !== tr.nodes.length)
          throw BundleErrors.tableCorrupt(ref.file, `row ${i}: nodes must be numbered 0, 1, ... per tree`);
        if (cls[i] !== tr.class)
          throw BundleErrors.tableCorrupt(ref.file, `row ${i}: a tree's nodes must share one class`);
        const s = split[i]!;
        if (s < 0 || s > 2)
          throw BundleErrors.tableCorrupt(
            ref.file,
            `row ${i}: split kind ${s} (0 leaf, 1 numeric, 2 categorical)`,
          );
        tr.nodes.push({
          split: s === 0 ? 'leaf' : s === 1 ? 'numeric' : 'categorical',
          feature: feature[i]!,
          threshold: threshold[i]!,
          categories: Array.from((cats.get(i) as Vector).toArray() as ArrayLike<number>),
          defaultLeft: defaultLeft.get(i) as boolean,
          left: left[i]!,
          right: right[i]!,
          value: value[i]!,
        });
      }
      if (trees.length !== c.trees)
        throw BundleErrors.tableCorrupt(ref.file, `has ${trees.length} trees, bundle.json says ${c.trees}`);
      const bref = c.tables.base;
      const bt = load(bref);
      const bcls = intsOf(column(bt, bref.file, 'class', 'int'));
      const bval = nums(column(bt, bref.file, 'value', 'float'));
      const baseMargin = new Float64Array(c.classes);
      bcls.forEach((k, i) => {
        if (k < 0 || k >= c.classes) throw BundleErrors.tableCorrupt(bref.file, `class ${k} out of range`);
        baseMargin[k] = bval[i]!;
      });
      return { kind: 'gbdt', ...base, trees, base: baseMargin };
    }
    case 'mlp': {
      const ref = c.tables.layers;
      const t = load(ref);
      const ins = intsOf(column(t, ref.file, 'inputs', 'int'));
      const outs = intsOf(column(t, ref.file, 'outputs', 'int'));
      const w = column(t, ref.file, 'weights', 'floatList');
      const b = column(t, ref.file, 'bias', 'floatList');
      const layers: MlpLayer[] = ins.map((inputs, i) => {
        const layer = { inputs, outputs: outs[i]!, weights: rowArray(w, i), bias: rowArray(b, i) };
        if (layer.weights.length !== inputs * layer.outputs || layer.bias.length !== layer.outputs)
          throw BundleErrors.tableCorrupt(
            ref.file,
            `layer ${i}: weights/bias sizes do not match ${inputs}×${layer.outputs}`,
          );
        return layer;
      });
      return { kind: 'mlp', ...base, activation: c.activation, layers };
    }
  }
}

function decodeTransform(t: TransformJson, load: (r: TableRef) => Table): TransformParams {
  const ref = t.table;
  const tab = load(ref);
  switch (t.kind) {
    case 'standardize':
      return {
        kind: 'standardize',
        mean: nums(column(tab, ref.file, 'mean', 'float')),
        std: nums(column(tab, ref.file, 'std', 'float')),
      };
    case 'quantiles':
      return { kind: 'quantiles', n: t.n, boundaries: nums(column(tab, ref.file, 'boundary', 'float')) };
    case 'vocab': {
      const labels = column(tab, ref.file, 'label', 'utf8');
      return {
        kind: 'vocab',
        max: t.max,
        minCount: t.minCount,
        labels: Array.from({ length: tab.numRows }, (_, i) => labels.get(i) as string),
        counts: nums(column(tab, ref.file, 'count', 'float')),
      };
    }
  }
}

function decodeCalibration(c: CalibrationJson, load: (r: TableRef) => Table): CalibrationParams {
  const ref = c.table;
  const t = load(ref);
  if (c.kind === 'platt') {
    const a = nums(column(t, ref.file, 'a', 'float'));
    const b = nums(column(t, ref.file, 'b', 'float'));
    if (a.length !== 1) throw BundleErrors.tableCorrupt(ref.file, 'a Platt table has exactly one row');
    return { kind: 'platt', of: c.of, a: a[0]!, b: b[0]! };
  }
  return {
    kind: 'isotonic',
    of: c.of,
    x: nums(column(t, ref.file, 'x', 'float')),
    y: nums(column(t, ref.file, 'y', 'float')),
  };
}

// ---- bundle.json shape ----

function validateJson(raw: unknown): BundleJson {
  const fail = (what: string): never => {
    throw BundleErrors.malformed(what);
  };
  if (!isObject(raw)) return fail('the top level is not an object');
  if (raw['format'] !== BUNDLE_FORMAT || raw['formatVersion'] !== BUNDLE_FORMAT_VERSION)
    throw BundleErrors.version(raw['format'], raw['formatVersion']);
  const model = raw['model'];
  if (!isObject(model) || typeof model['name'] !== 'string' || typeof model['version'] !== 'string')
    fail("'model' must be {name, version} strings");
  if (typeof raw['sourceSha256'] !== 'string') fail("'sourceSha256' must be a string");
  if (typeof raw['producer'] !== 'string') fail("'producer' must be a string");
  if (!Array.isArray(raw['notes'])) fail("'notes' must be a list of strings");
  for (const key of ['components', 'transforms', 'calibrations'])
    if (!isObject(raw[key])) fail(`'${key}' must be an object`);
  const isRef = (r: unknown): boolean =>
    isObject(r) &&
    typeof r['file'] === 'string' &&
    typeof r['sha256'] === 'string' &&
    Number.isInteger(r['rows']);
  const tablesOf: Record<string, string[]> = {
    linear: ['weights'],
    random_effect: ['entities'],
    gbdt: ['nodes', 'base'],
    mlp: ['layers'],
  };
  for (const [name, c] of Object.entries(raw['components'] as Record<string, unknown>)) {
    if (!isObject(c)) return fail(`component '${name}' is not an object`);
    const kind = c['kind'];
    if (typeof kind !== 'string' || !(kind in tablesOf))
      return fail(`component '${name}' has unknown kind ${JSON.stringify(kind)}`);
    for (const k of ['classes', 'inputWidth'])
      if (!Number.isInteger(c[k]) || (c[k] as number) < 0)
        fail(`component '${name}': '${k}' must be a non-negative integer`);
    if (!isObject(c['hyperparameters'])) fail(`component '${name}': 'hyperparameters' must be an object`);
    const tables = c['tables'];
    if (!isObject(tables)) return fail(`component '${name}': 'tables' missing`);
    for (const t of tablesOf[kind]!)
      if (!isRef(tables[t])) fail(`component '${name}': table '${t}' must be {file, sha256, rows}`);
    if ((kind === 'linear' || kind === 'random_effect') && typeof c['intercept'] !== 'boolean')
      fail(`component '${name}': 'intercept' must be true or false`);
    if (kind === 'random_effect' && (typeof c['entity'] !== 'string' || !Number.isInteger(c['blockWidth'])))
      fail(`component '${name}': 'entity' and 'blockWidth' are required`);
    if (kind === 'gbdt' && !Number.isInteger(c['trees']))
      fail(`component '${name}': 'trees' must be an integer`);
    if (kind === 'mlp' && (!Array.isArray(c['layers']) || typeof c['activation'] !== 'string'))
      fail(`component '${name}': 'layers' and 'activation' are required`);
  }
  const transformKinds = ['standardize', 'quantiles', 'vocab'];
  for (const [key, t] of Object.entries(raw['transforms'] as Record<string, unknown>))
    if (!isObject(t) || !transformKinds.includes(t['kind'] as string) || !isRef(t['table']))
      fail(`transform '${key}' must be {kind: standardize|quantiles|vocab, ..., table}`);
  for (const [key, t] of Object.entries(raw['calibrations'] as Record<string, unknown>))
    if (
      !isObject(t) ||
      !['platt', 'isotonic'].includes(t['kind'] as string) ||
      typeof t['of'] !== 'string' ||
      !isRef(t['table'])
    )
      fail(`calibration '${key}' must be {kind: platt|isotonic, of, table}`);
  return raw as unknown as BundleJson;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Byte order of UTF-8 (= code point order), the order entity tables and vocabularies are sorted in. */
export function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

export { BundleError };
