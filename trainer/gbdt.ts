// Histogram-based gradient-boosted trees for `gbdt` components (docs/training.md, "Gradient-boosted
// trees"): XGBoost's second-order boosting (`tree_method hist`) with LightGBM-style categorical splits.
// Input: the component's tree input on the training rows (GbdtCells: n·W f64 cells + presence, as the
// transform module wrote them, docs/abi.md 3.4), which columns are categories, labels, row weights,
// offsets (the other components' margins: boosting starts from them), the objective, the DSL
// hyperparameters (docs/dsl.md 9.3), a seed, and optionally held-out rows for early stopping.
// Output: GbdtFit — trees in the bundle's form (abi/bundle.ts GbdtTree: numeric `x < threshold` goes
// left, categorical splits list the indices that go left, a learned default direction for missing
// values, leaf values with the learning rate applied), base margins, and the component's margins on
// the training rows, summed exactly as the compiled module sums them (base, then each tree's leaf in
// tree order, f64).
//
// How: numeric columns are cut once into at most `bins` quantile bins; the cut points are the f64
// thresholds written to the bundle, and a value's bin is the number of thresholds t with !(x < t), so
// "bin ≤ b" and "x < t_b" are the same test for every value (NaN: top bin, goes right, like the module):
// the compiled module routes every training row exactly as the trainer did. Categories (index, OOV =
// size) keep one bin per index. Missing values get a bin of their own; every split tries sending them
// left and right (XGBoost's sparsity-aware split). Per node: a gradient/hessian histogram (build the
// smaller child's from its rows, derive the sibling's by subtraction from the parent's), split gain
// G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ) with L1 soft-thresholding of G, min_child_weight on both sides.
// Trees grow level by level (`depth`) or best-first (`leaves`). Row subsample and column subsample per
// tree are seeded (compiler/reference Rng streams), so a seed gives the same trees on every machine.

import type { ComponentCoefficients, GbdtNode, GbdtTree, HyperValue } from '../abi/index.js';
import { gbdtLeaf } from '../abi/index.js';
import { Rng } from '../compiler/reference/index.js';
import type { CheckedComponent } from '../compiler/typed.js';
import type { TransformResult } from '../runtime/index.js';
import * as metrics from './metrics.js';
import { reportFit } from './progress.js';

export type GbdtLoss = 'logistic' | 'squared_error' | 'poisson' | 'multiclass';

/** A gbdt component's input on some rows: cell r·width + j is column j of row r. */
export interface GbdtCells {
  n: number;
  width: number;
  values: Float64Array;
  /** 1 = present, 0 = missing (the tree's default direction). */
  present: Uint8Array;
}

export interface GbdtParams {
  count: number;
  /** Maximum depth (Infinity-like 64 when only `leaves` is set). */
  depth: number;
  /** Maximum leaves per tree; set → best-first (leaf-wise) growth. */
  leaves: number | null;
  learningRate: number;
  minChildWeight: number;
  subsample: number;
  colsample: number;
  l1: number;
  l2: number;
  bins: number;
  /** Rounds without improvement of the held-out metric before stopping; null = off. */
  earlyStopping: number | null;
}

export interface GbdtValidation {
  X: GbdtCells;
  y: Float64Array;
  /** The other components' margins on the held-out rows (n·classes). */
  offset: Float64Array;
  /** auc, logloss, accuracy, rmse or mae. */
  metric: string;
}

export interface GbdtFitInput {
  X: GbdtCells;
  /** Per column: 1 when the column is a category index (categorical splits), else 0. */
  categorical: Uint8Array;
  y: Float64Array;
  w: Float64Array | null;
  /** The other components' margins on the training rows (n·classes). */
  offset: Float64Array;
  loss: GbdtLoss;
  classes: number;
  params: GbdtParams;
  seed: number;
  /** Names the random streams (the component name), so two components draw independently. */
  stream: string;
  valid?: GbdtValidation | null;
  log?: (line: string) => void;
}

export interface GbdtFit {
  trees: GbdtTree[];
  base: Float64Array;
  /** The component's margins on the training rows (n·classes): base + trees, as the module sums them. */
  margins: Float64Array;
  /** Boosting rounds kept (trees = rounds · classes). */
  rounds: number;
  /** The held-out metric after each round (early stopping only). */
  validScores: number[];
  /** The component's margins on the held-out rows (early stopping only). */
  validMargins: Float64Array | null;
}

/** Depth cap when only `leaves` limits a tree. */
const LEAFWISE_MAX_DEPTH = 64;
/** Category indices above this make the column numeric (ordinal) instead: one bin per index. */
const MAX_CATEGORY_BINS = 4096;
/** XGBoost's kRtEps: a split must gain more than this. */
const MIN_GAIN = 1e-6;
/** Histograms kept alive at once (per tree) at most this many bytes; beyond, children rebuild from rows. */
const HIST_BYTES_CAP = 256 * 2 ** 20;
/** XGBoost's max_delta_step default for count:poisson (the hessian is exp(margin + 0.7)). */
const POISSON_MAX_DELTA = 0.7;

