// The runtime core: load a compiled proml module and score rows or columns with it, the same way in
// Node, in workers and in browsers (no Node built-ins here). Loading checks everything a host relies
// on (valid wasm, no imports, the ABI exports, the manifest and its ABI version, optionally the
// content hash); scoring copies the ABI v1 buffers in, calls proml_score and copies the outputs out.
// Input: module bytes (or a compiled WebAssembly.Module, for workers), rows or HostColumns, an
// entity store for per-entity components. Output: ScoreResult (raw output buffers + status words;
// .rows() for plain objects). Every call starts with proml_reset, so nothing leaks across calls.

import {
  ABI_VERSION,
  EXPORTS,
  INPUT_DESCRIPTOR,
  MANIFEST_SECTION,
  OUTPUT_DESCRIPTOR,
  ROW_ERRORS,
  decodeStatus,
  parseManifest,
  ManifestError,
  type Manifest,
  type Row,
} from '../abi/index.js';
import { ColumnArena, rowsToColumns, sliceRows, type HostColumn } from './columns.js';
import { rebaseRow, RuntimeError } from './errors.js';

interface Exports {
  memory: WebAssembly.Memory;
  proml_abi_version: () => number;
  proml_alloc: (bytes: number) => number;
  proml_reset: () => void;
  proml_score?: (n: number, inputs: number, outputs: number, status: number) => number;
  proml_transform?: (n: number, inputs: number, outputs: number, status: number) => number;
}

/** Per-entity coefficient blocks (GAME random effects): one block per id, null for an unknown id. */
export interface EntityStore {
  fetch(
    component: string,
    ids: readonly (string | null)[],
  ): (Float64Array | null)[] | Promise<(Float64Array | null)[]>;
}

export interface LoadOptions {
  /** Refuse the module unless its SHA-256 (hex) is this. */
  sha256?: string;
  /** The product expected (default 'scoring'). */
  product?: 'scoring' | 'transform';
  /**
   * Big batches are scored in chunks of rows whose input buffers take about this many bytes (default
   * DEFAULT_CHUNK_BYTES); 0 = one proml_score call per batch. Same results either way (rows are
   * independent); chunks keep the copied rows in cache for the call that reads them and keep the
   * module's memory small (measured: 1,000-wide f32 rows, 8,192 per batch, 1.25 → 1.5–1.6 M rows/s).
   */
  chunkBytes?: number;
}

/** LoadOptions.chunkBytes by default: 1 MiB of input per proml_score call. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** One output column as the module wrote it. */
export interface OutputBuffer {
  name: string;
  type: 'f32' | 'f64' | 'int' | 'bool';
  /** 1, or k for a vector output (k values per row). */
  size: number;
  /** Bit r = row r present. */
  validity: Uint8Array;
  /** f32/f64/int: n·size numbers; bool: a bitmap. */
  values: Float32Array | Float64Array | Int32Array | Uint8Array;
}

export type OutputValue = number | boolean | number[] | null;

export interface Rejection {
  /** PML41xx */
  code: string;
  input: string;
  message: string;
}

export class ScoreResult {
  constructor(
    readonly n: number,
    readonly status: Uint32Array,
    readonly outputs: OutputBuffer[],
    private readonly inputNames: readonly string[],
  ) {}

  /** Rows the module rejected. */
  get rejected(): number {
    let k = 0;
    for (const s of this.status) if (s !== 0) k++;
    return k;
  }

  /** Why row r was rejected, or null when it was scored. */
  rejection(r: number): Rejection | null {
    const d = decodeStatus(this.status[r]!);
    if (d === null) return null;
    const code = `PML${d.code}`;
    const known = Object.values(ROW_ERRORS).find((e) => e.code === d.code);
    const input = this.inputNames[d.input] ?? `#${d.input}`;
    return { code, input, message: `${known?.message ?? 'rejected'}: '${input}'` };
  }

