// Test and benchmark harness for compiler/emit/trees.ts: seeded random tree ensembles, the
// reference walk (compiler/reference/eval.ts, `case 'gbdt'`), and a standalone wasm module around
// emitTrees with one export `run(x, miss, out)`.
// Input: an ensemble (abi GbdtTree[]), a layout, options. Output: module bytes plus where the
// scratch area (x, miss, out of one row) lives, and a scorer that runs rows through the module.

import binaryen from 'binaryen';
import type { ComponentCoefficients, GbdtNode, GbdtTree } from '../../abi/index.js';
import { gbdtLeaf } from '../../abi/index.js';
import { emitTrees, type TreeEnv, type TreeLayout, type TreeOptions } from '../../compiler/emit/trees.js';

export type Gbdt = Extract<ComponentCoefficients, { kind: 'gbdt' }>;
/** A feature value: f64 (a category is its index as a number), or null = missing. */
export type Cell = number | null;

/** The features the scoring modules enable (compiler/emit/scoring.ts). */
export const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt;

/** mulberry32: a seeded PRNG with values in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface EnsembleSpec {
  trees: number;
  depth: number;
  features: number;
  classes: number;
  /** Features 0..categorical-1 are category columns with indices 0..catSize (catSize = OOV). */
  categorical: number;
  catSize: number;
  /** Every split node has two children down to `depth` (else leaves appear early at random). */
  full: boolean;
  /** Probability that a right child reuses a node already made (a DAG; still valid). */
  share?: number;
}

/** Interesting thresholds: small integers (ties in the rows), f32-inexact decimals, random doubles. */
function threshold(r: () => number): number {
  const u = r();
  if (u < 0.3) return Math.floor(r() * 21) - 10;
  if (u < 0.6) return (Math.floor(r() * 2001) - 1000) / 10;
  if (u < 0.7) return -0;
  return (r() - 0.5) * 200;
}

/** A random ensemble: trees' nodes numbered breadth first (children after parents, left ≠ i+1). */
export function randomEnsemble(spec: EnsembleSpec, seed: number): Gbdt {
  const r = rng(seed);
  const trees: GbdtTree[] = [];
  for (let t = 0; t < spec.trees; t++) {
    const nodes: GbdtNode[] = [];
    const queue: { i: number; d: number }[] = [];
    const make = (d: number): number => {
      const i = nodes.length;
      nodes.push(leaf(r));
      queue.push({ i, d });
      return i;
    };
    make(0);
    while (queue.length > 0) {
      const { i, d } = queue.shift()!;
      const isLeaf = d >= spec.depth || (!spec.full && d > 0 && r() < 0.25);
      if (isLeaf) continue;
      const feature = Math.floor(r() * spec.features);
      const defaultLeft = r() < 0.5;
      const left = make(d + 1);
      let right: number;
      const share = spec.share ?? 0;
      if (share > 0 && r() < share && queue.length > 1) {
        // reuse a later-numbered pending node (keeps children after parents)
        const cand = queue[Math.floor(r() * queue.length)]!;
        right = cand.i > i ? cand.i : make(d + 1);
      } else right = make(d + 1);
      if (feature < spec.categorical) {
        const count = Math.floor(r() * (r() < 0.5 ? 4 : spec.catSize + 1)) + 1;
        const categories = Array.from({ length: count }, () => Math.floor(r() * (spec.catSize + 1)));
        nodes[i] = { ...split(feature, defaultLeft, left, right), split: 'categorical', categories };
      } else {
        nodes[i] = { ...split(feature, defaultLeft, left, right), split: 'numeric', threshold: threshold(r) };
      }
    }
    trees.push({ class: t % spec.classes, nodes });
  }
  const base = Float64Array.from({ length: spec.classes }, (_, c) => (c === 0 ? -0 : (r() - 0.5) * 3));
  return { kind: 'gbdt', classes: spec.classes, inputWidth: spec.features, hyperparameters: {}, trees, base };
}