function hnum(h: Map<string, HyperValue> | undefined, key: string): number | null {
  const v = h?.get(key);
  return typeof v === 'number' ? v : null;
}

/** The DSL hyperparameters (docs/dsl.md 9.3) with their defaults. */
export function gbdtParams(h: Map<string, HyperValue> | undefined): GbdtParams {
  const leaves = hnum(h, 'leaves');
  return {
    count: hnum(h, 'count') ?? 100,
    depth: hnum(h, 'depth') ?? (leaves === null ? 6 : LEAFWISE_MAX_DEPTH),
    leaves,
    learningRate: hnum(h, 'learning_rate') ?? 0.1,
    minChildWeight: hnum(h, 'min_child_weight') ?? 1,
    subsample: hnum(h, 'subsample') ?? 1,
    colsample: hnum(h, 'colsample') ?? 1,
    l1: hnum(h, 'l1') ?? 0,
    l2: hnum(h, 'l2') ?? 1,
    bins: hnum(h, 'bins') ?? 256,
    earlyStopping: hnum(h, 'early_stopping'),
  };
}

/** Which columns of a gbdt component's input are category indices. */
export function gbdtCategorical(c: CheckedComponent): Uint8Array {
  const cat = new Uint8Array(c.inputWidth);
  for (const f of c.features) if (f.type.kind === 'category') cat[f.offset] = 1;
  return cat;
}

/** The tree input of component `name` for the given rows of a transform result. */
export function gbdtCells(t: TransformResult, name: string, rows: readonly number[]): GbdtCells {
  const c = t.columns.find((x) => x.name === name);
  if (c === undefined || c.kind !== 'cells') throw new Error(`component '${name}' has no tree input`);
  const W = c.width;
  const values = new Float64Array(rows.length * W);
  const present = new Uint8Array(rows.length * W);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (let j = 0; j < W; j++) {
      const cell = r * W + j;
      values[i * W + j] = c.values[cell]!;
      present[i * W + j] = (c.validity[cell >> 3]! >> (cell & 7)) & 1;
    }
  }
  return { n: rows.length, width: W, values, present };
}

// ---------------------------------------------------------------------------------------------
// binning

interface Binned {
  n: number;
  F: number;
  /** n·F histogram slots (off[f] + the column's bin), row-major: what histograms are built from. */
  global: Uint16Array | Uint32Array;
  /** The bins of column f at f·n .. (f+1)·n (column-major, for partitioning); missing = slots[f] − 1. */
  local: Uint16Array;
  /** Slots per column (value bins + 1 for missing). */
  slots: Int32Array;
  /** First slot of column f in a histogram. */
  off: Int32Array;
  total: number;
  /** Numeric columns: the thresholds (value bins − 1 of them); categorical: empty. */
  cuts: Float64Array[];
  categorical: Uint8Array;
}

/** A threshold t with a < t ≤ b (the midpoint when it is one; else b). */
function between(a: number, b: number): number {
  const t = a + (b - a) / 2;
  return t > a && t <= b && Number.isFinite(t) ? t : b;
}

/** The bin of a numeric value: the number of thresholds t with !(x < t) (NaN: the top bin). */
function binOf(cuts: Float64Array, x: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x < cuts[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Up to maxBins quantile bins of the present, non-NaN values: thresholds between distinct values. */
function numericCuts(sorted: Float64Array, maxBins: number): Float64Array {
  const m = sorted.length;
  if (m === 0) return new Float64Array(0);
  const distinct: number[] = [sorted[0]!];
  for (let i = 1; i < m; i++) if (sorted[i]! !== distinct[distinct.length - 1]) distinct.push(sorted[i]!);
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 1; i < distinct.length; i++) cuts.push(between(distinct[i - 1]!, distinct[i]!));
    return Float64Array.from(cuts);
  }
  // the k-th quantile value q starts a bin: cut just below q (ties make fewer bins)
  let d = 0;
  for (let k = 1; k < maxBins; k++) {
    const q = sorted[Math.floor((k * m) / maxBins)]!;
    while (distinct[d]! < q) d++;
    if (d === 0) continue;
    const t = between(distinct[d - 1]!, q);
    if (cuts.length === 0 || t > cuts[cuts.length - 1]!) cuts.push(t);
  }
  return Float64Array.from(cuts);
}

