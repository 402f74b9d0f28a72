// Reading input files and writing score files batch by batch, in bounded memory (docs/batch.md).
// Input: a path and the manifest inputs. Output: a Source of batches (ABI columns + an optional
// pass-through column), and Sinks that take Arrow batches of scores and append them to a file.
//   read:  Arrow IPC file (random access, batch by batch) or stream (bytes counted as they pass);
//          Parquet through parquet-wasm's async reader over a Blob (only the row groups in use are
//          read); CSV record by record in the rows-CSV encoding (abi/rows-csv.ts).
//   write: Arrow IPC file (.arrow, .feather) or stream (.arrows); Parquet row group by row group
//          (transformParquetStream); CSV lines.
// Arrow batches longer than the batch size are sliced (slices keep the zero-copy buffers).

import { once } from 'node:events';
import { createReadStream, createWriteStream, openAsBlob, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import * as A from 'apache-arrow';
import * as P from 'parquet-wasm/node';
import { decodeCsvValue, RowsCsvError, type CsvColumn, type InputColumn, type Row } from '../../abi/index.js';
import { encodeColumn, rowsToColumns, type HostColumn } from '../columns.js';
import { rebaseRow, RuntimeError } from '../errors.js';
import { arrowToColumns, arrowToRows, checkNumberType, describeInput } from './arrow-columns.js';

export type FileFormat = 'arrow' | 'arrow-stream' | 'parquet' | 'csv';

/** One batch read from the input: its ABI columns and the pass-through column, if any. */
export interface InBatch {
  /** File row of the first row. */
  rowBase: number;
  n: number;
  cols: HostColumn[];
  keep: A.Data | null;
}

export interface Source {
  format: FileFormat;
  /** File size in bytes. */
  size: number;
  /** How much of the file has been consumed, 0..1. */
  progress(): number;
  batches(): AsyncGenerator<InBatch>;
  close(): Promise<void>;
}

export interface SourceOptions {
  batchRows: number;
  /** A column passed through to the output unchanged (e.g. an id). */
  keep?: string | undefined;
}

const unreadable = (path: string, why: string): RuntimeError =>
  new RuntimeError('unreadableInput', `${path}: ${why}`);

/** The format of an output path, from its extension. */
export function outputFormat(path: string): FileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  if (ext === '.arrows') return 'arrow-stream';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.csv') return 'csv';
  throw new RuntimeError(
    'unwritableOutput',
    `${path}: unknown output format '${ext}' (use .arrow, .arrows, .parquet or .csv)`,
  );
}

/** The format of an input file, from its first bytes (CSV when it is none of the binary formats). */
async function sniff(path: string): Promise<{ format: FileFormat; size: number }> {
  let size: number;
  const head = new Uint8Array(8);
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw unreadable(path, 'is a directory');
    size = st.size;
    const fh = await open(path, 'r');
    try {
      await fh.read(head, 0, 8, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof RuntimeError) throw e;
    throw unreadable(path, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const text = new TextDecoder().decode(head.subarray(0, 6));
  if (text === 'ARROW1') return { format: 'arrow', size };
  if (head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff)
    return { format: 'arrow-stream', size };
  if (text.startsWith('PAR1')) return { format: 'parquet', size };
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.txt' || ext === '') return { format: 'csv', size };
  throw unreadable(
    path,
    `not an Arrow IPC, Parquet or CSV file (extension '${ext}', first bytes ${Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`,
  );
}

export async function openSource(
  path: string,
  inputs: readonly InputColumn[],
  options: SourceOptions,
): Promise<Source> {
  const { format, size } = await sniff(path);
  switch (format) {
    case 'arrow':
    case 'arrow-stream':
    case 'parquet':
      return arrowSource(path, format, size, inputs, options);
    case 'csv':
      return csvSource(path, size, inputs, options);
  }
}

function keepOf(batch: A.RecordBatch, keep: string | undefined, path: string): A.Data | null {
  if (keep === undefined) return null;
  const v = batch.getChild(keep);
  if (v === null)
    throw new RuntimeError('missingColumn', `${path}: no column '${keep}' to keep (--keep)`, keep);
  return v.data[0]!;
}

/** Arrow batches → InBatches of at most batchRows rows. */
async function* fromArrowBatches(
  batches: AsyncIterable<A.RecordBatch>,
  inputs: readonly InputColumn[],
  options: SourceOptions,
  path: string,
): AsyncGenerator<InBatch> {
  let rowBase = 0;
  for await (const whole of batches) {
    for (let at = 0; at < whole.numRows; at += options.batchRows) {
      const b =
        at === 0 && whole.numRows <= options.batchRows
          ? whole
          : whole.slice(at, Math.min(whole.numRows, at + options.batchRows));
      const cols = withPath(path, () => arrowToColumns(inputs, b, rowBase));
      yield { rowBase, n: b.numRows, cols, keep: keepOf(b, options.keep, path) };
      rowBase += b.numRows;
    }
  }
}

/** Prefixes the file name to a RuntimeError's message. */
function withPath<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RuntimeError)
      throw new RuntimeError(e.kind, `${path}: ${e.message.replace(/^PML\d{4}: /, '')}`, e.field, e.row);
    throw e;
  }
}

