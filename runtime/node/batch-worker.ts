// One batch-scoring worker thread (runtime/node/batch-scorer.ts starts them). Input: workerData =
// {module} (the WebAssembly.Module compiled once in the main thread), then BatchTask messages (one
// batch's ABI columns and packed entity blocks). Output: a BatchReply per task, its status and output
// buffers transferred (they are fresh slices of the module's memory), or the error that stopped it.

import { parentPort, workerData } from 'node:worker_threads';
import { RuntimeError } from '../errors.js';
import { Model } from '../model.js';
import type { BatchReply, BatchTask } from './batch-scorer.js';

const { module } = workerData as { module: WebAssembly.Module };
const model = Model.fromModule(module);
const port = parentPort!;

port.on('message', (task: BatchTask) => {
  let reply: BatchReply;
  try {
    const blocks = task.blocks.map((b) => {
      const out: (Float64Array | null)[] = new Array<Float64Array | null>(task.n);
      for (let r = 0; r < task.n; r++)
        out[r] =
          ((b.validity[r >> 3]! >> (r & 7)) & 1) === 1
            ? b.values.subarray(r * b.width, (r + 1) * b.width)
            : null;
      return out;
    });
    const cols = task.cols.map((c) => ({ ...c, ids: null }));
    const res = model.scorePrepared(task.n, cols, blocks);
    // the column buffers go back to the main thread for its next copies (offsets excepted: Int32Array)
    const inputs: ArrayBuffer[] = [];
    for (const c of task.cols)
      for (const v of [c.validity, c.values, c.data, c.childValidity])
        if (v !== null) inputs.push(v.buffer as ArrayBuffer);
    reply = {
      id: task.id,
      ok: true,
      status: res.status,
      outputs: res.outputs.map((o) => ({ validity: o.validity, values: o.values })),
      inputs,
    };
    const transfer: ArrayBuffer[] = [res.status.buffer as ArrayBuffer, ...inputs];
    for (const o of res.outputs)
      transfer.push(o.validity.buffer as ArrayBuffer, o.values.buffer as ArrayBuffer);
    port.postMessage(reply, transfer);
    return;
  } catch (e) {
    const err =
      e instanceof RuntimeError
        ? { kind: e.kind, message: e.message.replace(/^PML\d{4}: /, ''), field: e.field, row: e.row }
        : { kind: null, message: e instanceof Error ? e.message : String(e), field: null, row: null };
    reply = { id: task.id, ok: false, error: err };
  }
  port.postMessage(reply);
});