function binCells(X: GbdtCells, categorical: Uint8Array, maxBins: number): Binned {
  const { n, width: F, values, present } = X;
  const slots = new Int32Array(F);
  const cuts: Float64Array[] = [];
  const cat = new Uint8Array(F);
  const col = new Float64Array(n);
  for (let f = 0; f < F; f++) {
    let m = 0;
    let maxIndex = -1;
    let integral = true;
    for (let i = 0; i < n; i++) {
      if (present[i * F + f] === 0) continue;
      const v = values[i * F + f]!;
      if (Number.isNaN(v)) continue;
      col[m++] = v;
      if (!(Number.isInteger(v) && v >= 0)) integral = false;
      else if (v > maxIndex) maxIndex = v;
    }
    if (categorical[f] === 1 && integral && maxIndex < MAX_CATEGORY_BINS) {
      cat[f] = 1;
      cuts.push(new Float64Array(0));
      slots[f] = Math.max(1, maxIndex + 1) + 1;
      continue;
    }
    const sorted = col.slice(0, m).sort();
    const c = numericCuts(sorted, maxBins);
    cuts.push(c);
    slots[f] = c.length + 2;
  }
  const off = new Int32Array(F);
  let total = 0;
  for (let f = 0; f < F; f++) {
    off[f] = total;
    total += slots[f]!;
  }
  const local = new Uint16Array(n * F);
  for (let f = 0; f < F; f++) {
    const miss = slots[f]! - 1;
    const c = cuts[f]!;
    const isCat = cat[f] === 1;
    const bins = local.subarray(f * n, (f + 1) * n);
    for (let i = 0; i < n; i++) {
      const at = i * F + f;
      bins[i] =
        present[at] === 0
          ? miss
          : isCat
            ? Number.isNaN(values[at]!)
              ? miss
              : values[at]!
            : binOf(c, values[at]!);
    }
  }
  const global = total < 65536 ? new Uint16Array(n * F) : new Uint32Array(n * F);
  for (let f = 0; f < F; f++) {
    const o = off[f]!;
    for (let i = 0; i < n; i++) global[i * F + f] = o + local[f * n + i]!;
  }
  return { n, F, global, local, slots, off, total, cuts, categorical: cat };
}

// ---------------------------------------------------------------------------------------------
// one tree

interface Split {
  gain: number;
  feature: number;
  /** numeric: value bins 0..bin go left. */
  bin: number;
  /** categorical: slot → 1 goes left (null for numeric). */
  left: Uint8Array | null;
  defaultLeft: boolean;
  GL: number;
  HL: number;
  GR: number;
  HR: number;
}

interface Node {
  start: number;
  end: number;
  depth: number;
  G: number;
  H: number;
  hist: Float64Array | null;
  split: Split | null;
  left: number;
  right: number;
}

/** Grows trees over the binned training rows; reuses its buffers from tree to tree. */
class TreeGrower {
  private readonly rows: Int32Array;
  private readonly tmp: Int32Array;
  private readonly pool: Float64Array[] = [];
  private live = 0;
  private readonly maxLive: number;
  private readonly order: Int32Array;
  private readonly orderKey: Float64Array;
  nodes: Node[] = [];
  used = 0;
  /** This tree may split on every usable column: histograms cover all columns (the faster loop). */
  allColumns = true;

  constructor(
    private readonly B: Binned,
    private readonly p: GbdtParams,
  ) {
    this.rows = new Int32Array(B.n);
    this.tmp = new Int32Array(B.n);
    this.maxLive = Math.max(4, Math.floor(HIST_BYTES_CAP / (16 * B.total)));
    let maxSlots = 1;
    for (let f = 0; f < B.F; f++) maxSlots = Math.max(maxSlots, B.slots[f]!);
    this.order = new Int32Array(maxSlots);
    this.orderKey = new Float64Array(maxSlots);
  }

  /** The rows of this tree (ascending) go to rows[0..count). Returns the row permutation. */
  setRows(sample: Int32Array | null): Int32Array {
    if (sample === null) {
      for (let i = 0; i < this.B.n; i++) this.rows[i] = i;
      this.used = this.B.n;
    } else {
      this.rows.set(sample);
      this.used = sample.length;
    }
    return this.rows;
  }

  private take(): Float64Array {
    this.live++;
    const h = this.pool.pop();
    if (h === undefined) return new Float64Array(2 * this.B.total);
    h.fill(0);
    return h;
  }

  private release(h: Float64Array | null): void {
    if (h === null) return;
    this.live--;
    this.pool.push(h);
  }

  /** Sums the gradient pairs of rows[start..end) into hist, over the features in feats. */
  private build(hist: Float64Array, gh: Float64Array, start: number, end: number, feats: Int32Array): void {
    const { global, F } = this.B;
    const rows = this.rows;
    const nf = feats.length;
    if (this.allColumns) {
      // every column (no column sample): the plain loop over the row's slots
      for (let p = start; p < end; p++) {
        const r = rows[p]!;
        const g = gh[2 * r]!;
        const h = gh[2 * r + 1]!;
        const base = r * F;
        for (let f = 0; f < F; f++) {
          const s = global[base + f]! << 1;
          hist[s] += g;
          hist[s + 1] += h;
        }
      }
      return;
    }
    for (let p = start; p < end; p++) {
      const r = rows[p]!;
      const g = gh[2 * r]!;
      const h = gh[2 * r + 1]!;
      const base = r * F;
      for (let k = 0; k < nf; k++) {
        const s = global[base + feats[k]!]! << 1;
        hist[s] += g;
        hist[s + 1] += h;
      }
    }
  }