function leaf(r: () => number): GbdtNode {
  const u = r();
  const value = u < 0.1 ? -0 : u < 0.2 ? 0.1 : (r() - 0.5) * 2 * 10 ** Math.floor(r() * 6 - 3);
  return gbdtLeaf(value);
}

function split(feature: number, defaultLeft: boolean, left: number, right: number): GbdtNode {
  return { split: 'numeric', feature, threshold: 0, categories: [], defaultLeft, left, right, value: 0 };
}

/** Random rows for an ensemble: its own thresholds (exact ties), NaN, ±0, ±∞, missing, and for
 *  category columns in-range, OOV, out-of-range and non-integer indices. */
export function randomRows(coef: Gbdt, spec: EnsembleSpec, n: number, seed: number): Cell[][] {
  const r = rng(seed);
  const thresholds: number[][] = Array.from({ length: coef.inputWidth }, () => []);
  for (const tree of coef.trees)
    for (const node of tree.nodes)
      if (node.split === 'numeric') thresholds[node.feature]!.push(node.threshold);
  const specials = [NaN, 0, -0, Infinity, -Infinity, 1e300, -1e-300];
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++) {
    const row: Cell[] = [];
    for (let f = 0; f < coef.inputWidth; f++) {
      const u = r();
      if (u < 0.1) row.push(null);
      else if (f < spec.categorical) {
        const w = r();
        if (w < 0.85) row.push(Math.floor(r() * (spec.catSize + 1)));
        else if (w < 0.9) row.push(-0);
        else row.push([0.5, -1, NaN, 2 ** 32 - 1, 2 ** 32, spec.catSize + 50, 1e20][Math.floor(r() * 7)]!);
      } else if (u < 0.2) row.push(specials[Math.floor(r() * specials.length)]!);
      else if (u < 0.6 && thresholds[f]!.length > 0) {
        const ts = thresholds[f]!;
        const t = ts[Math.floor(r() * ts.length)]!;
        const w = r();
        // the threshold itself, or its neighbouring doubles / its f32 rounding
        row.push(w < 0.5 ? t : w < 0.7 ? Math.fround(t) : w < 0.85 ? nextUp(t) : -nextUp(-t));
      } else row.push((r() - 0.5) * 200);
    }
    rows.push(row);
  }
  return rows;
}

function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const b = new Float64Array([x]);
  const u = new BigInt64Array(b.buffer);
  u[0] = u[0]! + (x > 0 ? 1n : -1n);
  return b[0]!;
}

/** The reference evaluator's walk, verbatim. */
export function oracle(coef: Gbdt, x: readonly Cell[]): number[] {
  const m = Array.from(coef.base);
  for (const tree of coef.trees) {
    let i = 0;
    for (;;) {
      const n = tree.nodes[i]!;
      if (n.split === 'leaf') {
        m[tree.class]! += n.value;
        break;
      }
      const v = x[n.feature]!;
      const left =
        v === null ? n.defaultLeft : n.split === 'numeric' ? v < n.threshold : n.categories.includes(v);
      i = left ? n.left : n.right;
    }
  }
  return m;
}

export interface BuiltTrees {
  bytes: Uint8Array;
  /** binaryen's validate() before and after optimize(). */
  valid: boolean;
  validOptimized: boolean | null;
  /** Addresses of the scratch row: x (f64[inputWidth]), miss (u8[inputWidth]), out (f64[classes]). */
  scratch: { x: number; miss: number; out: number };
  /** Bytes from one row's scratch area to the next (options.rows of them). */
  stride: number;
  /** Seconds spent in emitTrees, validate, optimize and emitBinary. */
  times: { emit: number; validate: number; optimize: number; binary: number };
}

export interface BuildOptions extends TreeOptions {
  optimize?: boolean;
  /** binaryen optimize level (default 2, like compiler/emit/scoring.ts). */
  optimizeLevel?: number;
  /** Scratch rows to make room for (default 1). */
  rows?: number;
}

