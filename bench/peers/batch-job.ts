// "The batch job on all cores": the same rows scored by proml's batch scorer on worker threads
// (runtime/node/batch-scorer.ts, what `proml score` and scoreBatches use: the module compiled once,
// one instance per worker, batches of ABI columns transferred to the workers, results in order)
// and by onnxruntime-node with intraOpNumThreads = cores. Input: a PeerModel whose inputs are all
// dense f32 vectors, its compiled default build, a row count. Output: rows/s per engine (median of
// rounds) and the max |Δ| between the two on one batch.
// Both sides get prebuilt columns / tensors (no file I/O, no row objects); the rows are the model's
// pool cycled at shifting offsets (distinct batches; the pool is smaller than the job).

import type { HostColumn } from '../../runtime/index.js';
import { Model, type ScoreResult } from '../../runtime/index.js';
import { createScorer } from '../../runtime/node/batch-scorer.js';
import type * as ortNode from 'onnxruntime-node';
import { ortSession } from './engines.js';
import type { PeerModel } from './models.js';
import { median } from './timing.js';

export interface BatchJobResult {
  model: string;
  /** Which proml build ran ('default', or the inexact f32 MLP). */
  build: string;
  rows: number;
  batchRows: number;
  threads: number;
  /** rows/s, median of the rounds; and every round. */
  proml: { rowsPerSec: number; rounds: number[] };
  ortNode: { rowsPerSec: number; rounds: number[] };
  /** proml ÷ ORT-node. */
  ratio: number;
  maxAbsDiff: number;
  /** Worker start-up + first batches (not timed in the rounds), seconds. */
  warmup: number;
}

export interface BatchJobOptions {
  rows: number;
  batchRows: number;
  threads: number;
  rounds: number;
}

/** Row offsets of the batches: the pool cycled, each batch shifted so consecutive batches differ. */
function offsets(pool: number, batchRows: number, batches: number): number[] {
  const span = Math.max(1, pool - batchRows + 1);
  return Array.from({ length: batches }, (_, b) => (b * 7_919) % span);
}

export async function batchJob(
  m: PeerModel,
  bytes: Uint8Array,
  build: string,
  o: BatchJobOptions,
): Promise<BatchJobResult> {
  const pool = m.rows.length;
  const batchRows = Math.min(o.batchRows, pool);
  const batches = Math.ceil(o.rows / batchRows);
  const at = offsets(pool, batchRows, batches);
  if (m.tensors.some((t) => t.type !== 'float32'))
    throw new Error(`${m.name}: the batch job takes dense f32 inputs only`);
  const cols = (off: number): HostColumn[] =>
    m.tensors.map((t) => {
      const w = t.inner.reduce((a, b) => a * b, 1);
      const d = t.data as Float32Array;
      return {
        validity: null,
        values: new Uint8Array(d.buffer, d.byteOffset + off * w * 4, batchRows * w * 4),
        offsets: null,
        data: null,
        childValidity: null,
        ids: null,
      };
    });
  const model = await Model.load(bytes);
  const t0 = performance.now();
  const scorer = createScorer(model, undefined, o.threads);
  // warm-up: every worker starts (registers tsx, instantiates the module) and scores
  const first = await Promise.all(
    Array.from({ length: o.threads * 2 }, (_, b) => scorer.score(batchRows, cols(at[b % at.length]!))),
  );
  const warmup = (performance.now() - t0) / 1000;
  const depth = o.threads * 2;
  const promlRound = async (): Promise<number> => {
    const t = performance.now();
    const inflight: Promise<ScoreResult>[] = [];
    for (const off of at) {
      inflight.push(scorer.score(batchRows, cols(off)));
      if (inflight.length >= depth) await inflight.shift();
    }
    await Promise.all(inflight);
    return (batches * batchRows * 1000) / (performance.now() - t);
  };

  const { ort, session } = await ortSession('node', m, o.threads);
  const feeds = at.map((off) => {
    const f: Record<string, ortNode.Tensor> = {};
    for (const t of m.tensors) {
      const w = t.inner.reduce((a, b) => a * b, 1);
      f[t.name] = new ort.Tensor(
        'float32',
        (t.data as Float32Array).subarray(off * w, (off + batchRows) * w),
        [batchRows, ...t.inner],
      );
    }
    return f;
  });
  const ortOut = (await session.run(feeds[0]!))['p']!.data as Float32Array;
  const ortRound = async (): Promise<number> => {
    const t = performance.now();
    for (const f of feeds) await session.run(f);
    return (batches * batchRows * 1000) / (performance.now() - t);
  };

  let maxAbsDiff = 0;
  const mine = first[0]!.outputs.find((x) => x.name === m.output)!.values;
  for (let r = 0; r < batchRows; r++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(mine[r]! - ortOut[r]!));

  const pr: number[] = [];
  const or: number[] = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      // alternate which goes first
      if (r % 2 === 0) {
        pr.push(await promlRound());
        or.push(await ortRound());
      } else {
        or.push(await ortRound());
        pr.push(await promlRound());
      }
    }
  } finally {
    await scorer.close();
    await session.release();
  }
  const p = median(pr);
  const q = median(or);
  return {
    model: m.name,
    build,
    rows: batches * batchRows,
    batchRows,
    threads: o.threads,
    proml: { rowsPerSec: p, rounds: pr },
    ortNode: { rowsPerSec: q, rounds: or },
    ratio: p / q,
    maxAbsDiff,
    warmup,
  };
}