  private score(G: number, H: number): number {
    const l1 = this.p.l1;
    const t = G > l1 ? G - l1 : G < -l1 ? G + l1 : 0;
    return (t * t) / (H + this.p.l2);
  }

  /** The leaf value (before the learning rate) of a node with these sums. */
  weight(G: number, H: number): number {
    const l1 = this.p.l1;
    const t = G > l1 ? G - l1 : G < -l1 ? G + l1 : 0;
    return -t / (H + this.p.l2);
  }

  private canSplit(node: Node): boolean {
    return node.depth < this.p.depth && node.end - node.start >= 2 && node.H >= 2 * this.p.minChildWeight;
  }

  /** The best split of a node from its histogram (null when none gains more than MIN_GAIN). */
  private findSplit(node: Node, hist: Float64Array, feats: Int32Array): Split | null {
    const { slots, off, categorical } = this.B;
    const mcw = this.p.minChildWeight;
    const { G, H } = node;
    const parent = this.score(G, H);
    let best: Split | null = null;
    let bestGain = MIN_GAIN;
    for (let k = 0; k < feats.length; k++) {
      const f = feats[k]!;
      const o = off[f]! << 1;
      const S = slots[f]!;
      const mo = o + 2 * (S - 1);
      const Gm = hist[mo]!;
      const Hm = hist[mo + 1]!;
      const hasMissing = Hm > 0;
      if (categorical[f] === 0) {
        let GLv = 0;
        let HLv = 0;
        for (let b = 0; b < S - 2; b++) {
          GLv += hist[o + 2 * b]!;
          HLv += hist[o + 2 * b + 1]!;
          if (HLv <= 0) continue;
          // missing values go right
          let HL = HLv;
          let HR = H - HL;
          if (HL >= mcw && HR >= mcw && HR > 0) {
            const GR = G - GLv;
            const gain = this.score(GLv, HL) + this.score(GR, HR) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, left: null, defaultLeft: false, GL: GLv, HL, GR, HR };
            }
          }
          if (!hasMissing) continue;
          // missing values go left
          HL = HLv + Hm;
          HR = H - HL;
          if (HL >= mcw && HR >= mcw && HR > 0) {
            const GL = GLv + Gm;
            const GR = G - GL;
            const gain = this.score(GL, HL) + this.score(GR, HR) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, left: null, defaultLeft: true, GL, HL, GR, HR };
            }
          }
        }
        continue;
      }
      // categorical: categories present in the node, sorted by their leaf weight; a prefix goes left
      const order = this.order;
      const key = this.orderKey;
      let m = 0;
      for (let c = 0; c < S - 1; c++) {
        const h = hist[o + 2 * c + 1]!;
        if (h > 0) {
          order[m] = c;
          key[c] = this.weight(hist[o + 2 * c]!, h);
          m++;
        }
      }
      if (m < 2) continue;
      const sorted = Array.from(order.subarray(0, m)).sort((a, b) => key[a]! - key[b]! || a - b);
      let GLv = 0;
      let HLv = 0;
      let bestK = -1;
      let bestLeft = false;
      for (let q = 0; q < m - 1; q++) {
        const c = sorted[q]!;
        GLv += hist[o + 2 * c]!;
        HLv += hist[o + 2 * c + 1]!;
        for (let side = 0; side < (hasMissing ? 2 : 1); side++) {
          const GL = side === 0 ? GLv : GLv + Gm;
          const HL = side === 0 ? HLv : HLv + Hm;
          const HR = H - HL;
          if (HL < mcw || HR < mcw || HR <= 0) continue;
          const GR = G - GL;
          const gain = this.score(GL, HL) + this.score(GR, HR) - parent;
          if (gain > bestGain) {
            bestGain = gain;
            bestK = q;
            bestLeft = side === 1;
            best = { gain, feature: f, bin: -1, left: null, defaultLeft: bestLeft, GL, HL, GR, HR };
          }
        }
      }
      if (bestK >= 0) {
        const left = new Uint8Array(S);
        for (let q = 0; q <= bestK; q++) left[sorted[q]!] = 1;
        best!.left = left;
      }
    }
    return best;
  }

  /** Moves the rows of a node that go left to the front of its range (stable); returns the boundary. */
  private partition(node: Node, s: Split): number {
    const { local, n, slots } = this.B;
    const rows = this.rows;
    const tmp = this.tmp;
    const f = s.feature;
    const bins = local.subarray(f * n, (f + 1) * n);
    const miss = slots[f]! - 1;
    const dl = s.defaultLeft;
    let l = node.start;
    let r = 0;
    if (s.left === null) {
      const b = s.bin;
      for (let p = node.start; p < node.end; p++) {
        const row = rows[p]!;
        const v = bins[row]!;
        if (v === miss ? dl : v <= b) rows[l++] = row;
        else tmp[r++] = row;
      }
    } else {
      const left = s.left;
      for (let p = node.start; p < node.end; p++) {
        const row = rows[p]!;
        const v = bins[row]!;
        if (v === miss ? dl : left[v] === 1) rows[l++] = row;
        else tmp[r++] = row;
      }
    }
    rows.set(tmp.subarray(0, r), l);
    return l;
  }

  /** Grows one tree on rows[0..used) with gradient pairs gh (2 per row) over the features feats. */
  grow(gh: Float64Array, feats: Int32Array): Node[] {
    const p = this.p;
    const rows = this.rows;
    let G = 0;
    let H = 0;
    for (let i = 0; i < this.used; i++) {
      const r = rows[i]!;
      G += gh[2 * r]!;
      H += gh[2 * r + 1]!;
    }
    const root: Node = {
      start: 0,
      end: this.used,
      depth: 0,
      G,
      H,
      hist: null,
      split: null,
      left: -1,
      right: -1,
    };
    const nodes: Node[] = [root];
    const queue: number[] = [];
    const consider = (id: number): void => {
      const node = nodes[id]!;
      if (node.hist === null) return;
      node.split = this.findSplit(node, node.hist, feats);
      if (node.split === null) {
        this.release(node.hist);
        node.hist = null;
      } else queue.push(id);
    };
    if (this.canSplit(root)) {
      root.hist = this.take();
      this.build(root.hist, gh, root.start, root.end, feats);
      consider(0);
    }
    const maxLeaves = p.leaves ?? Infinity;
    const leafwise = p.leaves !== null;
    let leaves = 1;
    let head = 0;
    while (head < queue.length && leaves < maxLeaves) {
      // level-wise: first in, first out (breadth first); leaf-wise: the largest gain
      let pick = head;
      if (leafwise)
        for (let q = head + 1; q < queue.length; q++)
          if (nodes[queue[q]!]!.split!.gain > nodes[queue[pick]!]!.split!.gain) pick = q;
      const id = queue[pick]!;
      queue[pick] = queue[head]!;
      queue[head++] = id;
      const node = nodes[id]!;
      const s = node.split!;
      const mid = this.partition(node, s);
      const L: Node = {
        start: node.start,
        end: mid,
        depth: node.depth + 1,
        G: s.GL,
        H: s.HL,
        hist: null,
        split: null,
        left: -1,
        right: -1,
      };
      const R: Node = { ...L, start: mid, end: node.end, G: s.GR, H: s.HR };
      node.left = nodes.length;
      node.right = nodes.length + 1;
      nodes.push(L, R);
      leaves++;
      const needL = this.canSplit(L);
      const needR = this.canSplit(R);
      const small = L.end - L.start <= R.end - R.start ? L : R;
      const large = small === L ? R : L;
      const needSmall = small === L ? needL : needR;
      const needLarge = small === L ? needR : needL;
      if (node.hist !== null && needLarge) {
        // the smaller child from its rows, the larger by subtraction from the parent's histogram
        const hs = this.take();
        this.build(hs, gh, small.start, small.end, feats);
        const hp = node.hist;
        const { off, slots } = this.B;
        for (let k = 0; k < feats.length; k++) {
          const f = feats[k]!;
          const a = off[f]! << 1;
          const e = a + 2 * slots[f]!;
          for (let j = a; j < e; j++) hp[j] -= hs[j]!;
        }
        large.hist = hp;
        node.hist = null;
        if (needSmall) small.hist = hs;
        else this.release(hs);
      } else {
        this.release(node.hist);
        node.hist = null;
        for (const [c, need] of [
          [small, needSmall],
          [large, needLarge],
        ] as const)
          if (need) {
            c.hist = this.take();
            this.build(c.hist, gh, c.start, c.end, feats);
          }
      }
      consider(node.left);
      consider(node.right);
      // over the memory cap: drop the histograms of waiting nodes (their children rebuild from rows)
      for (let q = queue.length - 1; q >= head && this.live > this.maxLive; q--) {
        const w = nodes[queue[q]!]!;
        this.release(w.hist);
        w.hist = null;
      }
    }
    for (let q = head; q < queue.length; q++) {
      const w = nodes[queue[q]!]!;
      this.release(w.hist);
      w.hist = null;
      w.split = null;
    }
    // nodes popped but unsplit cannot exist; nodes never split are leaves
    this.nodes = nodes;
    return nodes;
  }

  /** The bundle form of the last tree; leaf values × learning rate. */
  toTree(nodes: Node[], cls: number, leafValue: Float64Array): GbdtTree {
    const out: GbdtNode[] = nodes.map((node, i) => {
      if (node.left < 0) {
        const value = this.weight(node.G, node.H) * this.p.learningRate;
        leafValue[i] = value;
        return gbdtLeaf(value);
      }
      const s = node.split!;
      const categories: number[] = [];
      if (s.left !== null) s.left.forEach((v, c) => v === 1 && categories.push(c));
      return {
        split: s.left === null ? 'numeric' : 'categorical',
        feature: s.feature,
        threshold: s.left === null ? this.B.cuts[s.feature]![s.bin]! : 0,
        categories,
        defaultLeft: s.defaultLeft,
        left: node.left,
        right: node.right,
        value: 0,
      };
    });
    return { class: cls, nodes: out };
  }
}

