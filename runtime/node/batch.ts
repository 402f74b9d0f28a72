// Batch scoring of files (docs/batch.md): Arrow IPC, Parquet or CSV in, Arrow, Parquet or CSV out,
// streamed batch by batch so memory does not grow with the file. Input: a model (bytes or a loaded
// Model), an input path, options (threads, batch size, entity store, a pass-through column). Output:
// scoreBatches() — an async iterator of scored batches in file order; scoreFile() — writes every
// manifest output plus `_status` and `_rejection` to a temporary file, renames it into place when
// all rows are scored (never a partial output), and returns a Summary.
// Pipeline: read batch k+1 (main thread) while batches k-depth..k score on worker threads; results
// are taken in file order, so output order is input order whatever finishes first.

import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type * as A from 'apache-arrow';
import { decodeStatus } from '../../abi/index.js';
import { RuntimeError } from '../errors.js';
import { Model, ScoreResult, type EntityStore } from '../model.js';
import { resultToArrow } from './arrow-columns.js';
import { openSink, openSource, outputFormat, type FileFormat } from './batch-io.js';
import { createScorer } from './batch-scorer.js';

export interface BatchOptions {
  /** Scoring threads: 1 scores in this thread; more use worker threads (default: every core). */
  threads?: number;
  /** Rows per scored batch (default 8192); Arrow batches longer than this are sliced. */
  batchRows?: number;
  /** Per-entity coefficient blocks (required by models with `per` components). */
  entities?: EntityStore;
  /** A column of the input copied to the output unchanged, first (e.g. a row id). */
  keep?: string;
  /** Called after every scored batch (the CLI's progress bar throttles it). */
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  rows: number;
  rejected: number;
  /** Share of the input consumed, 0..1 (bytes read of the file size; batches or rows where that is known better). */
  fraction: number;
  elapsedMs: number;
}

/** One scored batch: the module's result and the same as an Arrow batch of output columns. */
export interface ScoredBatch {
  /** File row of the first row. */
  rowBase: number;
  n: number;
  result: ScoreResult;
  /** [keep], every manifest output (vectors as fixed_size_list<float32>), _status (uint32), _rejection (utf8). */
  arrow: A.RecordBatch;
}

export interface Summary {
  input: string;
  output: string | null;
  inputFormat: FileFormat;
  outputFormat: FileFormat | null;
  rows: number;
  rejected: number;
  /** Rejected rows per PML41xx code. */
  rejectedByCode: Record<string, number>;
  batches: number;
  threads: number;
  seconds: number;
  rowsPerSecond: number;
}

export const DEFAULT_BATCH_ROWS = 8192;

async function modelOf(model: Model | Uint8Array): Promise<Model> {
  return model instanceof Model ? model : Model.load(model);
}

function contextual(e: unknown, path: string, rowBase: number): unknown {
  if (!(e instanceof RuntimeError) || e.row === null) return e;
  const row = rowBase + e.row;
  const msg = e.message.replace(/^PML\d{4}: /, '').replace(`row ${e.row}`, `row ${row}`);
  return new RuntimeError(e.kind, `${path}: ${msg}`, e.field, row);
}

interface Run {
  batches: AsyncGenerator<ScoredBatch>;
  format: () => FileFormat;
  threads: number;
}

