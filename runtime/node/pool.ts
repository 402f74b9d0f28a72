// A worker-thread scoring pool (piscina) for Node hosts: the module is compiled ONCE here and shared
// with every worker, each of which instantiates it once (Model.fromModule). The main thread encodes
// rows (rowsToColumns) and fetches entity blocks (blocksFor, possibly async); the worker only runs
// the module (scorePrepared); buffers are transferred both ways, never copied by postMessage.
// Input: module bytes, options; rows per call. Output: ScoreResult (score) or one row's result
// (scoreRow), byte-identical to Model.score in process.
// Single-row calls are micro-batched: calls arriving within batchWindowMs (or until maxBatchRows)
// share one task; each row is validated alone first, so a bad row fails only its own call.
// Back-pressure: at most threads + maxQueue tasks outstanding; beyond that calls fail fast with
// PML4303. A worker that dies fails its in-flight calls with PML4304; piscina replaces it.

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Row } from '../../abi/index.js';
import { rowsToColumns, type HostColumn } from '../columns.js';
import { RuntimeError } from '../errors.js';
import {
  Model,
  packBlocks,
  ScoreResult,
  type EntityStore,
  type LoadOptions,
  type OutputBuffer,
} from '../model.js';
import type { PackedBlocks, PoolReply, PoolTask, PoolWorkerData } from './pool-wire.js';

export interface PoolOptions {
  /** Worker threads (default os.availableParallelism()). */
  threads?: number;
  /** Tasks that may wait for a free worker (default 1024); beyond it calls reject with PML4303. */
  maxQueue?: number;
  /** How long the first single-row call of a batch waits for others (default 1 ms; 0: this turn). */
  batchWindowMs?: number;
  /** A micro-batch is sent as soon as it holds this many rows (default 256). */
  maxBatchRows?: number;
  /** Per-entity coefficient blocks, fetched in the main thread (required by models with entities). */
  entities?: EntityStore;
  /** Refuse the module unless its SHA-256 (hex) is this. */
  sha256?: string;
  /** Enables crashNextTask() (tests); also on when PROML_POOL_TEST_HOOKS=1. */
  testHooks?: boolean;
}

/** One row's result, as ScoreResult.rows() gives it. */
export type RowResult = ReturnType<ScoreResult['rows']>[number];

export interface PoolStats {
  threads: number;
  /** score() calls accepted. */
  batchCalls: number;
  /** scoreRow() calls accepted (after their row was validated). */
  rowCalls: number;
  /** Tasks sent to workers (a micro-batch is one task). */
  tasks: number;
  /** Rows in those tasks. */
  rows: number;
  /** Tasks accepted and not finished (encoding, fetching blocks, queued or running). */
  pending: number;
  /** pending beyond one task per thread: what the maxQueue bound applies to. */
  queueSize: number;
  /** Calls rejected with PML4303. */
  overloaded: number;
  /** Tasks failed with PML4304 (their worker died). */
  workerDeaths: number;
}

interface Waiter {
  resolve: (r: RowResult) => void;
  reject: (e: unknown) => void;
}

interface OpenBatch {
  rows: Row[];
  waiters: Waiter[];
  /** Cancels the window's timer (a timeout, or an immediate when the window is 0). */
  cancel: () => void;
}

const WORKER_ENTRY = fileURLToPath(new URL('./pool-worker.mjs', import.meta.url));

export class ScoringPool {
  private readonly threads: number;
  private readonly maxQueue: number;
  private readonly batchWindowMs: number;
  private readonly maxBatchRows: number;
  private readonly entities: EntityStore | undefined;
  private readonly testHooks: boolean;
  /** Tasks accepted and not finished, open micro-batch included. */
  private pending = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private batch: OpenBatch | null = null;
  private crashMode: 'exit' | 'throw' | null = null;
  private closing: Promise<void> | null = null;
  private readonly counts = { batchCalls: 0, rowCalls: 0, tasks: 0, rows: 0, overloaded: 0, workerDeaths: 0 };

  private constructor(
    /** The main thread's instance: manifest, input encoding and entity blocks (it never scores). */
    readonly model: Model,
    private readonly piscina: Piscina<PoolTask, PoolReply>,
    options: PoolOptions,
    threads: number,
    testHooks: boolean,
  ) {
    this.threads = threads;
    this.maxQueue = options.maxQueue ?? 1024;
    this.batchWindowMs = options.batchWindowMs ?? 1;
    this.maxBatchRows = Math.max(1, options.maxBatchRows ?? 256);
    this.entities = options.entities;
    this.testHooks = testHooks;
    // a worker that dies with no task in flight is reported as an 'error' event: it must not
    // become an unhandled one (piscina replaces the worker either way)
    this.piscina.on('error', () => {});
  }