// ---------------------------------------------------------------------------------------------
// scoring helpers

/** The leaf a row reaches, walking the bundle tree on raw cells (the module's rules). */
export function leafOf(tree: GbdtTree, X: GbdtCells, row: number): number {
  const W = X.width;
  let i = 0;
  for (;;) {
    const n = tree.nodes[i]!;
    if (n.split === 'leaf') return i;
    const at = row * W + n.feature;
    let left: boolean;
    if (X.present[at] === 0) left = n.defaultLeft;
    else if (n.split === 'numeric') left = X.values[at]! < n.threshold;
    else left = n.categories.includes(X.values[at]!);
    i = left ? n.left : n.right;
  }
}

/** A gbdt component's margins on rows (n·classes): base, then each tree's leaf in tree order. */
export function gbdtMargins(
  coef: Extract<ComponentCoefficients, { kind: 'gbdt' }>,
  X: GbdtCells,
): Float64Array {
  const K = coef.classes;
  const m = new Float64Array(X.n * K);
  for (let i = 0; i < X.n; i++) for (let k = 0; k < K; k++) m[i * K + k] = coef.base[k]!;
  for (const t of coef.trees)
    for (let i = 0; i < X.n; i++) m[i * K + t.class] += t.nodes[leafOf(t, X, i)]!.value;
  return m;
}