const ALIGN = 16;
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** A module with memory and `run(x, miss, out)`, whose body is emitTrees's statements. */
export function buildTreeModule(coef: Gbdt, layout: TreeLayout, options: BuildOptions = {}): BuiltTrees {
  const m = new binaryen.Module();
  try {
    m.setFeatures(FEATURES);
    // the memory exists before emitTrees (its loads name it); set again below with the segments
    m.setMemory(1, -1, null, [], false, false, '0');
    const segments: binaryen.MemorySegment[] = [];
    let end = 1024;
    const vars: binaryen.Type[] = [];
    let counter = 0;
    const env: TreeEnv = {
      m,
      addLocal: (t) => 3 + vars.push(t) - 1,
      addData(bytes) {
        const addr = end;
        if (bytes.length > 0) segments.push({ offset: m.i32.const(addr), data: bytes, passive: false });
        end = align(addr + Math.max(bytes.length, 1));
        return addr;
      },
      fresh: (prefix) => `${prefix}$${counter++}`,
    };
    const now = (): number => performance.now() / 1000;
    const t0 = now();
    const body = emitTrees(env, coef, layout, 0, 1, 2, options);
    const params = binaryen.createType([binaryen.i32, binaryen.i32, binaryen.i32]);
    m.addFunction('run', params, binaryen.none, vars, body);
    m.addFunctionExport('run', 'run');
    const x = align(end);
    const miss = align(x + 8 * coef.inputWidth);
    const out = align(miss + coef.inputWidth);
    const stride = align(out + 8 * coef.classes) - x;
    const top = x + stride * (options.rows ?? 1);
    m.setMemory(Math.max(1, Math.ceil(top / 65536)), -1, 'memory', segments, false, false, '0');
    const t1 = now();
    const valid = m.validate() !== 0;
    const t2 = now();
    let validOptimized: boolean | null = null;
    if (options.optimize ?? false) {
      binaryen.setOptimizeLevel(options.optimizeLevel ?? 2);
      binaryen.setShrinkLevel(0);
      m.optimize();
      validOptimized = m.validate() !== 0;
    }
    const t3 = now();
    const bytes = m.emitBinary();
    const t4 = now();
    return {
      bytes,
      valid,
      validOptimized,
      scratch: { x, miss, out },
      stride,
      times: { emit: t1 - t0, validate: t2 - t1, optimize: t3 - t2, binary: t4 - t3 },
    };
  } finally {
    m.dispose();
  }
}

export interface TreeExports {
  memory: WebAssembly.Memory;
  run: (x: number, miss: number, out: number) => void;
}

/** Writes a row into scratch row r (garbage under missing cells: the code must not look at them). */
export function writeRow(ex: TreeExports, built: BuiltTrees, coef: Gbdt, row: readonly Cell[], r = 0): void {
  const d = r * built.stride;
  const w = coef.inputWidth;
  const buf = ex.memory.buffer;
  const xs = new Float64Array(buf, built.scratch.x + d, w);
  const ms = new Uint8Array(buf, built.scratch.miss + d, w);
  for (let f = 0; f < w; f++) {
    const v = row[f]!;
    xs[f] = v === null ? (f % 2 === 0 ? NaN : -123.5) : v;
    ms[f] = v === null ? 1 : 0;
  }
  new Float64Array(buf, built.scratch.out + d, coef.classes).set(coef.base);
}

/** Instantiates a built module; the scorer returns the margins of one row (a fresh array). */
export function treeScorer(built: BuiltTrees, coef: Gbdt): (row: readonly Cell[]) => number[] {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(built.bytes), {})
    .exports as unknown as TreeExports;
  const { x, miss, out } = built.scratch;
  return (row) => {
    writeRow(ex, built, coef, row);
    ex.run(x, miss, out);
    return Array.from(new Float64Array(ex.memory.buffer, out, coef.classes));
  };
}
