// Sparse row matrices for the trainer: CSR with f64 values — the layout the transform module writes
// for linear/mlp components (docs/abi.md 3.4) — and row selection for train/validation splits and
// per-entity subsets. Input: the module's CSR buffers, or row lists. Output: Csr.

export interface Csr {
  n: number;
  d: number;
  /** n + 1 */
  offsets: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

/** Rows `rows` of X, in that order. */
export function selectRows(X: Csr, rows: ArrayLike<number>): Csr {
  let nnz = 0;
  for (let k = 0; k < rows.length; k++) nnz += X.offsets[rows[k]! + 1]! - X.offsets[rows[k]!]!;
  const offsets = new Int32Array(rows.length + 1);
  const cols = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  let at = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    for (let q = X.offsets[r]!; q < X.offsets[r + 1]!; q++) {
      cols[at] = X.cols[q]!;
      vals[at] = X.vals[q]!;
      at++;
    }
    offsets[k + 1] = at;
  }
  return { n: rows.length, d: X.d, offsets, cols, vals };
}

/** Row-wise concatenation of column blocks (each block's columns shifted by the widths before it). */
export function hstack(blocks: Csr[]): Csr {
  const n = blocks[0]?.n ?? 0;
  let nnz = 0;
  for (const b of blocks) nnz += b.offsets[b.n]!;
  const offsets = new Int32Array(n + 1);
  const cols = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  let at = 0;
  for (let r = 0; r < n; r++) {
    let shift = 0;
    for (const b of blocks) {
      for (let q = b.offsets[r]!; q < b.offsets[r + 1]!; q++) {
        cols[at] = b.cols[q]! + shift;
        vals[at] = b.vals[q]!;
        at++;
      }
      shift += b.d;
    }
    offsets[r + 1] = at;
  }
  return { n, d: blocks.reduce((t, b) => t + b.d, 0), offsets, cols, vals };
}

/** x_r · w (+ shift of columns) for every row: margins. */
export function matVec(X: Csr, w: Float64Array, wOffset = 0): Float64Array {
  const out = new Float64Array(X.n);
  for (let r = 0; r < X.n; r++) {
    let s = 0;
    for (let q = X.offsets[r]!; q < X.offsets[r + 1]!; q++) s += w[wOffset + X.cols[q]!]! * X.vals[q]!;
    out[r] = s;
  }
  return out;
}