// ---------------------------------------------------------------------------------------------
// boosting

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The best constant margin(s) given the offsets (Newton on the constant). */
function baseMargins(
  loss: GbdtLoss,
  K: number,
  y: Float64Array,
  w: Float64Array | null,
  offset: Float64Array,
): Float64Array {
  const n = y.length;
  const base = new Float64Array(K);
  const wt = (i: number): number => (w === null ? 1 : w[i]!);
  if (loss === 'squared_error') {
    let s = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) {
      s += wt(i) * (y[i]! - offset[i]!);
      sw += wt(i);
    }
    base[0] = sw > 0 ? s / sw : 0;
    return base;
  }
  if (loss === 'poisson') {
    let sy = 0;
    let se = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) {
      sy += wt(i) * y[i]!;
      se += wt(i) * Math.exp(offset[i]!);
      sw += wt(i);
    }
    base[0] = se > 0 ? Math.log(Math.max(sy, 1e-6 * sw) / se) : 0;
    return base;
  }
  if (loss === 'logistic') {
    let b = 0;
    for (let it = 0; it < 50; it++) {
      let g = 0;
      let h = 0;
      for (let i = 0; i < n; i++) {
        const p = sigmoid(offset[i]! + b);
        g += wt(i) * (p - y[i]!);
        h += wt(i) * p * (1 - p);
      }
      if (!(h > 0)) break;
      const step = Math.max(-5, Math.min(5, g / h));
      b -= step;
      if (Math.abs(step) < 1e-12) break;
    }
    base[0] = b;
    return base;
  }
  // multiclass: start at the log class frequencies, then diagonal Newton steps with the offsets
  const cnt = new Float64Array(K);
  let sw = 0;
  for (let i = 0; i < n; i++) {
    cnt[y[i]!] += wt(i);
    sw += wt(i);
  }
  for (let k = 0; k < K; k++) base[k] = Math.log((cnt[k]! + 0.5) / (sw + 0.5 * K));
  const p = new Float64Array(K);
  for (let it = 0; it < 20; it++) {
    const g = new Float64Array(K);
    const h = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      softmaxInto(p, offset, base, i, K);
      for (let k = 0; k < K; k++) {
        g[k] += wt(i) * (p[k]! - (y[i] === k ? 1 : 0));
        h[k] += wt(i) * p[k]! * (1 - p[k]!);
      }
    }
    let big = 0;
    for (let k = 0; k < K; k++) {
      const step = h[k]! > 0 ? Math.max(-5, Math.min(5, g[k]! / h[k]!)) : 0;
      base[k] -= step;
      big = Math.max(big, Math.abs(step));
    }
    if (big < 1e-10) break;
  }
  let mean = 0;
  for (let k = 0; k < K; k++) mean += base[k]! / K;
  for (let k = 0; k < K; k++) base[k] -= mean;
  return base;
}