function run(
  model: Model,
  inPath: string,
  options: BatchOptions,
  stats: { rows: number; rejected: number; byCode: Map<string, number>; started: number },
): Run {
  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const batchRows = Math.max(1, Math.floor(options.batchRows ?? DEFAULT_BATCH_ROWS));
  const keep = options.keep;
  if (
    keep !== undefined &&
    [...model.manifest.outputs.map((o) => o.name), '_status', '_rejection'].includes(keep)
  )
    throw new RuntimeError('unwritableOutput', `the kept column '${keep}' has the name of an output column`);
  let format: FileFormat | null = null;
  async function* batches(): AsyncGenerator<ScoredBatch> {
    const source = await openSource(inPath, model.manifest.inputs, { batchRows, keep });
    format = source.format;
    const scorer = createScorer(model, options.entities, threads);
    const depth = Math.max(2, threads * 2);
    const inflight: Promise<ScoredBatch>[] = [];
    const take = async (): Promise<ScoredBatch> => {
      const b = await inflight.shift()!;
      stats.rows += b.n;
      for (let r = 0; r < b.n; r++) {
        const d = decodeStatus(b.result.status[r]!);
        if (d === null) continue;
        stats.rejected++;
        const code = `PML${d.code}`;
        stats.byCode.set(code, (stats.byCode.get(code) ?? 0) + 1);
      }
      options.onProgress?.({
        rows: stats.rows,
        rejected: stats.rejected,
        fraction: source.progress(),
        elapsedMs: performance.now() - stats.started,
      });
      return b;
    };
    try {
      for await (const b of source.batches()) {
        const p = scorer.score(b.n, b.cols).then(
          (result) => ({
            rowBase: b.rowBase,
            n: b.n,
            result,
            arrow: resultToArrow(result, keep === undefined ? null : { name: keep, data: b.keep! }),
          }),
          (e: unknown) => {
            throw contextual(e, inPath, b.rowBase);
          },
        );
        p.catch(() => undefined);
        inflight.push(p);
        if (inflight.length >= depth) yield await take();
      }
      while (inflight.length > 0) yield await take();
    } finally {
      await source.close();
      await scorer.close();
    }
  }
  return {
    batches: batches(),
    format: () => format ?? 'csv',
    threads,
  };
}

/** Scored batches of a file, in file order (memory holds only the batches in flight). */
export async function* scoreBatches(
  model: Model | Uint8Array,
  inPath: string,
  options: BatchOptions = {},
): AsyncGenerator<ScoredBatch> {
  const m = await modelOf(model);
  const stats = { rows: 0, rejected: 0, byCode: new Map<string, number>(), started: performance.now() };
  yield* run(m, inPath, options, stats).batches;
}

/**
 * Scores a file into another (formats from the extensions: .arrow/.feather Arrow IPC file, .arrows
 * Arrow IPC stream, .parquet, .csv). The output appears only when every row is scored.
 */
export async function scoreFile(
  model: Model | Uint8Array,
  inPath: string,
  outPath: string,
  options: BatchOptions = {},
): Promise<Summary> {
  const m = await modelOf(model);
  const outFormat = outputFormat(outPath);
  if (resolve(inPath) === resolve(outPath))
    throw new RuntimeError('unwritableOutput', `${outPath}: the output would overwrite the input`);
  const dir = dirname(resolve(outPath));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new RuntimeError('unwritableOutput', `${outPath}: no such directory '${dirname(outPath)}'`);
  const started = performance.now();
  const stats = { rows: 0, rejected: 0, byCode: new Map<string, number>(), started };
  const r = run(m, inPath, options, stats);
  const batchRows = Math.max(1, Math.floor(options.batchRows ?? DEFAULT_BATCH_ROWS));
  const tmp = join(dir, `.${basename(outPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let sink: ReturnType<typeof openSink> | null = null;
  let batches = 0;
  try {
    for await (const b of r.batches) {
      sink ??= openSink(tmp, outFormat, { batchRows });
      await sink.write(b.arrow);
      batches++;
    }
    if (sink === null) {
      // no rows: still a valid (empty) file with the output columns
      sink = openSink(tmp, outFormat, { batchRows });
      const empty = emptyResult(m);
      await sink.write(resultToArrow(empty, null));
    }
    await sink.close();
    await rename(tmp, outPath).catch((e: unknown) => {
      throw new RuntimeError(
        'unwritableOutput',
        `${outPath}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    });
  } catch (e) {
    await sink?.abort().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    input: inPath,
    output: outPath,
    inputFormat: r.format(),
    outputFormat: outFormat,
    rows: stats.rows,
    rejected: stats.rejected,
    rejectedByCode: Object.fromEntries([...stats.byCode].sort()),
    batches,
    threads: r.threads,
    seconds,
    rowsPerSecond: seconds > 0 ? stats.rows / seconds : 0,
  };
}

function emptyResult(m: Model): ScoreResult {
  const outputs = m.manifest.outputs.map((o) => ({
    name: o.name,
    type: o.type,
    size: o.size,
    validity: new Uint8Array(0),
    values:
      o.type === 'f64'
        ? new Float64Array(0)
        : o.type === 'int'
          ? new Int32Array(0)
          : o.type === 'bool'
            ? new Uint8Array(0)
            : new Float32Array(0),
  }));
  return new ScoreResult(0, new Uint32Array(0), outputs, m.inputNames);
}
