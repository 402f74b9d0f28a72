// What the scoring pool's main thread and its workers send each other (runtime/node/pool.ts ⇄
// pool-worker.ts). Input: nothing. Output: the message types. Every buffer is transferred, not
// copied: the column buffers come fresh from rowsToColumns, the entity blocks are packed into one
// new buffer per block column (the store's own arrays are never handed over), the outputs are
// slices the worker made of the module's memory.
//
//   main ──PoolTask──▶ worker                         worker ──PoolReply──▶ main
//   n                                                 ok: true
//   cols[i]: validity|values|offsets|data|childV      n
//   blocks[k]: width, validity (n bits),              status: u32[n]
//              values f64[n·width] (row r at r·width)  outputs[j]: validity, values
//   crash?: test hook                                 | ok: false, error: {kind, message, field, row}

import type { HostColumn } from '../columns.js';
import type { RuntimeCodeName } from '../errors.js';

export interface PoolWorkerData {
  /** The module compiled once in the main thread (structured-cloned into each worker). */
  module: WebAssembly.Module;
  /** Honour PoolTask.crash (tests only). */
  testHooks: boolean;
}

/** One entity block column, packed: row r's block is values[r·width, (r+1)·width) when bit r is set. */
export interface PackedBlocks {
  width: number;
  validity: Uint8Array;
  values: Float64Array;
}

export interface PoolTask {
  n: number;
  cols: Omit<HostColumn, 'ids'>[];
  blocks: PackedBlocks[];
  /** Test hook: the worker dies in this task (process.exit, or an uncaught error outside the task). */
  crash?: 'exit' | 'throw';
}

export type PoolReply =
  | {
      ok: true;
      n: number;
      status: Uint32Array;
      outputs: { validity: Uint8Array; values: Float32Array | Float64Array | Int32Array | Uint8Array }[];
    }
  | {
      ok: false;
      /** kind null: not a RuntimeError (a bug), passed on as a plain Error. */
      error: { kind: RuntimeCodeName | null; message: string; field: string | null; row: number | null };
    };