  /** Output `name` of row r (null when missing or rejected). */
  value(name: string, r: number): OutputValue {
    const o = this.outputs.find((x) => x.name === name);
    if (o === undefined) throw new Error(`no output '${name}'`);
    if (((o.validity[r >> 3]! >> (r & 7)) & 1) === 0) return null;
    if (o.type === 'bool') return ((o.values[r >> 3]! >> (r & 7)) & 1) === 1;
    if (o.size > 1) return Array.from((o.values as Float32Array).subarray(r * o.size, (r + 1) * o.size));
    return o.values[r]!;
  }

  /** Plain objects: {output: value} per scored row, {rejected: {...}} per rejected row. */
  rows(): (
    { outputs: Record<string, OutputValue>; rejected: null } | { outputs: null; rejected: Rejection }
  )[] {
    const out: (
      { outputs: Record<string, OutputValue>; rejected: null } | { outputs: null; rejected: Rejection }
    )[] = [];
    for (let r = 0; r < this.n; r++) {
      const rej = this.rejection(r);
      if (rej !== null) {
        out.push({ outputs: null, rejected: rej });
        continue;
      }
      const o: Record<string, OutputValue> = {};
      for (const b of this.outputs) o[b.name] = this.value(b.name, r);
      out.push({ outputs: o, rejected: null });
    }
    return out;
  }

