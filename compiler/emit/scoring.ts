// The scoring module: scalar code (one row per loop iteration) for scalar numeric, string and
// category inputs, the missing-value, arithmetic, logic and math ops, category labels (`label`,
// `lookup`, `bucketize`, comparisons), `onehot` and `hash` of one item, `length`, and global
// `linear` components (dense and one-item sparse features).
// Input: CheckedModel, its IR (lowerModel), the coefficient bundle. Output: wasm bytes (ABI v1,
// docs/abi.md) built with binaryen on top of the kernel module (compiler/kernels.ts), whose math
// functions are called by their internal names; anything else raises a PML31xx CompileError.

import binaryen from 'binaryen';
import {
  ALLOC_ALIGN,
  EXPORTS,
  INPUT_DESCRIPTOR,
  MANIFEST_SECTION,
  OUTPUT_DESCRIPTOR,
  ROW_ERRORS,
  WASM_PAGE,
  type Bundle,
  type ComponentCoefficients,
  type Manifest,
  type TransformParams,
} from '../../abi/index.js';
import type * as ir from '../ir.js';
import { kernelModuleBytes } from '../kernels.js';
import type { CheckedModel } from '../typed.js';
import { lowerModel } from '../lower.js';
import { HASH_SEED, hashString, utf8 } from '../../abi/hash.js';
import { DENSE_MIN, denseOnlyInputs, hasDenseDot } from './dense.js';
import { CompileError } from './errors.js';
import { buildManifest } from './manifest.js';
import {
  defaultTreeLayout,
  emitBlockedTrees,
  emitTrees,
  MAX_INTERLEAVE,
  type TreeEnv,
  type TreeLayout,
} from './trees.js';
import { appendDataSegments } from './wasm-data.js';

/** Flat tree layout: trees walked side by side by default. Measured on 500 depth-8 trees and 1,000
 *  31-leaf trees: 2-3.5× the one-at-a-time walk at 8 (the walks' loads overlap); tune picks per model. */
export const DEFAULT_TREE_INTERLEAVE = 8;
/** Rows per block of the row-blocked flat tree walk (1 = off); see EmitOptions.treeBlock. Measured
 *  (bench/results/tree-block.md): 1.3-1.6× the row-at-a-time walk on 500 depth-8 trees and 1,000
 *  31-leaf trees at 64-256 rows; batches under 8 rows are walked row by row either way. */
export const DEFAULT_TREE_BLOCK = 128;
/** Rows per block of the row-blocked f32 MLP (1 = off); see EmitOptions.mlpBlock. */
export const DEFAULT_MLP_BLOCK = 64;
/** Rows an f32 MLP block computes side by side (accumulators: this × MLP_BLOCK_VECTORS f32x4). */
const MLP_BLOCK_LANES = 4;
/** Output vectors (4 outputs each) per step of the row-blocked f32 MLP. */
const MLP_BLOCK_VECTORS = 2;
/** Output vectors per step for the rows left over (one row at a time: more accumulators to hide the add latency). */
const MLP_TAIL_VECTORS = 4;
/** A block's scratch (9 · inputWidth + 8 · classes bytes per row) stays under this: wide ensembles get fewer rows per block. */
const MAX_BLOCK_SCRATCH = 1 << 20;
/** The largest treeBlock (its scratch is static: rows × (9 · inputWidth + 8 · classes) bytes). */
export const MAX_TREE_BLOCK = 1024;

export interface EmitOptions {
  /** The .pml source text (its SHA-256 goes into the manifest). */
  sourceText: string;
  /** The bundle.json text the bundle was read from (manifest hashes), or null. */
  bundleJsonText?: string | null;
  compilerVersion?: string;
  /** Run binaryen's optimizer (default true). */
  optimize?: boolean;
  /** Kernel module bytes (default: kernelModuleBytes()). */
  kernelBytes?: Uint8Array;
  /** Emit SIMD128 code for MLP layers (default true); false gives the scalar build (same results). */
  simd?: boolean;
  /** MLP: independent accumulators per step (f64x2 pairs; default 2). */
  mlpUnroll?: number;
  /**
   * MLP weight storage: 'f64' (default), or 'f32' where every weight of a layer is exactly an f32
   * (half the bytes in the module and to stream per row; promoted to f64 on load, so the same
   * products: same results). Both the row-at-a-time and the row-blocked kernel; measured on the
   * blocked one (pymk, the benchmark MLP): 2–6% slower than f64, its loads are not the bottleneck.
   */
  mlpWeights?: 'f64' | 'f32';
  /**
   * Linear weight storage for a component whose every weight and intercept is exactly an f32: 'f32'
   * (half the bytes) or 'f64' (no widening per weight read). Default: 'f64' for a component with a
   * dense dot product (a vector input of DENSE_MIN or more values read straight from its column:
   * ~1.2× faster there, measured on logistic_1000), 'f32' for the rest (hashed and sparse weights are
   * read one by one, where half the bytes keeps more of them in cache). Weights that are not all
   * exactly f32 are stored as f64 either way. Same values, same results.
   */
  linearWeights?: 'f32' | 'f64';
  /**
   * MLP arithmetic: 'f64' (default: the reference evaluator's, bit for bit) or 'f32' — an INEXACT
   * strategy: weights, activations and sums in f32 (4 outputs per f32x4), each output's sum still in
   * ascending input order, so every engine and both builds give the same bits, but they differ from
   * the reference's f64 results by f32 rounding (docs/abi.md 4.1). Opt-in only; tune tries it only
   * with a tolerance (`proml tune --allow-inexact`).
   */
  mlpPrecision?: 'f64' | 'f32';
  /**
   * f32 MLPs (mlpPrecision 'f32'): rows per block of the row-blocked MLP (the block's input rows
   * gathered first, then each layer computed for 4 rows at a time, each weight vector loaded once
   * for the 4); 1 = off (default DEFAULT_MLP_BLOCK; same results).
   */
  mlpBlock?: number;
  /** Tree-ensemble layout for every gbdt (default: chosen per ensemble by defaultTreeLayout). */
  treeLayout?: TreeLayout;
  /** Flat layout: trees walked side by side, 1..8 (default DEFAULT_TREE_INTERLEAVE; same results). */
  treeInterleave?: number;
  /**
   * Flat layout: rows per block of the row-blocked tree walk (every tree walked by a block of rows
   * before the next tree, 8 rows side by side); 1 = off, the row-at-a-time walk with treeInterleave
   * trees side by side (default DEFAULT_TREE_BLOCK; same results). At most MAX_TREE_BLOCK.
   */
  treeBlock?: number;
}

/** manifest.strategies['linear.weights']: `f32`, `f64`, or `f32, f64 in a, b` when the components differ. */
function linearWeightsText(weightAddr: Map<string, { f32: boolean }>): string {
  const wide = [...weightAddr].filter(([, w]) => !w.f32).map(([name]) => name);
  if (wide.length === 0) return 'f32';
  return wide.length === weightAddr.size ? 'f64' : `f32, f64 in ${wide.join(', ')}`;
}

/** What the module computes: outputs (scoring) or every component's input columns (transform, docs/abi.md 3.4). */
type Product = 'scoring' | 'transform';

/** Lowering choices the generator reads (EmitOptions with defaults applied). */
interface Strategy {
  simd: boolean;
  mlpUnroll: number;
  mlpWeights: 'f64' | 'f32';
  mlpPrecision: 'f64' | 'f32';
  mlpBlock: number;
  treeLayout: TreeLayout | null;
  treeInterleave: number;
  treeBlock: number;
}

export interface EmitResult {
  bytes: Uint8Array;
  manifest: Manifest;
}

/** Most rows per call (docs/abi.md: more is fatal code -1). */
const MAX_ROWS = 1 << 24;
const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt;

/** Math kernels of assembly/math.ts, called by their internal names (`expF32`, `tanhF64`, ...). */
type KernelFn = 'exp' | 'log' | 'log1p' | 'sigmoid' | 'tanh' | 'sin' | 'cos' | 'pow';

/** Every IR op. */
const SUPPORTED_OPS = new Set<ir.Op>([
  'input',
  'const',
  'default',
  'require',
  'inrange',
  'is_missing',
  'coalesce',
  'cast',
  'splat',
  'label',
  'add',
  'sub',
  'mul',
  'div',
  'neg',
  'lt',
  'le',
  'gt',
  'ge',
  'eq',
  'ne',
  'and',
  'or',
  'not',
  'select',
  'exp',
  'log',
  'log1p',
  'sqrt',
  'abs',
  'sigmoid',
  'tanh',
  'sin',
  'cos',
  'floor',
  'pow',
  'min',
  'max',
  'clip',
  'lower',
  'tokens',
  'ngrams',
  'length',
  'count',
  'overlap',
  'onehot',
  'hash',
  'cross',
  'bucketize',
  'lookup',
  'concat',
  'dot',
  'sum',
  'argmax',
  'softmax',
  'standardize',
  'quantiles',
  'vocab',
  'component',
  'calibrate',
]);

/** Text kernels of assembly/text.ts, called by their internal names. */
type TextFn =
  'murmur3' | 'utf8Valid' | 'codePointCount' | 'bytesEqual' | 'lowerUtf8' | 'tokensUtf8' | 'ngramsUtf8';

type S = ir.Scalar;
type Ref = binaryen.ExpressionRef;

function scalarOf(n: ir.Node, what: string): { s: S; opt: boolean } {
  if (n.type.k !== 'scalar')
    throw new CompileError(
      'unsupportedOp',
      `not supported yet by this back end: ${what} of type ${n.type.k}`,
    );
  return n.type;
}

/** The wasm type a scalar is held in (bool as i32 0/1). */
function wasmType(s: S): binaryen.Type {
  return s === 'f32' ? binaryen.f32 : s === 'f64' ? binaryen.f64 : binaryen.i32;
}

/** Rejects what this back end does not implement, and bundles that do not fit, before any code is generated. */
function checkSupported(checked: CheckedModel, mod: ir.Module, bundle: Bundle, product: Product): void {
  mod.inputs.forEach((inp, i) => {
    const k = inp.type.k;
    if (k !== 'scalar' && k !== 'str' && k !== 'entity' && k !== 'bag' && k !== 'vec')
      throw new CompileError(
        'unsupportedInput',
        `not supported yet by this back end: input '${inp.name}' of type ${checked.inputs[i]?.declared.kind ?? k}`,
      );
  });
  for (const n of mod.nodes) {
    if (!SUPPORTED_OPS.has(n.op))
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${n.op}`);
  }
  for (const c of mod.components) {
    const what = `component '${c.name}'`;
    for (const f of c.features) {
      const t = mod.nodes[f.node]!.type;
      if (t.k === 'sparse' && c.kind === 'gbdt')
        throw new CompileError('unsupportedComponent', `${what}: sparse feature '${f.text}' in a gbdt`);
    }
    if (product === 'transform') continue;
    const coef = bundle.components.get(c.name);
    if (coef === undefined)
      throw new CompileError('missingCoefficients', `the bundle has no coefficients for ${what}`);
    const shape = (detail: string): CompileError =>
      new CompileError(
        'missingCoefficients',
        `the bundle's coefficients for ${what} do not fit its shape: ${detail}`,
      );
    if (coef.classes !== c.outputWidth)
      throw shape(`${coef.classes} classes, the model declares ${c.outputWidth}`);
    if (coef.inputWidth !== c.inputWidth)
      throw shape(`input width ${coef.inputWidth}, the model's features make ${c.inputWidth}`);
    for (const f of c.features) {
      const fn = mod.nodes[f.node]!;
      const t = fn.type;
      if (t.k === 'sparse' && c.kind !== 'gbdt') continue;
      if (t.k === 'cat' && c.kind === 'gbdt') continue;
      if (t.k === 'vec' && f.width === t.n) {
        if (t.opt && c.kind !== 'gbdt')
          throw new CompileError('unsupportedComponent', `${what}: feature '${f.text}' may be missing`);
        continue;
      }
      if (t.k !== 'scalar' || f.width !== 1)
        throw new CompileError(
          'unsupportedComponent',
          `not supported yet by this back end: ${what} feature '${f.text}' of type ${t.k}`,
        );
      if (t.opt && c.kind !== 'gbdt')
        throw new CompileError('unsupportedComponent', `${what}: feature '${f.text}' may be missing`);
    }
    if (c.per !== null) {
      if (c.kind !== 'linear')
        throw new CompileError(
          'unsupportedComponent',
          `not supported yet by this back end: ${c.kind} ${what} per entity`,
        );
      if (coef.kind !== 'random_effect') throw shape(`kind ${coef.kind}, the model declares a random effect`);
      if (coef.intercept !== c.intercept)
        throw shape(`intercept ${coef.intercept}, the model declares ${c.intercept}`);
      if (coef.blockWidth !== c.outputWidth * ((coef.intercept ? 1 : 0) + c.inputWidth))
        throw shape(`block width ${coef.blockWidth}`);
      continue;
    }
    if (coef.kind !== c.kind) throw shape(`kind ${coef.kind}, the model declares ${c.kind}`);
    if (coef.kind === 'mlp') {
      const widths = [c.inputWidth, ...c.hidden, c.outputWidth];
      if (coef.layers.length !== widths.length - 1)
        throw shape(`${coef.layers.length} layers, the model declares ${widths.length - 1}`);
      coef.layers.forEach((l, k) => {
        if (l.inputs !== widths[k] || l.outputs !== widths[k + 1])
          throw shape(`layer ${k} is ${l.inputs} → ${l.outputs}`);
      });
      if (c.activation !== null && coef.activation !== c.activation)
        throw shape(`activation ${coef.activation}, the model declares ${c.activation}`);
    }
    if (coef.kind === 'gbdt') {
      coef.trees.forEach((tree, k) => {
        if (tree.class < 0 || tree.class >= c.outputWidth)
          throw shape(`tree ${k} adds to class ${tree.class}`);
        tree.nodes.forEach((nd, j) => {
          if (nd.split === 'leaf') return;
          if (nd.feature < 0 || nd.feature >= c.inputWidth)
            throw shape(`tree ${k} node ${j} tests column ${nd.feature}`);
          if (nd.left <= j || nd.right <= j || nd.left >= tree.nodes.length || nd.right >= tree.nodes.length)
            throw shape(`tree ${k} node ${j} has children ${nd.left}, ${nd.right}`);
        });
      });
    }
  }
  for (const o of mod.outputs) {
    if (o.type.k !== 'scalar' && o.type.k !== 'vec')
      throw new CompileError(
        'unsupportedOutput',
        `not supported yet by this back end: output '${o.name}' of type ${o.type.k}`,
      );
  }
  if (
    product === 'scoring' &&
    checked.outputs.map((o) => o.name).join('\0') !== mod.outputs.map((o) => o.name).join('\0')
  )
    throw new CompileError('invalidModule', 'internal error: IR outputs differ from the checked model');
}

/** Locals of one function: params first, then vars added on demand. */
class Locals {
  readonly vars: binaryen.Type[] = [];
  constructor(private readonly params: number) {}
  add(t: binaryen.Type): number {
    this.vars.push(t);
    return this.params + this.vars.length - 1;
  }
}

/** A node's value at run time: a local holding the value, and one holding the presence bit (null: always present). */
interface Val {
  v: number;
  p: number | null;
  s: S;
  /** Strings: the local holding the byte length (v holds the address). Bags: the end item. */
  len?: number;
  /** Bags: the input index. */
  bag?: number;
  /** Sparse with many items: v holds the address of the bucket list, len its length. */
  multi?: boolean;
  /** Multi: the bucket count (items are < buckets); the list has room for len more items after it. */
  buckets?: number;
  /** Vectors: one local per element (s is the element type; p the whole vector's presence). */
  lanes?: number[];
  /** Bags made by tokens()/ngrams(): items are (start, end) byte pairs at this local's address, relative to src. */
  pairs?: number;
  src?: number;
}

/** Compiles a checked model + IR + bundle into a scoring module (bytes and the manifest embedded). */
export async function emitScoringModule(
  checked: CheckedModel,
  mod: ir.Module,
  bundle: Bundle,
  options: EmitOptions,
): Promise<EmitResult> {
  checkSupported(checked, mod, bundle, 'scoring');
  return emitProduct(checked, mod, bundle, options, 'scoring');
}

/**
 * The transform module of a model: inputs → each component's input columns, for the trainer
 * (docs/abi.md 3.4). Needs the bundle only for fitted transforms (standardize, quantiles, vocab);
 * component coefficients are not read. The IR is lowered here with the component features as roots.
 */
export async function emitTransformModule(
  checked: CheckedModel,
  bundle: Bundle,
  options: EmitOptions,
): Promise<EmitResult> {
  const mod = lowerModel(checked, { roots: 'features' });
  checkSupported(checked, mod, bundle, 'transform');
  return emitProduct(checked, mod, bundle, options, 'transform');
}

async function emitProduct(
  checked: CheckedModel,
  mod: ir.Module,
  bundle: Bundle,
  options: EmitOptions,
  product: Product,
): Promise<EmitResult> {
  const kernelBytes = options.kernelBytes ?? (await kernelModuleBytes());
  const kernelHeapBase = (
    new WebAssembly.Instance(new WebAssembly.Module(kernelBytes)).exports as { heapBase: () => number }
  ).heapBase();
  const m = binaryen.readBinary(kernelBytes);
  try {
    return build(m, checked, mod, bundle, options, kernelHeapBase, product);
  } finally {
    m.dispose();
  }
}

/** binaryen 132's i64.const takes one bigint (its typings still say two halves). */
function i64c(m: binaryen.Module, v: bigint): Ref {
  return (m.i64.const as unknown as (v: bigint) => Ref)(v);
}

function align16(x: number): number {
  return Math.ceil(x / ALLOC_ALIGN) * ALLOC_ALIGN;
}

