// Generalised linear models on a sparse design matrix: logistic, squared error, poisson and softmax
// (multiclass) losses with L2 / L1 / elastic-net penalties, row weights, per-row offsets (the margins
// of the other components: coordinate descent) and warm starts.
// Objective: Σ_i w_i·loss(y_i, offset_i + b + x_i·β) + (l2/2)·‖β‖² + l1·‖β‖₁, intercepts unpenalised —
// scikit-learn's LogisticRegression with C = 1/l2 (penalty "l2") is the same problem.
// Input: Csr rows (trainer/matrix.ts), labels, options. Output: weights (classes × d) and intercepts.
// Feature scaling (`normalize true`, Photon-ML's SCALE_WITH_STANDARD_DEVIATION): with `scale` the
// solver runs on the columns x_j·s_j (s_j = 1/σ_j from columnScales) and the weights are mapped back
// (β_j = β̃_j·s_j), so the result is in raw feature space; the penalties apply to the scaled
// coefficients β̃ (l2 = 0 and l1 = 0: the same minimiser, reached in fewer iterations when columns
// differ in scale). No centring: sparse rows stay sparse, and the intercept is unchanged.

import type { Csr } from './matrix.js';
import { minimize } from './optim.js';

export type GlmLoss = 'logistic' | 'squared_error' | 'poisson' | 'multiclass';

export interface GlmProblem {
  X: Csr;
  /** Labels: 0/1 (logistic), class index (multiclass), real (squared error), count (poisson). */
  y: Float64Array;
  loss: GlmLoss;
  /** 1, or k for multiclass. */
  classes: number;
  intercept: boolean;
  /** Row weights, or null (all 1). */
  weights?: Float64Array | null;
  /** Margins added to each row (n × classes, row-major), or null. */
  offset?: Float64Array | null;
  l1?: number;
  l2?: number;
  maxIter?: number;
  tol?: number;
  /**
   * Per-column factors s_j (length d): optimise over the columns x_j·s_j, return raw-space weights
   * (the penalties then apply to β_j / s_j). null: no scaling.
   */
  scale?: Float64Array | null;
  /** Warm start (raw feature space): [intercepts (classes)] then weights (classes × d). */
  start?: Float64Array | null;
  /** Called after each solver iteration with the number done (progress). */
  onIteration?: (iterations: number) => void;
}

export interface GlmFit {
  /** classes × d, row-major by class. */
  weights: Float64Array;
  intercepts: Float64Array;
  objective: number;
  iterations: number;
  converged: boolean;
  reason: string;
}

/** log(1 + e^m), stable. */
export function softplus(m: number): number {
  return m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
}

/**
 * Factors 1/σ_j of the columns of X (σ: population standard deviation over the rows, absent entries
 * being 0; 1 where σ is 0 or not finite): the `scale` of a normalised fit.
 */
export function columnScales(X: Csr): Float64Array {
  const nnz = X.offsets[X.n]!;
  const n = Math.max(1, X.n);
  const mean = new Float64Array(X.d);
  const count = new Float64Array(X.d);
  for (let q = 0; q < nnz; q++) {
    mean[X.cols[q]!] = mean[X.cols[q]!]! + X.vals[q]!;
    count[X.cols[q]!] = count[X.cols[q]!]! + 1;
  }
  for (let j = 0; j < X.d; j++) mean[j] = mean[j]! / n;
  // two passes (no cancellation for a large mean): the stored entries, then the absent zeros
  const ss = new Float64Array(X.d);
  for (let q = 0; q < nnz; q++) {
    const r = X.vals[q]! - mean[X.cols[q]!]!;
    ss[X.cols[q]!] = ss[X.cols[q]!]! + r * r;
  }
  const out = new Float64Array(X.d);
  for (let j = 0; j < X.d; j++) {
    const sd = Math.sqrt((ss[j]! + Math.max(0, X.n - count[j]!) * mean[j]! ** 2) / n);
    out[j] = sd > 0 && Number.isFinite(sd) ? 1 / sd : 1;
  }
  return out;
}

