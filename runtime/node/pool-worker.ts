// Worker-thread side of the scoring pool (runtime/node/pool.ts): instantiates the compiled module
// the main thread shares through workerData (once per worker), then scores one task per call.
// Input: a PoolTask (columns and packed entity blocks, buffers transferred in). Output: a
// PoolReply (status and output buffers, transferred back), or the RuntimeError as plain data (a
// thrown error would lose its class and code crossing the thread boundary).
// Loaded through pool-worker.mjs, which registers tsx first.

import { workerData } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { HostColumn } from '../columns.js';
import { RuntimeError } from '../errors.js';
import { Model } from '../model.js';
import type { PoolReply, PoolTask, PoolWorkerData } from './pool-wire.js';

const data = workerData as PoolWorkerData;
const model = Model.fromModule(data.module);

/** Per-row views into the packed blocks (null where the row's validity bit is clear). */
function unpackBlocks(task: PoolTask): (Float64Array | null)[][] {
  return task.blocks.map((b) => {
    const rows: (Float64Array | null)[] = new Array<Float64Array | null>(task.n);
    for (let r = 0; r < task.n; r++)
      rows[r] =
        ((b.validity[r >> 3]! >> (r & 7)) & 1) === 1
          ? b.values.subarray(r * b.width, (r + 1) * b.width)
          : null;
    return rows;
  });
}

/** Test hook (only when the pool was created with testHooks): dies in the middle of this task. */
function crash(mode: 'exit' | 'throw'): Promise<never> {
  if (mode === 'exit') process.exit(70);
  setTimeout(() => {
    throw new Error('proml pool test hook: uncaught error outside a task');
  }, 0);
  return new Promise<never>(() => {});
}

export default function scoreTask(
  task: PoolTask,
): PoolReply | Promise<never> | ReturnType<typeof Piscina.move> {
  if (task.crash !== undefined && data.testHooks) return crash(task.crash);
  try {
    const cols: HostColumn[] = task.cols.map((c) => ({ ...c, ids: null }));
    const result = model.scorePrepared(task.n, cols, unpackBlocks(task));
    const reply: PoolReply = {
      ok: true,
      n: result.n,
      status: result.status,
      outputs: result.outputs.map((o) => ({ validity: o.validity, values: o.values })),
    };
    // every buffer here was sliced out of the module's memory by Model: safe to hand over
    const buffers = [
      reply.status.buffer,
      ...reply.outputs.flatMap((o) => [o.validity.buffer, o.values.buffer]),
    ];
    // piscina's Transferable protocol (its symbols are typed as plain `symbol`, hence the cast)
    const movable = {
      get [Piscina.transferableSymbol]() {
        return buffers;
      },
      get [Piscina.valueSymbol]() {
        return reply;
      },
    };
    return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]);
  } catch (e) {
    if (e instanceof RuntimeError) {
      const prefix = `${e.code}: `;
      const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      return { ok: false, error: { kind: e.kind, message, field: e.field, row: e.row } };
    }
    return {
      ok: false,
      error: { kind: null, message: e instanceof Error ? e.message : String(e), field: null, row: null },
    };
  }
}