function build(
  m: binaryen.Module,
  checked: CheckedModel,
  mod: ir.Module,
  bundle: Bundle,
  options: EmitOptions,
  kernelHeapBase: number,
  product: Product,
): EmitResult {
  // ---- kernel linking: remember the internal names of the kernel exports, then drop every export
  const kernel = new Map<string, string>();
  const kernelExports: string[] = [];
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = binaryen.getExportInfo(m.getExportByIndex(i));
    kernelExports.push(e.name);
    if (e.kind === binaryen.ExternalFunction) kernel.set(e.name, e.value);
  }
  for (const name of kernelExports) m.removeExport(name);
  const kernelFn = (fn: KernelFn, s: 'f32' | 'f64'): string => {
    const name = `${fn}${s === 'f32' ? 'F32' : 'F64'}`;
    const internal = kernel.get(name);
    if (internal === undefined) throw new CompileError('invalidModule', `the kernel module has no '${name}'`);
    return internal;
  };

  // ---- data: the kernel's segments, then the linear weights (f32 when every value is exactly an f32)
  // active data segments, by address (binaryen segments are rebuilt from these when needed)
  const segData: { at: number; data: Uint8Array }[] = [];
  const addSegment = (at: number, data: Uint8Array): void => {
    segData.push({ at, data });
  };
  const segmentsOf = (list: { at: number; data: Uint8Array }[]): binaryen.MemorySegment[] =>
    list.map((sg) => ({ offset: m.i32.const(sg.at), data: sg.data, passive: false }));
  // binaryen.js 132 has these at run time; its typings lag behind
  const dm = m as unknown as {
    getNumDataSegments(): number;
    getDataSegmentByIndex(i: number): number;
    getDataSegmentInfo(ref: number): { offset: number; data: ArrayBuffer; passive: boolean };
  };
  for (let i = 0; i < dm.getNumDataSegments(); i++) {
    const info = dm.getDataSegmentInfo(dm.getDataSegmentByIndex(i));
    if (info.passive) throw new CompileError('invalidModule', 'the kernel module has a passive data segment');
    addSegment(info.offset, new Uint8Array(info.data));
  }
  let dataEnd = align16(kernelHeapBase);
  const weightAddr = new Map<string, { addr: number; f32: boolean }>();
  const scoring = product === 'scoring';
  const exact = (xs: Float64Array): boolean =>
    xs.every((x) => Object.is(Math.fround(x), x) || Number.isNaN(x));
  for (const c of scoring ? mod.components : []) {
    const coef = bundle.components.get(c.name)!;
    if (coef.kind !== 'linear') continue;
    const f32 =
      exact(coef.intercepts) &&
      exact(coef.weights) &&
      (options.linearWeights ?? (hasDenseDot(c, mod) ? 'f64' : 'f32')) === 'f32';
    // per class: [intercept, w_0, ..., w_{inputWidth-1}]
    const W = coef.inputWidth;
    const values = new Float64Array(coef.classes * (1 + W));
    for (let k = 0; k < coef.classes; k++) {
      values[k * (1 + W)] = coef.intercepts[k]!;
      values.set(coef.weights.subarray(k * W, (k + 1) * W), k * (1 + W) + 1);
    }
    const data = f32 ? new Float32Array(values) : new Float64Array(values);
    weightAddr.set(c.name, { addr: dataEnd, f32 });
    addSegment(dataEnd, new Uint8Array(data.buffer));
    dataEnd = align16(dataEnd + data.byteLength);
  }
  const textFn = (fn: TextFn): string => {
    const internal = kernel.get(fn);
    if (internal === undefined) throw new CompileError('invalidModule', `the kernel module has no '${fn}'`);
    return internal;
  };
  const pool: DataPool = {
    end: dataEnd,
    add(bytes: Uint8Array): number {
      const addr = this.end;
      if (bytes.some((b) => b !== 0)) addSegment(addr, bytes);
      this.end = align16(addr + Math.max(bytes.length, 1));
      return addr;
    },
    reserve(bytes: number): number {
      const addr = this.end;
      this.end = align16(addr + Math.max(bytes, 1));
      return addr;
    },
  };
  const strategy: Strategy = {
    simd: options.simd ?? true,
    // measured (bench/results/simd.md): 4 f64x2 accumulators pay in the SIMD build, 2 pairs in the scalar one
    mlpUnroll: options.mlpUnroll ?? ((options.simd ?? true) ? 4 : 2),
    mlpWeights: options.mlpWeights ?? 'f64',
    mlpPrecision: options.mlpPrecision ?? 'f64',
    // f32 MLPs are row-blocked by default; f64 ones when big enough to pay (exact either way) and
    // no knob of the row-at-a-time MLP alone (unroll) was asked for
    mlpBlock:
      options.mlpBlock ??
      (options.mlpPrecision === 'f32' ||
      (options.mlpUnroll === undefined && largestMlpWeights(mod, bundle) >= MLP_BLOCK_MIN_WEIGHTS)
        ? DEFAULT_MLP_BLOCK
        : 1),
    treeLayout: options.treeLayout ?? null,
    treeInterleave: options.treeInterleave ?? DEFAULT_TREE_INTERLEAVE,
    treeBlock: options.treeBlock ?? DEFAULT_TREE_BLOCK,
  };
  if (!Number.isInteger(strategy.mlpBlock) || strategy.mlpBlock < 1 || strategy.mlpBlock > MAX_TREE_BLOCK)
    throw new CompileError(
      'invalidModule',
      `mlpBlock must be an integer in 1..${MAX_TREE_BLOCK}, got ${strategy.mlpBlock}`,
    );
  if (!Number.isInteger(strategy.treeBlock) || strategy.treeBlock < 1 || strategy.treeBlock > MAX_TREE_BLOCK)
    throw new CompileError(
      'invalidModule',
      `treeBlock must be an integer in 1..${MAX_TREE_BLOCK}, got ${strategy.treeBlock}`,
    );
  if (
    !Number.isInteger(strategy.treeInterleave) ||
    strategy.treeInterleave < 1 ||
    strategy.treeInterleave > MAX_INTERLEAVE
  )
    throw new CompileError(
      'invalidModule',
      `treeInterleave must be an integer in 1..${MAX_INTERLEAVE}, got ${strategy.treeInterleave}`,
    );
  if (!Number.isInteger(strategy.mlpUnroll) || strategy.mlpUnroll < 1 || strategy.mlpUnroll > 8)
    throw new CompileError(
      'invalidModule',
      `mlpUnroll must be an integer in 1..8, got ${strategy.mlpUnroll}`,
    );
  const { layouts, usedDense, blockedTrees, blockedMlps, blockRows, mlpF32Layers } = addScore(
    m,
    checked,
    mod,
    weightAddr,
    kernelFn,
    textFn,
    pool,
    bundle,
    strategy,
    product,
  );
  const heapBase = align16(pool.end);
  const initialPages = Math.max(1, Math.ceil(heapBase / WASM_PAGE));
  // Large constant segments (weights, tree tables) stay out of binaryen: the optimiser never reads
  // memory contents, and its segment passes cost seconds per few MB (bench/results/compile.md).
  // They are appended to the emitted binary unchanged (compiler/emit/wasm-data.ts).
  const BIG = 4096;
  m.setMemory(
    initialPages,
    -1,
    EXPORTS.memory,
    segmentsOf(segData.filter((sg) => sg.data.length <= BIG)),
    false,
    false,
    '0',
  );

  // ---- allocator
  m.addGlobal('proml$heap', binaryen.i32, true, m.i32.const(heapBase));
  const memBytes = (): Ref => m.i64.shl(m.i64.extend_u(m.memory.size()), i64c(m, 16n));
  {
    // alloc(bytes): p = heap; end = p + round16(bytes); grow when end > memory; heap = end
    const L = new Locals(1);
    const end = L.add(binaryen.i64);
    const need = L.add(binaryen.i64);
    const ret = L.add(binaryen.i32);
    m.addFunction(
      'proml$alloc',
      binaryen.createType([binaryen.i32]),
      binaryen.i32,
      L.vars,
      m.block(
        null,
        [
          m.local.set(ret, m.global.get('proml$heap', binaryen.i32)),
          m.local.set(
            end,
            m.i64.add(
              m.i64.extend_u(m.local.get(ret, binaryen.i32)),
              m.i64.and(m.i64.add(m.i64.extend_u(m.local.get(0, binaryen.i32)), i64c(m, 15n)), i64c(m, -16n)),
            ),
          ),
          // beyond 4 GiB: cannot be satisfied
          m.if(m.i64.gt_u(m.local.get(end, binaryen.i64), i64c(m, 0x1_0000_0000n)), m.return(m.i32.const(0))),
          m.if(
            m.i64.gt_u(m.local.get(end, binaryen.i64), memBytes()),
            m.block(null, [
              m.local.set(
                need,
                m.i64.shr_u(
                  m.i64.add(
                    m.i64.sub(m.local.get(end, binaryen.i64), memBytes()),
                    i64c(m, BigInt(WASM_PAGE - 1)),
                  ),
                  i64c(m, 16n),
                ),
              ),
              m.if(
                m.i32.eq(m.memory.grow(m.i32.wrap(m.local.get(need, binaryen.i64))), m.i32.const(-1)),
                m.return(m.i32.const(0)),
              ),
            ]),
          ),
          m.global.set('proml$heap', m.i32.wrap(m.local.get(end, binaryen.i64))),
          m.local.get(ret, binaryen.i32),
        ],
        binaryen.i32,
      ),
    );
  }
  m.addFunction(
    'proml$reset',
    binaryen.none,
    binaryen.none,
    [],
    m.global.set('proml$heap', m.i32.const(heapBase)),
  );
  m.addFunction('proml$abi', binaryen.none, binaryen.i32, [], m.i32.const(1));
  // inb(ptr, len): the byte range [ptr, ptr + len) lies inside memory
  m.addFunction(
    'proml$inb',
    binaryen.createType([binaryen.i32, binaryen.i32]),
    binaryen.i32,
    [],
    m.i64.le_u(
      m.i64.add(m.i64.extend_u(m.local.get(0, binaryen.i32)), m.i64.extend_u(m.local.get(1, binaryen.i32))),
      memBytes(),
    ),
  );

  m.addFunctionExport('proml$abi', EXPORTS.abiVersion);
  m.addFunctionExport('proml$alloc', EXPORTS.alloc);
  m.addFunctionExport('proml$reset', EXPORTS.reset);
  m.addFunctionExport('proml$score', scoring ? EXPORTS.score : EXPORTS.transform);
  m.setFeatures(FEATURES);

  const strategies: Record<string, string> = {
    flavour: 'portable',
    rows: 'scalar',
    'linear.weights': linearWeightsText(weightAddr),
    'linear.order': 'intercept, then columns ascending, zeros skipped; f64, rounded once to f32',
  };
  if (usedDense) strategies['linear.dense'] = strategy.simd ? 'f64x2 x4' : 'scalar x8';
  if (mod.components.some((c) => c.kind === 'mlp')) {
    const p32 = strategy.mlpPrecision === 'f32';
    strategies['mlp.simd'] = strategy.simd ? (p32 ? 'f32x4' : 'f64x2') : 'scalar';
    if (p32) strategies['mlp.precision'] = 'f32 (inexact: within f32 rounding of the reference)';
    // rows per block of the row-blocked f32 MLP; absent: every row on its own
    if (blockedMlps) strategies['mlp.block'] = String(blockRows);
    strategies['mlp.unroll'] = String(strategy.mlpUnroll);
    // (an f32 MLP stores every weight as f32: its arithmetic is f32)
    strategies['mlp.weights'] = p32 ? 'f32' : mlpF32Layers > 0 ? `f32 in ${mlpF32Layers} layers` : 'f64';
  }
  const gb = mod.components.filter((c) => c.kind === 'gbdt' && c.per === null);
  for (const c of gb) strategies[`trees.${c.name}`] = layouts.get(c.name)!;
  if (gb.some((c) => layouts.get(c.name) === 'flat' && !blockedTrees.has(c.name)))
    strategies['trees.interleave'] = String(strategy.treeInterleave);
  // rows per block of the row-blocked walk; absent: every row walks the trees on its own
  if (blockedTrees.size > 0) strategies['trees.block'] = String(blockRows);
  const manifest = buildManifest(checked, mod, {
    product,
    sourceText: options.sourceText,
    bundleJsonText: options.bundleJsonText ?? null,
    compilerVersion: options.compilerVersion ?? '0.1.0',
    strategies,
    initialPages,
  });
  m.addCustomSection(MANIFEST_SECTION, new TextEncoder().encode(JSON.stringify(manifest)));

  if (!m.validate())
    throw new CompileError('invalidModule', 'internal error: binaryen rejected the generated module');
  if (options.optimize ?? true) {
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(0);
    m.optimize();
  }
  const bytes = appendDataSegments(
    m.emitBinary(),
    segData.filter((sg) => sg.data.length > BIG),
  );
  if (!WebAssembly.validate(bytes))
    throw new CompileError('invalidModule', 'internal error: the engine rejected the generated module');
  return { bytes, manifest };
}

/** Constant data placed after the weights (labels, default strings, hash tables, scratch). */
interface DataPool {
  end: number;
  /** Constant bytes (16-byte aligned); all-zero data takes no segment. */
  add(bytes: Uint8Array): number;
  /** Zeroed scratch below the heap, reused by every row (no data segment). */
  reserve(bytes: number): number;
}