/** An opened Arrow-shaped input (Arrow IPC file or stream, Parquet): its schema and its batches. */
interface ArrowReader {
  schema: A.Schema;
  /** Batches of the file (Parquet: only `columns`, batches of about `batchRows`); read once. */
  batches(columns: readonly string[], batchRows: number): AsyncIterable<A.RecordBatch>;
  progress(): number;
  close(): Promise<void>;
}

async function openArrowReader(
  path: string,
  format: 'arrow' | 'arrow-stream',
  size: number,
): Promise<ArrowReader> {
  if (format === 'arrow') {
    const fh = await open(path, 'r');
    let reader: A.AsyncRecordBatchFileReader;
    try {
      reader = (await A.RecordBatchReader.from(fh)) as unknown as A.AsyncRecordBatchFileReader;
      await reader.open();
    } catch (e) {
      await fh.close();
      throw unreadable(path, `not a readable Arrow IPC file (${(e as Error).message})`);
    }
    const total = Math.max(1, reader.numRecordBatches);
    let seen = 0;
    return {
      schema: reader.schema,
      batches: () => counting(guard(reader, path), () => seen++),
      progress: () => seen / total,
      close: async () => {
        await fh.close().catch(() => undefined);
      },
    };
  }
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream) {
      bytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  let reader: A.AsyncRecordBatchStreamReader;
  try {
    reader = (await A.RecordBatchReader.from(counted())) as unknown as A.AsyncRecordBatchStreamReader;
    await reader.open();
  } catch (e) {
    stream.destroy();
    throw unreadable(path, `not a readable Arrow IPC stream (${(e as Error).message})`);
  }
  return {
    schema: reader.schema,
    batches: () => guard(reader, path),
    progress: () => Math.min(1, bytes / Math.max(1, size)),
    close: async () => {
      stream.destroy();
    },
  };
}

async function* counting<T>(items: AsyncIterable<T>, onItem: () => void): AsyncGenerator<T> {
  for await (const x of items) {
    onItem();
    yield x;
  }
}

async function arrowSource(
  path: string,
  format: 'arrow' | 'arrow-stream' | 'parquet',
  size: number,
  inputs: readonly InputColumn[],
  options: SourceOptions,
): Promise<Source> {
  const reader =
    format === 'parquet' ? await openParquetReader(path, size) : await openArrowReader(path, format, size);
  try {
    checkSchema(reader.schema, inputs, path, options.keep);
  } catch (e) {
    await reader.close();
    throw e;
  }
  const wanted = [
    ...new Set([...inputs.map((c) => c.name), ...(options.keep === undefined ? [] : [options.keep])]),
  ];
  return {
    format,
    size,
    progress: () => reader.progress(),
    batches: () => fromArrowBatches(reader.batches(wanted, options.batchRows), inputs, options, path),
    close: () => reader.close(),
  };
}

/** Read errors in the middle of a file become PML4602. */
async function* guard(batches: AsyncIterable<A.RecordBatch>, path: string): AsyncGenerator<A.RecordBatch> {
  const it = batches[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<A.RecordBatch>;
    try {
      r = await it.next();
    } catch (e) {
      throw unreadable(path, `corrupt or truncated (${(e as Error).message})`);
    }
    if (r.done === true) return;
    yield r.value;
  }
}