  /** Every byte the module wrote (status, then per output validity and values): what parity tests compare. */
  bytes(): Uint8Array {
    const parts: Uint8Array[] = [
      new Uint8Array(this.status.buffer, this.status.byteOffset, this.status.byteLength),
    ];
    for (const o of this.outputs)
      parts.push(o.validity, new Uint8Array(o.values.buffer, o.values.byteOffset, o.values.byteLength));
    const total = parts.reduce((t, p) => t + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** What a transform module computed: per component its input columns (docs/abi.md 3.4). */
export interface TransformResult {
  n: number;
  status: Uint32Array;
  columns: (
    | { name: string; kind: 'cells'; width: number; values: Float64Array; validity: Uint8Array }
    | { name: string; kind: 'csr'; width: number; offsets: Int32Array; cols: Int32Array; vals: Float64Array }
  )[];
}

/** WebAssembly.Module.customSections (in every engine; missing from some typings). */
/**
 * Entity blocks of a batch packed per block column (docs/abi.md): f64[n × width] values and a validity
 * bitmap (bit r set = row r has a block), checked against the widths the module declares.
 */
export function packBlocks(
  m: Manifest,
  n: number,
  blocks: (Float64Array | null | undefined)[][],
  arena?: ColumnArena,
): { width: number; validity: Uint8Array; values: Float64Array }[] {
  const bm = Math.max(1, Math.ceil(n / 8));
  return m.entityBlocks.map((b, k) => {
    const w = b.width;
    let values: Float64Array;
    let validity: Uint8Array;
    if (arena === undefined) {
      values = new Float64Array(Math.max(1, n * w));
      validity = new Uint8Array(bm);
    } else {
      const region = arena.take(8 * Math.max(1, n * w));
      values = new Float64Array(region.buffer, region.byteOffset, Math.max(1, n * w));
      validity = arena.take(bm);
    }
    const rows = blocks[k]!;
    for (let r = 0; r < n; r++) {
      const blk = rows[r];
      if (blk === null || blk === undefined) continue;
      if (blk.length !== w)
        throw new RuntimeError(
          'wrongShape',
          `entity store: block of '${b.component}' has ${blk.length} numbers, the module needs ${w}`,
          b.entity,
          r,
        );
      // (set() measured faster than a hand-written loop even for 11-number GAME blocks)
      values.set(blk, r * w);
      validity[r >> 3]! |= 1 << (r & 7);
    }
    return { width: w, validity, values };
  });
}

function customSections(module: WebAssembly.Module, name: string): ArrayBuffer[] {
  return (
    WebAssembly.Module as unknown as { customSections(m: WebAssembly.Module, n: string): ArrayBuffer[] }
  ).customSections(module, name);
}

/** SHA-256 (hex) with WebCrypto (Node 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A batch copied into a module's memory once and scored again on demand (Model.stage). */
export interface StagedBatch {
  n: number;
  /** proml_score on the staged batch: rejected rows, or a negative fatal code. */
  call: () => number;
  /** The outputs and status of the last call. */
  result: () => ScoreResult;
}

/** Where place() put a batch: the descriptor tables, the status array and the output buffers. */
interface Placed {
  inTable: number;
  outTable: number;
  status: number;
  outs: { o: Manifest['outputs'][number]; validity: number; values: number; bytes: number }[];
  bm: number;
}

/** Input-column buffers placed in a module's memory: one descriptor's worth of addresses. */
interface InputAddresses {
  validity: number;
  offsets: number;
  values: number;
  data: number;
  child: number;
}

/**
 * Copies a batch into a module's memory in two phases: every block is allocated first (proml_alloc
 * may grow memory, which detaches views), then flush() copies the bytes in with fresh views.
 */
class Stager {
  private readonly copies: { at: number; bytes: Uint8Array }[] = [];
  constructor(
    private readonly e: Exports,
    private readonly n: number,
  ) {
    e.proml_reset();
  }

  alloc(bytes: number): number {
    const p = this.e.proml_alloc(Math.max(bytes, 1));
    if (p === 0)
      throw new RuntimeError('outOfMemory', `cannot allocate ${bytes} bytes for a batch of ${this.n} rows`);
    return p;
  }

  /** Allocates room for bytes (0 for null); copied in by flush(). */
  put(bytes: Uint8Array | null): number {
    if (bytes === null) return 0;
    const at = this.alloc(bytes.byteLength);
    this.copies.push({ at, bytes });
    return at;
  }

  putColumns(cols: readonly HostColumn[]): InputAddresses[] {
    return cols.map((c) => ({
      validity: this.put(c.validity),
      offsets: this.put(
        c.offsets === null
          ? null
          : new Uint8Array(c.offsets.buffer, c.offsets.byteOffset, c.offsets.byteLength),
      ),
      values: this.put(c.values),
      data: this.put(c.data),
      child: this.put(c.childValidity),
    }));
  }

  /** Copies every put() block in; returns views valid until the next allocation. */
  flush(): { u8: Uint8Array; dv: DataView } {
    const u8 = new Uint8Array(this.e.memory.buffer);
    for (const c of this.copies) u8.set(c.bytes, c.at);
    return { u8, dv: new DataView(this.e.memory.buffer) };
  }

  /** Writes input descriptors (docs/abi.md 3.1) from index `first` of the table on. */
  static describeInputs(
    u8: Uint8Array,
    dv: DataView,
    table: number,
    first: number,
    cols: InputAddresses[],
  ): void {
    for (let i = 0; i < cols.length; i++) {
      const d = cols[i]!;
      const at = table + (first + i) * INPUT_DESCRIPTOR.size;
      u8.fill(0, at, at + INPUT_DESCRIPTOR.size);
      dv.setUint32(at + INPUT_DESCRIPTOR.validity, d.validity, true);
      dv.setUint32(at + INPUT_DESCRIPTOR.offsets, d.offsets, true);
      dv.setUint32(at + INPUT_DESCRIPTOR.values, d.values, true);
      dv.setUint32(at + INPUT_DESCRIPTOR.data, d.data, true);
      dv.setUint32(at + INPUT_DESCRIPTOR.childValidity, d.child, true);
    }
  }
}

export class Model {
  private readonly exports: Exports;
  readonly inputNames: readonly string[];

  private constructor(
    readonly module: WebAssembly.Module,
    readonly manifest: Manifest,
    /** SHA-256 of the module bytes (hex), or null when loaded from a compiled module. */
    readonly sha256: string | null,
    private readonly chunkBytes: number,
  ) {
    const instance = new WebAssembly.Instance(module, {});
    this.exports = instance.exports as unknown as Exports;
    if (this.exports.proml_abi_version() !== ABI_VERSION)
      throw new RuntimeError(
        'exports',
        `proml_abi_version() says ${this.exports.proml_abi_version()}, want ${ABI_VERSION}`,
      );
    this.inputNames = manifest.inputs.map((c) => c.name);
  }

  /** Compiles and checks module bytes. */
  static async load(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Promise<Model> {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    // WebCrypto exists in Node and in browsers' secure contexts (https, localhost); elsewhere the
    // hash is unknown (null) unless the caller asks for a check, which then cannot be done
    const subtle = (globalThis.crypto as { subtle?: unknown } | undefined)?.subtle;
    const sha = subtle === undefined ? null : await sha256Hex(u8);
    if (options.sha256 !== undefined) {
      if (sha === null)
        throw new RuntimeError(
          'hash',
          'cannot check the SHA-256 here: WebCrypto needs a secure context (https or localhost)',
        );
      if (options.sha256.toLowerCase() !== sha)
        throw new RuntimeError('hash', `the module's SHA-256 is ${sha}, expected ${options.sha256}`);
    }
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(u8);
    } catch (e) {
      throw new RuntimeError('notWasm', `not a valid WebAssembly module: ${(e as Error).message}`);
    }
    return Model.fromModule(module, options, sha);
  }

  /** Checks and instantiates an already compiled module (e.g. one shared with worker threads). */
  static fromModule(
    module: WebAssembly.Module,
    options: LoadOptions = {},
    sha256: string | null = null,
  ): Model {
    const imports = WebAssembly.Module.imports(module);
    if (imports.length > 0)
      throw new RuntimeError(
        'imports',
        `the module imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}; proml modules import nothing`,
      );
    const sections = customSections(module, MANIFEST_SECTION);
    if (sections.length !== 1)
      throw new RuntimeError('notWasm', `not a proml module: no '${MANIFEST_SECTION}' section`);
    let manifest: Manifest;
    try {
      manifest = parseManifest(new TextDecoder().decode(sections[0]!));
    } catch (e) {
      if (e instanceof ManifestError) throw new RuntimeError('notWasm', e.message);
      throw e;
    }
    const product = options.product ?? 'scoring';
    if (manifest.product !== product)
      throw new RuntimeError(
        'product',
        `this is a ${manifest.product} module; a ${product} module is needed`,
      );
    const want = [
      EXPORTS.memory,
      EXPORTS.abiVersion,
      EXPORTS.alloc,
      EXPORTS.reset,
      product === 'scoring' ? EXPORTS.score : EXPORTS.transform,
    ];
    const have = WebAssembly.Module.exports(module).map((e) => e.name);
    const missing = want.filter((w) => !have.includes(w));
    const extra = have.filter((h) => !want.includes(h as (typeof want)[number]));
    if (missing.length > 0 || extra.length > 0)
      throw new RuntimeError(
        'exports',
        `exports differ from ABI ${ABI_VERSION}: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`,
      );
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!(Number.isInteger(chunkBytes) && chunkBytes >= 0))
      throw new RuntimeError('badCall', `chunkBytes must be a whole number of bytes ≥ 0, got ${chunkBytes}`);
    return new Model(module, manifest, sha256, chunkBytes);
  }

  /**
   * Scores plain rows (see rowsToColumns for the accepted values). A batch of more than about
   * chunkBytes of input is converted and scored a chunk of rows at a time, so each chunk's columns
   * are still in cache when they are copied into the module (errors still name the batch's row).
   */
  score(rows: readonly Row[], entities?: EntityStore): ScoreResult {
    const n = rows.length;
    const chunk = this.rowChunk(n);
    // synchronous: the columns are copied into module memory before anything else encodes
    if (chunk >= n) {
      this.arena.reset();
      return this.scoreColumns(n, rowsToColumns(this.manifest.inputs, rows, this.arena), entities);
    }
    return this.scoreChunks(n, chunk, (a, b) => {
      this.arena.reset();
      let cols: HostColumn[];
      try {
        cols = rowsToColumns(this.manifest.inputs, rows.slice(a, b), this.arena);
      } catch (e) {
        throw rebaseRow(e, a);
      }
      const blocks = this.fetchBlocks(b - a, cols, entities);
      if (blocks instanceof Promise)
        throw new RuntimeError('noEntityStore', 'the entity store is asynchronous: use scoreAsync()');
      return { cols, blocks };
    });
  }

  /**
   * score()'s rows per chunk from the manifest (one proml_score call per chunk): all of them, or
   * about chunkBytes of input, a string or a bag counted as 32 bytes (chunkRows sees the real bytes).
   */
  private rowChunk(n: number): number {
    if (this.chunkBytes === 0 || n <= 8) return n;
    let perRow = 0;
    for (const c of this.manifest.inputs) {
      const t = c.type;
      perRow +=
        t.kind === 'vector'
          ? t.size * (t.elem === 'f64' ? 8 : 4)
          : t.kind === 'string' || t.kind === 'bag' || t.kind === 'category'
            ? 32
            : 8;
    }
    return this.rowsPerChunk(n, perRow * n);
  }

  /** Number buffers of score()'s columns, reused across calls (see ColumnArena). */
  private readonly arena = new ColumnArena();
  /** place()'s packed entity blocks, reused across calls (copied into the module at once). */
  private readonly blockArena = new ColumnArena();

  /** Like score(), awaiting an asynchronous entity store (Redis, ...). */
  async scoreAsync(rows: readonly Row[], entities?: EntityStore): Promise<ScoreResult> {
    const cols = rowsToColumns(this.manifest.inputs, rows);
    const blocks = await this.fetchBlocks(rows.length, cols, entities);
    return this.call(rows.length, cols, blocks);
  }

  /** Scores columns already in the ABI layout (one per manifest input, e.g. from an Arrow batch). */
  scoreColumns(n: number, cols: readonly HostColumn[], entities?: EntityStore): ScoreResult {
    const blocks = this.fetchBlocks(n, cols, entities);
    if (blocks instanceof Promise)
      throw new RuntimeError('noEntityStore', 'the entity store is asynchronous: use scoreAsync()');
    return this.call(n, cols, blocks);
  }

  private fetchBlocks(
    n: number,
    cols: readonly HostColumn[],
    entities: EntityStore | undefined,
  ): (Float64Array | null)[][] | Promise<(Float64Array | null)[][]> {
    const eb = this.manifest.entityBlocks;
    if (eb.length === 0) return [];
    if (entities === undefined)
      throw new RuntimeError(
        'noEntityStore',
        `components ${eb.map((b) => `'${b.component}'`).join(', ')} need per-entity coefficients: pass an entity store`,
      );
    const got = eb.map((b) => {
      const col = cols[this.inputNames.indexOf(b.entity)];
      const ids = col?.ids ?? new Array<string | null>(n).fill(null);
      return entities.fetch(b.component, ids);
    });
    if (got.some((g) => g instanceof Promise)) return Promise.all(got);
    return got as (Float64Array | null)[][];
  }

  /**
   * The entity blocks a batch needs, per manifest.entityBlocks entry, one per row (null: unknown or
   * missing id). Hosts that score elsewhere (worker threads) fetch here and pass them to scorePrepared.
   */
  blocksFor(
    n: number,
    cols: readonly HostColumn[],
    entities?: EntityStore,
  ): (Float64Array | null)[][] | Promise<(Float64Array | null)[][]> {
    return this.fetchBlocks(n, cols, entities);
  }

  /** Scores columns with their entity blocks already fetched (see blocksFor). */
  scorePrepared(n: number, cols: readonly HostColumn[], blocks: (Float64Array | null)[][]): ScoreResult {
    return this.call(n, cols, blocks);
  }

  /**
   * Copies a batch in once for repeated scoring without host work (timing, e.g. `proml tune`):
   * `call()` runs proml_score again on the same bytes in memory and returns its result (rejected
   * rows, or a negative fatal code); `result()` copies the outputs out. Valid until this model's
   * next score, transform or stage call (each starts with proml_reset).
   */
  stage(n: number, cols: readonly HostColumn[], blocks: (Float64Array | null)[][]): StagedBatch {
    const placed = this.place(n, cols, blocks);
    const e = this.exports;
    return {
      n,
      call: () => e.proml_score!(n, placed.inTable, placed.outTable, placed.status),
      result: () => this.collect(n, placed),
    };
  }

  private call(n: number, cols: readonly HostColumn[], blocks: (Float64Array | null)[][]): ScoreResult {
    const chunk = this.chunkRows(n, cols);
    if (chunk >= n) return this.collect(n, this.scoreOnce(n, cols, blocks));
    const inputs = this.manifest.inputs;
    return this.scoreChunks(n, chunk, (a, b) => ({
      cols: cols.map((c, i) => sliceRows(c, inputs[i]!.type, a, b)),
      blocks: blocks.map((k) => k.slice(a, b)),
    }));
  }

  /**
   * Rows [0, n) in chunks of `chunk` rows (a multiple of 8), each placed and scored on its own
   * from what `part(a, b)` gives for rows [a, b); the outputs gathered into whole-batch buffers.
   */
  private scoreChunks(
    n: number,
    chunk: number,
    part: (a: number, b: number) => { cols: readonly HostColumn[]; blocks: (Float64Array | null)[][] },
  ): ScoreResult {
    let whole: ScoreResult | null = null;
    for (let a = 0; a < n; a += chunk) {
      const b = Math.min(n, a + chunk);
      const { cols, blocks } = part(a, b);
      const one = this.collect(b - a, this.scoreOnce(b - a, cols, blocks));
      whole ??= this.emptyResult(n, one);
      whole.status.set(one.status, a);
      for (let j = 0; j < one.outputs.length; j++) {
        const o = one.outputs[j]!;
        const w = whole.outputs[j]!;
        w.validity.set(o.validity.subarray(0, Math.ceil((b - a) / 8)), a >> 3);
        if (o.type === 'bool') w.values.set(o.values.subarray(0, Math.ceil((b - a) / 8)), a >> 3);
        else w.values.set(o.values, a * o.size);
      }
    }
    return whole!;
  }

  /** Rows per proml_score call for this batch: all of them, or ~chunkBytes of input (multiple of 8). */
  private chunkRows(n: number, cols: readonly HostColumn[]): number {
    if (this.chunkBytes === 0 || n <= 8) return n;
    let bytes = 0;
    for (const c of cols)
      bytes +=
        c.values.byteLength +
        (c.offsets === null ? 0 : c.offsets.byteLength) +
        (c.data === null ? 0 : c.data.byteLength);
    return this.rowsPerChunk(n, bytes);
  }

  /** Rows per chunk for n rows of `bytes` input in all: n, or ~chunkBytes' worth (whole blocks of 128 or 8 rows). */
  private rowsPerChunk(n: number, bytes: number): number {
    if (bytes <= this.chunkBytes) return n;
    const rows = Math.floor((this.chunkBytes * n) / bytes);
    // blocked code paths work in blocks of up to 128 rows: whole blocks when chunks are that big
    return rows >= 128 ? rows - (rows % 128) : Math.max(8, rows - (rows % 8));
  }

  /** A batch's result buffers, shaped like a chunk's. */
  private emptyResult(n: number, like: ScoreResult): ScoreResult {
    const bm = Math.max(1, Math.ceil(n / 8));
    const outputs: OutputBuffer[] = like.outputs.map((o) => ({
      ...o,
      validity: new Uint8Array(bm),
      values:
        o.type === 'bool'
          ? new Uint8Array(bm)
          : new (o.values.constructor as Float32ArrayConstructor)(n * o.size),
    }));
    return new ScoreResult(n, new Uint32Array(n), outputs, this.inputNames);
  }

  /** Places a batch and runs proml_score on it; throws on a fatal result. */
  private scoreOnce(n: number, cols: readonly HostColumn[], blocks: (Float64Array | null)[][]): Placed {
    const placed = this.place(n, cols, blocks);
    const result = this.exports.proml_score!(n, placed.inTable, placed.outTable, placed.status);
    if (result === -2)
      throw new RuntimeError('outOfMemory', `the module ran out of memory scoring ${n} rows`);
    if (result < 0) throw new RuntimeError('badCall', `proml_score returned ${result}`);
    return placed;
  }

  /**
   * Copies a batch, its entity blocks and the descriptor tables into memory (after proml_reset).
   * (Hot at batch 1: plain loops and no closures per call; tsx wraps every named closure.)
   */
  private place(n: number, cols: readonly HostColumn[], blocks: (Float64Array | null)[][]): Placed {
    const m = this.manifest;
    if (cols.length !== m.inputs.length)
      throw new RuntimeError('wrongShape', `expected ${m.inputs.length} input columns, got ${cols.length}`);
    // 1. allocate everything, 2. copy (growth detaches views, so no view is made before the last alloc)
    const stage = new Stager(this.exports, n);
    const bm = Math.max(1, Math.ceil(n / 8));
    const desc = stage.putColumns(cols);
    const blockDesc: { validity: number; values: number }[] = [];
    if (m.entityBlocks.length > 0) {
      // packed into reused memory: place() copies them into the module before anything else packs
      this.blockArena.reset();
      for (const b of packBlocks(m, n, blocks, this.blockArena))
        blockDesc.push({
          validity: stage.put(b.validity),
          values: stage.put(new Uint8Array(b.values.buffer, b.values.byteOffset, b.values.byteLength)),
        });
    }
    const outs: Placed['outs'] = [];
    for (const o of m.outputs) {
      const bytes = o.type === 'bool' ? bm : n * o.size * (o.type === 'f64' ? 8 : 4);
      outs.push({ o, validity: stage.alloc(bm), values: stage.alloc(bytes), bytes });
    }
    const inTable = stage.alloc(INPUT_DESCRIPTOR.size * Math.max(1, desc.length + blockDesc.length));
    const outTable = stage.alloc(OUTPUT_DESCRIPTOR.size * Math.max(1, outs.length));
    const status = stage.alloc(4 * Math.max(1, n));
    const { u8, dv } = stage.flush();
    Stager.describeInputs(u8, dv, inTable, 0, desc);
    for (let k = 0; k < blockDesc.length; k++) {
      const at = inTable + (desc.length + k) * INPUT_DESCRIPTOR.size;
      u8.fill(0, at, at + INPUT_DESCRIPTOR.size);
      dv.setUint32(at + INPUT_DESCRIPTOR.validity, blockDesc[k]!.validity, true);
      dv.setUint32(at + INPUT_DESCRIPTOR.values, blockDesc[k]!.values, true);
    }
    for (let j = 0; j < outs.length; j++) {
      const at = outTable + j * OUTPUT_DESCRIPTOR.size;
      u8.fill(0, at, at + OUTPUT_DESCRIPTOR.size);
      dv.setUint32(at + OUTPUT_DESCRIPTOR.validity, outs[j]!.validity, true);
      dv.setUint32(at + OUTPUT_DESCRIPTOR.values, outs[j]!.values, true);
    }
    return { inTable, outTable, status, outs, bm };
  }

  /** Copies the outputs and status words of the last proml_score call out of memory. */
  private collect(n: number, { status, outs, bm }: Placed): ScoreResult {
    // memory may have grown during the call: a fresh view
    const buf = this.exports.memory.buffer;
    // typed-array slices: small ones stay on the JS heap (ArrayBuffer.slice always allocates a backing store)
    const st = new Uint32Array(buf, status, n).slice();
    const outputs: OutputBuffer[] = [];
    for (const { o, validity, values, bytes } of outs) {
      outputs.push({
        name: o.name,
        type: o.type,
        size: o.size,
        validity: new Uint8Array(buf, validity, bm).slice(),
        values:
          o.type === 'f32'
            ? new Float32Array(buf, values, bytes / 4).slice()
            : o.type === 'f64'
              ? new Float64Array(buf, values, bytes / 8).slice()
              : o.type === 'int'
                ? new Int32Array(buf, values, bytes / 4).slice()
                : new Uint8Array(buf, values, bytes).slice(),
      });
    }
    return new ScoreResult(n, st, outputs, this.inputNames);
  }

  /**
   * Runs a transform module (docs/abi.md 3.4): every component's input columns for these rows.
   * gbdt: cells (n·W f64) + validity bitmap; linear/mlp: CSR (offsets, cols, f64 values).
   */
  transform(rows: readonly Row[]): TransformResult {
    const m = this.manifest;
    if (m.product !== 'transform') throw new RuntimeError('product', 'this is a scoring module: use score()');
    const n = rows.length;
    const cols = rowsToColumns(m.inputs, rows);
    const e = this.exports;
    const stage = new Stager(e, n);
    const desc = stage.putColumns(cols);
    const inTable = stage.alloc(INPUT_DESCRIPTOR.size * Math.max(1, desc.length));
    const outTable = stage.alloc(OUTPUT_DESCRIPTOR.size * Math.max(1, m.components.length));
    const status = stage.alloc(4 * Math.max(1, n));
    {
      const { u8, dv } = stage.flush();
      Stager.describeInputs(u8, dv, inTable, 0, desc);
      u8.fill(0, outTable, outTable + OUTPUT_DESCRIPTOR.size * Math.max(1, m.components.length));
    }
    const result = e.proml_transform!(n, inTable, outTable, status);
    if (result === -2)
      throw new RuntimeError('outOfMemory', `the module ran out of memory transforming ${n} rows`);
    if (result < 0) throw new RuntimeError('badCall', `proml_transform returned ${result}`);
    const buf = e.memory.buffer;
    const dv = new DataView(buf);
    const columns = m.components.map((c, k) => {
      const d = outTable + k * OUTPUT_DESCRIPTOR.size;
      const valid = dv.getUint32(d, true);
      const values = dv.getUint32(d + 4, true);
      const offsets = dv.getUint32(d + 8, true);
      const indices = dv.getUint32(d + 12, true);
      if (c.kind === 'gbdt') {
        const cells = n * c.inputWidth;
        return {
          name: c.name,
          kind: 'cells' as const,
          width: c.inputWidth,
          values: new Float64Array(buf.slice(values, values + 8 * cells)),
          validity: new Uint8Array(buf.slice(valid, valid + Math.ceil(cells / 8))),
        };
      }
      const offs = new Int32Array(buf.slice(offsets, offsets + 4 * (n + 1)));
      const nnz = offs[n]!;
      return {
        name: c.name,
        kind: 'csr' as const,
        width: c.inputWidth,
        offsets: offs,
        cols: new Int32Array(buf.slice(indices, indices + 4 * nnz)),
        vals: new Float64Array(buf.slice(values, values + 8 * nnz)),
      };
    });
    return { n, status: new Uint32Array(buf.slice(status, status + 4 * n)), columns };
  }

  /** Bytes of linear memory now (for leak checks: it only grows with the largest batch). */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }
}