/** proml_score(n, inputs, outputs, status) → rejected rows, or a negative fatal code. */
function addScore(
  m: binaryen.Module,
  checked: CheckedModel,
  mod: ir.Module,
  weightAddr: Map<string, { addr: number; f32: boolean }>,
  kernelFn: (fn: KernelFn, s: 'f32' | 'f64') => string,
  textFn: (fn: TextFn) => string,
  pool: DataPool,
  bundle: Bundle,
  strategy: Strategy,
  product: Product,
): {
  layouts: Map<string, TreeLayout>;
  usedDense: boolean;
  blockedTrees: Set<string>;
  blockedMlps: boolean;
  blockRows: number;
  mlpF32Layers: number;
} {
  const transform = product === 'transform';
  const bundleOf = (c: ir.IrComponent): { blockWidth: number; intercept: boolean } => {
    const coef = bundle.components.get(c.name);
    if (coef?.kind !== 'random_effect')
      throw new CompileError('missingCoefficients', `no block layout for '${c.name}'`);
    return coef;
  };
  const i32 = binaryen.i32;
  const isStr = (i: number): boolean => mod.inputs[i]!.type.k === 'str';
  const sOf = (i: number): S => {
    const t = mod.inputs[i]!.type;
    return t.k === 'scalar' ? t.s : t.k === 'vec' ? t.elem : 'i32';
  };
  const vecN = (i: number): number => {
    const t = mod.inputs[i]!.type;
    return t.k === 'vec' ? t.n : 0;
  };
  const L = new Locals(4);
  const N = 0;
  const INPUTS = 1;
  const OUTPUTS = 2;
  const STATUS = 3;
  const get = (l: number, t: binaryen.Type = i32): Ref => m.local.get(l, t);
  const inb = (ptr: Ref, len: Ref): Ref => m.call('proml$inb', [ptr, len], i32);
  const fatal = (code: number): Ref => m.return(m.i32.const(code));
  const bitmapBytes = (): Ref => m.i32.shr_u(m.i32.add(get(N), m.i32.const(7)), m.i32.const(3));
  const columnBytes = (s: S): Ref =>
    s === 'bool' ? bitmapBytes() : m.i32.shl(get(N), m.i32.const(s === 'f64' ? 3 : 2));

  const pre: Ref[] = [];
  // n
  pre.push(m.if(m.i32.gt_u(get(N), m.i32.const(MAX_ROWS)), fatal(-1)));
  pre.push(m.if(m.i32.eqz(get(STATUS)), fatal(-3)));
  pre.push(m.if(m.i32.eqz(inb(get(STATUS), m.i32.shl(get(N), m.i32.const(2)))), fatal(-3)));
  const perComponents = transform ? [] : mod.components.filter((c) => c.per !== null);
  const nin = mod.inputs.length;
  const ndesc = nin + perComponents.length;
  const nout = transform ? mod.components.length : mod.outputs.length;
  if (ndesc > 0) {
    pre.push(m.if(m.i32.eqz(get(INPUTS)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(INPUTS), m.i32.const(ndesc * INPUT_DESCRIPTOR.size))), fatal(-3)));
  }
  if (nout > 0) {
    pre.push(m.if(m.i32.eqz(get(OUTPUTS)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(OUTPUTS), m.i32.const(nout * OUTPUT_DESCRIPTOR.size))), fatal(-3)));
  }
  // input buffers
  const inValid: number[] = [];
  const inValues: number[] = [];
  const inOffsets: number[] = [];
  const bagCols: (BagCol | undefined)[] = [];
  for (let i = 0; i < nin; i++) {
    const s = sOf(i);
    const va = L.add(i32);
    const vv = L.add(i32);
    inValid.push(va);
    inValues.push(vv);
    const base = i * INPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + INPUT_DESCRIPTOR.validity, 4, get(INPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + INPUT_DESCRIPTOR.values, 4, get(INPUTS))));
    pre.push(m.if(m.i32.eqz(get(vv)), fatal(-3)));
    const it = mod.inputs[i]!.type;
    if (it.k === 'entity') {
      // ids are not read: only the validity bitmap
      inOffsets.push(-1);
      pre.pop();
    } else if (it.k === 'bag') {
      // list<...>: item offsets[n + 1]; values: item byte offsets (strings) or int32 items; data: bytes
      const oa = L.add(i32);
      const da = L.add(i32);
      const cv = L.add(i32);
      const mx = L.add(i32);
      inOffsets.push(oa);
      bagCols[i] = { vv, da, cv, max: mx, elem: it.elem };
      pre.push(m.local.set(oa, m.i32.load(base + INPUT_DESCRIPTOR.offsets, 4, get(INPUTS))));
      pre.push(m.local.set(da, m.i32.load(base + INPUT_DESCRIPTOR.data, 4, get(INPUTS))));
      pre.push(m.local.set(cv, m.i32.load(base + INPUT_DESCRIPTOR.childValidity, 4, get(INPUTS))));
      pre.push(m.if(m.i32.eqz(get(oa)), fatal(-3)));
      if (it.elem === 'str') pre.push(m.if(m.i32.eqz(get(da)), fatal(-3)));
      pre.push(
        m.if(
          m.i32.eqz(inb(get(oa), m.i32.shl(m.i32.add(get(N), m.i32.const(1)), m.i32.const(2)))),
          fatal(-3),
        ),
      );
      // the most items in one row (sizes the per-call scratch of hash/cross)
      const r = L.add(i32);
      const d = L.add(i32);
      const lp = `proml$max${i}`;
      pre.push(m.local.set(mx, m.i32.const(0)));
      pre.push(m.local.set(r, m.i32.const(0)));
      pre.push(
        m.block(`${lp}$done`, [
          m.loop(
            lp,
            m.block(null, [
              m.br(`${lp}$done`, m.i32.ge_u(get(r), get(N))),
              m.local.set(
                d,
                m.i32.sub(
                  m.i32.load(4, 4, m.i32.add(get(oa), m.i32.shl(get(r), m.i32.const(2)))),
                  m.i32.load(0, 4, m.i32.add(get(oa), m.i32.shl(get(r), m.i32.const(2)))),
                ),
              ),
              m.if(m.i32.gt_s(get(d), get(mx)), m.local.set(mx, get(d))),
              m.local.set(r, m.i32.add(get(r), m.i32.const(1))),
              m.br(lp),
            ]),
          ),
        ]),
      );
    } else if (isStr(i)) {
      // utf8: int32 offsets[n + 1]; each row's bytes are checked against memory in the row loop
      const oa = L.add(i32);
      inOffsets.push(oa);
      pre.push(m.local.set(oa, m.i32.load(base + INPUT_DESCRIPTOR.offsets, 4, get(INPUTS))));
      pre.push(m.if(m.i32.eqz(get(oa)), fatal(-3)));
      pre.push(
        m.if(
          m.i32.eqz(inb(get(oa), m.i32.shl(m.i32.add(get(N), m.i32.const(1)), m.i32.const(2)))),
          fatal(-3),
        ),
      );
    } else if (it.k === 'vec') {
      // fixed_size_list<float>[N]: n·N numbers
      inOffsets.push(-1);
      pre.push(
        m.if(
          m.i32.eqz(
            inb64(
              m,
              get(vv),
              m.i64.mul(m.i64.extend_u(get(N)), i64c(m, BigInt(it.n * (s === 'f64' ? 8 : 4)))),
            ),
          ),
          fatal(-3),
        ),
      );
    } else {
      inOffsets.push(-1);
      pre.push(m.if(m.i32.eqz(inb(get(vv), columnBytes(s))), fatal(-3)));
    }
    pre.push(
      m.if(m.i32.and(m.i32.ne(get(va), m.i32.const(0)), m.i32.eqz(inb(get(va), bitmapBytes()))), fatal(-3)),
    );
  }
  // entity-block columns (docs/abi.md 3.1): f64[n · W], a null block is an unknown entity
  const blockCols = perComponents.map((c, k) => {
    const coef = bundleOf(c);
    const width = coef.blockWidth;
    const va = L.add(i32);
    const vv = L.add(i32);
    const base = (nin + k) * INPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + INPUT_DESCRIPTOR.validity, 4, get(INPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + INPUT_DESCRIPTOR.values, 4, get(INPUTS))));
    pre.push(m.if(m.i32.eqz(get(vv)), fatal(-3)));
    pre.push(
      m.if(
        m.i64.gt_u(
          m.i64.add(m.i64.extend_u(get(vv)), m.i64.mul(m.i64.extend_u(get(N)), i64c(m, BigInt(width * 8)))),
          m.i64.shl(m.i64.extend_u(m.memory.size()), i64c(m, 16n)),
        ),
        fatal(-3),
      ),
    );
    pre.push(
      m.if(m.i32.and(m.i32.ne(get(va), m.i32.const(0)), m.i32.eqz(inb(get(va), bitmapBytes()))), fatal(-3)),
    );
    return { c, va, vv, width, intercept: coef.intercept };
  });
  const outValid: number[] = [];
  const outValues: number[] = [];
  const outS = (o: ir.IrOutput): S => (o.type.k === 'vec' ? 'f32' : (o.type as { s: S }).s);
  const outK = (o: ir.IrOutput): number => (o.type.k === 'vec' ? o.type.n : 1);
  mod.outputs.forEach((o, j) => {
    const s = outS(o);
    const va = L.add(i32);
    const vv = L.add(i32);
    outValid.push(va);
    outValues.push(vv);
    const base = j * OUTPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + OUTPUT_DESCRIPTOR.validity, 4, get(OUTPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + OUTPUT_DESCRIPTOR.values, 4, get(OUTPUTS))));
    pre.push(m.if(m.i32.or(m.i32.eqz(get(va)), m.i32.eqz(get(vv))), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(va), bitmapBytes())), fatal(-3)));
    if (outK(o) === 1) pre.push(m.if(m.i32.eqz(inb(get(vv), columnBytes(s))), fatal(-3)));
    else
      pre.push(
        m.if(
          m.i32.eqz(inb64(m, get(vv), m.i64.mul(m.i64.extend_u(get(N)), i64c(m, BigInt(4 * outK(o)))))),
          fatal(-3),
        ),
      );
  });
  // every bit of the output bitmaps is written: clear them first, then set the present ones
  mod.outputs.forEach((o, j) => {
    pre.push(m.memory.fill(get(outValid[j]!), m.i32.const(0), bitmapBytes()));
    if (outS(o) === 'bool') pre.push(m.memory.fill(get(outValues[j]!), m.i32.const(0), bitmapBytes()));
  });

  // ---- the row loop
  const R = L.add(i32);
  const REJ = L.add(i32);
  const bitOf = (bitmap: Ref): Ref =>
    m.i32.and(
      m.i32.shr_u(
        m.i32.load8_u(0, 1, m.i32.add(bitmap, m.i32.shr_u(get(R), m.i32.const(3)))),
        m.i32.and(get(R), m.i32.const(7)),
      ),
      m.i32.const(1),
    );
  const setBit = (bitmapLocal: number): Ref => {
    const addr = (): Ref => m.i32.add(get(bitmapLocal), m.i32.shr_u(get(R), m.i32.const(3)));
    return m.i32.store8(
      0,
      1,
      addr(),
      m.i32.or(m.i32.load8_u(0, 1, addr()), m.i32.shl(m.i32.const(1), m.i32.and(get(R), m.i32.const(7)))),
    );
  };
  const elemAddr = (baseLocal: number, s: S): Ref =>
    m.i32.add(get(baseLocal), m.i32.shl(get(R), m.i32.const(s === 'f64' ? 3 : 2)));

  /**
   * Reads every input of row R (presence and value) and runs the row checks, the first failure's
   * status in ST. Emitted twice when trees are row-blocked (the gather pass and the scoring pass);
   * tag keeps the second copy's labels unique.
   */
  // vector inputs only dense dot products read: their lanes are not loaded (dense.ts)
  const denseOnly = transform ? new Set<number>() : denseOnlyInputs(mod);
  const rowPrelude = (tag: string) => {
    const row: Ref[] = [];
    const ST = L.add(i32);
    // read every input of the row: presence and value
    const inP: number[] = [];
    const inV: number[] = [];
    const inLen: number[] = [];
    const inLanes: (number[] | undefined)[] = [];
    const inVecBase: (number | undefined)[] = [];
    mod.inputs.forEach((inp, i) => {
      const s = sOf(i);
      const p = L.add(i32);
      const v = L.add(wasmType(s));
      inP.push(p);
      inV.push(v);
      row.push(
        m.local.set(p, m.select(m.i32.eqz(get(inValid[i]!)), m.i32.const(1), bitOf(get(inValid[i]!)))),
      );
      if (isStr(i)) {
        // v = address of the row's bytes, len = their count (0 when missing)
        const len = L.add(i32);
        const start = L.add(i32);
        inLen.push(len);
        const off = (): Ref => m.i32.add(get(inOffsets[i]!), m.i32.shl(get(R), m.i32.const(2)));
        row.push(m.local.set(v, get(inValues[i]!)));
        row.push(m.local.set(len, m.i32.const(0)));
        row.push(
          m.if(
            get(p),
            m.block(null, [
              m.local.set(start, m.i32.load(0, 4, off())),
              m.local.set(len, m.i32.load(4, 4, off())),
              m.if(
                m.i32.or(
                  m.i32.or(m.i32.lt_s(get(start), m.i32.const(0)), m.i32.lt_s(get(len), get(start))),
                  m.i32.eqz(inb(get(inValues[i]!), get(len))),
                ),
                fatal(-3),
              ),
              m.local.set(len, m.i32.sub(get(len), get(start))),
              m.local.set(v, m.i32.add(get(inValues[i]!), get(start))),
            ]),
          ),
        );
        return;
      }
      const bc = bagCols[i];
      if (bc !== undefined) {
        // v = first item, len = end (exclusive); a missing bag is empty
        const len = L.add(i32);
        inLen[i] = len;
        const off = (): Ref => m.i32.add(get(inOffsets[i]!), m.i32.shl(get(R), m.i32.const(2)));
        const j = L.add(i32);
        const lp = `proml$items${i}${tag}`;
        const bad = (): Ref =>
          m.i32.or(
            m.i32.or(m.i32.lt_s(get(v), m.i32.const(0)), m.i32.lt_s(get(len), get(v))),
            m.i32.or(
              m.i32.eqz(
                inb64(
                  m,
                  get(bc.vv),
                  m.i64.shl(
                    m.i64.add(m.i64.extend_u(get(len)), i64c(m, bc.elem === 'str' ? 1n : 0n)),
                    i64c(m, 2n),
                  ),
                ),
              ),
              m.i32.and(
                m.i32.ne(get(bc.cv), m.i32.const(0)),
                m.i32.eqz(inb(get(bc.cv), m.i32.shr_u(m.i32.add(get(len), m.i32.const(7)), m.i32.const(3)))),
              ),
            ),
          );
        const itemChecks: Ref[] = [];
        if (bc.elem === 'str') {
          const bs = L.add(i32);
          const be = L.add(i32);
          itemChecks.push(
            m.local.set(j, get(v)),
            m.block(`${lp}$done`, [
              m.loop(
                lp,
                m.block(null, [
                  m.br(`${lp}$done`, m.i32.ge_s(get(j), get(len))),
                  m.local.set(bs, m.i32.load(0, 4, m.i32.add(get(bc.vv), m.i32.shl(get(j), m.i32.const(2))))),
                  m.local.set(be, m.i32.load(4, 4, m.i32.add(get(bc.vv), m.i32.shl(get(j), m.i32.const(2))))),
                  m.if(
                    m.i32.or(
                      m.i32.or(m.i32.lt_s(get(bs), m.i32.const(0)), m.i32.lt_s(get(be), get(bs))),
                      m.i32.eqz(inb(get(bc.da), get(be))),
                    ),
                    fatal(-3),
                  ),
                  m.local.set(j, m.i32.add(get(j), m.i32.const(1))),
                  m.br(lp),
                ]),
              ),
            ]),
          );
        }
        row.push(m.local.set(v, m.i32.const(0)));
        row.push(m.local.set(len, m.i32.const(0)));
        row.push(
          m.if(
            get(p),
            m.block(null, [
              m.local.set(v, m.i32.load(0, 4, off())),
              m.local.set(len, m.i32.load(4, 4, off())),
              m.if(bad(), fatal(-3)),
              ...itemChecks,
            ]),
          ),
        );
        return;
      }
      inLen.push(-1);
      if (inp.type.k === 'entity') {
        row.push(m.local.set(v, m.i32.const(0)));
        return;
      }
      const nv = vecN(i);
      if (nv > 0) {
        const size = s === 'f64' ? 8 : 4;
        const base = L.add(i32);
        row.push(m.local.set(base, m.i32.add(get(inValues[i]!), m.i32.mul(get(R), m.i32.const(nv * size)))));
        const lanes = [v];
        for (let k = 1; k < nv; k++) lanes.push(L.add(wasmType(s)));
        if (!denseOnly.has(i) || checkedInput(checked, mod, i).range !== null)
          lanes.forEach((l, k) =>
            row.push(
              m.local.set(l, s === 'f64' ? m.f64.load(k * 8, 8, get(base)) : m.f32.load(k * 4, 4, get(base))),
            ),
          );
        inLanes[i] = lanes;
        inVecBase[i] = base;
        return;
      }
      let load: Ref;
      if (s === 'bool') load = bitOf(get(inValues[i]!));
      else if (s === 'f32') load = m.f32.load(0, 4, elemAddr(inValues[i]!, s));
      else if (s === 'f64') load = m.f64.load(0, 8, elemAddr(inValues[i]!, s));
      else load = m.i32.load(0, 4, elemAddr(inValues[i]!, s));
      row.push(m.local.set(v, load));
    });
    const blockRow = new Map<string, { present: number; base: number; intercept: boolean }>();
    for (const b of blockCols) {
      const present = L.add(i32);
      const base = L.add(i32);
      const entityP = inP[b.c.per!]!;
      row.push(
        m.local.set(
          present,
          m.i32.and(get(entityP), m.select(m.i32.eqz(get(b.va)), m.i32.const(1), bitOf(get(b.va)))),
        ),
      );
      row.push(m.local.set(base, m.i32.add(get(b.vv), m.i32.mul(get(R), m.i32.const(b.width * 8)))));
      blockRow.set(b.c.name, { present, base, intercept: b.intercept });
    }
    // row checks, in column order, first failure wins (docs/abi.md 3.3)
    const checks: Ref[] = [m.local.set(ST, m.i32.const(0))];
    const CHK = `proml$checks${tag}`;
    const reject = (i: number, code: number): Ref =>
      m.block(null, [m.local.set(ST, m.i32.const((i << 16) | code)), m.br(CHK)]);
    const catIdx: number[] = [];
    mod.inputs.forEach((inp, i) => {
      const ci = checkedInput(checked, mod, i);
      const s = sOf(i);
      if (ci.required) {
        checks.push(
          m.if(
            m.i32.eqz(get(inP[i]!)),
            m.block(null, [
              m.local.set(ST, m.i32.const((i << 16) | ROW_ERRORS.requiredMissing.code)),
              m.br(CHK),
            ]),
          ),
        );
      }
      catIdx.push(-1);
      if (inp.type.k === 'entity') return;
      const bc = bagCols[i];
      if (bc !== undefined) {
        if (bc.elem === 'str') {
          const j = L.add(i32);
          const lp = `proml$utf8${i}${tag}`;
          const it = itemAccess(m, bc, j);
          checks.push(
            m.local.set(j, get(inV[i]!)),
            m.block(`${lp}$done`, [
              m.loop(
                lp,
                m.block(null, [
                  m.br(`${lp}$done`, m.i32.ge_s(get(j), get(inLen[i]!))),
                  m.if(
                    m.i32.and(it.valid(), m.i32.eqz(m.call(textFn('utf8Valid'), [it.ptr(), it.len()], i32))),
                    reject(i, ROW_ERRORS.invalidUtf8.code),
                  ),
                  m.local.set(j, m.i32.add(get(j), m.i32.const(1))),
                  m.br(lp),
                ]),
              ),
            ]),
          );
        }
        return;
      }
      if (isStr(i)) {
        checks.push(
          m.if(
            m.i32.and(
              get(inP[i]!),
              m.i32.eqz(m.call(textFn('utf8Valid'), [get(inV[i]!), get(inLen[i]!)], i32)),
            ),
            reject(i, ROW_ERRORS.invalidUtf8.code),
          ),
        );
        const decl = checked.inputs[i]!.declared;
        if (decl.kind === 'category') {
          const labels = decl.labels ?? [];
          const idx = L.add(i32);
          catIdx[i] = idx;
          checks.push(m.local.set(idx, m.i32.const(labels.length)));
          checks.push(
            m.if(
              get(inP[i]!),
              matchLabels(m, pool, textFn, labels, get(inV[i]!), get(inLen[i]!), idx, {
                p: L.add(i32),
                h: L.add(i32),
                e: L.add(i32),
                l: L.add(i32),
                label: `proml$match${i}${tag}`,
              }),
            ),
          );
          const u = checked.inputs[i]!.unknown;
          if (u !== null && u.kind === 'error')
            checks.push(
              m.if(
                m.i32.and(get(inP[i]!), m.i32.eq(get(idx), m.i32.const(labels.length))),
                reject(i, ROW_ERRORS.unknownCategory.code),
              ),
            );
        }
        return;
      }
      if (ci.range !== null && s !== 'bool') {
        const lo = s === 'f32' ? Math.fround(ci.range.lo) : ci.range.lo;
        const hi = s === 'f32' ? Math.fround(ci.range.hi) : ci.range.hi;
        const x = (l: number): Ref =>
          s === 'f64'
            ? get(l, binaryen.f64)
            : s === 'f32'
              ? m.f64.promote(get(l, binaryen.f32))
              : m.f64.convert_s.i32(get(l));
        let ok: Ref | null = null;
        for (const l of inLanes[i] ?? [inV[i]!]) {
          const one = m.i32.and(m.f64.ge(x(l), m.f64.const(lo)), m.f64.le(x(l), m.f64.const(hi)));
          ok = ok === null ? one : m.i32.and(ok, one);
        }
        checks.push(
          m.if(
            m.i32.and(get(inP[i]!), m.i32.eqz(ok!)),
            m.block(null, [m.local.set(ST, m.i32.const((i << 16) | ROW_ERRORS.outOfRange.code)), m.br(CHK)]),
          ),
        );
      }
    });
    row.push(m.block(CHK, checks));
    return { row, ST, inP, inV, inLen, inLanes, inVecBase, catIdx, blockRow };
  };
  const main = rowPrelude('');
  const { row, ST } = main;
  row.push(m.i32.store(0, 4, m.i32.add(get(STATUS), m.i32.shl(get(R), m.i32.const(2))), get(ST)));

  // row-blocked components: which ones, their block scratch (see blockedComponents)
  const blocked = transform ? [] : blockedComponents(mod, bundle, strategy);
  // bytes per value of a row-blocked MLP's rows and sums
  const mlpEs = strategy.mlpPrecision === 'f32' ? 4 : 8;
  // layers of row-blocked f64 MLPs whose weights went in as f32 (mlpWeights 'f32'; manifest)
  const blockedCounts = { f32Layers: 0 };
  const BLK = blocked.length > 0 ? { start: L.add(i32), rel: L.add(i32), rows: L.add(i32) } : null;
  // scratch bytes per row of each blocked component
  const rowBytes = (b: BlockedComponent): number =>
    b.kind === 'gbdt'
      ? 9 * b.c.inputWidth + 8 * b.c.outputWidth
      : 3 * mlpEs * Math.max(b.c.inputWidth, ...mlpBlockPads(b.coef, 16 / mlpEs));
  // rows per block: treeBlock / mlpBlock (the smaller where both apply), fewer when a block's
  // scratch would pass MAX_BLOCK_SCRATCH bytes
  const blockRows = Math.max(
    1,
    Math.min(
      ...(blocked.some((b) => b.kind === 'gbdt') ? [strategy.treeBlock] : []),
      ...(blocked.some((b) => b.kind === 'mlp') ? [strategy.mlpBlock] : []),
      ...blocked.map((b) => Math.floor(MAX_BLOCK_SCRATCH / rowBytes(b))),
    ),
  );
  const scratch = new Map<string, BlockScratch>();
  for (const b of blocked)
    if (b.kind === 'gbdt')
      scratch.set(b.c.name, {
        x: pool.reserve(blockRows * 8 * b.c.inputWidth),
        miss: pool.reserve(blockRows * b.c.inputWidth),
        out: pool.reserve(blockRows * 8 * b.c.outputWidth),
        stride: 8 * b.c.outputWidth,
      });
    else {
      const pads = mlpBlockPads(b.coef, 16 / mlpEs);
      const widest = Math.max(b.c.inputWidth, ...pads);
      const bufs: [number, number] = [
        pool.reserve(blockRows * mlpEs * widest),
        pool.reserve(blockRows * mlpEs * widest),
      ];
      scratch.set(b.c.name, {
        x: pool.reserve(blockRows * mlpEs * b.c.inputWidth),
        miss: -1,
        out: bufs[(pads.length - 1) % 2]!,
        stride: mlpEs * pads[pads.length - 1]!,
        bufs,
      });
    }
  /** A code generator over one copy of the row prelude (the scoring pass's, or the gather pass's). */
  const newGen = (
    p: ReturnType<typeof rowPrelude>,
    out: Ref[],
    mode: 'gather' | 'read',
    labels: string,
  ): Gen =>
    new Gen(
      m,
      L,
      out,
      kernelFn,
      textFn,
      pool,
      {
        p: p.inP,
        v: p.inV,
        len: p.inLen,
        cat: p.catIdx,
        bag: bagCols,
        lanes: p.inLanes,
        vecBase: p.inVecBase,
      },
      p.blockRow,
      pre,
      bundle,
      strategy,
      BLK === null ? null : { mode, rel: BLK.rel, comps: scratch },
      labels,
    );

  // accepted row: the DAG in node order
  const vals: Val[] = [];
  const body: Ref[] = [];
  const g = newGen(main, body, 'read', '');
  for (const n of mod.nodes) vals.push(g.node(n, vals, mod, weightAddr));
  // transform module (docs/abi.md 3.4): every component's input columns, in buffers the module allocates
  const post: Ref[] = [];
  const rowEnd: Ref[] = [];
  if (transform) {
    // (binaryen expressions are trees: a value used twice goes through a local)
    const size64 = L.add(binaryen.i64);
    const allocOr2 = (local: number, bytes: Ref): Ref[] => [
      m.local.set(size64, bytes),
      m.if(m.i64.ge_u(m.local.get(size64, binaryen.i64), i64c(m, 0xffff_fff0n)), fatal(-2)),
      m.local.set(local, m.call('proml$alloc', [m.i32.wrap(m.local.get(size64, binaryen.i64))], i32)),
      m.if(m.i32.eqz(get(local)), fatal(-2)),
    ];
    const n64 = (): Ref => m.i64.extend_u(get(N));
    mod.components.forEach((c, k) => {
      const desc = (field: number, value: Ref): Ref =>
        m.i32.store(k * OUTPUT_DESCRIPTOR.size + field, 4, get(OUTPUTS), value);
      if (c.kind === 'gbdt') {
        // f64[n · W] cells and a validity bitmap over them (1 = present)
        const W = c.inputWidth;
        const vals64 = L.add(i32);
        const valid = L.add(i32);
        pre.push(...allocOr2(vals64, m.i64.mul(n64(), i64c(m, BigInt(8 * W)))));
        pre.push(
          ...allocOr2(
            valid,
            m.i64.add(m.i64.shr_u(m.i64.mul(n64(), i64c(m, BigInt(W))), i64c(m, 3n)), i64c(m, 1n)),
          ),
        );
        pre.push(m.memory.fill(get(vals64), m.i32.const(0), m.i32.mul(get(N), m.i32.const(8 * W))));
        pre.push(
          m.memory.fill(
            get(valid),
            m.i32.const(0),
            m.i32.add(m.i32.shr_u(m.i32.mul(get(N), m.i32.const(W)), m.i32.const(3)), m.i32.const(1)),
          ),
        );
        pre.push(
          desc(0, get(valid)),
          desc(4, get(vals64)),
          desc(8, m.i32.const(0)),
          desc(12, m.i32.const(0)),
        );
        body.push(...g.treeCells(c, vals, mod, get(vals64), get(valid), get(R)));
        return;
      }
      // CSR: offsets i32[n + 1], then (index i32, value f64) entries, columns ascending, zeros left out
      const offs = L.add(i32);
      const idx = `proml$t${k}$idx`;
      const val = `proml$t${k}$val`;
      const cnt = `proml$t${k}$cnt`;
      const cap = `proml$t${k}$cap`;
      for (const gl of [idx, val, cnt, cap]) m.addGlobal(gl, i32, true, m.i32.const(0));
      const G = (name: string): Ref => m.global.get(name, i32);
      pre.push(...allocOr2(offs, m.i64.shl(m.i64.add(n64(), i64c(m, 1n)), i64c(m, 2n))));
      pre.push(m.i32.store(0, 4, get(offs), m.i32.const(0)));
      pre.push(m.global.set(cnt, m.i32.const(0)), m.global.set(cap, m.i32.const(0)));
      pre.push(m.global.set(idx, m.i32.const(0)), m.global.set(val, m.i32.const(0)));
      // grow: doubles the capacity (at least 256 entries), copying the entries so far; 0 when memory runs out
      {
        const GL = new Locals(0);
        const ni = GL.add(i32);
        const nv = GL.add(i32);
        const nc = GL.add(i32);
        const gg = (l: number): Ref => m.local.get(l, i32);
        m.addFunction(
          `proml$t${k}$grow`,
          binaryen.none,
          i32,
          GL.vars,
          m.block(
            null,
            [
              m.local.set(
                nc,
                m.select(
                  m.i32.lt_u(G(cap), m.i32.const(256)),
                  m.i32.const(256),
                  m.i32.shl(G(cap), m.i32.const(1)),
                ),
              ),
              m.if(m.i32.ge_u(gg(nc), m.i32.const(1 << 27)), m.return(m.i32.const(0))),
              m.local.set(ni, m.call('proml$alloc', [m.i32.shl(gg(nc), m.i32.const(2))], i32)),
              m.local.set(nv, m.call('proml$alloc', [m.i32.shl(gg(nc), m.i32.const(3))], i32)),
              m.if(m.i32.or(m.i32.eqz(gg(ni)), m.i32.eqz(gg(nv))), m.return(m.i32.const(0))),
              m.memory.copy(gg(ni), G(idx), m.i32.shl(G(cnt), m.i32.const(2))),
              m.memory.copy(gg(nv), G(val), m.i32.shl(G(cnt), m.i32.const(3))),
              m.global.set(idx, gg(ni)),
              m.global.set(val, gg(nv)),
              m.global.set(cap, gg(nc)),
              m.i32.const(1),
            ],
            i32,
          ),
        );
      }
      const append = (col: Ref, value: Ref): Ref[] => [
        m.if(m.i32.ge_u(G(cnt), G(cap)), m.if(m.i32.eqz(m.call(`proml$t${k}$grow`, [], i32)), fatal(-2))),
        m.i32.store(0, 4, m.i32.add(G(idx), m.i32.shl(G(cnt), m.i32.const(2))), col),
        m.f64.store(0, 8, m.i32.add(G(val), m.i32.shl(G(cnt), m.i32.const(3))), value),
        m.global.set(cnt, m.i32.add(G(cnt), m.i32.const(1))),
      ];
      body.push(...g.sparseRow(c, vals, mod, append));
      // every row (accepted or not) closes its entry range
      rowEnd.push(m.i32.store(4, 4, m.i32.add(get(offs), m.i32.shl(get(R), m.i32.const(2))), G(cnt)));
      post.push(desc(0, m.i32.const(0)), desc(4, G(val)), desc(8, get(offs)), desc(12, G(idx)));
    });
  }
  const zero = (s: S): Ref => (s === 'f32' ? m.f32.const(0) : s === 'f64' ? m.f64.const(0) : m.i32.const(0));
  const writeOut: Ref[] = [];
  const writeZero: Ref[] = [];
  mod.outputs.forEach((o, j) => {
    const val = vals[o.node]!;
    const s = val.s;
    const k = outK(o);
    if (k > 1 || o.type.k === 'vec') {
      // n·k float32, row-major (fixed_size_list<f32>[k])
      const lanes = val.lanes!;
      const base = (): Ref => m.i32.add(get(outValues[j]!), m.i32.mul(get(R), m.i32.const(4 * k)));
      lanes.forEach((l, q) => {
        const x = s === 'f64' ? m.f32.demote(get(l, binaryen.f64)) : get(l, binaryen.f32);
        writeOut.push(
          m.f32.store(4 * q, 4, base(), val.p === null ? x : m.select(get(val.p), x, m.f32.const(0))),
        );
        writeZero.push(m.f32.store(4 * q, 4, base(), m.f32.const(0)));
      });
      writeOut.push(val.p === null ? setBit(outValid[j]!) : m.if(get(val.p), setBit(outValid[j]!)));
      return;
    }
    const v = (): Ref => get(val.v, wasmType(s));
    const present = (): Ref => (val.p === null ? m.i32.const(1) : get(val.p));
    if (s === 'bool') {
      writeOut.push(m.if(m.i32.and(present(), v()), setBit(outValues[j]!)));
    } else {
      const store = (x: Ref): Ref =>
        s === 'f32'
          ? m.f32.store(0, 4, elemAddr(outValues[j]!, s), x)
          : s === 'f64'
            ? m.f64.store(0, 8, elemAddr(outValues[j]!, s), x)
            : m.i32.store(0, 4, elemAddr(outValues[j]!, s), x);
      writeOut.push(store(val.p === null ? v() : m.select(present(), v(), zero(s))));
      writeZero.push(store(zero(s)));
    }
    writeOut.push(val.p === null ? setBit(outValid[j]!) : m.if(present(), setBit(outValid[j]!)));
  });
  // the per-row arena is released after each row; not in a transform module, whose output buffers
  // grow from the same heap mid-row (its row scratch lives until proml_reset)
  const useArena = g.usesArena && !transform;
  const arena = useArena ? L.add(i32) : -1;
  const arenaIn = useArena ? [m.local.set(arena, m.global.get('proml$heap', i32))] : [];
  const arenaOut = useArena ? [m.global.set('proml$heap', get(arena))] : [];
  row.push(
    m.if(
      m.i32.eqz(get(ST)),
      m.block(null, [...arenaIn, ...body, ...writeOut, ...arenaOut]),
      m.block(null, [m.local.set(REJ, m.i32.add(get(REJ), m.i32.const(1))), ...writeZero]),
    ),
  );

  row.push(...rowEnd);
  const rowLoop = (label: string, end: Ref, code: Ref[]): Ref =>
    m.block(`${label}$done`, [
      m.loop(
        label,
        m.block(null, [
          m.br(`${label}$done`, m.i32.ge_u(get(R), end)),
          ...code,
          m.local.set(R, m.i32.add(get(R), m.i32.const(1))),
          m.br(label),
        ]),
      ),
    ]);
  let loop: Ref;
  if (BLK === null) loop = rowLoop('proml$row', get(N), row);
  else {
    // Rows in blocks of blockRows: (1) the gather pass reads and checks each row and stores
    // the blocked ensembles' feature cells of accepted rows (the nodes they depend on, nothing else);
    // (2) each ensemble is walked tree-major over the block (emitBlockedTrees); (3) the scoring pass
    // runs the whole row as usual, reading its margins from the block instead of walking the trees.
    const pass1 = rowPrelude('$g');
    const body1: Ref[] = [];
    const g1 = newGen(pass1, body1, 'gather', 'g');
    const needed = new Set(blocked.flatMap((b) => [...b.ancestors]));
    const vals1: Val[] = [];
    for (const n of mod.nodes) vals1.push(needed.has(n.id) ? g1.node(n, vals1, mod, weightAddr) : NO_VALUE);
    const arena1 = g1.usesArena ? L.add(i32) : -1;
    const gather: Ref[] = [
      m.local.set(BLK.rel, m.i32.sub(get(R), get(BLK.start))),
      ...pass1.row,
      m.if(
        m.i32.eqz(get(pass1.ST)),
        m.block(null, [
          ...(arena1 >= 0 ? [m.local.set(arena1, m.global.get('proml$heap', i32))] : []),
          ...body1,
          ...(arena1 >= 0 ? [m.global.set('proml$heap', get(arena1))] : []),
        ]),
      ),
    ];
    const end = L.add(i32);
    let labels = 0;
    const env: TreeEnv = {
      m,
      addLocal: (t) => L.add(t),
      addData: (bytes) => pool.add(bytes),
      fresh: (p) => `${p}$blk${labels++}`,
    };
    const kernels: Ref[] = [];
    for (const b of blocked) {
      const sc = scratch.get(b.c.name)!;
      const W = b.c.inputWidth;
      if (b.kind === 'mlp') {
        kernels.push(
          emitBlockedMlp(
            m,
            L,
            pool,
            kernelFn,
            b.coef,
            W,
            sc,
            BLK.rows,
            mlpEs === 4,
            strategy.mlpWeights === 'f32',
            blockedCounts,
          ),
        );
        continue;
      }
      const [lx, lm, lo] = [L.add(i32), L.add(i32), L.add(i32)];
      kernels.push(
        m.local.set(lx, m.i32.const(sc.x)),
        m.local.set(lm, m.i32.const(sc.miss)),
        m.local.set(lo, m.i32.const(sc.out)),
        emitBlockedTrees(env, b.coef, W, lx, lm, lo, BLK.rows, blockRows, strategy.treeInterleave),
      );
    }
    loop = m.block('proml$blocks$done', [
      m.loop(
        'proml$blocks',
        m.block(null, [
          m.br('proml$blocks$done', m.i32.ge_u(get(R), get(N))),
          m.local.set(BLK.start, get(R)),
          m.local.set(
            end,
            m.select(
              m.i32.lt_u(m.i32.sub(get(N), get(R)), m.i32.const(blockRows)),
              get(N),
              m.i32.add(get(R), m.i32.const(blockRows)),
            ),
          ),
          m.local.set(BLK.rows, m.i32.sub(get(end), get(R))),
          ...blocked
            .filter((b) => b.kind === 'gbdt')
            .map((b) =>
              m.memory.fill(
                m.i32.const(scratch.get(b.c.name)!.miss),
                m.i32.const(1),
                m.i32.mul(get(BLK.rows), m.i32.const(b.c.inputWidth)),
              ),
            ),
          rowLoop('proml$gather', get(end), gather),
          ...kernels,
          m.local.set(R, get(BLK.start)),
          rowLoop('proml$row', get(end), [m.local.set(BLK.rel, m.i32.sub(get(R), get(BLK.start))), ...row]),
          m.br('proml$blocks'),
        ]),
      ),
    ]);
  }
  m.addFunction(
    'proml$score',
    binaryen.createType([i32, i32, i32, i32]),
    i32,
    L.vars,
    m.block(
      null,
      [...pre, m.local.set(R, m.i32.const(0)), m.local.set(REJ, m.i32.const(0)), loop, ...post, get(REJ)],
      i32,
    ),
  );
  return {
    layouts: g.layouts,
    usedDense: g.usedDense,
    blockedTrees: new Set(blocked.filter((b) => b.kind === 'gbdt').map((b) => b.c.name)),
    blockedMlps: blocked.some((b) => b.kind === 'mlp'),
    blockRows,
    mlpF32Layers: g.mlpF32Layers + blockedCounts.f32Layers,
  };
}