/** Every input has a column of a usable type (checked before any row is scored). */
function checkSchema(
  schema: A.Schema,
  inputs: readonly InputColumn[],
  path: string,
  keep: string | undefined,
): void {
  const names = new Set(schema.fields.map((f) => f.name));
  const missing = inputs.filter((c) => !names.has(c.name));
  if (missing.length > 0)
    throw new RuntimeError(
      'missingColumn',
      `${path}: no column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c.name}' (${describeInput(c)})`).join(', ')} for the model's input${missing.length > 1 ? 's' : ''}`,
      missing[0]!.name,
    );
  if (keep !== undefined && !names.has(keep))
    throw new RuntimeError('missingColumn', `${path}: no column '${keep}' to keep (--keep)`, keep);
  // types: an empty batch of the schema runs the same checks as the real batches
  const empty = new A.RecordBatch(
    schema,
    A.makeData({
      type: new A.Struct(schema.fields),
      length: 0,
      children: schema.fields.map((f) =>
        A.makeData({ type: f.type, length: 0 } as Parameters<typeof A.makeData>[0]),
      ),
    }),
  );
  withPath(path, () => {
    try {
      arrowToColumns(inputs, empty, 0);
    } catch (e) {
      // only type errors matter here; empty children of nested types may not convert
      if (
        e instanceof RuntimeError &&
        (e.kind === 'wrongType' || e.kind === 'wrongShape' || e.kind === 'missingColumn')
      )
        throw e;
    }
  });
}

async function openParquetReader(path: string, size: number): Promise<ArrowReader> {
  let file: P.ParquetFile;
  let total: number;
  try {
    file = await P.ParquetFile.fromFile(await openAsBlob(path));
    total = file.metadata().fileMetadata().numRows();
  } catch (e) {
    throw unreadable(path, `not a readable Parquet file (${e instanceof Error ? e.message : String(e)})`);
  }
  // the schema: read from zero rows
  let schema: A.Schema;
  try {
    const t = A.tableFromIPC(file.schema().intoIPCStream());
    schema = t.schema;
  } catch (e) {
    file.free();
    throw unreadable(path, `cannot read the Parquet schema (${(e as Error).message})`);
  }
  void size;
  let rows = 0;
  async function* batches(columns: readonly string[], batchRows: number): AsyncGenerator<A.RecordBatch> {
    const stream = (await file.stream({
      batchSize: batchRows,
      columns: [...columns],
    })) as ReadableStream<P.RecordBatch>;
    for await (const rb of stream as unknown as AsyncIterable<P.RecordBatch>) {
      const t = A.tableFromIPC(rb.intoIPCStream());
      for (const b of t.batches) {
        rows += b.numRows;
        yield b;
      }
    }
  }
  return {
    schema,
    batches: (columns, batchRows) => guard(batches(columns, batchRows), path),
    progress: () => (total === 0 ? 1 : rows / total),
    close: async () => {
      file.free();
    },
  };
}

/** How an input's cells are written in the rows CSV (the compiler's csvColumns, from the manifest). */
export function cellKind(c: InputColumn): CsvColumn['kind'] {
  const t = c.type;
  switch (t.kind) {
    case 'f32':
    case 'f64':
    case 'int':
      return 'number';
    case 'bool':
      return 'bool';
    case 'bag':
      return t.elem === 'string' ? 'strings' : 'numbers';
    case 'vector':
      return 'numbers';
    default:
      return 'string';
  }
}

/** Splits CSV text into records (quoted cells may hold newlines); keeps the unfinished tail. */
class RecordSplitter {
  private buf = '';
  private scanned = 0;
  private quoted = false;
  private start = 0;
  readonly records: string[] = [];

  push(text: string): void {
    this.buf += text;
    const b = this.buf;
    for (let i = this.scanned; i < b.length; i++) {
      const c = b.charCodeAt(i);
      if (c === 34) this.quoted = !this.quoted;
      else if (c === 10 && !this.quoted) {
        let end = i;
        if (end > this.start && b.charCodeAt(end - 1) === 13) end--;
        this.records.push(b.slice(this.start, end));
        this.start = i + 1;
      }
    }
    this.buf = b.slice(this.start);
    this.start = 0;
    this.scanned = this.buf.length;
  }

  end(): void {
    if (this.buf.length > 0) this.records.push(this.buf.replace(/\r$/, ''));
    this.buf = '';
    this.scanned = 0;
  }
}

/** An opened CSV input: its header and its records (text lines, quoted line breaks kept), read in 1 MiB chunks. */
interface CsvReader {
  header: string[];
  /** Up to `want` more records (fewer only at the end of the file). */
  next(want: number): Promise<string[]>;
  progress(): number;
  close(): Promise<void>;
}

