// Evaluation metrics of the training report: AUC (ties averaged), log loss, accuracy, F1, RMSE, MAE,
// multiclass log loss/accuracy, and calibration (reliability curve, expected calibration error).
// Input: labels, predictions (probabilities or values), optional row weights. Output: numbers.
// Deterministic and independent of row order except where a metric itself is (none here).

export function auc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = y.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let pos = 0;
  for (let i = 0; i < n; i++) if (y[i]! > 0.5) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  // rank sum of positives, ties averaged
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && p[idx[j + 1]!] === p[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (y[idx[k]!]! > 0.5) rankSum += rank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

const EPS = 1e-15;

export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]!));
    s -= y[i]! > 0.5 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

export function accuracy(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (p[i]! >= threshold === y[i]! > 0.5) ok++;
  return ok / y.length;
}

export function f1(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = p[i]! >= threshold;
    const pos = y[i]! > 0.5;
    if (pred && pos) tp++;
    else if (pred) fp++;
    else if (pos) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

export function rmse(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i]! - y[i]!) ** 2;
  return Math.sqrt(s / y.length);
}

export function mae(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs(p[i]! - y[i]!);
  return s / y.length;
}

/** Multiclass: y class indices, p row-major n × k probabilities. */
export function multiLogLoss(y: ArrayLike<number>, p: ArrayLike<number>, k: number): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(Math.min(1, Math.max(EPS, p[i * k + y[i]!]!)));
  return s / y.length;
}

export function multiAccuracy(y: ArrayLike<number>, p: ArrayLike<number>, k: number): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
    if (best === y[i]) ok++;
  }
  return ok / y.length;
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** Reliability curve over `bins` equal-width probability bins, and the expected calibration error. */
export function calibration(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  bins = 10,
): { curve: ReliabilityBin[]; ece: number } {
  const curve: ReliabilityBin[] = Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: 0,
    meanPredicted: 0,
    observedRate: 0,
  }));
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    const bin = curve[b]!;
    bin.count++;
    bin.meanPredicted += p[i]!;
    bin.observedRate += y[i]! > 0.5 ? 1 : 0;
  }
  let ece = 0;
  for (const bin of curve) {
    if (bin.count === 0) continue;
    bin.meanPredicted /= bin.count;
    bin.observedRate /= bin.count;
    ece += (bin.count / y.length) * Math.abs(bin.meanPredicted - bin.observedRate);
  }
  return { curve, ece };
}
