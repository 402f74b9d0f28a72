// k-fold cross-validation of one train block on its prepared training rows (trainer/block.ts).
// Input: BlockSpec, the block's training rows, k, hyperparameters. Output: per-fold metrics (the
// trainer's f64 predictions on the fold's rows), their mean and standard deviation, and every row's
// out-of-fold prediction (what platt/isotonic maps are fitted on when a block uses folds).
// Fold assignment: a seeded shuffle of the row indices (stream `folds/OUTPUT` of the block's seed);
// position j of the shuffle goes to fold j mod k, so fold sizes differ by at most one. Each fold's
// model trains on the other folds' rows in their original order, so a seed gives the same folds,
// fits and numbers on every machine. Fitted transforms (standardize, quantiles, vocab) are fitted
// once on all training rows, not per fold (a documented simplification: docs/training.md).

import { Rng } from '../compiler/reference/index.js';
import {
  evalMetrics,
  fitBlock,
  predict,
  subsetRows,
  type BlockRows,
  type BlockSpec,
  type Hyperparameters,
} from './block.js';
import { TrainError } from './errors.js';

export interface CvResult {
  folds: number;
  /** Rows in each fold (its held-out part). */
  rows: number[];
  /** Metrics of each fold's model on that fold's rows. */
  perFold: Record<string, number>[];
  mean: Record<string, number>;
  /** Population standard deviation (ddof 0) over the folds. */
  sd: Record<string, number>;
}

/** Fold of each row: 0 .. k−1. */
export function foldOf(n: number, k: number, seed: number, output: string): Int32Array {
  if (!Number.isInteger(k) || k < 2)
    throw new TrainError('search', `folds must be an integer ≥ 2 (got ${k})`);
  if (k > n) throw new TrainError('search', `${k} folds need at least ${k} training rows (there are ${n})`);
  const rng = new Rng(seed, `folds/${output}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const fold = new Int32Array(n);
  idx.forEach((row, j) => (fold[row] = j % k));
  return fold;
}

/**
 * Fits the block k times (each time without one fold) and scores each fold's rows. `oof` set: also
 * returns every row's out-of-fold prediction (n·K, through the output's link).
 */
export async function crossValidate(
  spec: BlockSpec,
  rows: BlockRows,
  k: number,
  hyper: Hyperparameters,
  oof = false,
): Promise<CvResult & { oof: Float64Array | null }> {
  const fold = foldOf(rows.n, k, spec.seed, spec.output);
  const K = spec.K;
  const perFold: Record<string, number>[] = [];
  const sizes: number[] = [];
  const out = oof ? new Float64Array(rows.n * K) : null;
  for (let f = 0; f < k; f++) {
    const trainIdx: number[] = [];
    const heldIdx: number[] = [];
    for (let i = 0; i < rows.n; i++) (fold[i] === f ? heldIdx : trainIdx).push(i);
    const held = subsetRows(rows, heldIdx);
    const fit = await fitBlock(spec, subsetRows(rows, trainIdx), held, hyper);
    const p = predict(spec.loss, K, fit.heldMargin!);
    perFold.push(evalMetrics(spec.loss, K, held.y, p));
    sizes.push(heldIdx.length);
    if (out !== null) heldIdx.forEach((r, i) => out.set(p.subarray(i * K, (i + 1) * K), r * K));
  }
  return { ...summarise(perFold), rows: sizes, oof: out };
}

export function summarise(perFold: Record<string, number>[]): Omit<CvResult, 'rows'> {
  const mean: Record<string, number> = {};
  const sd: Record<string, number> = {};
  for (const key of Object.keys(perFold[0] ?? {})) {
    const xs = perFold.map((m) => m[key]!);
    const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
    mean[key] = mu;
    sd[key] = Math.sqrt(xs.reduce((a, b) => a + (b - mu) ** 2, 0) / xs.length);
  }
  return { folds: perFold.length, perFold, mean, sd };
}