/** The buffers of a bag input (locals), and the local holding its most items in one row. */
interface BagCol {
  vv: number;
  da: number;
  cv: number;
  max: number;
  elem: 'str' | 'i32';
}

/** inb with a 64-bit length. */
function inb64(m: binaryen.Module, ptr: Ref, len: Ref): Ref {
  return m.i64.le_u(
    m.i64.add(m.i64.extend_u(ptr), len),
    m.i64.shl(m.i64.extend_u(m.memory.size()), i64c(m, 16n)),
  );
}

/** Item j (a local) of a bag: whether it is non-null, its bytes (strings) or its address (ints: 4 bytes). */
function itemAccess(
  m: binaryen.Module,
  bc: BagCol,
  j: number,
): { valid: () => Ref; ptr: () => Ref; len: () => Ref } {
  const i32 = binaryen.i32;
  const J = (): Ref => m.local.get(j, i32);
  const at = (): Ref => m.i32.add(m.local.get(bc.vv, i32), m.i32.shl(J(), m.i32.const(2)));
  const cv = (): Ref => m.local.get(bc.cv, i32);
  return {
    valid: () =>
      m.select(
        m.i32.eqz(cv()),
        m.i32.const(1),
        m.i32.and(
          m.i32.shr_u(
            m.i32.load8_u(0, 1, m.i32.add(cv(), m.i32.shr_u(J(), m.i32.const(3)))),
            m.i32.and(J(), m.i32.const(7)),
          ),
          m.i32.const(1),
        ),
      ),
    ptr: () => (bc.elem === 'str' ? m.i32.add(m.local.get(bc.da, i32), m.i32.load(0, 4, at())) : at()),
    len: () =>
      bc.elem === 'str' ? m.i32.sub(m.i32.load(4, 4, at()), m.i32.load(0, 4, at())) : m.i32.const(4),
  };
}

/** Label bytes in the data pool, shared by every matcher of the same vocabulary. */
const labelAddrs = new WeakMap<DataPool, Map<string, number>>();
function labelAddr(pool: DataPool, label: string): number {
  let map = labelAddrs.get(pool);
  if (map === undefined) labelAddrs.set(pool, (map = new Map()));
  let a = map.get(label);
  if (a === undefined) map.set(label, (a = pool.add(utf8(label))));
  return a;
}

/** Sets local `idx` to the index of the first label whose UTF-8 bytes equal [ptr, ptr + len). */
function matchLabels(
  m: binaryen.Module,
  pool: DataPool,
  textFn: (fn: TextFn) => string,
  labels: readonly string[],
  ptr: Ref,
  len: Ref,
  idx: number,
  tmp: { p: number; l: number; label: string; h?: number; e?: number },
): Ref {
  const i32 = binaryen.i32;
  const P = (): Ref => m.local.get(tmp.p, i32);
  const N = (): Ref => m.local.get(tmp.l, i32);
  const body: Ref[] = [m.local.set(tmp.p, ptr), m.local.set(tmp.l, len)];
  const done = tmp.label;
  if (labels.length > 8) {
    // open addressing over murmur3 of the bytes: slots of (label index + 1, 0 = empty), linear probing;
    // labels as (address, length) pairs. Expected < 2 probes per lookup at load ≤ 1/2.
    const size = 1 << Math.ceil(Math.log2(labels.length * 2 + 1));
    const slots = new Int32Array(size);
    labels.forEach((label, k) => {
      let h = hashString(label) & (size - 1);
      while (slots[h] !== 0) h = (h + 1) & (size - 1);
      slots[h] = k + 1;
    });
    const pairs = new Int32Array(labels.length * 2);
    labels.forEach((label, k) => {
      pairs[2 * k] = labelAddr(pool, label);
      pairs[2 * k + 1] = utf8(label).length;
    });
    const slotAddr = pool.add(new Uint8Array(slots.buffer));
    const pairAddr = pool.add(new Uint8Array(pairs.buffer));
    const h = tmp.h!;
    const e = tmp.e!;
    const H = (): Ref => m.local.get(h, i32);
    const E = (): Ref => m.local.get(e, i32);
    const pair = (off: number): Ref =>
      m.i32.load(
        off,
        4,
        m.i32.add(m.i32.const(pairAddr), m.i32.shl(m.i32.sub(E(), m.i32.const(1)), m.i32.const(3))),
      );
    body.push(
      m.local.set(
        h,
        m.i32.and(
          m.call(textFn('murmur3'), [P(), N(), m.i32.const(HASH_SEED | 0)], i32),
          m.i32.const(size - 1),
        ),
      ),
      m.loop(
        `${done}$probe`,
        m.block(null, [
          m.local.set(e, m.i32.load(0, 4, m.i32.add(m.i32.const(slotAddr), m.i32.shl(H(), m.i32.const(2))))),
          m.br(done, m.i32.eqz(E())),
          m.if(
            m.i32.and(m.i32.eq(N(), pair(4)), m.call(textFn('bytesEqual'), [P(), pair(0), N()], i32)),
            m.block(null, [m.local.set(idx, m.i32.sub(E(), m.i32.const(1))), m.br(done)]),
          ),
          m.local.set(h, m.i32.and(m.i32.add(H(), m.i32.const(1)), m.i32.const(size - 1))),
          m.br(`${done}$probe`),
        ]),
      ),
    );
    return m.block(done, body);
  }
  labels.forEach((label, k) => {
    const bytes = utf8(label);
    body.push(
      m.if(
        m.i32.and(
          m.i32.eq(N(), m.i32.const(bytes.length)),
          m.call(textFn('bytesEqual'), [P(), m.i32.const(labelAddr(pool, label)), N()], i32),
        ),
        m.block(null, [m.local.set(idx, m.i32.const(k)), m.br(done)]),
      ),
    );
  });
  return m.block(done, body);
}

/** The checked input behind IR input i (same order: lower.ts pushes inputs in declaration order). */
function checkedInput(
  checked: CheckedModel,
  mod: ir.Module,
  i: number,
): { required: boolean; range: { lo: number; hi: number } | null } {
  const c = checked.inputs[i];
  if (c === undefined || c.name !== mod.inputs[i]!.name)
    throw new CompileError('invalidModule', 'internal error: IR inputs differ from the checked model');
  return { required: c.required, range: c.range };
}

/** Where a row-blocked component's block lives. gbdt: f64 cells [rows][W], u8 missing flags [rows][W], f64 margins [rows][classes]; mlp: f32 input rows [rows][W], then the layers' buffers. */
interface BlockScratch {
  x: number;
  miss: number;
  out: number;
  /** Bytes per row of out (gbdt: 8 · classes, f64 margins; mlp: 4 · the last layer's padded width, f32). */
  stride: number;
  /** mlp: the two f32 [rows][widest padded layer] buffers the layers alternate between. */
  bufs?: [number, number];
}

/** Row-blocked ensembles as one Gen sees them: the gather pass stores cells, the scoring pass reads margins. */
interface BlockedTrees {
  mode: 'gather' | 'read';
  /** i32 local: the row's index in its block. */
  rel: number;
  comps: Map<string, BlockScratch>;
}

/**
 * f64 MLPs with at least this many weights (all layers) are row-blocked by default. Measured (SIMD,
 * 4,000 random rows): 131→256→128→64→1 (74k weights) 1.34× and 256→128→64→1 (41k) 1.2–1.5× the
 * row-at-a-time MLP; the fixtures' small MLPs (≤ 2k weights) 0.89–0.95×.
 */
const MLP_BLOCK_MIN_WEIGHTS = 16_384;

/** The weight count of the model's largest global MLP (0 without one). */
function largestMlpWeights(mod: ir.Module, bundle: Bundle): number {
  let most = 0;
  for (const c of mod.components) {
    const coef = bundle.components.get(c.name);
    if (c.per !== null || coef?.kind !== 'mlp') continue;
    most = Math.max(
      most,
      coef.layers.reduce((a, l) => a + l.weights.length, 0),
    );
  }
  return most;
}

/** sortedRuns: bucket lists of at least this many items get the radix pass before the insertion sort. */
const RADIX_FROM = 12;
/** sortedRuns' radix pass: bins by the top this-many bits of the bucket range. */
const RADIX_BITS = 5;

/** A value slot the gather pass never fills (nodes the blocked ensembles do not depend on). */
const NO_VALUE: Val = { v: -1, p: null, s: 'f32' };

/**
 * A row-blocked MLP over the block's rows (sc.x: [rows][W] f32, or f64 when !p32), layer by layer
 * into sc.bufs: MLP_BLOCK_LANES rows side by side, MLP_BLOCK_VECTORS output vectors (f32x4 / f64x2)
 * per step, so each weight vector is loaded once for the rows; the rows left over (fewer than
 * MLP_BLOCK_LANES) one at a time with MLP_TAIL_VECTORS vectors per step.
 * Every output of every row is b_o + Σ_i w_oi · h_i with i ascending, a multiply then an add per
 * input, in the MLP's precision, as in Gen.mlp: the same bits (in f64: the reference's).
 * rows: i32 local, the block's row count. f32Weights (f64 MLPs): store a layer's weights as f32
 * when every one is exactly an f32 (half the bytes; promoted on load: the same products); the
 * number of such layers is added to `counts.f32Layers`.
 */
function emitBlockedMlp(
  m: binaryen.Module,
  L: Locals,
  pool: DataPool,
  kernelFn: (fn: KernelFn, s: 'f32' | 'f64') => string,
  coef: Extract<ComponentCoefficients, { kind: 'mlp' }>,
  W: number,
  sc: BlockScratch,
  rows: number,
  p32: boolean,
  f32Weights: boolean,
  counts: { f32Layers: number },
): Ref {
  const i32 = binaryen.i32;
  const T = p32 ? binaryen.f32 : binaryen.f64;
  const v128 = binaryen.v128;
  const es = p32 ? 4 : 8;
  const sh = p32 ? 2 : 3;
  const lanes = 16 / es;
  const vec = p32 ? m.f32x4 : m.f64x2;
  const num = p32 ? m.f32 : m.f64;
  const g = (l: number): Ref => m.local.get(l, i32);
  const pads = mlpBlockPads(coef, lanes);
  const zero = (): Ref => m.v128.const(new Array<number>(16).fill(0));
  const [o, i, wp, r, full, inRow, outRow, k] = Array.from({ length: 8 }, () => L.add(i32));
  const hv = L.add(v128);
  let labels = 0;
  const label = (what: string): string => `proml$bmlp$${what}${labels++}`;
  const loop = (name: string, cond: Ref, body: Ref[]): Ref =>
    m.block(`${name}$done`, [m.loop(name, m.block(null, [m.br(`${name}$done`, cond), ...body, m.br(name)]))]);
  const out: Ref[] = [m.local.set(full, m.i32.and(g(rows), m.i32.const(-MLP_BLOCK_LANES)))];
  let src = sc.x;
  let srcStride = es * W;
  coef.layers.forEach((layer, li) => {
    const last = li === coef.layers.length - 1;
    const oPad = pads[li]!;
    // weights [input][output] (oPad outputs a row), in f32 when the MLP is or when asked and exact
    const w32 = p32 || (f32Weights && layer.weights.every((x) => Math.fround(x) === x));
    if (w32 && !p32) counts.f32Layers++;
    const wes = w32 ? 4 : 8;
    const wsh = w32 ? 2 : 3;
    const weights = w32 ? new Float32Array(layer.inputs * oPad) : new Float64Array(layer.inputs * oPad);
    const bias = p32 ? new Float32Array(oPad) : new Float64Array(oPad);
    for (let q = 0; q < layer.outputs; q++) {
      bias[q] = layer.bias[q]!;
      for (let j = 0; j < layer.inputs; j++) weights[j * oPad + q] = layer.weights[q * layer.inputs + j]!;
    }
    const wAddr = pool.add(new Uint8Array(weights.buffer));
    const bAddr = pool.add(new Uint8Array(bias.buffer));
    const dst = sc.bufs![li % 2]!;
    const dstStride = es * oPad;
    const relu = !last && coef.activation === 'relu';
    // `lanes` rows starting at row r: accumulators [row][vector]
    const rowsAtOnce = (lanes: number, V: number): Ref => {
      const group = (16 / es) * V; // outputs per step: V vectors of 16 / es values
      const accs = Array.from({ length: lanes }, () => Array.from({ length: V }, () => L.add(v128)));
      const init: Ref[] = [];
      const step: Ref[] = [];
      const fin: Ref[] = [];
      accs.forEach((row) =>
        row.forEach((acc, u) =>
          init.push(m.local.set(acc, m.v128.load(bAddr + 16 * u, es, m.i32.shl(g(o), m.i32.const(sh))))),
        ),
      );
      const ws = Array.from({ length: V }, () => L.add(v128));
      // (f32 weights of an f64 MLP: two per f64x2 vector, promoted)
      ws.forEach((w, u) =>
        step.push(
          m.local.set(
            w,
            w32 && !p32
              ? m.f64x2.promote_low_f32x4(m.v128.load64_zero(8 * u, 4, g(wp)))
              : m.v128.load(16 * u, es, g(wp)),
          ),
        ),
      );
      accs.forEach((row, q) => {
        step.push(
          m.local.set(
            hv,
            vec.splat(num.load(q * srcStride, es, m.i32.add(g(inRow), m.i32.shl(g(i), m.i32.const(sh))))),
          ),
        );
        row.forEach((acc, u) =>
          step.push(
            m.local.set(
              acc,
              vec.add(m.local.get(acc, v128), vec.mul(m.local.get(ws[u]!, v128), m.local.get(hv, v128))),
            ),
          ),
        );
      });
      accs.forEach((row, q) =>
        row.forEach((acc, u) => {
          const z = relu
            ? m.v128.bitselect(m.local.get(acc, v128), zero(), vec.gt(m.local.get(acc, v128), zero()))
            : m.local.get(acc, v128);
          fin.push(
            m.v128.store(
              q * dstStride + 16 * u,
              es,
              m.i32.add(g(outRow), m.i32.shl(g(o), m.i32.const(sh))),
              z,
            ),
          );
        }),
      );
      return loop(label('o'), m.i32.ge_u(g(o), m.i32.const(oPad)), [
        ...init,
        m.local.set(i, m.i32.const(0)),
        m.local.set(wp, m.i32.add(m.i32.const(wAddr), m.i32.shl(g(o), m.i32.const(wsh)))),
        loop(label('i'), m.i32.ge_u(g(i), m.i32.const(layer.inputs)), [
          ...step,
          m.local.set(i, m.i32.add(g(i), m.i32.const(1))),
          m.local.set(wp, m.i32.add(g(wp), m.i32.const(oPad * wes))),
        ]),
        ...fin,
        m.local.set(o, m.i32.add(g(o), m.i32.const(group))),
      ]);
    };
    const rowAddrs = (): Ref[] => [
      m.local.set(inRow, m.i32.add(m.i32.const(src), m.i32.mul(g(r), m.i32.const(srcStride)))),
      m.local.set(outRow, m.i32.add(m.i32.const(dst), m.i32.mul(g(r), m.i32.const(dstStride)))),
      m.local.set(o, m.i32.const(0)),
    ];
    out.push(
      m.local.set(r, m.i32.const(0)),
      loop(label('rows'), m.i32.ge_u(g(r), g(full)), [
        ...rowAddrs(),
        rowsAtOnce(MLP_BLOCK_LANES, MLP_BLOCK_VECTORS),
        m.local.set(r, m.i32.add(g(r), m.i32.const(MLP_BLOCK_LANES))),
      ]),
      loop(label('tail'), m.i32.ge_u(g(r), g(rows)), [
        ...rowAddrs(),
        rowsAtOnce(1, MLP_TAIL_VECTORS),
        m.local.set(r, m.i32.add(g(r), m.i32.const(1))),
      ]),
    );
    if (!last && (coef.activation === 'tanh' || coef.activation === 'sigmoid')) {
      // every output of every row of the block (padding outputs too: finite, never read)
      const addr = (): Ref => m.i32.add(m.i32.const(dst), m.i32.shl(g(k), m.i32.const(sh)));
      out.push(
        m.local.set(k, m.i32.const(0)),
        loop(label('act'), m.i32.ge_u(g(k), m.i32.mul(g(rows), m.i32.const(oPad))), [
          num.store(
            0,
            es,
            addr(),
            m.call(kernelFn(coef.activation, p32 ? 'f32' : 'f64'), [num.load(0, es, addr())], T),
          ),
          m.local.set(k, m.i32.add(g(k), m.i32.const(1))),
        ]),
      );
    }
    src = dst;
    srcStride = dstStride;
  });
  return m.block(null, out);
}

/** A component computed a block of rows at a time (see blockedComponents). */
type BlockedComponent =
  | {
      kind: 'gbdt';
      c: ir.IrComponent;
      coef: Extract<ComponentCoefficients, { kind: 'gbdt' }>;
      ancestors: Set<number>;
    }
  | {
      kind: 'mlp';
      c: ir.IrComponent;
      coef: Extract<ComponentCoefficients, { kind: 'mlp' }>;
      ancestors: Set<number>;
    };

/**
 * The components the scoring module computes row-blocked: gbdt with treeBlock > 1 and the flat
 * layout; f32 MLPs with mlpBlock > 1 in the SIMD build. Global only, and only components whose features depend on
 * no other component (the gather pass evaluates just the nodes the features depend on: ancestors,
 * which includes the component node itself).
 */
function blockedComponents(mod: ir.Module, bundle: Bundle, strategy: Strategy): BlockedComponent[] {
  const out: BlockedComponent[] = [];
  for (const n of mod.nodes) {
    if (n.op !== 'component') continue;
    const c = mod.components[n.attrs.component!]!;
    const coef = bundle.components.get(c.name);
    if (c.per !== null || coef === undefined) continue;
    const tree =
      coef.kind === 'gbdt' &&
      strategy.treeBlock > 1 &&
      (strategy.treeLayout ?? defaultTreeLayout(coef)) === 'flat';
    // (the blocked MLP kernel is SIMD code: the scalar build keeps the row-at-a-time MLP)
    const net = coef.kind === 'mlp' && strategy.mlpBlock > 1 && strategy.simd;
    if (!tree && !net) continue;
    const ancestors = new Set<number>([n.id]);
    const stack = [...n.args];
    let pure = true;
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (ancestors.has(id)) continue;
      ancestors.add(id);
      const a = mod.nodes[id]!;
      if (a.op === 'component') pure = false;
      stack.push(...a.args);
    }
    if (!pure) continue;
    if (coef.kind === 'gbdt') out.push({ kind: 'gbdt', c, coef, ancestors });
    else if (coef.kind === 'mlp') out.push({ kind: 'mlp', c, coef, ancestors });
  }
  return out;
}

/** The padded width (outputs) of each layer of a row-blocked MLP (lanes: 4 in f32, 2 in f64). */
function mlpBlockPads(coef: Extract<ComponentCoefficients, { kind: 'mlp' }>, lanes: number): number[] {
  // a multiple of both steps' widths (lanes · MLP_BLOCK_VECTORS and lanes · MLP_TAIL_VECTORS outputs)
  const group = lanes * Math.max(MLP_BLOCK_VECTORS, MLP_TAIL_VECTORS);
  return coef.layers.map((l) => Math.ceil(l.outputs / group) * group);
}

