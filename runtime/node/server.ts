// The HTTP scoring service (`proml serve`), on node:http only. Input: a compiled scoring module (bytes)
// and options (name, entity store, limits, admin). Output: a ModelServer answering the Open Inference
// Protocol (KServe v2 REST: health, metadata, infer), a plain JSON / Arrow IPC `POST /score`,
// Prometheus `/metrics`, `/openapi.json`, and (with `admin`) hot swap and rollback of the model.
// Every response names the model version that scored it (`proml-model-version`: manifest version +
// 12 hex of the module's SHA-256). A request holds on to the version it started with (a refcounted
// slot), so a swap never changes the scorer under a running request. Scoring goes through a small
// `Scorer` interface: in process (Model.scoreAsync) by default, or a worker pool via `scorer`.
// Node-only (node:http, apache-arrow); docs/serving.md describes the routes.

import { readFile } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  Table,
  Uint32,
  Utf8,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';
import type { InputColumn, Manifest, Row } from '../../abi/index.js';
import { Model, type EntityStore, type OutputValue, type ScoreResult } from '../model.js';
import { RUNTIME_CODES, RuntimeError, type RuntimeCodeName } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Scorers and versions

/** What the server needs from a scoring engine (the in-process Model, or a worker pool). */
export interface Scorer {
  score(rows: readonly Row[]): Promise<ScoreResult>;
  close(): Promise<void>;
}

/** Makes the scorer of one loaded version (e.g. `ScoringPool.create(bytes, {threads, entities})`). */
export type ScorerFactory = (bytes: Uint8Array, model: Model) => Promise<Scorer>;

/** One loaded version of the model: the checked Model (manifest), its scorer, and who still uses it. */
interface Slot {
  model: Model;
  scorer: Scorer;
  /** `<manifest version>+<12 hex of sha256>`: what responses name. */
  tag: string;
  sha256: string;
  users: number;
  /** Dropped from the active version and the rollback history: close when the last user leaves. */
  retired: boolean;
}

export interface ServerOptions {
  /** The served model name (URL `{name}`); default: the manifest's model name. */
  name?: string;
  /** Per-entity coefficient blocks, for models with `per` components. */
  entities?: EntityStore;
  /** Request body limit in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Limit for `.wasm` bodies of the admin load route (default 256 MiB). */
  maxModelBytes?: number;
  /** Per-request deadline in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Enables /admin routes (hot swap, rollback); they answer loopback clients only. */
  admin?: boolean;
  /** Where the model was read from: `reload()` (SIGHUP) reads it again. */
  modelPath?: string | null;
  /** Previous versions kept for rollback (default 2). */
  history?: number;
  /** Builds the scorer of each version (default: in process, Model.scoreAsync). */
  scorer?: ScorerFactory;
  /** Reported by GET /v2. */
  serverVersion?: string;
  /** Log lines (loads, swaps, shutdown); default: none. */
  log?: (line: string) => void;
}

const MiB = 1024 * 1024;

/** `1mb`, `512kb`, `2048` (bytes) → bytes; null when unreadable. */
export function parseByteSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|k|kib|mb|m|mib|gb|g|gib)?$/i.exec(text.trim());
  if (m === null) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('k')
    ? 1024
    : unit.startsWith('m')
      ? MiB
      : unit.startsWith('g')
        ? 1024 * MiB
        : 1;
  return Math.floor(Number(m[1]) * mult);
}

function inProcessScorer(entities: EntityStore | undefined): ScorerFactory {
  return (_bytes, model) =>
    Promise.resolve({
      score: (rows) => model.scoreAsync(rows, entities),
      close: () => Promise.resolve(),
    });
}

// ---------------------------------------------------------------------------------------------
// Errors

/** An error answered as `{error: {code, message, field?, row?}}` with an HTTP status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    readonly row: number | null = null,
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
  }
}

function fail(
  status: number,
  kind: RuntimeCodeName,
  message: string,
  field: string | null = null,
): HttpError {
  return new HttpError(status, RUNTIME_CODES[kind].code, message, field);
}

/** HTTP status of a runtime error raised while loading or scoring. */
function statusOf(e: RuntimeError): number {
  switch (e.kind) {
    case 'outOfMemory':
      return 413;
    case 'badCall':
    case 'internal':
      return 500;
    case 'shuttingDown':
    case 'timedOut':
      return 503;
    default:
      // PML4303: a worker pool's queue is full (retry later)
      return e.code === 'PML4303' ? 503 : e.code.startsWith('PML43') ? 500 : 400;
  }
}