/** p = softmax(a[i·K ..] + b) (b may be a K-vector added to every row, or another n·K array at row i). */
function softmaxInto(p: Float64Array, a: Float64Array, b: Float64Array, i: number, K: number): void {
  const bi = b.length === K ? 0 : i * K;
  let mx = -Infinity;
  for (let k = 0; k < K; k++) mx = Math.max(mx, a[i * K + k]! + b[bi + k]!);
  let s = 0;
  for (let k = 0; k < K; k++) {
    const e = Math.exp(a[i * K + k]! + b[bi + k]! - mx);
    p[k] = e;
    s += e;
  }
  for (let k = 0; k < K; k++) p[k] = p[k]! / s;
}

/** Gradient pairs of every class at the current margins (offset + own). gh[k]: 2 per row. */
function gradients(
  loss: GbdtLoss,
  K: number,
  y: Float64Array,
  w: Float64Array | null,
  offset: Float64Array,
  own: Float64Array,
  gh: Float64Array[],
  p: Float64Array,
): void {
  const n = y.length;
  if (loss === 'multiclass') {
    for (let i = 0; i < n; i++) {
      softmaxInto(p, offset, own, i, K);
      const wi = w === null ? 1 : w[i]!;
      for (let k = 0; k < K; k++) {
        const pk = p[k]!;
        gh[k]![2 * i] = (pk - (y[i] === k ? 1 : 0)) * wi;
        gh[k]![2 * i + 1] = Math.max(2 * pk * (1 - pk), 1e-16) * wi;
      }
    }
    return;
  }
  const a = gh[0]!;
  for (let i = 0; i < n; i++) {
    const s = offset[i]! + own[i]!;
    const wi = w === null ? 1 : w[i]!;
    let g: number;
    let h: number;
    if (loss === 'logistic') {
      const q = sigmoid(s);
      g = q - y[i]!;
      h = Math.max(q * (1 - q), 1e-16);
    } else if (loss === 'squared_error') {
      g = s - y[i]!;
      h = 1;
    } else {
      g = Math.exp(s) - y[i]!;
      h = Math.exp(s + POISSON_MAX_DELTA);
    }
    a[2 * i] = g * wi;
    a[2 * i + 1] = h * wi;
  }
}

/** The held-out metric of margins (offset + own); `higher` says which way is better. */
function heldOutMetric(
  loss: GbdtLoss,
  K: number,
  v: GbdtValidation,
  own: Float64Array,
): { value: number; higher: boolean } {
  const n = v.y.length;
  const pred = new Float64Array(n * K);
  if (loss === 'multiclass') {
    const p = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      softmaxInto(p, v.offset, own, i, K);
      pred.set(p, i * K);
    }
  } else
    for (let i = 0; i < n; i++) {
      const s = v.offset[i]! + own[i]!;
      pred[i] = loss === 'logistic' ? sigmoid(s) : loss === 'poisson' ? Math.exp(s) : s;
    }
  switch (v.metric) {
    case 'auc':
      return { value: metrics.auc(v.y, pred), higher: true };
    case 'accuracy':
      return {
        value: loss === 'multiclass' ? metrics.multiAccuracy(v.y, pred, K) : metrics.accuracy(v.y, pred),
        higher: true,
      };
    case 'logloss':
      return {
        value: loss === 'multiclass' ? metrics.multiLogLoss(v.y, pred, K) : metrics.logLoss(v.y, pred),
        higher: false,
      };
    case 'mae':
      return { value: metrics.mae(v.y, pred), higher: false };
    default:
      return { value: metrics.rmse(v.y, pred), higher: false };
  }
}

