// Where batch scoring runs: in this thread, or on worker threads that share the module compiled once
// (batch-worker.ts). Input: the loaded Model, an entity store, one batch of ABI columns at a time.
// Output: a ScoreResult per batch, byte-identical either way (the same module, the same buffers).
// Entity blocks are fetched here in the main thread (the store may be async or not cloneable) and
// packed into one buffer per block column; column buffers are copied out of the input file's chunks
// once and transferred (postMessage would otherwise clone the whole chunk a view points into). The
// worker hands the input buffers back with its reply and they are reused for later batches: a fresh
// multi-megabyte ArrayBuffer per batch made V8 run a full GC per batch in both threads (external
// memory pressure; measured 5× slower than scoring in process on 1,000-wide rows).
//
//   main ──BatchTask {id, n, cols, blocks}──▶ worker ──BatchReply {id, status, outputs}──▶ main

import { Worker } from 'node:worker_threads';
import type { HostColumn } from '../columns.js';
import { RuntimeError, type RuntimeCodeName } from '../errors.js';
import { packBlocks, ScoreResult, type EntityStore, type Model } from '../model.js';

export interface Scorer {
  /** Scores one batch; batches may be in flight together (results keep their own order by promise). */
  score(n: number, cols: HostColumn[]): Promise<ScoreResult>;
  readonly threads: number;
  close(): Promise<void>;
}

export interface BatchTask {
  id: number;
  n: number;
  cols: Omit<HostColumn, 'ids'>[];
  blocks: { width: number; validity: Uint8Array; values: Float64Array }[];
}

export type BatchReply =
  | {
      id: number;
      ok: true;
      status: Uint32Array;
      outputs: { validity: Uint8Array; values: Float32Array | Float64Array | Int32Array | Uint8Array }[];
      /** The task's column buffers, handed back for reuse. */
      inputs: ArrayBuffer[];
    }
  | {
      id: number;
      ok: false;
      error: { kind: RuntimeCodeName | null; message: string; field: string | null; row: number | null };
    };

/** Scores in the calling thread. */
export class InProcessScorer implements Scorer {
  readonly threads = 1;
  constructor(
    private readonly model: Model,
    private readonly entities: EntityStore | undefined,
  ) {}

  async score(n: number, cols: HostColumn[]): Promise<ScoreResult> {
    const blocks = await this.model.blocksFor(n, cols, this.entities);
    return this.model.scorePrepared(n, cols, blocks);
  }

  async close(): Promise<void> {}
}

/** Input buffers handed back by the workers, by byte length, for the next batches' copies. */
class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  constructor(private readonly max: number) {}

  /** A copy of `b` in a pooled (or new) buffer of exactly its length. */
  copy(b: Uint8Array): Uint8Array {
    const buf = this.free.get(b.byteLength)?.pop() ?? new ArrayBuffer(b.byteLength);
    const out = new Uint8Array(buf);
    out.set(b);
    return out;
  }

  giveBack(bufs: ArrayBuffer[]): void {
    for (const b of bufs) {
      let list = this.free.get(b.byteLength);
      if (list === undefined) this.free.set(b.byteLength, (list = []));
      if (list.length < this.max) list.push(b);
    }
  }
}

interface Job {
  task: BatchTask;
  transfer: ArrayBuffer[];
  resolve: (r: ScoreResult) => void;
  reject: (e: Error) => void;
}

/** Scores on `threads` worker threads; each worker instantiates the shared module once. */
export class ThreadScorer implements Scorer {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private nextId = 0;
  private failure: Error | null = null;
  private readonly buffers: BufferPool;

  constructor(
    private readonly model: Model,
    private readonly entities: EntityStore | undefined,
    readonly threads: number,
  ) {
    this.buffers = new BufferPool(4 * threads);
    const url = new URL('./batch-worker.mjs', import.meta.url);
    for (let i = 0; i < threads; i++) {
      const w = new Worker(url, { workerData: { module: model.module } });
      w.on('message', (reply: BatchReply) => this.done(w, reply));
      w.on('error', (e) => this.died(w, e));
      w.on('exit', (code) => {
        if (this.running.has(w) || code !== 0)
          this.died(w, new Error(`a scoring worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  async score(n: number, cols: HostColumn[]): Promise<ScoreResult> {
    if (this.failure !== null) throw this.failure;
    const got = await this.model.blocksFor(n, cols, this.entities);
    const blocks = packBlocks(this.model.manifest, n, got);
    const transfer: ArrayBuffer[] = [];
    const take = <T extends ArrayBufferView | null>(v: T): T => {
      if (v !== null) transfer.push(v.buffer as ArrayBuffer);
      return v;
    };
    const own = (b: Uint8Array): Uint8Array => this.buffers.copy(b);
    const wire = cols.map((c) => ({
      validity: take(c.validity === null ? null : own(c.validity)),
      values: take(own(c.values)),
      offsets: take(c.offsets === null ? null : c.offsets.slice()),
      data: take(c.data === null ? null : own(c.data)),
      childValidity: take(c.childValidity === null ? null : own(c.childValidity)),
    }));
    for (const b of blocks) transfer.push(b.validity.buffer as ArrayBuffer, b.values.buffer as ArrayBuffer);
    const task: BatchTask = { id: this.nextId++, n, cols: wire, blocks };
    return new Promise<ScoreResult>((resolve, reject) => {
      this.queue.push({ task, transfer, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(w, job);
      w.postMessage(job.task, job.transfer);
    }
  }

  private done(w: Worker, reply: BatchReply): void {
    const job = this.running.get(w);
    if (job === undefined) return;
    this.running.delete(w);
    this.idle.push(w);
    if (reply.ok) {
      this.buffers.giveBack(reply.inputs);
      const m = this.model.manifest;
      const outputs = m.outputs.map((o, j) => ({
        name: o.name,
        type: o.type,
        size: o.size,
        validity: reply.outputs[j]!.validity,
        values: reply.outputs[j]!.values,
      }));
      job.resolve(new ScoreResult(job.task.n, reply.status, outputs, this.model.inputNames));
    } else {
      const e = reply.error;
      job.reject(
        e.kind === null ? new Error(e.message) : new RuntimeError(e.kind, e.message, e.field, e.row),
      );
    }
    this.pump();
  }

  private died(w: Worker, e: Error): void {
    this.failure ??= e;
    const job = this.running.get(w);
    this.running.delete(w);
    job?.reject(e);
    for (const q of this.queue.splice(0)) q.reject(e);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** One thread: in process (no worker start-up); more: worker threads. */
export function createScorer(model: Model, entities: EntityStore | undefined, threads: number): Scorer {
  return threads <= 1 ? new InProcessScorer(model, entities) : new ThreadScorer(model, entities, threads);
}