  /** Compiles and checks the module once, then starts the workers (they share the compiled module). */
  static async create(wasmBytes: Uint8Array, options: PoolOptions = {}): Promise<ScoringPool> {
    const load: LoadOptions = options.sha256 === undefined ? {} : { sha256: options.sha256 };
    const model = await Model.load(wasmBytes, load);
    const threads = Math.max(1, options.threads ?? availableParallelism());
    const testHooks = options.testHooks ?? process.env['PROML_POOL_TEST_HOOKS'] === '1';
    const workerData: PoolWorkerData = { module: model.module, testHooks };
    const piscina = new Piscina<PoolTask, PoolReply>({
      filename: WORKER_ENTRY,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      // the pool bounds its own queue (it also counts tasks still fetching entity blocks)
      maxQueue: Number.POSITIVE_INFINITY,
      // workers need no Node flags (V8 flags are process-wide); inheriting the parent's
      // `--import`/`--test` flags would preload the compiler or the test runner in every worker
      execArgv: [],
      workerData,
    });
    return new ScoringPool(model, piscina, options, threads, testHooks);
  }

  /** Tasks waiting beyond one per thread (the maxQueue bound applies to this). */
  get queueSize(): number {
    return Math.max(0, this.pending - this.threads);
  }

  stats(): PoolStats {
    return { threads: this.threads, ...this.counts, pending: this.pending, queueSize: this.queueSize };
  }

  /** Scores a batch in one worker task; the result is byte-identical to Model.score(rows). */
  score(rows: readonly Row[]): Promise<ScoreResult> {
    const refused = this.admit();
    if (refused !== null) return Promise.reject(refused);
    this.counts.batchCalls++;
    return this.scoreRows(rows);
  }

  /**
   * Scores one row, sharing a worker task with the single-row calls around it. An input error
   * (PML42xx) in this row rejects this call only.
   */
  scoreRow(row: Row): Promise<RowResult> {
    if (this.closing !== null) return Promise.reject(new Error('the scoring pool is closed'));
    try {
      rowsToColumns(this.model.manifest.inputs, [row]);
    } catch (e) {
      return Promise.reject(e);
    }
    let batch = this.batch;
    if (batch === null) {
      const refused = this.admit();
      if (refused !== null) return Promise.reject(refused);
      const flush = (): void => this.flush();
      let cancel: () => void;
      if (this.batchWindowMs > 0) {
        const t = setTimeout(flush, this.batchWindowMs);
        cancel = () => clearTimeout(t);
      } else {
        const t = setImmediate(flush);
        cancel = () => clearImmediate(t);
      }
      batch = { rows: [], waiters: [], cancel };
      this.batch = batch;
    }
    this.counts.rowCalls++;
    const p = new Promise<RowResult>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    batch.rows.push(row);
    if (batch.rows.length >= this.maxBatchRows) this.flush();
    return p;
  }

  /** Test hook (testHooks only): the next task's worker dies while running it ('exit': process.exit;
   * 'throw': an uncaught error outside the task). */
  crashNextTask(mode: 'exit' | 'throw'): void {
    if (!this.testHooks) throw new Error('crashNextTask needs a pool created with testHooks');
    this.crashMode = mode;
  }