/** Code for one node at a time: each node's value (and presence) goes into fresh locals. */
class Gen {
  constructor(
    private readonly m: binaryen.Module,
    private readonly L: Locals,
    private readonly out: Ref[],
    private readonly kernelFn: (fn: KernelFn, s: 'f32' | 'f64') => string,
    private readonly textFn: (fn: TextFn) => string,
    private readonly pool: DataPool,
    private readonly inputs: {
      p: number[];
      v: number[];
      len: number[];
      cat: number[];
      bag: (BagCol | undefined)[];
      lanes: (number[] | undefined)[];
      /** Vector inputs: the local holding the address of the row's elements. */
      vecBase: (number | undefined)[];
    },
    private readonly blocks: Map<string, { present: number; base: number; intercept: boolean }>,
    private readonly pre: Ref[],
    private readonly bundle: Bundle,
    private readonly options: Strategy,
    /** Row-blocked ensembles (null: none); see addScore. */
    private readonly blockedTrees: BlockedTrees | null = null,
    /** Keeps labels unique when two Gens emit into one function. */
    private readonly labelPrefix = '',
  ) {}

  private labelCount = 0;
  private fresh(what: string): string {
    return `proml$${what}${this.labelPrefix}${this.labelCount++}`;
  }

  /** for each non-null item j of bag value v: body (j is a local). */
  private forItems(v: Val, j: number, body: (it: ReturnType<typeof itemAccess>) => Ref[]): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const it = this.items(v, j);
    const lp = this.fresh('each');
    return m.block(null, [
      m.local.set(j, m.local.get(v.v, i32)),
      m.block(`${lp}$done`, [
        m.loop(
          lp,
          m.block(null, [
            m.br(`${lp}$done`, m.i32.ge_s(m.local.get(j, i32), m.local.get(v.len!, i32))),
            m.if(it.valid(), m.block(null, body(it))),
            m.local.set(j, m.i32.add(m.local.get(j, i32), m.i32.const(1))),
            m.br(lp),
          ]),
        ),
      ]),
    ]);
  }

  /** Item j of a bag: an input bag's (itemAccess), or a tokens()/ngrams() pair (always valid). */
  private items(v: Val, j: number): ReturnType<typeof itemAccess> {
    const m = this.m;
    const i32 = binaryen.i32;
    if (v.pairs === undefined) return itemAccess(m, this.inputs.bag[v.bag!]!, j);
    const at = (off: number): Ref =>
      m.i32.load(
        off,
        4,
        m.i32.add(m.local.get(v.pairs!, i32), m.i32.shl(m.local.get(j, i32), m.i32.const(3))),
      );
    return {
      valid: () => m.i32.const(1),
      ptr: () => m.i32.add(m.local.get(v.src!, i32), at(0)),
      len: () => m.i32.sub(at(4), at(0)),
    };
  }

  /** Whether a bag holds strings. */
  private strBag(v: Val): boolean {
    return v.pairs !== undefined || this.inputs.bag[v.bag!]!.elem === 'str';
  }

  /** The most hash items value v can have in one row (i32 expression), for scratch sizing. */
  private maxItems(v: Val, t: ir.IrType): Ref {
    if (t.k !== 'bag') return this.m.i32.const(1);
    if (v.pairs !== undefined) return this.m.local.get(v.len!, binaryen.i32);
    return this.m.local.get(this.inputs.bag[v.bag!]!.max, binaryen.i32);
  }

  /** Whether the row code allocates from the per-row arena (heap mark restored after each row). */
  usesArena = false;

  /** Per-row scratch of `bytes` (i32, > 0) from the heap; the row loop releases it after the row. */
  private rowAlloc(bytes: Ref): number {
    const m = this.m;
    const i32 = binaryen.i32;
    this.usesArena = true;
    const addr = this.L.add(i32);
    this.out.push(
      m.local.set(addr, m.call('proml$alloc', [bytes], i32)),
      m.if(m.i32.eqz(m.local.get(addr, i32)), m.return(m.i32.const(-2))),
    );
    return addr;
  }

  private scratchAddr(): number {
    if (this.scratch < 0) this.scratch = this.pool.add(new Uint8Array(16));
    return this.scratch;
  }

  /** Runs body with local h = the hash of each item of v (docs/abi.md 5.1); missing/OOV: no items. */
  private eachHash(v: Val, t: ir.IrType, id: number, mod: ir.Module, h: number, body: Ref[]): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const seed = (): Ref => m.i32.const(HASH_SEED | 0);
    const mur = (p: Ref, l: Ref): Ref => m.call(this.textFn('murmur3'), [p, l, seed()], i32);
    const g = (l: number): Ref => m.local.get(l, i32);
    const guard = (cond: Ref | null, x: Ref[]): Ref =>
      cond === null ? m.block(null, x) : m.if(cond, m.block(null, x));
    if (t.k === 'bag') {
      const j = this.L.add(i32);
      return this.forItems(v, j, (it) => [m.local.set(h, mur(it.ptr(), it.len())), ...body]);
    }
    if (t.k === 'str') return guard(this.p(v), [m.local.set(h, mur(g(v.v), g(v.len!))), ...body]);
    if (t.k === 'scalar' && t.s === 'i32') {
      const sc = this.scratchAddr();
      return guard(this.p(v), [
        m.i32.store(0, 4, m.i32.const(sc), g(v.v)),
        m.local.set(h, mur(m.i32.const(sc), m.i32.const(4))),
        ...body,
      ]);
    }
    if (t.k === 'cat') {
      const labels = this.labelsOf(id, mod);
      if (labels === null)
        throw new CompileError(
          'unsupportedOp',
          'not supported yet by this back end: hash of a category whose labels are not known',
        );
      const table = this.labelTable(labels);
      const inVocab = m.i32.lt_u(g(v.v), m.i32.const(labels.length));
      const p = this.p(v);
      return guard(p === null ? inVocab : m.i32.and(p, inVocab), [
        m.local.set(h, m.i32.load(0, 4, m.i32.add(m.i32.const(table), m.i32.shl(g(v.v), m.i32.const(2))))),
        ...body,
      ]);
    }
    throw new CompileError('unsupportedOp', `not supported yet by this back end: hash of ${t.k}`);
  }

  private labelTable(labels: readonly string[]): number {
    const key = labels.join('\0');
    let table = this.labelTables.get(key);
    if (table === undefined) {
      table = this.pool.add(new Uint8Array(new Uint32Array(labels.map(hashString)).buffer));
      this.labelTables.set(key, table);
    }
    return table;
  }

  /** A per-call scratch list of up to `items` u32 (allocated once per call; -2 when memory runs out). */
  private scratchList(items: Ref): number {
    const m = this.m;
    const i32 = binaryen.i32;
    const addr = this.L.add(i32);
    const bytes = this.L.add(binaryen.i64);
    this.pre.push(
      m.local.set(bytes, m.i64.shl(items, i64c(m, 2n))),
      m.if(m.i64.ge_u(m.local.get(bytes, binaryen.i64), i64c(m, 0xffff_fff0n)), m.return(m.i32.const(-2))),
      m.local.set(addr, m.call('proml$alloc', [m.i32.wrap(m.local.get(bytes, binaryen.i64))], i32)),
      m.if(m.i32.eqz(m.local.get(addr, i32)), m.return(m.i32.const(-2))),
    );
    return addr;
  }

  /** hash(bag, B) / cross(a, b, B): the row's buckets, one per item (pair), in a scratch list. */
  private multiSparse(n: ir.Node, vals: Val[], mod: ir.Module): Val {
    const m = this.m;
    const i32 = binaryen.i32;
    const B = n.attrs.buckets!;
    const a = vals[n.args[0]!]!;
    const ta = mod.nodes[n.args[0]!]!.type;
    const cnt = this.L.add(i32);
    const g = (l: number): Ref => m.local.get(l, i32);
    let buf = -1;
    const push = (h: Ref): Ref[] => [
      m.i32.store(0, 4, m.i32.add(g(buf), m.i32.shl(g(cnt), m.i32.const(2))), m.i32.rem_u(h, m.i32.const(B))),
      m.local.set(cnt, m.i32.add(g(cnt), m.i32.const(1))),
    ];
    this.out.push(m.local.set(cnt, m.i32.const(0)));
    const ha = this.L.add(i32);
    const derived = a.pairs !== undefined || (n.op === 'cross' && vals[n.args[1]!]!.pairs !== undefined);
    if (derived) {
      // a tokens()/ngrams() bag: its size is known per row only; the list lives in the row arena
      const b = n.op === 'cross' ? vals[n.args[1]!]! : null;
      const tb = n.op === 'cross' ? mod.nodes[n.args[1]!]!.type : null;
      const items =
        b === null ? this.maxItems(a, ta) : m.i32.mul(this.maxItems(a, ta), this.maxItems(b, tb!));
      // twice the items: sortedRuns' radix pass scatters into the room after the list
      buf = this.rowAlloc(m.i32.add(m.i32.shl(items, m.i32.const(3)), m.i32.const(4)));
    }
    if (n.op === 'hash') {
      if (!derived) buf = this.scratchList(m.i64.shl(m.i64.extend_u(this.maxItems(a, ta)), i64c(m, 1n)));
      this.out.push(this.eachHash(a, ta, n.args[0]!, mod, ha, push(g(ha))));
    } else {
      const b = vals[n.args[1]!]!;
      const tb = mod.nodes[n.args[1]!]!.type;
      if (!derived)
        buf = this.scratchList(
          m.i64.shl(
            m.i64.mul(m.i64.extend_u(this.maxItems(a, ta)), m.i64.extend_u(this.maxItems(b, tb))),
            i64c(m, 1n),
          ),
        );
      const hb = this.L.add(i32);
      const sc = this.scratchAddr();
      const pair = [
        m.i32.store(0, 4, m.i32.const(sc), g(ha)),
        m.i32.store(4, 4, m.i32.const(sc), g(hb)),
        ...push(
          m.call(this.textFn('murmur3'), [m.i32.const(sc), m.i32.const(8), m.i32.const(HASH_SEED | 0)], i32),
        ),
      ];
      this.out.push(
        this.eachHash(a, ta, n.args[0]!, mod, ha, [this.eachHash(b, tb, n.args[1]!, mod, hb, pair)]),
      );
    }
    return { v: buf, len: cnt, p: null, s: 'i32', multi: true, buckets: B };
  }

  private labelTables = new Map<string, number>();
  private scratch = -1;
  private matchCount = 0;

  /** The label text each index of a category node hashes by (docs/abi.md 5.1), or null when unknown. */
  private labelsOf(id: number, mod: ir.Module): readonly string[] | null {
    const n = mod.nodes[id]!;
    if (n.op === 'label' || n.op === 'lookup') return n.attrs.labels ?? null;
    if (n.op === 'bucketize') return Array.from({ length: n.attrs.bounds!.length + 1 }, (_, i) => String(i));
    if (n.op === 'quantiles')
      return Array.from({ length: this.quantileBounds(n).length + 1 }, (_, i) => String(i));
    if (n.op === 'vocab') return this.vocabLabels(n);
    if (n.op === 'default' || n.op === 'require') return this.labelsOf(n.args[0]!, mod);
    return null;
  }

  private quantileBounds(n: ir.Node): number[] {
    const p = this.transform(n.attrs.key!);
    if (p.kind !== 'quantiles')
      throw new CompileError(
        'missingCoefficients',
        `the bundle's '${n.attrs.key}' is ${p.kind}, not quantiles`,
      );
    return Array.from(p.boundaries);
  }

  private vocabLabels(n: ir.Node): string[] {
    const p = this.transform(n.attrs.key!);
    if (p.kind !== 'vocab')
      throw new CompileError('missingCoefficients', `the bundle's '${n.attrs.key}' is ${p.kind}, not vocab`);
    return p.labels;
  }

  /** A vector from lane locals. */
  private vec(s: S, lanes: number[], p: number | null): Val {
    return { v: lanes[0]!, lanes, p, s };
  }

  /** Value of lane k of v as f64 (a scalar is its own every lane). */
  private laneF64(v: Val, k: number): Ref {
    const l = v.lanes === undefined ? v.v : v.lanes[k]!;
    const x = this.get(l, v.s);
    return v.s === 'f64' ? x : v.s === 'f32' ? this.m.f64.promote(x) : this.m.f64.convert_s.i32(x);
  }

  /** A value cast to s (numbers only). */
  private castTo(x: Ref, from: S, to: S): Ref {
    const m = this.m;
    if (from === to || (from === 'bool' && to === 'i32')) return x;
    if (to === 'f64')
      return from === 'f32'
        ? m.f64.promote(x)
        : from === 'i32'
          ? m.f64.convert_s.i32(x)
          : m.f64.convert_u.i32(x);
    if (to === 'f32')
      return from === 'f64'
        ? m.f32.demote(x)
        : from === 'i32'
          ? m.f32.convert_s.i32(x)
          : m.f32.convert_u.i32(x);
    throw new CompileError('unsupportedOp', `not supported yet by this back end: cast ${from} → ${to}`);
  }

  /**
   * Vector nodes (null: not a vector node). Elementwise ops run the scalar code once per lane;
   * concat/splat/const build lanes; dot/sum/argmax/softmax reduce in the reference's order.
   */
  private vector(
    n: ir.Node,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
  ): Val | null {
    const m = this.m;
    const t = n.type;
    const argVec = n.args.some((a) => mod.nodes[a]!.type.k === 'vec');
    if (t.k !== 'vec' && !argVec) return null;
    const a = (k: number): Val => vals[n.args[k]!]!;
    const f64 = binaryen.f64;
    switch (n.op) {
      case 'const': {
        if (t.k !== 'vec') return null;
        const xs = Array.isArray(n.attrs.value)
          ? n.attrs.value
          : Array<number>(t.n).fill(n.attrs.value as number);
        const lanes = xs.map((x) => this.emit(t.elem, this.constant(t.elem, x), null).v);
        return this.vec(t.elem, lanes, null);
      }
      case 'splat': {
        if (t.k !== 'vec') return null;
        const v = a(0);
        const x = this.emit(t.elem, this.castTo(this.get(v.v, v.s), v.s, t.elem), null).v;
        return this.vec(t.elem, Array<number>(t.n).fill(x), v.p);
      }
      case 'input':
        return null;
      case 'require':
        return { ...a(0), p: null };
      case 'inrange':
        return a(0);
      case 'concat': {
        if (t.k !== 'vec') return null;
        const lanes: number[] = [];
        let p: Ref | null = null;
        n.args.forEach((_, k) => {
          const v = a(k);
          p = this.both(p, this.p(v));
          for (const l of v.lanes ?? [v.v])
            lanes.push(
              v.s === t.elem ? l : this.emit(t.elem, this.castTo(this.get(l, v.s), v.s, t.elem), null).v,
            );
        });
        const pres = p === null ? null : this.emit('bool', p, null).v;
        return this.vec(t.elem, lanes, pres);
      }
      case 'dot':
      case 'sum': {
        // s = 0; s += a_i · b_i (or a_i) in f64, ascending; rounded once to the result type
        if (t.k !== 'scalar') return null;
        const acc = this.L.add(f64);
        const A = (): Ref => m.local.get(acc, f64);
        const x = a(0);
        const width = mod.nodes[n.args[0]!]!.type;
        const w = width.k === 'vec' ? width.n : 1;
        this.out.push(m.local.set(acc, m.f64.const(0)));
        for (let k = 0; k < w; k++) {
          const term =
            n.op === 'dot' ? m.f64.mul(this.laneF64(x, k), this.laneF64(a(1), k)) : this.laneF64(x, k);
          this.out.push(m.local.set(acc, m.f64.add(A(), term)));
        }
        const p = n.op === 'dot' ? this.both(this.p(x), this.p(a(1))) : this.p(x);
        return this.emit(t.s, this.castTo(A(), 'f64', t.s), p);
      }
      case 'argmax': {
        // first maximum wins: i = 0; for j: if v_j > v_i then i = j
        const v = a(0);
        const lanes = v.lanes!;
        const best = this.L.add(binaryen.i32);
        const bv = this.L.add(wasmType(v.s));
        const G = v.s === 'f64' ? m.f64 : m.f32;
        this.out.push(m.local.set(best, m.i32.const(0)), m.local.set(bv, this.get(lanes[0]!, v.s)));
        for (let k = 1; k < lanes.length; k++)
          this.out.push(
            m.if(
              G.gt(this.get(lanes[k]!, v.s), this.get(bv, v.s)),
              m.block(null, [m.local.set(best, m.i32.const(k)), m.local.set(bv, this.get(lanes[k]!, v.s))]),
            ),
          );
        return { v: best, p: v.p, s: 'i32' };
      }
      case 'softmax': {
        // e_i = exp(v_i − max v) in f64; divided by their sum (ascending); rounded to the element type
        if (t.k !== 'vec') return null;
        const v = a(0);
        const mx = this.L.add(f64);
        this.out.push(m.local.set(mx, this.laneF64(v, 0)));
        for (let k = 1; k < t.n; k++)
          this.out.push(m.local.set(mx, m.f64.max(m.local.get(mx, f64), this.laneF64(v, k))));
        const ex: number[] = [];
        const sum = this.L.add(f64);
        this.out.push(m.local.set(sum, m.f64.const(0)));
        for (let k = 0; k < t.n; k++) {
          const e = this.L.add(f64);
          this.out.push(
            m.local.set(
              e,
              m.call(this.kernelFn('exp', 'f64'), [m.f64.sub(this.laneF64(v, k), m.local.get(mx, f64))], f64),
            ),
            m.local.set(sum, m.f64.add(m.local.get(sum, f64), m.local.get(e, f64))),
          );
          ex.push(e);
        }
        const lanes = ex.map(
          (e) =>
            this.emit(
              t.elem,
              this.castTo(m.f64.div(m.local.get(e, f64), m.local.get(sum, f64)), 'f64', t.elem),
              null,
            ).v,
        );
        return this.vec(t.elem, lanes, v.p);
      }
      case 'standardize': {
        if (t.k !== 'vec') return null;
        return this.standardize(n, a(0), t.elem, t.n);
      }
      default: {
        if (t.k !== 'vec') {
          if (n.op === 'is_missing') return null;
          throw new CompileError('unsupportedOp', `not supported yet by this back end: ${n.op} of a vector`);
        }
        // elementwise: the scalar code once per lane, on lane views of the arguments
        const saved = n.args.map((id) => vals[id]!);
        const laneNode: ir.Node = { ...n, type: { k: 'scalar', s: t.elem, opt: t.opt } };
        const lanes: number[] = [];
        let p: number | null = null;
        let rs: S = t.elem;
        for (let k = 0; k < t.n; k++) {
          n.args.forEach((id, j) => {
            const v = saved[j]!;
            vals[id] = v.lanes === undefined ? v : { v: v.lanes[k]!, p: v.p, s: v.s };
          });
          const value = n.attrs.value;
          const ln = Array.isArray(value)
            ? { ...laneNode, attrs: { ...n.attrs, value: value[k]! } }
            : laneNode;
          const r = this.node(ln, vals, mod, weightAddr, true);
          lanes.push(r.v);
          rs = r.s;
          if (k === 0) p = r.p;
        }
        n.args.forEach((id, j) => (vals[id] = saved[j]!));
        return this.vec(rs, lanes, p);
      }
    }
  }

  private transform(key: string): TransformParams {
    const p = this.bundle.transforms.get(key);
    if (p === undefined)
      throw new CompileError('missingCoefficients', `the bundle has no fitted statistics '${key}'`);
    return p;
  }

  /** standardize: (x − mean_i) / std_i per element in x's float type, std 0 read as 1. */
  private standardize(n: ir.Node, x: Val, s: S, width: number): Val {
    const m = this.m;
    const p = this.transform(n.attrs.key!);
    if (p.kind !== 'standardize' || p.mean.length !== width)
      throw new CompileError(
        'missingCoefficients',
        `the bundle's statistics '${n.attrs.key}' do not fit standardize of width ${width}`,
      );
    const F = s === 'f64' ? m.f64 : m.f32;
    const c = (v: number): Ref => F.const(s === 'f32' ? Math.fround(v) : v);
    const lanes: number[] = [];
    for (let k = 0; k < width; k++) {
      const l = x.lanes === undefined ? x.v : x.lanes[k]!;
      const std = p.std[k]! === 0 ? 1 : p.std[k]!;
      lanes.push(this.emit(s, F.div(F.sub(this.get(l, s), c(p.mean[k]!)), c(std)), null).v);
    }
    return x.lanes === undefined && width === 1 ? { v: lanes[0]!, p: x.p, s } : this.vec(s, lanes, x.p);
  }

  /** Category/string/sparse nodes (null: the node is scalar and handled by the caller). */
  private nonScalar(n: ir.Node, vals: Val[], mod: ir.Module): Val | null {
    const m = this.m;
    const i32 = binaryen.i32;
    const unsupported = (what: string): never => {
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${what}`);
    };
    const a = (k: number): Val => vals[n.args[k]!]!;
    const g = (l: number): Ref => m.local.get(l, i32);
    const argType = (k: number): ir.IrType => mod.nodes[n.args[k]!]!.type;
    const t = n.type;
    switch (n.op) {
      case 'input': {
        const i = n.attrs.input!;
        if (t.k === 'str')
          return { v: this.inputs.v[i]!, p: this.inputs.p[i]!, s: 'i32', len: this.inputs.len[i]! };
        if (t.k === 'bag')
          return { v: this.inputs.v[i]!, len: this.inputs.len[i]!, p: null, s: 'i32', bag: i };
        // an entity id is never read (docs/abi.md 3.1): only its presence matters
        if (t.k === 'entity') return { v: this.inputs.p[i]!, p: this.inputs.p[i]!, s: 'i32' };
        if (t.k === 'vec') {
          const lanes = this.inputs.lanes[i]!;
          return { v: lanes[0]!, lanes, p: this.inputs.p[i]!, s: t.elem };
        }
        if (t.k !== 'scalar') return unsupported(`input of type ${t.k}`);
        return { v: this.inputs.v[i]!, p: this.inputs.p[i]!, s: t.s };
      }
      case 'label': {
        const inNode = mod.nodes[n.args[0]!]!;
        const idx = inNode.op === 'input' ? this.inputs.cat[inNode.attrs.input!] : undefined;
        if (idx === undefined || idx < 0) return unsupported('label of a computed string');
        const size = n.attrs.labels!.length;
        const u = n.attrs.unknown;
        const value =
          typeof u === 'number'
            ? m.select(m.i32.eq(g(idx), m.i32.const(size)), m.i32.const(u), g(idx))
            : g(idx);
        return this.emit('i32', value, this.p(a(0)));
      }
      case 'const':
        if (t.k === 'cat' && typeof n.attrs.value === 'number')
          return this.emit('i32', m.i32.const(n.attrs.value), null);
        if (t.k === 'str' && typeof n.attrs.value === 'string') {
          const bytes = utf8(n.attrs.value);
          const ptr = this.emit('i32', m.i32.const(this.pool.add(bytes)), null);
          return { ...ptr, len: this.emit('i32', m.i32.const(bytes.length), null).v };
        }
        if (t.k !== 'scalar') return unsupported(`const of type ${t.k}`);
        return null;
      case 'require':
        if (t.k === 'str' || t.k === 'cat') return { ...a(0), p: null };
        return null;
      case 'default': {
        const v = a(0);
        if (t.k === 'cat') {
          if (typeof n.attrs.value !== 'number') return unsupported('default of a category');
          if (v.p === null) return v;
          return this.emit('i32', m.select(this.p(v)!, g(v.v), m.i32.const(n.attrs.value)), null);
        }
        if (t.k === 'str') {
          if (typeof n.attrs.value !== 'string') return unsupported('default of a string');
          if (v.p === null) return v;
          const bytes = utf8(n.attrs.value);
          const addr = this.pool.add(bytes);
          const ptr = this.emit('i32', m.select(this.p(v)!, g(v.v), m.i32.const(addr)), null);
          const len = this.emit('i32', m.select(this.p(v)!, g(v.len!), m.i32.const(bytes.length)), null);
          return { v: ptr.v, p: null, s: 'i32', len: len.v };
        }
        return null;
      }
      case 'lookup': {
        const v = a(0);
        if (argType(0).k !== 'str') return unsupported('lookup of a non-string');
        const labels = n.attrs.labels!;
        const idx = this.L.add(i32);
        this.out.push(m.local.set(idx, m.i32.const(labels.length)));
        const match = matchLabels(m, this.pool, this.textFn, labels, g(v.v), g(v.len!), idx, {
          p: this.L.add(i32),
          h: this.L.add(i32),
          e: this.L.add(i32),
          l: this.L.add(i32),
          label: `proml$lookup${this.labelPrefix}${this.matchCount++}`,
        });
        this.out.push(v.p === null ? match : m.if(this.p(v)!, match));
        // a missing string looks up as the OOV slot (present)
        return { v: idx, p: null, s: 'i32' };
      }
      case 'vocab': {
        const v = a(0);
        if (argType(0).k !== 'str') return unsupported('vocab of a non-string');
        const labels = this.vocabLabels(n);
        const idx = this.L.add(i32);
        this.out.push(m.local.set(idx, m.i32.const(t.k === 'cat' ? t.n : labels.length)));
        const match = matchLabels(m, this.pool, this.textFn, labels, g(v.v), g(v.len!), idx, {
          p: this.L.add(i32),
          h: this.L.add(i32),
          e: this.L.add(i32),
          l: this.L.add(i32),
          label: `proml$vocab${this.labelPrefix}${this.matchCount++}`,
        });
        this.out.push(v.p === null ? match : m.if(this.p(v)!, match));
        return { v: idx, p: null, s: 'i32' };
      }
      case 'quantiles':
      case 'bucketize': {
        const v = a(0);
        const xt = argType(0);
        if (xt.k !== 'scalar' || xt.s === 'bool') return unsupported(`${n.op} of ${xt.k}`);
        const bounds = n.op === 'bucketize' ? n.attrs.bounds! : this.quantileBounds(n);
        const oov = bounds.length + 1;
        const x = (): Ref => this.get(v.v, v.s);
        let count: Ref = m.i32.const(0);
        for (const b of bounds) {
          const le =
            v.s === 'f32'
              ? m.f32.le(m.f32.const(Math.fround(b)), x())
              : v.s === 'f64'
                ? m.f64.le(m.f64.const(b), x())
                : m.f64.le(m.f64.const(b), m.f64.convert_s.i32(x()));
          count = m.i32.add(count, le);
        }
        let r = count;
        if (v.s === 'f32') r = m.select(m.f32.eq(x(), x()), r, m.i32.const(oov));
        if (v.s === 'f64') r = m.select(m.f64.eq(x(), x()), r, m.i32.const(oov));
        if (v.p !== null) r = m.select(this.p(v)!, r, m.i32.const(oov));
        return this.emit('i32', r, null);
      }
      case 'onehot': {
        // one-item sparse: v = the active column, p = whether there is one
        const v = a(0);
        if (t.k !== 'sparse') return unsupported('onehot');
        const active = m.i32.lt_u(g(v.v), m.i32.const(t.n));
        return this.emit('i32', g(v.v), v.p === null ? active : m.i32.and(this.p(v)!, active));
      }
      case 'hash': {
        const v = a(0);
        const xt = argType(0);
        if (t.k !== 'sparse') return unsupported('hash');
        if (xt.k === 'bag') return this.multiSparse(n, vals, mod);
        const B = n.attrs.buckets!;
        let h: Ref;
        let active: Ref | null = this.p(v);
        if (xt.k === 'str')
          h = m.call(this.textFn('murmur3'), [g(v.v), g(v.len!), m.i32.const(HASH_SEED | 0)], i32);
        else if (xt.k === 'scalar' && xt.s === 'i32') {
          if (this.scratch < 0) this.scratch = this.pool.add(new Uint8Array(16));
          this.out.push(m.i32.store(0, 4, m.i32.const(this.scratch), g(v.v)));
          h = m.call(
            this.textFn('murmur3'),
            [m.i32.const(this.scratch), m.i32.const(4), m.i32.const(HASH_SEED | 0)],
            i32,
          );
        } else if (xt.k === 'cat') {
          const labels = n.attrs.labels ?? this.labelsOf(n.args[0]!, mod);
          if (labels === null) return unsupported('hash of a category whose labels are not known');
          const key = labels.join('\0');
          let table = this.labelTables.get(key);
          if (table === undefined) {
            table = this.pool.add(new Uint8Array(new Uint32Array(labels.map(hashString)).buffer));
            this.labelTables.set(key, table);
          }
          const inVocab = m.i32.lt_u(g(v.v), m.i32.const(labels.length));
          active = active === null ? inVocab : m.i32.and(active, inVocab);
          const safe = m.select(m.i32.lt_u(g(v.v), m.i32.const(labels.length)), g(v.v), m.i32.const(0));
          h = m.i32.load(0, 4, m.i32.add(m.i32.const(table), m.i32.shl(safe, m.i32.const(2))));
        } else return unsupported(`hash of ${xt.k}`);
        return this.emit('i32', m.i32.rem_u(h, m.i32.const(B)), active);
      }
      case 'is_missing':
        return null;
      case 'cross':
        if (t.k !== 'sparse') return unsupported('cross');
        return this.multiSparse(n, vals, mod);
      case 'count': {
        const v = a(0);
        if (argType(0).k !== 'bag') return unsupported(`count of ${argType(0).k}`);
        const c = this.L.add(i32);
        this.out.push(m.local.set(c, m.i32.const(0)));
        this.out.push(
          this.forItems(v, this.L.add(i32), () => [m.local.set(c, m.i32.add(g(c), m.i32.const(1)))]),
        );
        return { v: c, p: null, s: 'i32' };
      }
      case 'overlap': {
        // distinct items of a that occur in b
        const [va, vb] = [a(0), a(1)];
        if (argType(0).k !== 'bag' || argType(1).k !== 'bag') return unsupported('overlap of non-bags');
        const str = this.strBag(va);
        const c = this.L.add(i32);
        const found = this.L.add(i32);
        const [j, k] = [this.L.add(i32), this.L.add(i32)];
        const same = (x: ReturnType<typeof itemAccess>, y: ReturnType<typeof itemAccess>): Ref =>
          str
            ? m.i32.and(
                m.i32.eq(x.len(), y.len()),
                m.call(this.textFn('bytesEqual'), [x.ptr(), y.ptr(), x.len()], i32),
              )
            : m.i32.eq(m.i32.load(0, 4, x.ptr()), m.i32.load(0, 4, y.ptr()));
        const earlier = { ...va, len: j };
        this.out.push(m.local.set(c, m.i32.const(0)));
        this.out.push(
          this.forItems(va, j, (x) => [
            m.local.set(found, m.i32.const(0)),
            // an equal earlier item of a: already counted
            this.forItems(earlier, k, (y) => [m.if(same(x, y), m.local.set(found, m.i32.const(2)))]),
            m.if(
              m.i32.eqz(g(found)),
              this.forItems(vb, k, (y) => [m.if(same(x, y), m.local.set(found, m.i32.const(1)))]),
            ),
            m.if(m.i32.eq(g(found), m.i32.const(1)), m.local.set(c, m.i32.add(g(c), m.i32.const(1)))),
          ]),
        );
        return { v: c, p: null, s: 'i32' };
      }
      case 'coalesce': {
        if (t.k !== 'str' && t.k !== 'cat') return null;
        const [v, w] = [a(0), a(1)];
        if (v.p === null) return v;
        const pw = this.p(w);
        const pres = pw === null ? null : m.i32.or(this.p(v)!, pw);
        const r = this.emit('i32', m.select(this.p(v)!, g(v.v), g(w.v)), pres);
        if (t.k === 'str') r.len = this.emit('i32', m.select(this.p(v)!, g(v.len!), g(w.len!)), null).v;
        return r;
      }
      case 'lower': {
        // dst: ⌊3·len/2⌋ bytes suffice (docs/abi.md 5.2); +1 keeps the request non-zero
        const v = a(0);
        const cap = m.i32.add(m.i32.add(g(v.len!), m.i32.shr_u(g(v.len!), m.i32.const(1))), m.i32.const(1));
        const dst = this.rowAlloc(cap);
        const len = this.emit(
          'i32',
          m.call(this.textFn('lowerUtf8'), [g(v.v), g(v.len!), g(dst)], i32),
          null,
        );
        return { v: dst, len: len.v, p: v.p, s: 'i32' };
      }
      case 'tokens':
      case 'ngrams': {
        // (start, end) pairs: at most ⌈len/2⌉ tokens, at most len n-grams; a missing string: no items
        const v = a(0);
        const pairs = this.rowAlloc(m.i32.add(m.i32.shl(g(v.len!), m.i32.const(3)), m.i32.const(8)));
        const src = this.emit('i32', g(v.v), null).v;
        const count = this.emit(
          'i32',
          n.op === 'tokens'
            ? m.call(this.textFn('tokensUtf8'), [g(v.v), g(v.len!), g(pairs)], i32)
            : m.call(this.textFn('ngramsUtf8'), [g(v.v), g(v.len!), m.i32.const(n.attrs.n!), g(pairs)], i32),
          null,
        );
        const zero = this.emit('i32', m.i32.const(0), null).v;
        return { v: zero, len: count.v, p: null, s: 'i32', pairs, src };
      }
      case 'length': {
        const v = a(0);
        if (argType(0).k !== 'str') return unsupported('length of a bag');
        return this.emit('i32', m.call(this.textFn('codePointCount'), [g(v.v), g(v.len!)], i32), this.p(v));
      }
      case 'eq':
      case 'ne': {
        const ka = argType(0).k;
        const kb = argType(1).k;
        if (ka === 'scalar' && kb === 'scalar') return null;
        if (ka === 'str' && kb === 'str') {
          // byte equality (no normalisation); missing when either side is
          const [x, y] = [a(0), a(1)];
          const same = m.if(
            m.i32.eq(g(x.len!), g(y.len!)),
            m.call(this.textFn('bytesEqual'), [g(x.v), g(y.v), g(x.len!)], i32),
            m.i32.const(0),
          );
          return this.emit('bool', n.op === 'eq' ? same : m.i32.eqz(same), this.both(this.p(x), this.p(y)));
        }
        if (ka !== 'cat' || kb !== 'cat') return unsupported(`comparison of ${ka} with ${kb}`);
        // only a category against one of its labels (a constant index) has the reference's meaning
        if (mod.nodes[n.args[0]!]!.op !== 'const' && mod.nodes[n.args[1]!]!.op !== 'const')
          return unsupported('comparison of two categories');
        // lower.ts turns a label it cannot resolve (e.g. "1" against a bucketize) into the OOV index
        for (const k of [0, 1]) {
          const c = mod.nodes[n.args[k]!]!;
          const other = mod.nodes[n.args[1 - k]!]!.type;
          if (c.op === 'const' && other.k === 'cat' && (c.attrs.value as number) >= other.n)
            return unsupported('comparison of a category with a label outside its declared labels');
        }
        const r = m.i32[n.op](g(a(0).v), g(a(1).v));
        return this.emit('bool', r, this.both(this.p(a(0)), this.p(a(1))));
      }
      default:
        for (const k of n.args.keys()) {
          const at = argType(k);
          if (at.k !== 'scalar') return unsupported(`${n.op} of ${at.k}`);
        }
        return null;
    }
  }

  private get(l: number, s: S): Ref {
    return this.m.local.get(l, wasmType(s));
  }

  private p(v: Val): Ref | null {
    return v.p === null ? null : this.m.local.get(v.p, binaryen.i32);
  }

  /** AND of presence bits (null: always present). */
  private both(...ps: (Ref | null)[]): Ref | null {
    let acc: Ref | null = null;
    for (const p of ps) if (p !== null) acc = acc === null ? p : this.m.i32.and(acc, p);
    return acc;
  }

  private emit(s: S, value: Ref, presence: Ref | null): Val {
    const v = this.L.add(wasmType(s));
    this.out.push(this.m.local.set(v, value));
    let p: number | null = null;
    if (presence !== null) {
      p = this.L.add(binaryen.i32);
      this.out.push(this.m.local.set(p, presence));
    }
    return { v, p, s };
  }

  private constant(s: S, x: number): Ref {
    const m = this.m;
    return s === 'f32' ? m.f32.const(x) : s === 'f64' ? m.f64.const(x) : m.i32.const(x | 0);
  }

  node(
    n: ir.Node,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
    lane = false,
  ): Val {
    const m = this.m;
    if (n.op !== 'component' && n.op !== 'calibrate' && !lane) {
      const vec = this.vector(n, vals, mod, weightAddr);
      if (vec !== null) return vec;
      const special = this.nonScalar(n, vals, mod);
      if (special !== null) return special;
    }
    const unsupported = (what: string): never => {
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${what}`);
    };
    const a = (k: number): Val => vals[n.args[k]!]!;
    const x = (k: number): Ref => {
      const v = a(k);
      return this.get(v.v, v.s);
    };
    const s = n.op === 'component' ? 'f32' : scalarOf(n, n.op).s;
    const float = s === 'f32' || s === 'f64';
    const F = s === 'f32' ? m.f32 : m.f64;
    const allP = (): Ref | null => this.both(...n.args.map((_, k) => this.p(a(k))));
    switch (n.op) {
      case 'const': {
        if (typeof n.attrs.value !== 'number') return unsupported(`const of type ${typeof n.attrs.value}`);
        return this.emit(s, this.constant(s, n.attrs.value), null);
      }
      case 'require':
      case 'inrange':
        // checked in the row prologue: a rejected row never reaches the DAG
        return n.op === 'require' ? { ...a(0), p: null } : a(0);
      case 'default': {
        const v = a(0);
        if (typeof n.attrs.value !== 'number') return unsupported(`default of type ${typeof n.attrs.value}`);
        if (v.p === null) return v;
        return this.emit(s, m.select(this.p(v)!, x(0), this.constant(s, n.attrs.value)), null);
      }
      case 'is_missing': {
        const v = a(0);
        return this.emit('bool', v.p === null ? m.i32.const(0) : m.i32.eqz(this.p(v)!), null);
      }
      case 'coalesce': {
        const v = a(0);
        const w = a(1);
        if (v.p === null) return v;
        const pw = this.p(w);
        return this.emit(s, m.select(this.p(v)!, x(0), x(1)), pw === null ? null : m.i32.or(this.p(v)!, pw));
      }
      case 'cast': {
        const from = a(0).s;
        let r: Ref;
        if (from === s || (from === 'bool' && s === 'i32')) r = x(0);
        else if (s === 'f32' && (from === 'i32' || from === 'bool'))
          r = from === 'i32' ? m.f32.convert_s.i32(x(0)) : m.f32.convert_u.i32(x(0));
        else if (s === 'f64' && (from === 'i32' || from === 'bool'))
          r = from === 'i32' ? m.f64.convert_s.i32(x(0)) : m.f64.convert_u.i32(x(0));
        else if (s === 'f64' && from === 'f32') r = m.f64.promote(x(0));
        else if (s === 'f32' && from === 'f64') r = m.f32.demote(x(0));
        else return unsupported(`cast ${from} → ${s}`);
        return this.emit(s, r, allP());
      }
      case 'add':
      case 'sub':
      case 'mul': {
        if (s === 'bool') return unsupported(`${n.op} on bool`);
        const I = m.i32;
        const r =
          n.op === 'add'
            ? float
              ? F.add(x(0), x(1))
              : I.add(x(0), x(1))
            : n.op === 'sub'
              ? float
                ? F.sub(x(0), x(1))
                : I.sub(x(0), x(1))
              : float
                ? F.mul(x(0), x(1))
                : I.mul(x(0), x(1));
        return this.emit(s, r, allP());
      }
      case 'div':
        if (!float) return unsupported(`div on ${s}`);
        return this.emit(s, F.div(x(0), x(1)), allP());
      case 'neg':
        if (s === 'bool') return unsupported('neg on bool');
        return this.emit(s, float ? F.neg(x(0)) : m.i32.sub(m.i32.const(0), x(0)), allP());
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
      case 'eq':
      case 'ne': {
        const k = a(0).s;
        if (a(1).s !== k) return unsupported(`comparison of ${k} with ${a(1).s}`);
        const G = k === 'f32' ? m.f32 : k === 'f64' ? m.f64 : null;
        const op = n.op;
        let r: Ref;
        if (G !== null) r = G[op](x(0), x(1));
        else if (op === 'eq' || op === 'ne') r = m.i32[op](x(0), x(1));
        else if (k === 'bool') return unsupported(`${op} on bool`);
        else r = m.i32[`${op}_s`](x(0), x(1));
        return this.emit('bool', r, allP());
      }
      case 'and':
        return this.emit('bool', m.i32.and(x(0), x(1)), allP());
      case 'or':
        return this.emit('bool', m.i32.or(x(0), x(1)), allP());
      case 'not':
        return this.emit('bool', m.i32.eqz(x(0)), allP());
      case 'select': {
        // missing when the condition is, or when the branch taken is (docs/abi.md 5.3)
        const [c, t, e] = [a(0), a(1), a(2)];
        const taken =
          t.p === null && e.p === null
            ? null
            : m.select(x(0), this.p(t) ?? m.i32.const(1), this.p(e) ?? m.i32.const(1));
        return this.emit(s, m.select(x(0), x(1), x(2)), this.both(this.p(c), taken));
      }
      case 'min':
      case 'max': {
        if (float) return this.emit(s, n.op === 'min' ? F.min(x(0), x(1)) : F.max(x(0), x(1)), allP());
        if (s === 'bool') return unsupported(`${n.op} on bool`);
        const lt = m.i32.lt_s(x(0), x(1));
        return this.emit(s, n.op === 'min' ? m.select(lt, x(0), x(1)) : m.select(lt, x(1), x(0)), allP());
      }
      case 'abs':
        if (float) return this.emit(s, F.abs(x(0)), allP());
        if (s === 'bool') return unsupported('abs on bool');
        return this.emit(
          s,
          m.select(m.i32.lt_s(x(0), m.i32.const(0)), m.i32.sub(m.i32.const(0), x(0)), x(0)),
          allP(),
        );
      case 'floor':
        if (float) return this.emit(s, F.floor(x(0)), allP());
        if (s === 'bool') return unsupported('floor on bool');
        return { ...a(0) };
      case 'sqrt':
        if (!float) return unsupported(`sqrt on ${s}`);
        return this.emit(s, F.sqrt(x(0)), allP());
      case 'clip': {
        const lo = n.attrs.lo!;
        const hi = n.attrs.hi!;
        if (float) {
          const c = (v: number): Ref => F.const(s === 'f32' ? Math.fround(v) : v);
          return this.emit(s, F.min(F.max(x(0), c(lo)), c(hi)), allP());
        }
        if (s === 'bool') return unsupported('clip on bool');
        const l = m.i32.const(lo | 0);
        const h = m.i32.const(hi | 0);
        const t = this.emit(s, m.select(m.i32.lt_s(x(0), l), m.i32.const(lo | 0), x(0)), null);
        const tv = (): Ref => m.local.get(t.v, binaryen.i32);
        return this.emit(s, m.select(m.i32.gt_s(tv(), h), m.i32.const(hi | 0), tv()), allP());
      }
      case 'exp':
      case 'log':
      case 'log1p':
      case 'sigmoid':
      case 'tanh':
      case 'sin':
      case 'cos':
        if (!float) return unsupported(`${n.op} on ${s}`);
        return this.emit(s, m.call(this.kernelFn(n.op, s), [x(0)], wasmType(s)), allP());
      case 'pow':
        if (!float || a(1).s !== s) return unsupported(`pow on ${s}`);
        return this.emit(s, m.call(this.kernelFn('pow', s), [x(0), x(1)], wasmType(s)), allP());
      case 'standardize':
        return this.standardize(n, a(0), s, 1);
      case 'calibrate':
        return this.calibrate(n, a(0));
      case 'component':
        return this.component(n, vals, mod, weightAddr);
      default:
        return unsupported(n.op);
    }
  }

  /**
   * A global linear margin: s = intercept, then for each column j ascending with x_j ≠ 0,
   * s += w_j · x_j, in f64 (x_j widened exactly); rounded once to f32. Same order as the reference.
   */
  /**
   * Sorts a bucket list ascending (in place) and calls body once per distinct bucket with its count
   * (f64): the reference's column order (docs/abi.md 5.3). Lists of RADIX_FROM items or more are first
   * scattered by their top RADIX_BITS bits (a counting pass into the room after the list), so the
   * insertion sort that follows moves items only within a bin: on 20–50 random buckets the sort was
   * most of a row's time (unpredictable shift loops). Sorting is sorting: same order, same results.
   */
  private sortedRuns(v: Val, body: (bucket: Ref, count: Ref) => Ref[]): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const g = (l: number): Ref => m.local.get(l, i32);
    const [i, j, key, b, c] = [0, 0, 0, 0, 0].map(() => this.L.add(i32)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const at = (x: Ref): Ref => m.i32.add(g(v.v), m.i32.shl(x, m.i32.const(2)));
    const sortL = this.fresh('sort');
    const shiftL = this.fresh('shift');
    const runL = this.fresh('run');
    const cntL = this.fresh('count');
    return m.block(null, [
      ...(v.buckets === undefined ? [] : [this.radixPass(v, v.buckets)]),
      m.local.set(i, m.i32.const(1)),
      m.block(`${sortL}$done`, [
        m.loop(
          sortL,
          m.block(null, [
            m.br(`${sortL}$done`, m.i32.ge_s(g(i), g(v.len!))),
            m.local.set(key, m.i32.load(0, 4, at(g(i)))),
            m.local.set(j, m.i32.sub(g(i), m.i32.const(1))),
            m.block(`${shiftL}$done`, [
              m.loop(
                shiftL,
                m.block(null, [
                  m.br(`${shiftL}$done`, m.i32.lt_s(g(j), m.i32.const(0))),
                  m.br(`${shiftL}$done`, m.i32.le_u(m.i32.load(0, 4, at(g(j))), g(key))),
                  m.i32.store(4, 4, at(g(j)), m.i32.load(0, 4, at(g(j)))),
                  m.local.set(j, m.i32.sub(g(j), m.i32.const(1))),
                  m.br(shiftL),
                ]),
              ),
            ]),
            m.i32.store(4, 4, at(g(j)), g(key)),
            m.local.set(i, m.i32.add(g(i), m.i32.const(1))),
            m.br(sortL),
          ]),
        ),
      ]),
      m.local.set(i, m.i32.const(0)),
      m.block(`${runL}$done`, [
        m.loop(
          runL,
          m.block(null, [
            m.br(`${runL}$done`, m.i32.ge_s(g(i), g(v.len!))),
            m.local.set(b, m.i32.load(0, 4, at(g(i)))),
            m.local.set(c, m.i32.const(0)),
            m.block(`${cntL}$done`, [
              m.loop(
                cntL,
                m.block(null, [
                  m.br(`${cntL}$done`, m.i32.ge_s(g(i), g(v.len!))),
                  m.br(`${cntL}$done`, m.i32.ne(m.i32.load(0, 4, at(g(i))), g(b))),
                  m.local.set(c, m.i32.add(g(c), m.i32.const(1))),
                  m.local.set(i, m.i32.add(g(i), m.i32.const(1))),
                  m.br(cntL),
                ]),
              ),
            ]),
            ...body(g(b), m.f64.convert_u.i32(g(c))),
            m.br(runL),
          ]),
        ),
      ]),
    ]);
  }

  /**
   * sortedRuns' first pass on lists of RADIX_FROM items or more: a stable counting scatter by the
   * top RADIX_BITS bits of each bucket (< buckets) into list[len..2·len), copied back.
   */
  private radixPass(v: Val, buckets: number): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const g = (l: number): Ref => m.local.get(l, i32);
    const bits = Math.max(1, Math.ceil(Math.log2(Math.max(2, buckets))));
    const shift = Math.max(0, bits - RADIX_BITS);
    const bins = 1 << Math.min(bits, RADIX_BITS);
    if (this.radixHist < 0) this.radixHist = this.pool.reserve(4 * ((1 << RADIX_BITS) + 4));
    const hist = this.radixHist;
    const [k, x, bin, tmp, dst] = [0, 0, 0, 0, 0].map(() => this.L.add(i32)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const item = (list: Ref, idx: Ref): Ref => m.i32.add(list, m.i32.shl(idx, m.i32.const(2)));
    const slot = (b: Ref): Ref => m.i32.add(m.i32.const(hist), m.i32.shl(b, m.i32.const(2)));
    const lp = (name: string, n: Ref, bodyOf: Ref[]): Ref => {
      const l = this.fresh(name);
      return m.block(null, [
        m.local.set(k, m.i32.const(0)),
        m.block(`${l}$done`, [
          m.loop(
            l,
            m.block(null, [
              m.br(`${l}$done`, m.i32.ge_u(g(k), n)),
              ...bodyOf,
              m.local.set(k, m.i32.add(g(k), m.i32.const(1))),
              m.br(l),
            ]),
          ),
        ]),
      ]);
    };
    return m.if(
      m.i32.ge_u(g(v.len!), m.i32.const(RADIX_FROM)),
      m.block(null, [
        m.local.set(tmp, item(g(v.v), g(v.len!))),
        // hist[b + 1] = items in bin b; then hist[b] = where bin b starts
        lp('rzero', m.i32.const(bins + 1), [m.i32.store(0, 4, slot(g(k)), m.i32.const(0))]),
        lp('rcount', g(v.len!), [
          m.local.set(
            bin,
            m.i32.add(m.i32.shr_u(m.i32.load(0, 4, item(g(v.v), g(k))), m.i32.const(shift)), m.i32.const(1)),
          ),
          m.i32.store(0, 4, slot(g(bin)), m.i32.add(m.i32.load(0, 4, slot(g(bin))), m.i32.const(1))),
        ]),
        lp('rsum', m.i32.const(bins), [
          m.i32.store(
            4,
            4,
            slot(g(k)),
            m.i32.add(m.i32.load(4, 4, slot(g(k))), m.i32.load(0, 4, slot(g(k)))),
          ),
        ]),
        lp('rscatter', g(v.len!), [
          m.local.set(x, m.i32.load(0, 4, item(g(v.v), g(k)))),
          m.local.set(bin, m.i32.shr_u(g(x), m.i32.const(shift))),
          m.local.set(dst, m.i32.load(0, 4, slot(g(bin)))),
          m.i32.store(0, 4, slot(g(bin)), m.i32.add(g(dst), m.i32.const(1))),
          m.i32.store(0, 4, item(g(tmp), g(dst)), g(x)),
        ]),
        lp('rcopy', g(v.len!), [m.i32.store(0, 4, item(g(v.v), g(k)), m.i32.load(0, 4, item(g(tmp), g(k))))]),
      ]),
    );
  }

  private radixHist = -1;

  /** A component's margin(s): f32, or a vector of f32 with classes. */
  private component(
    n: ir.Node,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
  ): Val {
    const c = mod.components[n.attrs.component!]!;
    const coef = this.bundle.components.get(c.name)!;
    let margins: number[];
    const blocked = this.blockedTrees?.comps.get(c.name);
    if (blocked !== undefined && this.blockedTrees!.mode === 'gather') {
      if (coef.kind === 'mlp') this.gatherMlpRow(c, vals, mod, blocked);
      else this.gatherTreeCells(c, vals, mod, blocked);
      return NO_VALUE;
    }
    if (blocked !== undefined)
      margins = this.blockedMargins(c, blocked, coef.kind === 'mlp' && this.options.mlpPrecision === 'f32');
    else if (coef.kind === 'mlp') margins = this.mlp(c, coef, vals, mod);
    else if (coef.kind === 'gbdt') margins = this.gbdt(c, coef, vals, mod);
    else {
      margins = [];
      for (let q = 0; q < c.outputWidth; q++) margins.push(this.linear(c, q, vals, mod, weightAddr));
    }
    return n.type.k === 'vec' ? this.vec('f32', margins, null) : { v: margins[0]!, p: null, s: 'f32' };
  }

  /**
   * A linear margin of class q: s = intercept, then for each column j ascending with x_j ≠ 0,
   * s += w_j · x_j, in f64 (x_j widened exactly); rounded once to f32. Same order as the reference.
   */
  private linear(
    c: ir.IrComponent,
    q: number,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
  ): number {
    const m = this.m;
    const f64 = binaryen.f64;
    const block = this.blocks.get(c.name);
    // wAt(k, dyn): weight k of [intercept, w_0, ...] (+ dyn columns) of class q, widened to f64
    let wAt: (k: number, dyn: Ref | null) => Ref;
    let first: number;
    const body: Ref[] = [];
    if (block === undefined) {
      const w = weightAddr.get(c.name)!;
      const size = w.f32 ? 4 : 8;
      const classBase = w.addr + q * (1 + c.inputWidth) * size;
      wAt = (k, dyn) => {
        const addr = dyn === null ? m.i32.const(0) : m.i32.shl(dyn, m.i32.const(w.f32 ? 2 : 3));
        return w.f32
          ? m.f64.promote(m.f32.load(classBase + k * size, 4, addr))
          : m.f64.load(classBase + k * size, 8, addr);
      };
      // the bundle's intercept (0 without one) is stored first
      first = 1;
    } else {
      // per ENTITY: the row's block, per class [intercept?, w_0, ...] in the entity-block column (f64)
      const stride = (block.intercept ? 1 : 0) + c.inputWidth;
      const base = (): Ref => m.local.get(block.base, binaryen.i32);
      wAt = (k, dyn) =>
        m.f64.load(
          (q * stride + k) * 8,
          8,
          dyn === null ? base() : m.i32.add(base(), m.i32.shl(dyn, m.i32.const(3))),
        );
      first = block.intercept ? 1 : 0;
    }
    const acc = this.L.add(f64);
    const xv = this.L.add(f64);
    const A = (): Ref => m.local.get(acc, f64);
    this.out.push(m.local.set(acc, m.f64.const(0)));
    if (first === 1) body.push(m.local.set(acc, wAt(0, null)));
    const sorted = [...c.features].sort((p, r) => p.offset - r.offset);
    for (const f of sorted) {
      const v = vals[f.node]!;
      if (v.multi === true) {
        body.push(
          this.sortedRuns(v, (bucket, count) => [
            m.local.set(acc, m.f64.add(A(), m.f64.mul(wAt(first + f.offset, bucket), count))),
          ]),
        );
        continue;
      }
      if (mod.nodes[f.node]!.type.k === 'sparse') {
        // one active column (or none): s += w_j · 1
        const add = m.local.set(acc, m.f64.add(A(), wAt(first + f.offset, m.local.get(v.v, binaryen.i32))));
        body.push(v.p === null ? add : m.if(m.local.get(v.p, binaryen.i32), add));
        continue;
      }
      const direct = block === undefined ? this.directVector(f.node, mod) : null;
      if (direct !== null && direct.n >= DENSE_MIN) {
        const w = weightAddr.get(c.name)!;
        const size = w.f32 ? 4 : 8;
        body.push(
          ...this.denseDot(acc, direct, w.addr + (q * (1 + c.inputWidth) + first + f.offset) * size, w.f32),
        );
        continue;
      }
      (v.lanes ?? [v.v]).forEach((l, k) => {
        body.push(m.local.set(xv, this.laneF64({ ...v, lanes: undefined, v: l }, 0)));
        const X = (): Ref => m.local.get(xv, f64);
        body.push(
          m.if(
            m.f64.ne(X(), m.f64.const(0)),
            m.local.set(acc, m.f64.add(A(), m.f64.mul(wAt(first + f.offset + k, null), X()))),
          ),
        );
      });
    }
    // an unknown entity (null block) or a missing id contributes exactly 0
    if (block === undefined) this.out.push(...body);
    else this.out.push(m.if(m.local.get(block.present, binaryen.i32), m.block(null, body)));
    return this.emit('f32', m.f32.demote(A()), null).v;
  }

  /**
   * A vector feature read straight from its input column: the chain input → inrange/require/default.
   * Returns the row's element address (the default vector's when the input is missing), or null.
   */
  private directVector(id: number, mod: ir.Module): { ptr: Ref; elem: 'f32' | 'f64'; n: number } | null {
    const m = this.m;
    const i32 = binaryen.i32;
    let n = mod.nodes[id]!;
    let dflt: number | number[] | null = null;
    let required = false;
    while (n.op === 'require' || n.op === 'inrange' || n.op === 'default') {
      if (n.op === 'default') dflt = n.attrs.value as number | number[];
      if (n.op === 'require') required = true;
      n = mod.nodes[n.args[0]!]!;
    }
    if (n.op !== 'input' || n.type.k !== 'vec') return null;
    const i = n.attrs.input!;
    const t = n.type;
    const base = this.inputs.vecBase[i];
    if (base === undefined) return null;
    const row = m.local.get(base, i32);
    // present on every accepted row (a missing required input rejects the row first)
    if (!t.opt || required) return { ptr: row, elem: t.elem, n: t.n };
    if (dflt === null) return null;
    const xs = Array.isArray(dflt) ? dflt : Array<number>(t.n).fill(dflt);
    const addr = this.pool.add(
      new Uint8Array((t.elem === 'f32' ? new Float32Array(xs) : new Float64Array(xs)).buffer),
    );
    return {
      ptr: m.select(m.local.get(this.inputs.p[i]!, i32), row, m.i32.const(addr)),
      elem: t.elem,
      n: t.n,
    };
  }

  /**
   * acc += Σ_j w_j · x_j over a dense vector in memory, in a fixed order: 8 partial sums (lane j mod 8,
   * f64) over the first ⌊n/8⌋·8 elements, combined in lane order 0..7 and added to acc, then the
   * remaining elements one by one. The SIMD build holds the partial sums in four f64x2 registers
   * (x and w promoted from f32 when stored as f32); the scalar build in eight f64 locals: same bits.
   * Zeros are not skipped (w·0 adds ±0: the result can differ from the reference only in a −0).
   */
  /** Whether some linear component took the dense dot product (recorded in the manifest). */
  usedDense = false;

  /** MLP layers whose weights were stored as f32 (mlpWeights 'f32'; recorded in the manifest). */
  mlpF32Layers = 0;

  private denseDot(
    acc: number,
    x: { ptr: Ref; elem: 'f32' | 'f64'; n: number },
    wAddr: number,
    wF32: boolean,
  ): Ref[] {
    const m = this.m;
    const i32 = binaryen.i32;
    const f64 = binaryen.f64;
    const v128 = binaryen.v128;
    this.usedDense = true;
    const xp = this.L.add(i32);
    const wp = this.L.add(i32);
    const j = this.L.add(i32);
    const main = Math.floor(x.n / 8) * 8;
    const xs = x.elem === 'f32' ? 4 : 8;
    const ws = wF32 ? 4 : 8;
    const g = (l: number): Ref => m.local.get(l, i32);
    const out: Ref[] = [m.local.set(xp, x.ptr), m.local.set(wp, m.i32.const(wAddr))];
    const lp = this.fresh('dense');
    const step: Ref[] = [];
    const partial = this.L.add(f64);
    const combine: Ref[] = [m.local.set(partial, m.f64.const(0))];
    const zero = (): Ref => m.v128.const(new Array<number>(16).fill(0));
    if (this.options.simd) {
      const accs = [0, 1, 2, 3].map(() => this.L.add(v128));
      const tx = this.L.add(v128);
      const tw = this.L.add(v128);
      for (const a of accs) out.push(m.local.set(a, zero()));
      // element pair u (elements 2u, 2u+1 of the step) as f64x2; f32 data: two loads of 4, promoted
      const pair = (ptr: number, size: number, tmp: number, u: number): Ref => {
        if (size === 8) return m.v128.load(16 * u, 8, g(ptr));
        const t = m.local.get(tmp, v128);
        return u % 2 === 0
          ? m.f64x2.promote_low_f32x4(t)
          : m.f64x2.promote_low_f32x4(
              m.i8x16.shuffle(t, zero(), [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]),
            );
      };
      for (let u = 0; u < 4; u++) {
        if (u % 2 === 0) {
          if (xs === 4) step.push(m.local.set(tx, m.v128.load(8 * u, 4, g(xp))));
          if (ws === 4) step.push(m.local.set(tw, m.v128.load(8 * u, 4, g(wp))));
        }
        step.push(
          m.local.set(
            accs[u]!,
            m.f64x2.add(m.local.get(accs[u]!, v128), m.f64x2.mul(pair(xp, xs, tx, u), pair(wp, ws, tw, u))),
          ),
        );
      }
      const extract = m.f64x2.extract_lane as unknown as (v: Ref, i: number) => Ref;
      for (const a of accs)
        for (const lane of [0, 1])
          combine.push(
            m.local.set(partial, m.f64.add(m.local.get(partial, f64), extract(m.local.get(a, v128), lane))),
          );
    } else {
      const accs = Array.from({ length: 8 }, () => this.L.add(f64));
      for (const a of accs) out.push(m.local.set(a, m.f64.const(0)));
      const ld = (ptr: number, size: number, k: number): Ref =>
        size === 4 ? m.f64.promote(m.f32.load(4 * k, 4, g(ptr))) : m.f64.load(8 * k, 8, g(ptr));
      accs.forEach((a, k) =>
        step.push(m.local.set(a, m.f64.add(m.local.get(a, f64), m.f64.mul(ld(xp, xs, k), ld(wp, ws, k))))),
      );
      for (const a of accs)
        combine.push(m.local.set(partial, m.f64.add(m.local.get(partial, f64), m.local.get(a, f64))));
    }
    if (main > 0)
      out.push(
        m.local.set(j, m.i32.const(0)),
        m.block(`${lp}$done`, [
          m.loop(
            lp,
            m.block(null, [
              m.br(`${lp}$done`, m.i32.ge_u(g(j), m.i32.const(main))),
              ...step,
              m.local.set(xp, m.i32.add(g(xp), m.i32.const(8 * xs))),
              m.local.set(wp, m.i32.add(g(wp), m.i32.const(8 * ws))),
              m.local.set(j, m.i32.add(g(j), m.i32.const(8))),
              m.br(lp),
            ]),
          ),
        ]),
      );
    out.push(...combine, m.local.set(acc, m.f64.add(m.local.get(acc, f64), m.local.get(partial, f64))));
    for (let k = 0; k < x.n - main; k++) {
      const xv = xs === 4 ? m.f64.promote(m.f32.load(k * 4, 4, g(xp))) : m.f64.load(k * 8, 8, g(xp));
      const wv = ws === 4 ? m.f64.promote(m.f32.load(k * 4, 4, g(wp))) : m.f64.load(k * 8, 8, g(wp));
      out.push(m.local.set(acc, m.f64.add(m.local.get(acc, f64), m.f64.mul(xv, wv))));
    }
    return out;
  }

  /**
   * The dense f64 input row of an mlp (zeros, then every feature at its columns; sparse items add
   * their counts) in per-row scratch; returns the scratch address.
   */
  private denseInput(c: ir.IrComponent, vals: Val[], mod: ir.Module): number {
    const m = this.m;
    const i32 = binaryen.i32;
    const x = this.pool.reserve(8 * c.inputWidth);
    this.out.push(m.memory.fill(m.i32.const(x), m.i32.const(0), m.i32.const(8 * c.inputWidth)));
    const col = this.L.add(i32);
    // x[col] += 1 (col: a local, so the address expression is built twice from fresh nodes)
    const addOne = (at: Ref): Ref => {
      const addr = (): Ref => m.i32.add(m.i32.const(x), m.i32.shl(m.local.get(col, i32), m.i32.const(3)));
      return m.block(null, [
        m.local.set(col, at),
        m.f64.store(0, 8, addr(), m.f64.add(m.f64.load(0, 8, addr()), m.f64.const(1))),
      ]);
    };
    for (const f of c.features) {
      const v = vals[f.node]!;
      const t = mod.nodes[f.node]!.type;
      if (v.multi === true) {
        const j = this.L.add(i32);
        const lp = this.fresh('dense');
        this.out.push(
          m.local.set(j, m.i32.const(0)),
          m.block(`${lp}$done`, [
            m.loop(
              lp,
              m.block(null, [
                m.br(`${lp}$done`, m.i32.ge_s(m.local.get(j, i32), m.local.get(v.len!, i32))),
                addOne(
                  m.i32.add(
                    m.i32.const(f.offset),
                    m.i32.load(
                      0,
                      4,
                      m.i32.add(m.local.get(v.v, i32), m.i32.shl(m.local.get(j, i32), m.i32.const(2))),
                    ),
                  ),
                ),
                m.local.set(j, m.i32.add(m.local.get(j, i32), m.i32.const(1))),
                m.br(lp),
              ]),
            ),
          ]),
        );
        continue;
      }
      if (t.k === 'sparse') {
        const set = m.f64.store(
          0,
          8,
          m.i32.add(m.i32.const(x + 8 * f.offset), m.i32.shl(m.local.get(v.v, i32), m.i32.const(3))),
          m.f64.const(1),
        );
        this.out.push(v.p === null ? set : m.if(m.local.get(v.p, i32), set));
        continue;
      }
      (v.lanes ?? [v.v]).forEach((l, k) =>
        this.out.push(
          m.f64.store(
            8 * (f.offset + k),
            8,
            m.i32.const(x),
            this.laneF64({ ...v, lanes: undefined, v: l }, 0),
          ),
        ),
      );
    }
    return x;
  }

  /**
   * An MLP, layer by layer: z_o = b_o + Σ_i w_oi · h_i with i ascending (the reference's order),
   * activation between layers. Weights are stored input-major ([i][o], outputs padded) so that the
   * SIMD build computes a vector of outputs per register (f64x2: 2; f32x4 with mlpPrecision 'f32':
   * 4), `unroll` registers at a time (independent accumulators); every output keeps its own
   * sequential order, so SIMD and scalar builds agree bit for bit. In f64 (the default: the
   * reference's arithmetic) exactly-f32 weights may be stored as f32 (mlpWeights, promoted on load:
   * the same products). In f32 (inexact: the input row rounded to f32, every product and sum rounded
   * to f32, no fused multiply-add) the results are within f32 rounding of the reference's.
   */
  private mlp(
    c: ir.IrComponent,
    coef: Extract<ComponentCoefficients, { kind: 'mlp' }>,
    vals: Val[],
    mod: ir.Module,
  ): number[] {
    const m = this.m;
    const i32 = binaryen.i32;
    const v128 = binaryen.v128;
    const p32 = this.options.mlpPrecision === 'f32';
    const T = p32 ? binaryen.f32 : binaryen.f64;
    const es = p32 ? 4 : 8; // bytes per value of the rows and sums
    const sh = p32 ? 2 : 3;
    const lanes = 16 / es;
    const vec = p32 ? m.f32x4 : m.f64x2;
    const num = p32 ? m.f32 : m.f64;
    const simd = this.options.simd;
    const U = this.options.mlpUnroll;
    const group = lanes * U; // outputs per loop step
    const maxW = Math.max(c.inputWidth, ...coef.layers.map((l) => Math.ceil(l.outputs / group) * group));
    let hin: number;
    if (p32) {
      const inputRow = (hin = this.pool.reserve(4 * maxW));
      this.f32InputRow(c, vals, mod, () => m.i32.const(inputRow));
    } else hin = this.denseInput(c, vals, mod);
    const bufs = [this.pool.reserve(es * maxW), this.pool.reserve(es * maxW)];
    const g = (l: number): Ref => m.local.get(l, i32);
    const zero = (): Ref => m.v128.const(new Array<number>(16).fill(0));
    coef.layers.forEach((layer, li) => {
      const last = li === coef.layers.length - 1;
      const relu = !last && coef.activation === 'relu';
      const oPad = Math.ceil(layer.outputs / group) * group;
      // weights input-major [i][o] (ws bytes each: f32 in f32 MLPs, and in f64 ones when asked
      // for and exact), then the biases (es bytes each)
      const f32w =
        p32 || (this.options.mlpWeights === 'f32' && layer.weights.every((x) => Math.fround(x) === x));
      if (f32w && !p32) this.mlpF32Layers++;
      const ws = f32w ? 4 : 8;
      const wBytes = Math.ceil((layer.inputs * oPad * ws) / 16) * 16;
      const data = new Uint8Array(wBytes + oPad * es);
      const w = f32w
        ? new Float32Array(data.buffer, 0, layer.inputs * oPad)
        : new Float64Array(data.buffer, 0, layer.inputs * oPad);
      const bias = p32
        ? new Float32Array(data.buffer, wBytes, oPad)
        : new Float64Array(data.buffer, wBytes, oPad);
      for (let o = 0; o < layer.outputs; o++) {
        bias[o] = layer.bias[o]!;
        for (let i = 0; i < layer.inputs; i++) w[i * oPad + o] = layer.weights[o * layer.inputs + i]!;
      }
      const wAddr = this.pool.add(data);
      const bAddr = wAddr + wBytes;
      const hout = bufs[li % 2]!;
      const o = this.L.add(i32);
      const i = this.L.add(i32);
      const wp = this.L.add(i32);
      const step: Ref[] = [];
      const init: Ref[] = [];
      const fin: Ref[] = [];
      const hAt = (): Ref => num.load(0, es, m.i32.add(m.i32.const(hin), m.i32.shl(g(i), m.i32.const(sh))));
      const outAt = (): Ref => m.i32.shl(g(o), m.i32.const(sh));
      if (simd) {
        const hv = this.L.add(v128);
        const accs = Array.from({ length: U }, () => this.L.add(v128));
        // weight vector u of the step: f32 weights under f64 sums are promoted pairs
        const wv = (u: number): Ref =>
          f32w && !p32
            ? m.f64x2.promote_low_f32x4(m.v128.load64_zero(8 * u, 4, g(wp)))
            : m.v128.load(16 * u, ws, g(wp));
        accs.forEach((acc, u) => init.push(m.local.set(acc, m.v128.load(bAddr + 16 * u, es, outAt()))));
        step.push(m.local.set(hv, vec.splat(hAt())));
        accs.forEach((acc, u) =>
          step.push(m.local.set(acc, vec.add(m.local.get(acc, v128), vec.mul(wv(u), m.local.get(hv, v128))))),
        );
        accs.forEach((acc, u) => {
          const z = relu
            ? m.v128.bitselect(m.local.get(acc, v128), zero(), vec.gt(m.local.get(acc, v128), zero()))
            : m.local.get(acc, v128);
          fin.push(m.v128.store(hout + 16 * u, es, outAt(), z));
        });
      } else {
        const hs = this.L.add(T);
        const accs = Array.from({ length: group }, () => this.L.add(T));
        const wAt = (u: number): Ref =>
          p32
            ? m.f32.load(4 * u, 4, g(wp))
            : f32w
              ? m.f64.promote(m.f32.load(4 * u, 4, g(wp)))
              : m.f64.load(8 * u, 8, g(wp));
        accs.forEach((acc, u) => init.push(m.local.set(acc, num.load(bAddr + es * u, es, outAt()))));
        step.push(m.local.set(hs, hAt()));
        accs.forEach((acc, u) =>
          step.push(m.local.set(acc, num.add(m.local.get(acc, T), num.mul(wAt(u), m.local.get(hs, T))))),
        );
        accs.forEach((acc, u) => {
          const z = relu
            ? m.select(num.gt(m.local.get(acc, T), num.const(0)), m.local.get(acc, T), num.const(0))
            : m.local.get(acc, T);
          fin.push(num.store(hout + es * u, es, outAt(), z));
        });
      }
      this.out.push(
        this.layerLoop(o, i, wp, this.fresh('mlp_o'), this.fresh('mlp_i'), layer.inputs, oPad, group, {
          wStart: m.i32.add(m.i32.const(wAddr), m.i32.shl(g(o), m.i32.const(f32w ? 2 : 3))),
          wRowBytes: oPad * ws,
          init,
          step,
          fin,
        }),
      );
      if (!last && (coef.activation === 'tanh' || coef.activation === 'sigmoid'))
        this.out.push(this.activationLoop(hout, layer.outputs, coef.activation, p32 ? 'f32' : 'f64'));
      hin = hout;
    });
    return Array.from(
      { length: c.outputWidth },
      (_, q) =>
        this.emit(
          'f32',
          p32 ? m.f32.load(4 * q, 4, m.i32.const(hin)) : m.f32.demote(m.f64.load(8 * q, 8, m.i32.const(hin))),
          null,
        ).v,
    );
  }

  /**
   * One MLP layer's loops: output groups o = 0, group, … < oPad; per group `init`, then for each
   * input i ascending `step` (wp walks the weight rows from wStart, wRowBytes apart), then `fin`.
   */
  private layerLoop(
    o: number,
    i: number,
    wp: number,
    oLp: string,
    iLp: string,
    inputs: number,
    oPad: number,
    group: number,
    body: { wStart: Ref; wRowBytes: number; init: Ref[]; step: Ref[]; fin: Ref[] },
  ): Ref {
    const m = this.m;
    const g = (l: number): Ref => m.local.get(l, binaryen.i32);
    return m.block(null, [
      m.local.set(o, m.i32.const(0)),
      m.block(`${oLp}$done`, [
        m.loop(
          oLp,
          m.block(null, [
            m.br(`${oLp}$done`, m.i32.ge_u(g(o), m.i32.const(oPad))),
            ...body.init,
            m.local.set(i, m.i32.const(0)),
            m.local.set(wp, body.wStart),
            m.block(`${iLp}$done`, [
              m.loop(
                iLp,
                m.block(null, [
                  m.br(`${iLp}$done`, m.i32.ge_u(g(i), m.i32.const(inputs))),
                  ...body.step,
                  m.local.set(i, m.i32.add(g(i), m.i32.const(1))),
                  m.local.set(wp, m.i32.add(g(wp), m.i32.const(body.wRowBytes))),
                  m.br(iLp),
                ]),
              ),
            ]),
            ...body.fin,
            m.local.set(o, m.i32.add(g(o), m.i32.const(group))),
            m.br(oLp),
          ]),
        ),
      ]),
    ]);
  }

  /** tanh/sigmoid between MLP layers: the kernel called on each of the layer's outputs at hout (f32 or f64). */
  private activationLoop(
    hout: number,
    outputs: number,
    activation: 'tanh' | 'sigmoid',
    s: 'f32' | 'f64',
  ): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const size = s === 'f32' ? 4 : 8;
    const k = this.L.add(i32);
    const lp = this.fresh('mlp_act');
    const addr = (): Ref =>
      m.i32.add(m.i32.const(hout), m.i32.shl(m.local.get(k, i32), m.i32.const(size === 4 ? 2 : 3)));
    const load = (): Ref => (s === 'f32' ? m.f32.load(0, 4, addr()) : m.f64.load(0, 8, addr()));
    const call = m.call(this.kernelFn(activation, s), [load()], s === 'f32' ? binaryen.f32 : binaryen.f64);
    return m.block(null, [
      m.local.set(k, m.i32.const(0)),
      m.block(`${lp}$done`, [
        m.loop(
          lp,
          m.block(null, [
            m.br(`${lp}$done`, m.i32.ge_u(m.local.get(k, i32), m.i32.const(outputs))),
            s === 'f32' ? m.f32.store(0, 4, addr(), call) : m.f64.store(0, 8, addr(), call),
            m.local.set(k, m.i32.add(m.local.get(k, i32), m.i32.const(1))),
            m.br(lp),
          ]),
        ),
      ]),
    ]);
  }

  /** A tree ensemble: the input row (f64 values + missing flags) in scratch, base margins, then the trees. */
  private gbdt(
    c: ir.IrComponent,
    coef: Extract<ComponentCoefficients, { kind: 'gbdt' }>,
    vals: Val[],
    mod: ir.Module,
  ): number[] {
    const m = this.m;
    const i32 = binaryen.i32;
    const W = c.inputWidth;
    const x = this.pool.reserve(8 * W);
    const miss = this.pool.reserve(W);
    const out = this.pool.reserve(8 * c.outputWidth);
    this.out.push(m.memory.fill(m.i32.const(miss), m.i32.const(1), m.i32.const(W)));
    this.out.push(
      ...this.treeFeatureStores(
        c,
        vals,
        mod,
        () => m.i32.const(x),
        () => m.i32.const(miss),
      ),
    );
    coef.base.forEach((b, q) => this.out.push(m.f64.store(8 * q, 8, m.i32.const(out), m.f64.const(b))));
    const [lx, lm, lo] = [this.L.add(i32), this.L.add(i32), this.L.add(i32)];
    this.out.push(
      m.local.set(lx, m.i32.const(x)),
      m.local.set(lm, m.i32.const(miss)),
      m.local.set(lo, m.i32.const(out)),
    );
    const layout = this.options.treeLayout ?? defaultTreeLayout(coef);
    this.layouts.set(c.name, layout);
    const env: TreeEnv = {
      m,
      addLocal: (t) => this.L.add(t),
      addData: (bytes) => this.pool.add(bytes),
      fresh: (p) => this.fresh(p),
    };
    try {
      this.out.push(emitTrees(env, coef, layout, lx, lm, lo, { interleave: this.options.treeInterleave }));
    } catch (e) {
      if (e instanceof CompileError) throw e;
      throw new CompileError(
        'missingCoefficients',
        `the bundle's trees for component '${c.name}' cannot be compiled: ${(e as Error).message}`,
      );
    }
    return Array.from(
      { length: c.outputWidth },
      (_, q) => this.emit('f32', m.f32.demote(m.f64.load(8 * q, 8, m.i32.const(out))), null).v,
    );
  }

  /** Stores the present features of a gbdt row: f64 cells at x + 8 · column, missing flag 0 at miss + column. */
  private treeFeatureStores(
    c: ir.IrComponent,
    vals: Val[],
    mod: ir.Module,
    x: () => Ref,
    miss: () => Ref,
  ): Ref[] {
    const m = this.m;
    const i32 = binaryen.i32;
    const out: Ref[] = [];
    for (const f of c.features) {
      const v = vals[f.node]!;
      const t = mod.nodes[f.node]!.type;
      const stores: Ref[] = [];
      if (t.k === 'cat') {
        stores.push(m.f64.store(8 * f.offset, 8, x(), m.f64.convert_u.i32(m.local.get(v.v, i32))));
        stores.push(m.i32.store8(f.offset, 1, miss(), m.i32.const(0)));
      } else
        (v.lanes ?? [v.v]).forEach((l, k) => {
          stores.push(
            m.f64.store(8 * (f.offset + k), 8, x(), this.laneF64({ ...v, lanes: undefined, v: l }, 0)),
          );
          stores.push(m.i32.store8(f.offset + k, 1, miss(), m.i32.const(0)));
        });
      out.push(v.p === null ? m.block(null, stores) : m.if(m.local.get(v.p, i32), m.block(null, stores)));
    }
    return out;
  }

  /** Row-blocked gbdt, gather pass: the row's cells into its row of the block (flags preset to missing). */
  private gatherTreeCells(c: ir.IrComponent, vals: Val[], mod: ir.Module, sc: BlockScratch): void {
    const m = this.m;
    const i32 = binaryen.i32;
    const W = c.inputWidth;
    const [xr, mr] = [this.L.add(i32), this.L.add(i32)];
    const rel = (): Ref => m.local.get(this.blockedTrees!.rel, i32);
    this.out.push(
      m.local.set(xr, m.i32.add(m.i32.const(sc.x), m.i32.mul(rel(), m.i32.const(8 * W)))),
      m.local.set(mr, m.i32.add(m.i32.const(sc.miss), m.i32.mul(rel(), m.i32.const(W)))),
      ...this.treeFeatureStores(
        c,
        vals,
        mod,
        () => m.local.get(xr, i32),
        () => m.local.get(mr, i32),
      ),
    );
  }

  /** Row-blocked component, scoring pass: the row's margins, computed for the block (gbdt: f64, rounded to f32; f32 MLP: f32). */
  private blockedMargins(c: ir.IrComponent, sc: BlockScratch, f32: boolean): number[] {
    const m = this.m;
    const i32 = binaryen.i32;
    if (this.bundle.components.get(c.name)?.kind === 'gbdt') this.layouts.set(c.name, 'flat');
    const row = this.L.add(i32);
    this.out.push(
      m.local.set(
        row,
        m.i32.add(
          m.i32.const(sc.out),
          m.i32.mul(m.local.get(this.blockedTrees!.rel, i32), m.i32.const(sc.stride)),
        ),
      ),
    );
    return Array.from(
      { length: c.outputWidth },
      (_, q) =>
        this.emit(
          'f32',
          f32
            ? m.f32.load(4 * q, 4, m.local.get(row, i32))
            : m.f32.demote(m.f64.load(8 * q, 8, m.local.get(row, i32))),
          null,
        ).v,
    );
  }

  /**
   * Row-blocked MLP, gather pass: the row's dense input into its row of the block (f32 MLPs: rounded
   * to f32; f64 ones: the dense f64 row, as the row-at-a-time MLP reads it).
   */
  private gatherMlpRow(c: ir.IrComponent, vals: Val[], mod: ir.Module, sc: BlockScratch): void {
    const m = this.m;
    const i32 = binaryen.i32;
    const p32 = this.options.mlpPrecision === 'f32';
    const es = p32 ? 4 : 8;
    const xr = this.L.add(i32);
    this.out.push(
      m.local.set(
        xr,
        m.i32.add(
          m.i32.const(sc.x),
          m.i32.mul(m.local.get(this.blockedTrees!.rel, i32), m.i32.const(es * c.inputWidth)),
        ),
      ),
    );
    if (p32) this.f32InputRow(c, vals, mod, () => m.local.get(xr, i32));
    else {
      const x64 = this.denseInput(c, vals, mod);
      this.out.push(m.memory.copy(m.local.get(xr, i32), m.i32.const(x64), m.i32.const(8 * c.inputWidth)));
    }
  }

  /**
   * An f32 MLP's input row at dst: copied straight from the column when the MLP's one feature is an
   * f32 vector input (no f64 round trip: 4 · W bytes), else the dense f64 row rounded to f32.
   */
  private f32InputRow(c: ir.IrComponent, vals: Val[], mod: ir.Module, dst: () => Ref): void {
    const m = this.m;
    const f = c.features.length === 1 ? c.features[0]! : null;
    const direct = f !== null && f.width === c.inputWidth ? this.directVector(f.node, mod) : null;
    if (direct !== null && direct.elem === 'f32' && direct.n === c.inputWidth) {
      this.out.push(m.memory.copy(dst(), direct.ptr, m.i32.const(4 * c.inputWidth)));
      return;
    }
    const x64 = this.denseInput(c, vals, mod);
    for (let i = 0; i < c.inputWidth; i++)
      this.out.push(m.f32.store(4 * i, 4, dst(), m.f32.demote(m.f64.load(8 * i, 8, m.i32.const(x64)))));
  }

  /** Transform module, gbdt: the row's cells (f64) and validity bits at row · W + column. */
  treeCells(c: ir.IrComponent, vals: Val[], mod: ir.Module, cells: Ref, valid: Ref, row: Ref): Ref[] {
    const m = this.m;
    const i32 = binaryen.i32;
    const W = c.inputWidth;
    const [cl, vl, base] = [this.L.add(i32), this.L.add(i32), this.L.add(i32)];
    const out: Ref[] = [
      m.local.set(cl, cells),
      m.local.set(vl, valid),
      m.local.set(base, m.i32.mul(row, m.i32.const(W))),
    ];
    const g = (l: number): Ref => m.local.get(l, i32);
    const cell = (col: number, x: Ref): Ref[] => {
      const bit = (): Ref => m.i32.add(g(base), m.i32.const(col));
      const byte = (): Ref => m.i32.add(g(vl), m.i32.shr_u(bit(), m.i32.const(3)));
      return [
        m.f64.store(0, 8, m.i32.add(g(cl), m.i32.shl(bit(), m.i32.const(3))), x),
        m.i32.store8(
          0,
          1,
          byte(),
          m.i32.or(m.i32.load8_u(0, 1, byte()), m.i32.shl(m.i32.const(1), m.i32.and(bit(), m.i32.const(7)))),
        ),
      ];
    };
    for (const f of c.features) {
      const v = vals[f.node]!;
      const t = mod.nodes[f.node]!.type;
      const stores: Ref[] = [];
      if (t.k === 'cat') stores.push(...cell(f.offset, m.f64.convert_u.i32(m.local.get(v.v, i32))));
      else
        (v.lanes ?? [v.v]).forEach((l, k) =>
          stores.push(...cell(f.offset + k, this.laneF64({ ...v, lanes: undefined, v: l }, 0))),
        );
      out.push(v.p === null ? m.block(null, stores) : m.if(m.local.get(v.p, i32), m.block(null, stores)));
    }
    return out;
  }

  /** Transform module, linear/mlp: the row's (column, value) entries, ascending, zeros left out. */
  sparseRow(c: ir.IrComponent, vals: Val[], mod: ir.Module, append: (col: Ref, value: Ref) => Ref[]): Ref[] {
    const m = this.m;
    const i32 = binaryen.i32;
    const f64 = binaryen.f64;
    const out: Ref[] = [];
    const xv = this.L.add(f64);
    const sorted = [...c.features].sort((p, r) => p.offset - r.offset);
    for (const f of sorted) {
      const v = vals[f.node]!;
      const t = mod.nodes[f.node]!.type;
      if (v.multi === true) {
        out.push(
          this.sortedRuns(v, (bucket, count) => append(m.i32.add(m.i32.const(f.offset), bucket), count)),
        );
        continue;
      }
      if (t.k === 'sparse') {
        const add = m.block(
          null,
          append(m.i32.add(m.i32.const(f.offset), m.local.get(v.v, i32)), m.f64.const(1)),
        );
        out.push(v.p === null ? add : m.if(m.local.get(v.p, i32), add));
        continue;
      }
      (v.lanes ?? [v.v]).forEach((l, k) => {
        out.push(
          m.local.set(xv, this.laneF64({ ...v, lanes: undefined, v: l }, 0)),
          m.if(
            m.f64.ne(m.local.get(xv, f64), m.f64.const(0)),
            m.block(null, append(m.i32.const(f.offset + k), m.local.get(xv, f64))),
          ),
        );
      });
    }
    return out;
  }

  /** Tree layouts chosen, in component order (recorded in the manifest). */
  readonly layouts = new Map<string, TreeLayout>();

  /** platt: sigmoid(a·p + b); isotonic: the piecewise-linear map; in f64, rounded to f32. */
  private calibrate(n: ir.Node, pv: Val): Val {
    const m = this.m;
    const f64 = binaryen.f64;
    const key = n.attrs.key!;
    const c = this.bundle.calibrations.get(key);
    if (c === undefined)
      throw new CompileError('missingCoefficients', `the bundle has no calibration '${key}'`);
    const p = this.L.add(f64);
    this.out.push(m.local.set(p, this.laneF64(pv, 0)));
    const P = (): Ref => m.local.get(p, f64);
    if (c.kind === 'platt')
      return this.emit(
        'f32',
        m.f32.demote(
          m.call(
            this.kernelFn('sigmoid', 'f64'),
            [m.f64.add(m.f64.mul(m.f64.const(c.a), P()), m.f64.const(c.b))],
            f64,
          ),
        ),
        this.p(pv),
      );
    const k = c.x.length;
    const xs = this.pool.add(new Uint8Array(new Float64Array(c.x).buffer));
    const ys = this.pool.add(new Uint8Array(new Float64Array(c.y).buffer));
    const r = this.L.add(f64);
    const i = this.L.add(binaryen.i32);
    const gi = (): Ref => m.local.get(i, binaryen.i32);
    const at = (base: number, d: number): Ref => m.f64.load(base + 8 * d, 8, m.i32.shl(gi(), m.i32.const(3)));
    const lp = this.fresh('iso');
    this.out.push(
      m.if(
        m.f64.ne(P(), P()),
        m.local.set(r, P()),
        m.if(
          m.f64.le(P(), m.f64.const(c.x[0]!)),
          m.local.set(r, m.f64.const(c.y[0]!)),
          m.if(
            m.f64.ge(P(), m.f64.const(c.x[k - 1]!)),
            m.local.set(r, m.f64.const(c.y[k - 1]!)),
            m.block(null, [
              m.local.set(i, m.i32.const(0)),
              m.block(`${lp}$done`, [
                m.loop(
                  lp,
                  m.block(null, [
                    m.br(`${lp}$done`, m.f64.gt(at(xs, 1), P())),
                    m.local.set(i, m.i32.add(gi(), m.i32.const(1))),
                    m.br(lp),
                  ]),
                ),
              ]),
              m.local.set(
                r,
                m.f64.add(
                  at(ys, 0),
                  m.f64.div(
                    m.f64.mul(m.f64.sub(at(ys, 1), at(ys, 0)), m.f64.sub(P(), at(xs, 0))),
                    m.f64.sub(at(xs, 1), at(xs, 0)),
                  ),
                ),
              ),
            ]),
          ),
        ),
      ),
    );
    return this.emit('f32', m.f32.demote(m.local.get(r, f64)), this.p(pv));
  }
}