async function openCsvReader(path: string, size: number): Promise<CsvReader> {
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const decoder = new StringDecoder('utf8');
  const split = new RecordSplitter();
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let eof = false;
  /** Reads until `want` records are buffered or the file ends. */
  const fill = async (want: number): Promise<void> => {
    while (!eof && split.records.length < want) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (e) {
        throw unreadable(
          path,
          `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
      }
      if (r.done === true) {
        split.push(decoder.end());
        split.end();
        eof = true;
      } else {
        bytes += r.value.length;
        split.push(decoder.write(r.value));
      }
    }
  };
  const fail = (e: RuntimeError): never => {
    stream.destroy();
    throw e;
  };
  await fill(1);
  const headerLine = split.records.shift();
  if (headerLine === undefined || headerLine.trim() === '')
    fail(unreadable(path, 'empty CSV file (no header line)'));
  let header: string[] = [];
  try {
    header = csvHeader(headerLine!);
  } catch (e) {
    fail(unreadable(path, `line 1: ${(e as Error).message}`));
  }
  return {
    header,
    next: async (want) => {
      await fill(want);
      return split.records.splice(0, want);
    },
    progress: () => Math.min(1, bytes / Math.max(1, size)),
    close: async () => {
      stream.destroy();
    },
  };
}

/** PML4601 unless the CSV header names every input (and the --keep column). */
function checkHeader(
  header: readonly string[],
  inputs: readonly InputColumn[],
  path: string,
  keep: string | undefined,
): void {
  const missing = inputs.filter((c) => !header.includes(c.name));
  if (missing.length > 0)
    throw new RuntimeError(
      'missingColumn',
      `${path}: no column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c.name}' (${describeInput(c)})`).join(', ')} for the model's input${missing.length > 1 ? 's' : ''} (header: ${header.join(', ')})`,
      missing[0]!.name,
    );
  if (keep !== undefined && !header.includes(keep))
    throw new RuntimeError('missingColumn', `${path}: no column '${keep}' to keep (--keep)`, keep);
}

/** CSV records → rows (cells decoded per `columns`, null = not read); errors name line and column. */
function parseRecords(
  recs: readonly string[],
  columns: readonly (CsvColumn | null)[],
  path: string,
  rowBase: number,
): Row[] {
  try {
    return recs.map((rec, k) => parseRecord(rec, columns, rowBase + k + 2));
  } catch (e) {
    if (!(e instanceof RowsCsvError)) throw e;
    const col = /column '([^']+)'/.exec(e.message)?.[1] ?? null;
    throw col !== null
      ? new RuntimeError('wrongType', `${path}: ${e.message}`, col, null)
      : unreadable(path, e.message);
  }
}

/** A batch-relative RuntimeError (`row r`) → the file's CSV line (header on line 1). */
function atLine<T>(path: string, rowBase: number, f: () => T): T {
  return withPath(path, () => rebased(rowBase, f, (row) => `line ${row + 2}`));
}

/** Runs f, restating a batch-relative row error for the file (runtime/errors.ts rebaseRow). */
function rebased<T>(rowBase: number, f: () => T, where?: (row: number) => string): T {
  try {
    return f();
  } catch (e) {
    throw rebaseRow(e, rowBase, where);
  }
}

async function csvSource(
  path: string,
  size: number,
  inputs: readonly InputColumn[],
  options: SourceOptions,
): Promise<Source> {
  const reader = await openCsvReader(path, size);
  const header = reader.header;
  try {
    checkHeader(header, inputs, path, options.keep);
  } catch (e) {
    await reader.close();
    throw e;
  }
  const byName = new Map(inputs.map((c) => [c.name, c]));
  const columns: CsvColumn[] = header.map((h) => ({
    name: h,
    kind: byName.has(h) ? cellKind(byName.get(h)!) : 'string',
  }));
  async function* batches(): AsyncGenerator<InBatch> {
    let rowBase = 0;
    for (;;) {
      const recs = await reader.next(options.batchRows);
      if (recs.length === 0) return;
      const parsed = parseRecords(recs, columns, path, rowBase);
      const rows: Row[] = parsed.map((p) => {
        const row: Row = {};
        for (const c of inputs) row[c.name] = p[c.name] ?? null;
        return row;
      });
      const cols = atLine(path, rowBase, () => rowsToColumns(inputs, rows));
      const keep =
        options.keep === undefined
          ? null
          : A.vectorFromArray(
              parsed.map((p) => (p[options.keep!] ?? null) as string | null),
              new A.Utf8(),
            ).data[0]!;
      yield { rowBase, n: rows.length, cols, keep };
      rowBase += rows.length;
    }
  }
  return {
    format: 'csv',
    size,
    progress: () => reader.progress(),
    batches,
    close: () => reader.close(),
  };
}

// ---- rows (the trainer's input) ----

/** Plain rows read from a file: the model's inputs and the extra number columns. */
export interface RowSource {
  format: FileFormat;
  /** File size in bytes. */
  size: number;
  /** The file's column names (CSV header, Arrow/Parquet schema). */
  columns: string[];
  /** How much of the file has been consumed, 0..1. */
  progress(): number;
  /** Batches of rows; `rowBase` is the file row (0-based, after the CSV header) of the first. */
  batches(): AsyncGenerator<{ rowBase: number; rows: Row[] }>;
  close(): Promise<void>;
}

export interface RowSourceOptions {
  batchRows: number;
  /**
   * Columns that are not model inputs but are read as numbers (labels, weights): in CSV number cells,
   * in Arrow/Parquet float, integer or bool columns. Missing ones are not an error here (the caller
   * names them better) and come back absent from the rows.
   */
  numbers?: readonly string[];
}

/**
 * Opens a file (any format openSource reads, with the same format detection, column and type checks
 * and messages) for rows of plain values: every input's value as a JSON row carries it, checked as
 * scoring checks it (PML4202/4203 naming the column and the CSV line or file row), plus `numbers`.
 */
export async function openRowSource(
  path: string,
  inputs: readonly InputColumn[],
  options: RowSourceOptions,
): Promise<RowSource> {
  const { format, size } = await sniff(path);
  if (format === 'csv') {
    const reader = await openCsvReader(path, size);
    const header = reader.header;
    try {
      checkHeader(header, inputs, path, undefined);
    } catch (e) {
      await reader.close();
      throw e;
    }
    const byName = new Map(inputs.map((c) => [c.name, c]));
    const numbers = new Set(options.numbers ?? []);
    const columns: (CsvColumn | null)[] = header.map((h) =>
      byName.has(h)
        ? { name: h, kind: cellKind(byName.get(h)!) }
        : numbers.has(h)
          ? { name: h, kind: 'number' }
          : null,
    );
    return {
      format,
      size,
      columns: header,
      progress: () => reader.progress(),
      batches: async function* () {
        let rowBase = 0;
        for (;;) {
          const recs = await reader.next(options.batchRows);
          if (recs.length === 0) return;
          const rows = parseRecords(recs, columns, path, rowBase);
          atLine(path, rowBase, () => checkValues(inputs, rows));
          yield { rowBase, rows };
          rowBase += rows.length;
        }
      },
      close: () => reader.close(),
    };
  }
  const reader =
    format === 'parquet' ? await openParquetReader(path, size) : await openArrowReader(path, format, size);
  const names = reader.schema.fields.map((f) => f.name);
  const numbers = (options.numbers ?? []).filter((n) => names.includes(n));
  try {
    checkSchema(reader.schema, inputs, path, undefined);
    for (const name of numbers)
      withPath(path, () => checkNumberType(name, reader.schema.fields.find((f) => f.name === name)!.type));
  } catch (e) {
    await reader.close();
    throw e;
  }
  const wanted = [...new Set([...inputs.map((c) => c.name), ...numbers])];
  return {
    format,
    size,
    columns: names,
    progress: () => reader.progress(),
    batches: async function* () {
      let rowBase = 0;
      for await (const b of reader.batches(wanted, options.batchRows)) {
        const rows = withPath(path, () => arrowToRows(inputs, b, numbers));
        atRow(path, rowBase, () => checkValues(inputs, rows));
        yield { rowBase, rows };
        rowBase += rows.length;
      }
    },
    close: () => reader.close(),
  };
}

/** Every input value of the rows encodes (the encoder's checks; the columns are dropped). */
function checkValues(inputs: readonly InputColumn[], rows: readonly Row[]): void {
  for (const c of inputs) encodeColumn(c, rows);
}

/** A batch-relative RuntimeError (`row r`) → the file row. */
function atRow<T>(path: string, rowBase: number, f: () => T): T {
  return withPath(path, () => rebased(rowBase, f));
}

/**
 * One CSV record (no line break outside quotes) → a row, decoding cells exactly as abi/rows-csv.ts
 * does (docs/abi.md section 6); written for speed: slices instead of a character at a time.
 */
function parseRecord(rec: string, columns: readonly (CsvColumn | null)[], line: number): Row {
  const row: Row = {};
  let i = 0;
  let k = 0;
  const n = rec.length;
  for (;;) {
    let text: string;
    let quoted = false;
    if (rec.charCodeAt(i) === 34) {
      quoted = true;
      i++;
      let parts = '';
      for (;;) {
        const q = rec.indexOf('"', i);
        if (q < 0) throw new RowsCsvError(`line ${line}: unterminated quoted cell`);
        parts += rec.slice(i, q);
        if (rec.charCodeAt(q + 1) === 34) {
          parts += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      text = parts;
    } else {
      const j = rec.indexOf(',', i);
      const end = j < 0 ? n : j;
      text = rec.slice(i, end);
      i = end;
    }
    const c = columns[k];
    if (c === undefined)
      throw new RowsCsvError(`line ${line}: more than the header's ${columns.length} cells`);
    if (c !== null)
      row[c.name] =
        quoted || text !== '' ? decodeCsvValue(text, c.kind, `line ${line}, column '${c.name}'`) : null;
    k++;
    if (i >= n) break;
    if (rec.charCodeAt(i) !== 44)
      throw new RowsCsvError(`line ${line}: unexpected '${rec[i]}' after a quoted cell`);
    i++;
    if (i >= n) {
      const last = columns[k];
      if (last !== undefined && last !== null) row[last.name] = null;
      k++;
      break;
    }
  }
  if (k !== columns.length)
    throw new RowsCsvError(`line ${line}: ${k} cells, the header has ${columns.length}`);
  return row;
}

/** The header's cells (RFC 4180 quoting allowed). */
function csvHeader(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error('unterminated quoted cell');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += line[i++];
      }
    } else {
      const j = line.indexOf(',', i);
      cell = line.slice(i, j < 0 ? line.length : j);
      i = j < 0 ? line.length : j;
    }
    out.push(cell);
    if (i >= line.length) return out;
    if (line[i] !== ',') throw new Error(`unexpected '${line[i]}' after a quoted cell`);
    i++;
  }
}