  /** Sends the open micro-batch, waits for every accepted call, then stops the workers. */
  close(): Promise<void> {
    if (this.closing === null) {
      if (this.batch !== null) this.flush();
      this.closing = (async () => {
        if (this.pending > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        await this.piscina.destroy();
      })();
    }
    return this.closing;
  }

  /** Accepts one more task (the caller must release() it once), or says why not. */
  private admit(): Error | null {
    if (this.closing !== null) return new Error('the scoring pool is closed');
    if (this.pending >= this.threads + this.maxQueue) {
      this.counts.overloaded++;
      return new RuntimeError(
        'overloaded',
        `${this.pending} tasks outstanding (${this.threads} threads + a queue of ${this.maxQueue})`,
      );
    }
    this.pending++;
    return null;
  }

  /** A task is done; called before its results reach the callers, so stats() is settled by then. */
  private release(): void {
    this.pending--;
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async scoreRows(rows: readonly Row[]): Promise<ScoreResult> {
    try {
      const cols = rowsToColumns(this.model.manifest.inputs, rows);
      return await this.run(rows.length, cols);
    } finally {
      this.release();
    }
  }

  private flush(): void {
    const batch = this.batch;
    if (batch === null) return;
    this.batch = null;
    batch.cancel();
    void this.scoreBatch(batch.rows, batch.waiters);
  }

  /** Runs a micro-batch, releases its task, then hands each waiter its row (never rejects). */
  private async scoreBatch(rows: Row[], waiters: Waiter[]): Promise<void> {
    let deliver: () => void;
    try {
      deliver = await this.runBatch(rows, waiters);
    } catch (e) {
      deliver = () => {
        for (const w of waiters) w.reject(e);
      };
    } finally {
      this.release();
    }
    deliver();
  }

  /** Encodes and scores a micro-batch; returns how to hand the rows out. Rows that fail to encode
   * are rejected (and removed from rows/waiters) here. */
  private async runBatch(rows: Row[], waiters: Waiter[]): Promise<() => void> {
    let cols: HostColumn[];
    for (;;) {
      try {
        cols = rowsToColumns(this.model.manifest.inputs, rows);
        break;
      } catch (e) {
        // a row changed after scoreRow validated it: fail that row alone (with its own error) and retry
        const r = e instanceof RuntimeError ? e.row : null;
        if (r === null || r >= rows.length) throw e;
        let own: unknown = e;
        try {
          rowsToColumns(this.model.manifest.inputs, [rows[r]!]);
        } catch (e1) {
          own = e1;
        }
        waiters[r]!.reject(own);
        rows.splice(r, 1);
        waiters.splice(r, 1);
        if (rows.length === 0) return () => {};
      }
    }
    const out = (await this.run(rows.length, cols)).rows();
    return () => waiters.forEach((w, i) => w.resolve(out[i]!));
  }

  /** Fetches the entity blocks, runs one worker task, rebuilds the ScoreResult. */
  private async run(n: number, cols: HostColumn[]): Promise<ScoreResult> {
    const m = this.model.manifest;
    const blocks = await this.model.blocksFor(n, cols, this.entities);
    const packed = this.pack(n, blocks);
    const task: PoolTask = {
      n,
      cols: cols.map((c) => ({
        validity: c.validity,
        values: c.values,
        offsets: c.offsets,
        data: c.data,
        childValidity: c.childValidity,
      })),
      blocks: packed,
    };
    if (this.crashMode !== null) {
      task.crash = this.crashMode;
      this.crashMode = null;
    }
    // every buffer is this call's own (rowsToColumns and pack made them): hand them over
    const transferList = new Set<ArrayBuffer>();
    const give = (v: ArrayBufferView | null): void => {
      if (v !== null && v.buffer instanceof ArrayBuffer) transferList.add(v.buffer);
    };
    for (const c of task.cols) [c.validity, c.values, c.offsets, c.data, c.childValidity].forEach(give);
    for (const b of packed) [b.validity, b.values].forEach(give);
    this.counts.tasks++;
    this.counts.rows += n;
    let reply: PoolReply;
    try {
      reply = await this.piscina.run(task, { transferList: [...transferList] });
    } catch (e) {
      this.counts.workerDeaths++;
      throw new RuntimeError(
        'workerDied',
        `the worker thread scoring ${n} rows died (${e instanceof Error ? e.message : String(e)}); it is being replaced`,
      );
    }
    if (!reply.ok) {
      const { kind, message, field, row } = reply.error;
      if (kind === null) throw new Error(message);
      throw new RuntimeError(kind, message, field, row);
    }
    const outputs: OutputBuffer[] = m.outputs.map((o, j) => ({
      name: o.name,
      type: o.type,
      size: o.size,
      validity: reply.outputs[j]!.validity,
      values: reply.outputs[j]!.values,
    }));
    return new ScoreResult(reply.n, reply.status, outputs, this.model.inputNames);
  }

  /** One dense f64 buffer + validity bitmap per entity block column (runtime/model.ts packBlocks). */
  private pack(n: number, blocks: (Float64Array | null)[][]): PackedBlocks[] {
    return packBlocks(this.model.manifest, n, blocks);
  }
}