function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof RuntimeError)
    return new HttpError(statusOf(e), e.code, e.message.replace(/^PML\d{4}: /, ''), e.field, e.row);
  return new HttpError(
    500,
    RUNTIME_CODES.internal.code,
    `internal error: ${(e as Error)?.message ?? String(e)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Metrics (Prometheus text exposition format 0.0.4, written by hand)

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function labels(l: Record<string, string>): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class Metrics {
  private readonly latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
  private readonly counters = new Map<string, Map<string, number>>();
  inFlight = 0;

  observe(route: string, seconds: number): void {
    let h = this.latency.get(route);
    if (h === undefined) this.latency.set(route, (h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  inc(name: string, l: Record<string, string>, by = 1): void {
    let m = this.counters.get(name);
    if (m === undefined) this.counters.set(name, (m = new Map()));
    const key = labels(l);
    m.set(key, (m.get(key) ?? 0) + by);
  }

  get(name: string, l: Record<string, string>): number {
    return this.counters.get(name)?.get(labels(l)) ?? 0;
  }

  render(model: { name: string; slot: Slot; swaps: number }): string {
    const out: string[] = [];
    const help = (name: string, type: string, text: string): void => {
      out.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);
    };
    help('proml_http_request_duration_seconds', 'histogram', 'Request latency by route.');
    for (const [route, h] of [...this.latency].sort(([a], [b]) => a.localeCompare(b))) {
      BUCKETS.forEach((le, i) =>
        out.push(
          `proml_http_request_duration_seconds_bucket${labels({ route, le: String(le) })} ${h.buckets[i]}`,
        ),
      );
      out.push(`proml_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.count}`);
      out.push(`proml_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`);
      out.push(`proml_http_request_duration_seconds_count${labels({ route })} ${h.count}`);
    }
    const counter = (name: string, text: string): void => {
      help(name, 'counter', text);
      for (const [key, v] of [...(this.counters.get(name) ?? new Map<string, number>())].sort())
        out.push(`${name}${key} ${v}`);
    };
    counter('proml_http_requests_total', 'Requests answered, by route and HTTP status.');
    counter('proml_rows_scored_total', 'Rows scored (accepted by the module), by model version.');
    counter('proml_rows_rejected_total', 'Rows rejected by the module, by model version and code.');
    counter('proml_errors_total', 'Error responses, by code.');
    help('proml_http_in_flight_requests', 'gauge', 'Requests being handled now.');
    out.push(`proml_http_in_flight_requests ${this.inFlight}`);
    help('proml_model_info', 'gauge', 'The model version being served (value 1).');
    const m = model.slot.model.manifest;
    out.push(
      `proml_model_info${labels({ model: model.name, version: m.model.version, tag: model.slot.tag, sha256: model.slot.sha256, abi: String(m.abi) })} 1`,
    );
    help('proml_model_swaps_total', 'counter', 'Hot swaps and rollbacks since start.');
    out.push(`proml_model_swaps_total ${model.swaps}`);
    return out.join('\n') + '\n';
  }
}

// ---------------------------------------------------------------------------------------------
// JSON encodings

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * JSON has no NaN or infinities, and JSON.stringify writes -0 as 0: those travel as the strings
 * "NaN", "Infinity", "-Infinity" and "-0" (outputs), and are accepted so for float inputs.
 */
function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : v) : String(v);
}

const SPECIAL = new Set(['NaN', 'Infinity', '-Infinity', '-0']);

function revive(v: unknown): unknown {
  return typeof v === 'string' && SPECIAL.has(v) ? Number(v) : v;
}

/** Numeric inputs (vector elements, bag<int> items) given as "NaN", "Infinity", "-Infinity" or "-0" → numbers. */
function reviveNumbers(manifest: Manifest, rows: readonly Row[]): void {
  const numeric = manifest.inputs.filter(
    (c) =>
      c.type.kind === 'f32' ||
      c.type.kind === 'f64' ||
      c.type.kind === 'int' ||
      c.type.kind === 'vector' ||
      (c.type.kind === 'bag' && c.type.elem === 'int'),
  );
  if (numeric.length === 0) return;
  for (const row of rows) {
    if (!isObject(row)) continue;
    const o = row as Record<string, unknown>;
    for (const c of numeric) {
      const v = o[c.name];
      if (typeof v === 'string') o[c.name] = revive(v);
      else if (Array.isArray(v) && v.some((x) => typeof x === 'string')) o[c.name] = v.map(revive);
    }
  }
}

function jsonValue(v: OutputValue): number | string | boolean | (number | string)[] | null {
  if (typeof v === 'number') return jsonNumber(v);
  if (Array.isArray(v)) return v.map(jsonNumber);
  return v;
}

/** The v2 datatype and shape of an input (shape with -1 for the batch dimension). */
export function v2Input(c: InputColumn): { datatype: string; shape: number[] } {
  const t = c.type;
  switch (t.kind) {
    case 'f32':
      return { datatype: 'FP32', shape: [-1] };
    case 'f64':
      return { datatype: 'FP64', shape: [-1] };
    case 'int':
      return { datatype: 'INT32', shape: [-1] };
    case 'bool':
      return { datatype: 'BOOL', shape: [-1] };
    case 'string':
    case 'category':
    case 'entity':
      return { datatype: 'BYTES', shape: [-1] };
    case 'bag':
      return { datatype: t.elem === 'string' ? 'BYTES' : 'INT32', shape: [-1, -1] };
    case 'vector':
      return { datatype: t.elem === 'f64' ? 'FP64' : 'FP32', shape: [-1, t.size] };
  }
}

function v2OutputType(type: 'f32' | 'f64' | 'int' | 'bool'): string {
  return { f32: 'FP32', f64: 'FP64', int: 'INT32', bool: 'BOOL' }[type];
}

/** A v2 inference request's columnar inputs → rows (what Model.score takes). */
export function v2RequestRows(manifest: Manifest, body: unknown): Row[] {
  const bad = (msg: string, field: string | null = null): HttpError => {
    const e = fail(400, 'badBody', msg, field);
    return e;
  };
  if (!isObject(body)) throw bad('the inference request must be a JSON object');
  if (!Array.isArray(body['inputs'])) throw bad("the inference request needs an 'inputs' list", 'inputs');
  const byName = new Map(manifest.inputs.map((c) => [c.name, c]));
  let n: number | null = null;
  const columns: { c: InputColumn; values: unknown[] }[] = [];
  const seen = new Set<string>();
  for (const [k, input] of (body['inputs'] as unknown[]).entries()) {
    if (!isObject(input)) throw bad(`inputs[${k}] is not an object`, 'inputs');
    const name = input['name'];
    if (typeof name !== 'string') throw bad(`inputs[${k}] has no 'name'`, 'inputs');
    const c = byName.get(name);
    if (c === undefined)
      throw new RuntimeError(
        'unknownField',
        `the model has no input '${name}' (inputs: ${[...byName.keys()].join(', ')})`,
        name,
      );
    if (seen.has(name)) throw bad(`input '${name}' is given twice`, name);
    seen.add(name);
    const shape = input['shape'];
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw bad(`input '${name}': 'shape' must be a list of non-negative integers`, name);
    const want = v2Input(c);
    if (
      input['datatype'] !== want.datatype &&
      !(c.type.kind === 'entity' && /^U?INT(32|64)$/.test(String(input['datatype'])))
    )
      throw new RuntimeError(
        'wrongType',
        `input '${name}': datatype ${JSON.stringify(input['datatype'])}, the model takes ${want.datatype}`,
        name,
      );
    const data = input['data'];
    if (!Array.isArray(data)) throw bad(`input '${name}': 'data' must be a list`, name);
    const rows = shape[0] as number;
    if (n === null) n = rows;
    else if (n !== rows)
      throw new RuntimeError('wrongShape', `input '${name}' has ${rows} rows, earlier inputs ${n}`, name);
    columns.push({ c, values: tensorRows(c, name, shape as number[], data) });
  }
  const count = n ?? 0;
  const out: Row[] = Array.from({ length: count }, () => ({}));
  for (const { c, values } of columns)
    for (let r = 0; r < count; r++) {
      const v = values[r];
      if (v !== null && v !== undefined) (out[r] as Record<string, unknown>)[c.name] = v;
    }
  return out;
}

/** One input tensor's data → one value per row (nested per-row lists or row-major flat data). */
function tensorRows(c: InputColumn, name: string, shape: number[], data: unknown[]): unknown[] {
  const rows = shape[0]!;
  const t = c.type;
  const shapeError = (msg: string): RuntimeError =>
    new RuntimeError('wrongShape', `input '${name}': ${msg}`, name);
  if (t.kind === 'vector') {
    const size = t.size;
    if (shape.length !== 2 || shape[1] !== size) throw shapeError(`shape must be [n, ${size}]`);
    if (data.length === rows && data.every((d) => d === null || Array.isArray(d))) return data;
    if (data.length !== rows * size) throw shapeError(`${data.length} values for shape [${rows}, ${size}]`);
    return Array.from({ length: rows }, (_, r) => data.slice(r * size, (r + 1) * size));
  }
  if (t.kind === 'bag') {
    if (data.length !== rows) throw shapeError(`${data.length} rows of items for shape [${rows}, -1]`);
    return data;
  }
  if (shape.length !== 1 && !(shape.length === 2 && shape[1] === 1))
    throw shapeError(`shape must be [n] (or [n, 1]), got [${shape.join(', ')}]`);
  const flat =
    data.length === rows && data.every((d) => Array.isArray(d) && d.length === 1)
      ? data.map((d) => (d as unknown[])[0])
      : data;
  if (flat.length !== rows) throw shapeError(`${flat.length} values for ${rows} rows`);
  return flat;
}

/** The `/score` JSON body: one row, a list of rows, or {rows: [...]}. */
function scoreBodyRows(manifest: Manifest, body: unknown): Row[] {
  if (Array.isArray(body)) return body as Row[];
  if (isObject(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'rows' && !manifest.inputs.some((c) => c.name === 'rows')) {
      if (!Array.isArray(body['rows']))
        throw fail(400, 'badBody', "'rows' must be a list of row objects", 'rows');
      return body['rows'] as Row[];
    }
    return [body as Row];
  }
  throw fail(400, 'badBody', 'the body must be a row object, a list of rows, or {"rows": [...]}');
}

// ---------------------------------------------------------------------------------------------
// Arrow IPC

/** An Arrow value → the plain value rowsToColumns takes. */
function plainValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'object' && v !== null && Symbol.iterator in v)
    return Array.from(v as Iterable<unknown>, plainValue);
  return v;
}

function arrowRows(manifest: Manifest, body: Buffer): Row[] {
  let table: Table;
  try {
    table = tableFromIPC(body);
  } catch (e) {
    throw fail(400, 'badBody', `not an Arrow IPC stream: ${(e as Error).message}`);
  }
  const known = new Set(manifest.inputs.map((c) => c.name));
  const rows: Row[] = Array.from({ length: table.numRows }, () => ({}));
  for (const f of table.schema.fields) {
    if (!known.has(f.name))
      throw new RuntimeError(
        'unknownField',
        `the Arrow stream has a column '${f.name}' the model has no input for`,
        f.name,
      );
    const col = table.getChild(f.name)!;
    for (let r = 0; r < table.numRows; r++) {
      const v = plainValue(col.get(r));
      if (v !== null) (rows[r] as Record<string, unknown>)[f.name] = v;
    }
  }
  return rows;
}

function nullCount(validity: Uint8Array, n: number): number {
  let k = 0;
  for (let r = 0; r < n; r++) if (((validity[r >> 3]! >> (r & 7)) & 1) === 0) k++;
  return k;
}

/** The module's output buffers as Arrow columns (the bytes as written), plus status and rejection columns. */
function resultTable(result: ScoreResult, slot: Slot): Uint8Array {
  const n = result.n;
  const cols: Record<string, Vector> = {};
  for (const o of result.outputs) {
    const nulls = nullCount(o.validity, n);
    let data: Data<DataType>;
    if (o.size > 1) {
      const child = makeData({ type: new Float32(), length: n * o.size, data: o.values as Float32Array });
      data = makeData({
        type: new FixedSizeList(o.size, new Field('item', new Float32(), false)),
        length: n,
        nullCount: nulls,
        nullBitmap: o.validity,
        child,
      }) as Data<DataType>;
    } else if (o.type === 'bool')
      data = makeData({
        type: new Bool(),
        length: n,
        nullCount: nulls,
        nullBitmap: o.validity,
        data: o.values as Uint8Array,
      }) as Data<DataType>;
    else if (o.type === 'int')
      data = makeData({
        type: new Int32(),
        length: n,
        nullCount: nulls,
        nullBitmap: o.validity,
        data: o.values as Int32Array,
      }) as Data<DataType>;
    else if (o.type === 'f64')
      data = makeData({
        type: new Float64(),
        length: n,
        nullCount: nulls,
        nullBitmap: o.validity,
        data: o.values as Float64Array,
      }) as Data<DataType>;
    else
      data = makeData({
        type: new Float32(),
        length: n,
        nullCount: nulls,
        nullBitmap: o.validity,
        data: o.values as Float32Array,
      }) as Data<DataType>;
    cols[o.name] = makeVector(data);
  }
  cols['proml_status'] = makeVector(makeData({ type: new Uint32(), length: n, data: result.status }));
  const codes: (string | null)[] = [];
  const inputs: (string | null)[] = [];
  for (let r = 0; r < n; r++) {
    const rej = result.rejection(r);
    codes.push(rej?.code ?? null);
    inputs.push(rej?.input ?? null);
  }
  cols['proml_rejection_code'] = utf8Vector(codes);
  cols['proml_rejection_input'] = utf8Vector(inputs);
  const table = new Table(cols);
  table.schema.metadata.set('proml.model.version', slot.tag);
  table.schema.metadata.set('proml.model.sha256', slot.sha256);
  return tableToIPC(table, 'stream');
}

function utf8Vector(values: (string | null)[]): Vector {
  const enc = new TextEncoder();
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const validity = new Uint8Array(Math.max(1, Math.ceil(n / 8)));
  const parts: Uint8Array[] = [];
  let at = 0;
  let nulls = 0;
  values.forEach((v, r) => {
    offsets[r] = at;
    if (v === null) {
      nulls++;
      return;
    }
    validity[r >> 3]! |= 1 << (r & 7);
    const b = enc.encode(v);
    parts.push(b);
    at += b.length;
  });
  offsets[n] = at;
  const bytes = new Uint8Array(at);
  let k = 0;
  for (const p of parts) {
    bytes.set(p, k);
    k += p.length;
  }
  return makeVector(
    makeData({
      type: new Utf8(),
      length: n,
      nullCount: nulls,
      nullBitmap: validity,
      valueOffsets: offsets,
      data: bytes,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Routing

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  /** Route template (metrics label). */
  route: string;
  params: Record<string, string>;
  /** The version this request holds (released when it ends). */
  slot: Slot | null;
  /** Set when the response was sent (a late handler result is dropped). */
  done: boolean;
}

type Handler = (ctx: Ctx) => Promise<void>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  template: string;
  keys: string[];
  handler: Handler;
}

const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

// ---------------------------------------------------------------------------------------------
// The server

export class ModelServer {
  readonly http: Server;
  readonly name: string;
  private active: Slot;
  private previous: Slot[] = [];
  private readonly metrics = new Metrics();
  private readonly routes: Route[] = [];
  private swaps = 0;
  private draining = false;
  private loading: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Ctx>();
  private idle: (() => void) | null = null;
  private readonly opts: Required<Omit<ServerOptions, 'entities' | 'name'>> & {
    entities: EntityStore | undefined;
  };

  private constructor(first: Slot, name: string, options: ServerOptions) {
    this.active = first;
    first.users++; // the active version is always held
    this.name = name;
    this.opts = {
      entities: options.entities,
      maxBodyBytes: options.maxBodyBytes ?? MiB,
      maxModelBytes: options.maxModelBytes ?? 256 * MiB,
      timeoutMs: options.timeoutMs ?? 5000,
      admin: options.admin ?? false,
      modelPath: options.modelPath ?? null,
      history: options.history ?? 2,
      scorer: options.scorer ?? inProcessScorer(options.entities),
      serverVersion: options.serverVersion ?? 'unknown',
      log: options.log ?? ((): void => {}),
    };
    this.http = createServer({ keepAliveTimeout: 5000 }, (req, res) => void this.handle(req, res));
    this.defineRoutes();
  }

  /** Loads the first version (Model.load: the same checks as every hot swap) and builds the server. */
  static async create(wasm: Uint8Array, options: ServerOptions = {}): Promise<ModelServer> {
    const factory = options.scorer ?? inProcessScorer(options.entities);
    const slot = await ModelServer.makeSlot(wasm, factory, options.entities);
    return new ModelServer(slot, options.name ?? slot.model.manifest.model.name, options);
  }

  private static async makeSlot(
    wasm: Uint8Array,
    factory: ScorerFactory,
    entities: EntityStore | undefined,
  ): Promise<Slot> {
    const model = await Model.load(wasm);
    const eb = model.manifest.entityBlocks;
    if (eb.length > 0 && entities === undefined)
      throw new RuntimeError(
        'noEntityStore',
        `components ${eb.map((b) => `'${b.component}'`).join(', ')} need per-entity coefficients: start the server with --entities <bundle dir>`,
      );
    const sha256 = model.sha256!;
    const scorer = await factory(wasm, model);
    return {
      model,
      scorer,
      tag: `${model.manifest.model.version}+${sha256.slice(0, 12)}`,
      sha256,
      users: 0,
      retired: false,
    };
  }

  /** The version being served: `<manifest version>+<12 hex of sha256>`. */
  get version(): string {
    return this.active.tag;
  }

  get manifest(): Manifest {
    return this.active.model.manifest;
  }

  /** Starts listening; resolves to the bound address (port 0 picks a free port). */
  listen(port = 8080, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  // -- hot swap ---------------------------------------------------------------------------------

  /** Loads a new version and switches to it atomically; on error the current version keeps serving. */
  load(wasm: Uint8Array): Promise<string> {
    const run = async (): Promise<string> => {
      const slot = await ModelServer.makeSlot(wasm, this.opts.scorer, this.opts.entities);
      this.switchTo(slot, 'loaded');
      return slot.tag;
    };
    const p = this.loading.then(run, run);
    this.loading = p.catch(() => undefined);
    return p;
  }

  /** Loads the model file again (SIGHUP). */
  async reload(): Promise<string> {
    if (this.opts.modelPath === null)
      throw fail(409, 'noRollback', 'the server was not started from a model file');
    return this.load(new Uint8Array(await readFile(this.opts.modelPath)));
  }

  /** Returns to the previous version. */
  rollback(): string {
    const prev = this.previous.shift();
    if (prev === undefined) throw fail(409, 'noRollback', 'no previous version to roll back to');
    const old = this.active;
    this.active = prev; // prev is already held (users counted it while in history)
    old.retired = true;
    this.release(old);
    this.swaps++;
    this.opts.log(`rolled back ${this.name} ${old.tag} → ${prev.tag}`);
    return prev.tag;
  }

  private switchTo(slot: Slot, how: string): void {
    const old = this.active;
    slot.users++;
    this.active = slot; // one assignment: requests that start from now on use the new version
    this.previous.unshift(old); // keeps its hold while in the history
    while (this.previous.length > this.opts.history) {
      const dropped = this.previous.pop()!;
      dropped.retired = true;
      this.release(dropped);
    }
    this.swaps++;
    this.opts.log(`${how} ${this.name} ${slot.tag} (was ${old.tag})`);
  }

  private release(slot: Slot): void {
    slot.users--;
    if (slot.retired && slot.users === 0)
      slot.scorer.close().catch((e: unknown) => this.opts.log(`closing ${slot.tag}: ${String(e)}`));
  }

  /** The version a request names (the active one, a kept previous one by tag or manifest version), or null. */
  private slotFor(version: string | undefined): Slot | null {
    if (version === undefined) return this.active;
    for (const s of [this.active, ...this.previous])
      if (s.tag === version || s.model.manifest.model.version === version || s.sha256 === version) return s;
    return null;
  }

  // -- shutdown ---------------------------------------------------------------------------------

  /** Graceful stop: refuse new connections, let in-flight requests finish, close idle keep-alives. */
  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.http.closeIdleConnections();
    this.http.closeAllConnections();
    await closed;
    const slots = [this.active, ...this.previous];
    this.previous = [];
    await Promise.all(slots.map((s) => s.scorer.close()));
    this.opts.log(`stopped ${this.name}`);
  }

  // -- requests ---------------------------------------------------------------------------------

  private route(method: Route['method'], template: string, handler: Handler): void {
    const keys: string[] = [];
    const source = template.replace(/\{(\w+)\}/g, (_, k: string) => {
      keys.push(k);
      return '([^/]+)';
    });
    this.routes.push({ method, template, keys, pattern: new RegExp(`^${source}/?$`), handler });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const ctx: Ctx = { req, res, route: 'other', params: {}, slot: null, done: false };
    this.inFlight.add(ctx);
    this.metrics.inFlight++;
    const timer = setTimeout(() => {
      this.sendError(ctx, fail(503, 'timedOut', `the request took longer than ${this.opts.timeoutMs} ms`));
    }, this.opts.timeoutMs);
    try {
      if (this.draining) throw fail(503, 'shuttingDown', 'the server is shutting down');
      const path = (req.url ?? '/').split('?')[0]!;
      let allowed: string[] = [];
      let found: Route | null = null;
      for (const r of this.routes) {
        const m = r.pattern.exec(path);
        if (m === null) continue;
        if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) {
          allowed.push(r.method);
          continue;
        }
        found = r;
        r.keys.forEach((k, i) => (ctx.params[k] = decodeURIComponent(m[i + 1]!)));
        break;
      }
      if (found === null) {
        if (allowed.length > 0) {
          allowed = [...new Set(allowed)];
          const e = fail(
            405,
            'badMethod',
            `${req.method ?? '?'} is not allowed here (allowed: ${allowed.join(', ')})`,
          );
          throw new HttpError(e.status, e.code, e.message, null, null, { allow: allowed.join(', ') });
        }
        throw fail(404, 'noRoute', `no route ${req.method ?? '?'} ${path}`);
      }
      ctx.route = found.template;
      await found.handler(ctx);
    } catch (e) {
      this.sendError(ctx, toHttpError(e));
    } finally {
      clearTimeout(timer);
      if (!ctx.done) this.sendError(ctx, fail(500, 'internal', 'the handler sent no response'));
      if (ctx.slot !== null) this.release(ctx.slot);
      ctx.slot = null;
      this.inFlight.delete(ctx);
      this.metrics.inFlight--;
      this.metrics.observe(ctx.route, Number(process.hrtime.bigint() - started) / 1e9);
      if (this.inFlight.size === 0 && this.idle !== null) this.idle();
    }
  }

  /** Holds the version the request will be scored with (released when the request ends). */
  private hold(ctx: Ctx, version?: string): Slot {
    const name = ctx.params['name'];
    if (name !== undefined && name !== this.name)
      throw fail(404, 'unknownModel', `no model '${name}' (this server serves '${this.name}')`, 'name');
    const slot = this.slotFor(version);
    if (slot === null)
      throw fail(404, 'unknownModel', `model '${this.name}' has no version '${version}'`, 'version');
    slot.users++;
    ctx.slot = slot;
    return slot;
  }

  private send(
    ctx: Ctx,
    status: number,
    body: string | Uint8Array,
    type: string,
    headers: OutgoingHttpHeaders = {},
  ): void {
    if (ctx.done) return;
    ctx.done = true;
    const res = ctx.res;
    const slot = ctx.slot ?? this.active;
    const h: OutgoingHttpHeaders = {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'proml-model-version': slot.tag,
      ...headers,
    };
    if (this.draining) h['connection'] = 'close';
    this.metrics.inc('proml_http_requests_total', { route: ctx.route, status: String(status) });
    res.writeHead(status, h);
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }

  private json(ctx: Ctx, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
    this.send(ctx, status, JSON.stringify(value), 'application/json; charset=utf-8', headers);
  }

  private sendError(ctx: Ctx, e: HttpError): void {
    if (ctx.done) return;
    this.metrics.inc('proml_errors_total', { code: e.code });
    const error: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.field !== null) error['field'] = e.field;
    if (e.row !== null) error['row'] = e.row;
    const headers = { ...e.headers };
    if (e.status === 503) headers['retry-after'] = '1';
    // a body we did not read (too large, or a timeout mid-body) is not worth draining: close
    if (!ctx.req.complete && e.status === 413) headers['connection'] = 'close';
    this.json(ctx, e.status, { error }, headers);
  }

  /** Reads the body up to `limit` bytes; larger bodies are refused with 413 before they are read. */
  private body(ctx: Ctx, limit = this.opts.maxBodyBytes): Promise<Buffer> {
    const req = ctx.req;
    const tooLarge = (): HttpError =>
      fail(413, 'bodyTooLarge', `the request body is larger than ${limit.toLocaleString('en-US')} bytes`);
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limit) {
          cleanup();
          chunks.length = 0;
          req.resume(); // discard the rest
          reject(tooLarge());
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(fail(400, 'badBody', `cannot read the request body: ${e.message}`));
      };
      const onClose = (): void => {
        if (!req.complete) onError(new Error('the connection closed before the body ended'));
      };
      const cleanup = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  }

  private async jsonBody(ctx: Ctx): Promise<unknown> {
    const type = String(ctx.req.headers['content-type'] ?? 'application/json');
    // curl -d sends application/x-www-form-urlencoded: read it as JSON too
    if (!/^application\/(json|[\w.+-]*\+json|x-www-form-urlencoded)\b|^text\/plain\b/i.test(type))
      throw fail(415, 'mediaType', `expected application/json, got ${type}`);
    const buf = await this.body(ctx);
    if (buf.length === 0) throw fail(400, 'badBody', 'the request body is empty');
    try {
      return JSON.parse(buf.toString('utf8')) as unknown;
    } catch (e) {
      throw fail(400, 'badBody', `the request body is not valid JSON: ${(e as Error).message}`);
    }
  }

  private async scoreRows(slot: Slot, rows: Row[]): Promise<ScoreResult> {
    const result = await slot.scorer.score(rows);
    const rejected = result.rejected;
    this.metrics.inc('proml_rows_scored_total', { model: this.name, version: slot.tag }, result.n - rejected);
    if (rejected > 0)
      for (let r = 0; r < result.n; r++) {
        const rej = result.rejection(r);
        if (rej !== null)
          this.metrics.inc('proml_rows_rejected_total', {
            model: this.name,
            version: slot.tag,
            code: rej.code,
          });
      }
    return result;
  }

  // -- routes -----------------------------------------------------------------------------------

  private defineRoutes(): void {
    this.route('GET', '/v2/health/live', (ctx) => {
      this.json(ctx, 200, { live: true });
      return Promise.resolve();
    });
    this.route('GET', '/v2/health/ready', (ctx) => {
      this.json(ctx, 200, { ready: true });
      return Promise.resolve();
    });
    this.route('GET', '/v2', (ctx) => {
      this.json(ctx, 200, {
        name: 'proml',
        version: this.opts.serverVersion,
        extensions: ['proml_nulls', 'proml_rejections'],
      });
      return Promise.resolve();
    });
    const metadata = (ctx: Ctx): Promise<void> => {
      const slot = this.hold(ctx, ctx.params['version']);
      const m = slot.model.manifest;
      this.json(ctx, 200, {
        name: this.name,
        versions: [this.active, ...this.previous].map((s) => s.tag),
        platform: 'proml_wasm',
        inputs: m.inputs.map((c) => ({ name: c.name, ...v2Input(c) })),
        outputs: m.outputs.map((o) => ({
          name: o.name,
          datatype: v2OutputType(o.type),
          shape: o.size > 1 ? [-1, o.size] : [-1],
        })),
        parameters: {
          proml_model_version: slot.tag,
          proml_manifest_version: m.model.version,
          proml_sha256: slot.sha256,
          proml_abi: m.abi,
        },
      });
      return Promise.resolve();
    };
    const ready = (ctx: Ctx): Promise<void> => {
      this.hold(ctx, ctx.params['version']);
      this.json(ctx, 200, { name: this.name, ready: true });
      return Promise.resolve();
    };
    const infer = async (ctx: Ctx): Promise<void> => {
      const slot = this.hold(ctx, ctx.params['version']);
      const body = await this.jsonBody(ctx);
      const rows = v2RequestRows(slot.model.manifest, body);
      reviveNumbers(slot.model.manifest, rows);
      const req = body as Record<string, unknown>;
      let wanted = slot.model.manifest.outputs;
      if (req['outputs'] !== undefined) {
        if (!Array.isArray(req['outputs'])) throw fail(400, 'badBody', "'outputs' must be a list", 'outputs');
        const names = (req['outputs'] as unknown[]).map((o) => (isObject(o) ? o['name'] : undefined));
        for (const name of names)
          if (typeof name !== 'string' || !wanted.some((o) => o.name === name))
            throw fail(400, 'badBody', `the model has no output ${JSON.stringify(name)}`, 'outputs');
        wanted = wanted.filter((o) => names.includes(o.name));
      }
      const result = await this.scoreRows(slot, rows);
      const rejections: { row: number; code: string; input: string; message: string }[] = [];
      for (let r = 0; r < result.n; r++) {
        const rej = result.rejection(r);
        if (rej !== null) rejections.push({ row: r, ...rej });
      }
      const outputs = wanted.map((o) => {
        const data: unknown[] = [];
        for (let r = 0; r < result.n; r++) {
          const v = result.value(o.name, r);
          if (o.size > 1) {
            if (v === null) for (let k = 0; k < o.size; k++) data.push(null);
            else for (const x of v as number[]) data.push(jsonNumber(x));
          } else data.push(jsonValue(v));
        }
        return {
          name: o.name,
          datatype: v2OutputType(o.type),
          shape: o.size > 1 ? [result.n, o.size] : [result.n],
          data,
        };
      });
      const response: Record<string, unknown> = { model_name: this.name, model_version: slot.tag };
      if (typeof req['id'] === 'string') response['id'] = req['id'];
      response['parameters'] = {
        proml_rejected: rejections.length,
        proml_rejections: JSON.stringify(rejections),
      };
      response['outputs'] = outputs;
      this.json(ctx, 200, response);
    };
    for (const prefix of ['/v2/models/{name}', '/v2/models/{name}/versions/{version}']) {
      this.route('GET', prefix, metadata);
      this.route('GET', `${prefix}/ready`, ready);
      this.route('POST', `${prefix}/infer`, infer);
    }
    this.route('POST', '/score', async (ctx) => {
      const slot = this.hold(ctx);
      const type = String(ctx.req.headers['content-type'] ?? 'application/json');
      if (type.toLowerCase().startsWith(ARROW_STREAM)) {
        const rows = arrowRows(slot.model.manifest, await this.body(ctx));
        const result = await this.scoreRows(slot, rows);
        this.send(ctx, 200, resultTable(result, slot), ARROW_STREAM);
        return;
      }
      const body = await this.jsonBody(ctx);
      const rows = scoreBodyRows(slot.model.manifest, body);
      reviveNumbers(slot.model.manifest, rows);
      const result = await this.scoreRows(slot, rows);
      const results = result.rows().map((r) => {
        if (r.rejected !== null) return { rejected: r.rejected };
        const outputs: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r.outputs)) outputs[k] = jsonValue(v);
        return { outputs };
      });
      this.json(ctx, 200, {
        model: { name: this.name, version: slot.tag, sha256: slot.sha256 },
        rejected: result.rejected,
        results,
      });
    });
    this.route('GET', '/metrics', (ctx) => {
      this.send(
        ctx,
        200,
        this.metrics.render({ name: this.name, slot: this.active, swaps: this.swaps }),
        'text/plain; version=0.0.4; charset=utf-8',
      );
      return Promise.resolve();
    });
    this.route('GET', '/openapi.json', (ctx) => {
      this.json(ctx, 200, openApi(this.name, this.opts.serverVersion, this.opts.admin));
      return Promise.resolve();
    });
    if (this.opts.admin) {
      const guard = (ctx: Ctx): void => {
        if (!isLoopback(ctx.req.socket.remoteAddress))
          throw fail(404, 'noRoute', `no route ${ctx.req.method ?? '?'} ${ctx.req.url ?? ''}`);
        if (ctx.params['name'] !== this.name)
          throw fail(
            404,
            'unknownModel',
            `no model '${ctx.params['name']}' (this server serves '${this.name}')`,
            'name',
          );
      };
      this.route('POST', '/admin/models/{name}/load', async (ctx) => {
        guard(ctx);
        const type = String(ctx.req.headers['content-type'] ?? 'application/wasm');
        let bytes: Uint8Array;
        if (/^application\/json\b/i.test(type)) {
          const body = await this.jsonBody(ctx);
          if (!isObject(body) || typeof body['path'] !== 'string')
            throw fail(400, 'badBody', 'expected {"path": "<model.wasm>"}', 'path');
          try {
            bytes = new Uint8Array(await readFile(body['path']));
          } catch (e) {
            throw fail(400, 'badBody', `cannot read ${body['path']}: ${(e as Error).message}`, 'path');
          }
        } else if (/^application\/(wasm|octet-stream)\b/i.test(type))
          bytes = new Uint8Array(await this.body(ctx, this.opts.maxModelBytes));
        else
          throw fail(415, 'mediaType', `expected application/wasm or application/json {path}, got ${type}`);
        const before = this.active.tag;
        const tag = await this.load(bytes);
        this.json(ctx, 200, { name: this.name, version: tag, previous: before });
      });
      this.route('POST', '/admin/models/{name}/rollback', (ctx) => {
        guard(ctx);
        const before = this.active.tag;
        const tag = this.rollback();
        this.json(ctx, 200, { name: this.name, version: tag, previous: before });
        return Promise.resolve();
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3 description

function openApi(name: string, version: string, admin: boolean): unknown {
  const err = { $ref: '#/components/schemas/Error' };
  const errors = (...codes: number[]): Record<string, unknown> =>
    Object.fromEntries(
      codes.map((c) => [
        String(c),
        { description: 'error', content: { 'application/json': { schema: err } } },
      ]),
    );
  const ok = (schema: unknown, description = 'OK'): unknown => ({
    description,
    content: { 'application/json': { schema } },
  });
  const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', example: name } };
  const versionParam = { name: 'version', in: 'path', required: true, schema: { type: 'string' } };
  const tensor = {
    type: 'object',
    required: ['name', 'shape', 'datatype', 'data'],
    properties: {
      name: { type: 'string' },
      shape: { type: 'array', items: { type: 'integer' } },
      datatype: { type: 'string', enum: ['FP32', 'FP64', 'INT32', 'BOOL', 'BYTES', 'INT64', 'UINT32'] },
      parameters: { type: 'object' },
      data: { type: 'array', items: {} },
    },
  };
  const paths: Record<string, unknown> = {
    '/v2/health/live': {
      get: {
        summary: 'Server live',
        responses: { 200: ok({ type: 'object', properties: { live: { type: 'boolean' } } }) },
      },
    },
    '/v2/health/ready': {
      get: {
        summary: 'Server ready',
        responses: {
          200: ok({ type: 'object', properties: { ready: { type: 'boolean' } } }),
          ...errors(503),
        },
      },
    },
    '/v2': {
      get: {
        summary: 'Server metadata',
        responses: { 200: ok({ $ref: '#/components/schemas/ServerMetadata' }) },
      },
    },
    '/v2/models/{name}': {
      get: {
        summary: 'Model metadata',
        parameters: [nameParam],
        responses: { 200: ok({ $ref: '#/components/schemas/ModelMetadata' }), ...errors(404) },
      },
    },
    '/v2/models/{name}/versions/{version}': {
      get: {
        summary: 'Model metadata of a kept version',
        parameters: [nameParam, versionParam],
        responses: { 200: ok({ $ref: '#/components/schemas/ModelMetadata' }), ...errors(404) },
      },
    },
    '/v2/models/{name}/ready': {
      get: {
        summary: 'Model ready',
        parameters: [nameParam],
        responses: {
          200: ok({ type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } } }),
          ...errors(404),
        },
      },
    },
    '/v2/models/{name}/infer': {
      post: {
        summary: 'Inference (Open Inference Protocol)',
        parameters: [nameParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/InferenceRequest' } } },
        },
        responses: {
          200: ok({ $ref: '#/components/schemas/InferenceResponse' }),
          ...errors(400, 404, 413, 415, 503),
        },
      },
    },
    '/v2/models/{name}/versions/{version}/infer': {
      post: {
        summary: 'Inference with a kept version',
        parameters: [nameParam, versionParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/InferenceRequest' } } },
        },
        responses: {
          200: ok({ $ref: '#/components/schemas/InferenceResponse' }),
          ...errors(400, 404, 413, 415, 503),
        },
      },
    },
    '/score': {
      post: {
        summary: 'Score rows (JSON rows, or an Arrow IPC stream)',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                oneOf: [
                  { type: 'object', description: 'one row: {input: value}' },
                  { type: 'array', items: { type: 'object' } },
                  { type: 'object', properties: { rows: { type: 'array', items: { type: 'object' } } } },
                ],
              },
            },
            [ARROW_STREAM]: { schema: { type: 'string', format: 'binary' } },
          },
        },
        responses: {
          200: {
            description: 'one result per row',
            headers: { 'proml-model-version': { schema: { type: 'string' } } },
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/ScoreResponse' } },
              [ARROW_STREAM]: { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...errors(400, 413, 415, 503),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: {
          200: {
            description: 'text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/openapi.json': { get: { summary: 'This description', responses: { 200: ok({ type: 'object' }) } } },
  };
  if (admin) {
    const swapped = ok({
      type: 'object',
      properties: { name: { type: 'string' }, version: { type: 'string' }, previous: { type: 'string' } },
    });
    paths['/admin/models/{name}/load'] = {
      post: {
        summary: 'Hot swap: load a new version (loopback clients only)',
        parameters: [nameParam],
        requestBody: {
          required: true,
          content: {
            'application/wasm': { schema: { type: 'string', format: 'binary' } },
            'application/json': { schema: { type: 'object', properties: { path: { type: 'string' } } } },
          },
        },
        responses: { 200: swapped, ...errors(400, 404, 413, 415) },
      },
    };
    paths['/admin/models/{name}/rollback'] = {
      post: {
        summary: 'Return to the previous version',
        parameters: [nameParam],
        responses: { 200: swapped, ...errors(404, 409) },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: `proml scoring service: ${name}`, version, description: 'See docs/serving.md.' },
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', example: 'PML4202' },
                message: { type: 'string' },
                field: { type: 'string' },
                row: { type: 'integer' },
              },
            },
          },
        },
        ServerMetadata: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            version: { type: 'string' },
            extensions: { type: 'array', items: { type: 'string' } },
          },
        },
        MetadataTensor: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            datatype: { type: 'string' },
            shape: { type: 'array', items: { type: 'integer' } },
          },
        },
        ModelMetadata: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            versions: { type: 'array', items: { type: 'string' } },
            platform: { type: 'string' },
            inputs: { type: 'array', items: { $ref: '#/components/schemas/MetadataTensor' } },
            outputs: { type: 'array', items: { $ref: '#/components/schemas/MetadataTensor' } },
            parameters: { type: 'object' },
          },
        },
        Tensor: tensor,
        InferenceRequest: {
          type: 'object',
          required: ['inputs'],
          properties: {
            id: { type: 'string' },
            parameters: { type: 'object' },
            inputs: { type: 'array', items: { $ref: '#/components/schemas/Tensor' } },
            outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
          },
        },
        InferenceResponse: {
          type: 'object',
          required: ['model_name', 'outputs'],
          properties: {
            model_name: { type: 'string' },
            model_version: { type: 'string' },
            id: { type: 'string' },
            parameters: {
              type: 'object',
              properties: {
                proml_rejected: { type: 'integer' },
                proml_rejections: { type: 'string', description: 'JSON list of {row, code, input, message}' },
              },
            },
            outputs: { type: 'array', items: { $ref: '#/components/schemas/Tensor' } },
          },
        },
        ScoreResponse: {
          type: 'object',
          properties: {
            model: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                version: { type: 'string' },
                sha256: { type: 'string' },
              },
            },
            rejected: { type: 'integer' },
            results: {
              type: 'array',
              items: {
                oneOf: [
                  { type: 'object', properties: { outputs: { type: 'object' } } },
                  {
                    type: 'object',
                    properties: {
                      rejected: {
                        type: 'object',
                        properties: {
                          code: { type: 'string' },
                          input: { type: 'string' },
                          message: { type: 'string' },
                        },
                      },
                    },
                  },
                ],
              },
            },
          },
        },
      },
    },
  };
}