// ---- sinks ----

export interface Sink {
  write(batch: A.RecordBatch): Promise<void>;
  /** Flushes and closes the file. */
  close(): Promise<void>;
  /** Stops writing (the caller removes the file). */
  abort(): Promise<void>;
}

export interface SinkOptions {
  batchRows: number;
}

const unwritable = (path: string, e: unknown): RuntimeError =>
  new RuntimeError(
    'unwritableOutput',
    `${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
  );

/** A WriteStream whose first error is kept and rethrown by ready()/end(). */
class FileOut {
  private error: Error | null = null;
  private readonly ws: WriteStream;
  constructor(readonly path: string) {
    this.ws = createWriteStream(path);
    this.ws.on('error', (e) => (this.error ??= e));
  }
  get stream(): WriteStream {
    return this.ws;
  }
  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.error !== null) throw unwritable(this.path, this.error);
    if (!this.ws.write(chunk))
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.ws.off('drain', done);
          this.ws.off('error', done);
          resolve();
        };
        this.ws.on('drain', done);
        this.ws.on('error', done);
      });
    if (this.error !== null) throw unwritable(this.path, this.error);
  }
  async end(): Promise<void> {
    if (this.error !== null) throw unwritable(this.path, this.error);
    if (!this.ws.closed) {
      const closed = once(this.ws, 'close');
      this.ws.end();
      await closed.catch(() => undefined);
    }
    if (this.error !== null) throw unwritable(this.path, this.error);
  }
  destroy(): void {
    this.ws.destroy();
  }
}

export function openSink(path: string, format: FileFormat, options: SinkOptions): Sink {
  switch (format) {
    case 'arrow':
    case 'arrow-stream':
      return arrowSink(path, format);
    case 'parquet':
      return parquetSink(path, options);
    case 'csv':
      return csvSink(path);
  }
}

function arrowSink(path: string, format: 'arrow' | 'arrow-stream'): Sink {
  const out = new FileOut(path);
  let writer: A.RecordBatchWriter | null = null;
  let pump: Promise<void> | null = null;
  return {
    async write(batch) {
      if (writer === null) {
        const w = format === 'arrow' ? new A.RecordBatchFileWriter() : new A.RecordBatchStreamWriter();
        writer = w;
        pump = (async () => {
          for await (const chunk of w as AsyncIterable<Uint8Array>) await out.write(chunk);
        })();
        pump.catch(() => undefined);
      }
      writer.write(batch);
      // let the pump drain what this batch produced before the next one (bounded buffering)
      await new Promise<void>((r) => setImmediate(r));
    },
    async close() {
      if (writer !== null) {
        writer.finish();
        await pump;
      }
      await out.end();
    },
    async abort() {
      out.destroy();
      writer?.abort();
    },
  };
}

function parquetSink(path: string, options: SinkOptions): Sink {
  const out = new FileOut(path);
  const waiting: { batch: A.RecordBatch | null; taken: () => void }[] = [];
  let wake: (() => void) | null = null;
  let pump: Promise<void> | null = null;
  const next = async (): Promise<{ batch: A.RecordBatch | null; taken: () => void }> => {
    while (waiting.length === 0) await new Promise<void>((r) => (wake = r));
    return waiting.shift()!;
  };
  const push = (batch: A.RecordBatch | null): Promise<void> =>
    new Promise<void>((taken) => {
      waiting.push({ batch, taken });
      const w = wake;
      wake = null;
      w?.();
    });
  const start = (): void => {
    const src = new ReadableStream<P.RecordBatch>(
      {
        pull: async (c) => {
          const item = await next();
          if (item.batch === null) c.close();
          else {
            const t = P.Table.fromIPCStream(A.tableToIPC(new A.Table([item.batch]), 'stream'));
            c.enqueue(t.recordBatch(0)!);
            t.free();
          }
          item.taken();
        },
      },
      { highWaterMark: 0 },
    );
    const props = new P.WriterPropertiesBuilder()
      .setCompression(P.Compression.SNAPPY)
      .setMaxRowGroupSize(Math.max(options.batchRows, 1 << 16))
      .build();
    pump = (async () => {
      const bytes = (await P.transformParquetStream(src, props)) as unknown as AsyncIterable<Uint8Array>;
      for await (const chunk of bytes) await out.write(chunk);
    })();
    pump.catch(() => undefined);
  };
  const fail = async (): Promise<never> => {
    await pump;
    throw new RuntimeError('unwritableOutput', `${path}: the Parquet writer stopped`);
  };
  return {
    async write(batch) {
      if (pump === null) start();
      await Promise.race([push(batch), pump!.then(fail)]);
    },
    async close() {
      if (pump !== null) {
        await Promise.race([push(null), pump.then(() => undefined)]);
        try {
          await pump;
        } catch (e) {
          if (e instanceof RuntimeError) throw e;
          throw unwritable(path, e);
        }
      }
      await out.end();
    },
    async abort() {
      out.destroy();
      if (pump !== null) void push(null);
    },
  };
}

function encodeNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return Object.is(x, -0) ? '-0' : String(x);
}

function quote(s: string): string {
  if (s === '' || /[",\r\n]/.test(s) || s !== s.trim()) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

/** A cell in the rows-CSV encoding (numbers keep -0, so a score file reads back bit for bit). */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return encodeNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quote(v);
  if (v instanceof A.Vector || ArrayBuffer.isView(v) || Array.isArray(v)) {
    const arr = Array.from((v instanceof A.Vector ? v.toArray() : v) as ArrayLike<unknown>);
    if (arr.every((x) => typeof x === 'number'))
      return quote(`[${(arr as number[]).map(encodeNumber).join(',')}]`);
    return quote(JSON.stringify(arr));
  }
  return quote(String(v));
}

function csvSink(path: string): Sink {
  const out = new FileOut(path);
  let header = false;
  return {
    async write(batch) {
      const names = batch.schema.fields.map((f) => f.name);
      const cols = names.map((_, i) => batch.getChildAt(i)!);
      const lines: string[] = [];
      if (!header) {
        lines.push(names.map(quote).join(','));
        header = true;
      }
      for (let r = 0; r < batch.numRows; r++) lines.push(cols.map((c) => csvCell(c.get(r))).join(','));
      await out.write(lines.join('\n') + '\n');
    },
    async close() {
      await out.end();
    },
    async abort() {
      out.destroy();
    },
  };
}