/** Fits a gbdt component by gradient boosting from the offsets (docs/training.md). */
export function fitGbdt(input: GbdtFitInput): GbdtFit {
  const { X, y, w, offset, loss, params: p } = input;
  const K = input.classes;
  const n = X.n;
  const log = input.log ?? ((): void => undefined);
  const B = binCells(X, input.categorical, p.bins);
  const base = baseMargins(loss, K, y, w, offset);
  const own = new Float64Array(n * K);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) own[i * K + k] = base[k]!;
  const gh = Array.from({ length: K }, () => new Float64Array(2 * n));
  const pk = new Float64Array(K);
  const grower = new TreeGrower(B, p);
  // columns that can split at all (more than one value bin, or categories)
  const usable: number[] = [];
  for (let f = 0; f < B.F; f++) if (B.slots[f]! > 2) usable.push(f);
  const rowRng = new Rng(input.seed, `gbdt/${input.stream}/rows`);
  const colRng = new Rng(input.seed, `gbdt/${input.stream}/columns`);
  const nCols = Math.max(1, Math.round(p.colsample * usable.length));
  const sample = p.subsample < 1 ? new Int32Array(n) : null;
  const inTree = new Uint8Array(n);

  const v = p.earlyStopping !== null && (input.valid?.y.length ?? 0) > 0 ? input.valid! : null;
  const vOwn = v === null ? null : new Float64Array(v.X.n * K);
  if (v !== null) for (let i = 0; i < v.X.n; i++) for (let k = 0; k < K; k++) vOwn![i * K + k] = base[k]!;
  let bestScore = NaN;
  let bestRound = -1;
  let bestOwn: Float64Array | null = null;
  let bestVOwn: Float64Array | null = null;
  const validScores: number[] = [];

  const trees: GbdtTree[] = [];
  let leafValue = new Float64Array(64);
  let rounds = 0;
  for (let round = 0; round < p.count; round++) {
    gradients(loss, K, y, w, offset, own, gh, pk);
    for (let k = 0; k < K; k++) {
      // rows (Bernoulli(subsample), ascending) and columns (a sorted sample) of this tree
      let rowsOfTree: Int32Array | null = null;
      if (sample !== null) {
        let m = 0;
        for (let i = 0; i < n; i++) if (rowRng.next() < p.subsample) sample[m++] = i;
        rowsOfTree = sample.subarray(0, m);
      }
      let feats: Int32Array;
      if (nCols >= usable.length) feats = Int32Array.from(usable);
      else {
        const a = [...usable];
        for (let i = 0; i < nCols; i++) {
          const j = i + Math.floor(colRng.next() * (a.length - i));
          [a[i], a[j]] = [a[j]!, a[i]!];
        }
        feats = Int32Array.from(a.slice(0, nCols).sort((x, z) => x - z));
      }
      const rows = grower.setRows(rowsOfTree);
      grower.allColumns = nCols >= usable.length;
      const nodes = grower.grow(gh[k]!, feats);
      if (leafValue.length < nodes.length) leafValue = new Float64Array(nodes.length * 2);
      const tree = grower.toTree(nodes, k, leafValue);
      trees.push(tree);
      // margins: the tree's rows by leaf range, the others by walking the tree (same routing)
      for (let id = 0; id < nodes.length; id++) {
        const node = nodes[id]!;
        if (node.left >= 0) continue;
        const val = leafValue[id]!;
        for (let q = node.start; q < node.end; q++) own[rows[q]! * K + k] += val;
      }
      if (rowsOfTree !== null) {
        inTree.fill(0);
        for (let q = 0; q < rowsOfTree.length; q++) inTree[rowsOfTree[q]!] = 1;
        for (let i = 0; i < n; i++)
          if (inTree[i] === 0) own[i * K + k] += tree.nodes[leafOf(tree, X, i)]!.value;
      }
      if (v !== null)
        for (let i = 0; i < v.X.n; i++) vOwn![i * K + k] += tree.nodes[leafOf(tree, v.X, i)]!.value;
    }
    rounds = round + 1;
    reportFit(rounds, p.count, 'rounds');
    if (v !== null) {
      const { value, higher } = heldOutMetric(loss, K, v, vOwn!);
      validScores.push(value);
      if (bestRound < 0 || (higher ? value > bestScore : value < bestScore)) {
        bestScore = value;
        bestRound = round;
        bestOwn = own.slice();
        bestVOwn = vOwn!.slice();
      } else if (round - bestRound >= p.earlyStopping!) {
        log(
          `early stopping: best round ${bestRound + 1} (${v.metric} ${bestScore}), stopped after ${round + 1}`,
        );
        break;
      }
    }
  }
  if (v !== null && bestRound >= 0 && bestRound + 1 < rounds) {
    trees.length = (bestRound + 1) * K;
    rounds = bestRound + 1;
    return { trees, base, margins: bestOwn!, rounds, validScores, validMargins: bestVOwn };
  }
  return { trees, base, margins: own, rounds, validScores, validMargins: vOwn };
}

/** The trainer's entry (trainer/train.ts, coordinate descent): one gbdt component's fit. */
export function fitGbdtComponent(
  c: CheckedComponent,
  X: GbdtCells,
  y: Float64Array,
  w: Float64Array | null,
  offset: Float64Array,
  loss: GbdtLoss,
  K: number,
  h: Map<string, HyperValue> | undefined,
  seed: number,
  valid: GbdtValidation | undefined,
  log: (line: string) => void,
): {
  coef: Extract<ComponentCoefficients, { kind: 'gbdt' }>;
  margins: Float64Array;
  iterations: number;
  converged: boolean;
} {
  const params = gbdtParams(h);
  const fit = fitGbdt({
    X,
    categorical: gbdtCategorical(c),
    y,
    w,
    offset,
    loss,
    classes: K,
    params,
    seed,
    stream: c.name,
    valid: valid ?? null,
    log: (line) => log(`${c.name}: ${line}`),
  });
  return {
    coef: {
      kind: 'gbdt',
      classes: K,
      inputWidth: c.inputWidth,
      hyperparameters: Object.fromEntries(h ?? new Map()),
      trees: fit.trees,
      base: fit.base,
    },
    margins: fit.margins,
    iterations: fit.rounds,
    converged: true,
  };
}