export function fitGlm(p: GlmProblem): GlmFit {
  const scale = p.scale ?? null;
  if (scale !== null) return fitScaled(p, scale);
  const { X, y, classes: K } = p;
  const n = X.n;
  const d = X.d;
  const l2 = p.l2 ?? 0;
  const l1 = p.l1 ?? 0;
  const w = p.weights ?? null;
  const off = p.offset ?? null;
  const nParams = K + K * d;
  const margins = new Float64Array(n * K);
  const resid = new Float64Array(n * K);
  const probs = new Float64Array(K);

  const fun = (theta: Float64Array, grad: Float64Array): number => {
    // margins
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < K; k++) {
        let m = (p.intercept ? theta[k]! : 0) + (off === null ? 0 : off[i * K + k]!);
        const base = K + k * d;
        for (let q = X.offsets[i]!; q < X.offsets[i + 1]!; q++) m += theta[base + X.cols[q]!]! * X.vals[q]!;
        margins[i * K + k] = m;
      }
    }
    // loss and d loss / d margin
    let f = 0;
    for (let i = 0; i < n; i++) {
      const wi = w === null ? 1 : w[i]!;
      const yi = y[i]!;
      if (p.loss === 'multiclass') {
        let mx = -Infinity;
        for (let k = 0; k < K; k++) mx = Math.max(mx, margins[i * K + k]!);
        let s = 0;
        for (let k = 0; k < K; k++) s += probs[k] = Math.exp(margins[i * K + k]! - mx);
        f += wi * (Math.log(s) + mx - margins[i * K + yi]!);
        for (let k = 0; k < K; k++) resid[i * K + k] = wi * (probs[k]! / s - (k === yi ? 1 : 0));
        continue;
      }
      const m = margins[i]!;
      if (p.loss === 'logistic') {
        f += wi * (softplus(m) - yi * m);
        resid[i] = wi * (1 / (1 + Math.exp(-m)) - yi);
      } else if (p.loss === 'squared_error') {
        const r = m - yi;
        f += wi * 0.5 * r * r;
        resid[i] = wi * r;
      } else {
        const e = Math.exp(m);
        f += wi * (e - yi * m);
        resid[i] = wi * (e - yi);
      }
    }
    // gradient
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < K; k++) {
        const r = resid[i * K + k]!;
        if (p.intercept) grad[k] = grad[k]! + r;
        const base = K + k * d;
        for (let q = X.offsets[i]!; q < X.offsets[i + 1]!; q++)
          grad[base + X.cols[q]!] = grad[base + X.cols[q]!]! + r * X.vals[q]!;
      }
    }
    if (l2 > 0) {
      for (let j = K; j < nParams; j++) {
        const b = theta[j]!;
        f += 0.5 * l2 * b * b;
        grad[j] = grad[j]! + l2 * b;
      }
    }
    return f;
  };
  const start = p.start ?? null;
  const x0 = new Float64Array(nParams);
  if (start !== null) x0.set(start.subarray(0, nParams));
  else if (
    p.intercept &&
    K === 1 &&
    (p.loss === 'logistic' || p.loss === 'poisson' || p.loss === 'squared_error')
  ) {
    // start the intercept at the (weighted) base rate: fewer iterations
    let sw = 0;
    let sy = 0;
    for (let i = 0; i < n; i++) {
      const wi = w === null ? 1 : w[i]!;
      sw += wi;
      sy += wi * y[i]!;
    }
    const mean = sw > 0 ? sy / sw : 0;
    if (off === null) {
      if (p.loss === 'logistic' && mean > 0 && mean < 1) x0[0] = Math.log(mean / (1 - mean));
      else if (p.loss === 'poisson' && mean > 0) x0[0] = Math.log(mean);
      else if (p.loss === 'squared_error') x0[0] = mean;
    }
  }
  const l1v = new Float64Array(nParams);
  if (l1 > 0) l1v.fill(l1, K);
  const r = minimize(fun, x0, {
    l1: l1v,
    maxIter: p.maxIter ?? 100,
    tol: p.tol ?? 1e-6,
    onIteration: p.onIteration,
  });
  return {
    intercepts: p.intercept ? r.x.slice(0, K) : new Float64Array(K),
    weights: r.x.slice(K),
    objective: r.f,
    iterations: r.iterations,
    converged: r.converged,
    reason: r.reason,
  };
}

/** fitGlm on the scaled columns x_j·s_j; the weights (and a warm start) mapped between the spaces. */
function fitScaled(p: GlmProblem, scale: Float64Array): GlmFit {
  const { X, classes: K } = p;
  const d = X.d;
  const vals = new Float64Array(X.vals.length);
  for (let q = 0; q < vals.length; q++) vals[q] = X.vals[q]! * scale[X.cols[q]!]!;
  let start = p.start ?? null;
  if (start !== null) {
    start = Float64Array.from(start);
    for (let k = 0; k < K; k++)
      for (let j = 0; j < d; j++) start[K + k * d + j] = start[K + k * d + j]! / scale[j]!;
  }
  const fit = fitGlm({ ...p, X: { ...X, vals }, scale: null, start });
  for (let k = 0; k < K; k++)
    for (let j = 0; j < d; j++) fit.weights[k * d + j] = fit.weights[k * d + j]! * scale[j]!;
  return fit;
}
