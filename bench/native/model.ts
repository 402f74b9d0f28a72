// What the native C lower bound computes, and how it is read off a proml model: `NativeModel` (a
// dense logistic model, an MLP or a tree ensemble, each ending in sigmoid) from a CheckedModel + Bundle,
// and the row-major f32 input matrix those models read from proml rows.
// Input: CheckedModel, Bundle, rows. Output: NativeModel, its input columns, Float32Array rows.
// Only the shapes a C peer can take without proml's feature code: one output `sigmoid(component)`
// whose component reads inputs directly (f32 scalars and f32 vectors), one class, numeric splits.

import type { Bundle, ComponentCoefficients, Row } from '../../abi/index.js';
import type { ast, CheckedModel } from '../../compiler/index.js';

/**
 * How a dense logistic margin is summed (both in f64, x widened exactly from f32):
 * - `sequential`: intercept, then w_j·x_j for j ascending, zero inputs skipped (the reference's
 *   order, and proml's for narrow or several features);
 * - `lanes8`: proml's dense dot product (compiler/emit/scoring.ts `denseDot`): 8 partial sums (lane
 *   j mod 8) over the first ⌊n/8⌋·8 columns, combined in lane order and added to the intercept, then
 *   the remaining columns one by one. Same bits as the compiled module.
 */
export type DotOrder = 'sequential' | 'lanes8';

export type MlpActivation = 'relu' | 'tanh' | 'sigmoid' | 'linear';

export interface NativeMlpLayer {
  /** Row-major [outputs][inputs] (abi/bundle.ts MlpLayer). */
  weights: Float64Array;
  bias: Float64Array;
  inputs: number;
  outputs: number;
}

/**
 * A tree ensemble as flat node arrays (all trees concatenated; children are absolute indices).
 * Numeric splits only: `x < threshold` (f64) goes left; a missing value (the NaN NATIVE_MISSING in
 * the input matrix) goes left when `defaultLeft[i]` is 1; any other NaN is a present value and goes
 * right, as in proml (docs/abi.md 5.3). A leaf has `feature[i] = -1` and its value in `value[i]`.
 */
export interface NativeTrees {
  feature: Int32Array;
  threshold: Float64Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  /** Root node of each tree, in bundle order (the order leaf values are added). */
  roots: Int32Array;
}

/**
 * p = sigmoid(margin) per row, where the margin is computed in f64, rounded once to f32 (proml's
 * component type) and the sigmoid is computed in f64 from that f32 and rounded to f32 (proml's f32
 * output). `features` is the width of a row of the input matrix.
 */
export type NativeModel =
  | {
      kind: 'logistic-dense';
      /** Float32Array: stored as float in C (proml stores f32 when every coefficient is an exact f32). */
      weights: Float64Array | Float32Array;
      intercept: number;
      order: DotOrder;
    }
  | {
      kind: 'mlp';
      /** Input → hidden… → 1 output; `activation` after every layer but the last (none there). */
      layers: NativeMlpLayer[];
      activation: MlpActivation;
    }
  | { kind: 'trees'; trees: NativeTrees; features: number; baseScore: number };

/**
 * The bits of the f32 that marks a missing value in the input matrix: a quiet NaN with payload 1,
 * so a present NaN (the canonical 0x7fc00000 JavaScript writes) stays distinguishable from missing.
 */
export const NATIVE_MISSING = 0x7fc00001;

/** Columns of the input matrix a NativeModel reads: each input's first column and width. */
export interface NativeColumns {
  features: number;
  /** `fill`: the input's `default` (proml uses it for a missing value), else null (NATIVE_MISSING). */
  inputs: { name: string; offset: number; width: number; fill: number | number[] | null }[];
}

export class NativeUnsupported extends Error {
  constructor(message: string) {
    super(`native bound: ${message}`);
    this.name = 'NativeUnsupported';
  }
}

/** Input width of a NativeModel (the C program's row stride). */
export function nativeFeatures(model: NativeModel): number {
  switch (model.kind) {
    case 'logistic-dense':
      return model.weights.length;
    case 'mlp':
      return model.layers[0]!.inputs;
    case 'trees':
      return model.features;
  }
}

function unparen(e: ast.Expr): ast.Expr {
  return e.kind === 'paren' ? unparen(e.inner) : e;
}

/**
 * The NativeModel of `output` (default: the model's only output), which must be
 * `sigmoid(COMPONENT)` with COMPONENT a one-class linear, mlp or gbdt whose features are f32 inputs
 * named directly (scalars or vectors; a gbdt's may be optional: NATIVE_MISSING in the matrix).
 * Throws NativeUnsupported for anything else.
 */
export function nativeFromBundle(
  checked: CheckedModel,
  bundle: Bundle,
  output?: string,
): { model: NativeModel; columns: NativeColumns } {
  const out =
    output === undefined
      ? checked.outputs.length === 1
        ? checked.outputs[0]
        : undefined
      : checked.outputs.find((o) => o.name === output);
  if (out === undefined)
    throw new NativeUnsupported(
      output === undefined ? 'the model has several outputs: name one' : `no output '${output}'`,
    );
  const e = unparen(out.expr);
  const arg =
    e.kind === 'call' && e.callee.name === 'sigmoid' && e.args.length === 1
      ? unparen(e.args[0]!.value)
      : null;
  const sym = arg?.kind === 'name' ? checked.symbols.get(arg) : undefined;
  if (sym?.kind !== 'component')
    throw new NativeUnsupported(`output '${out.name}' is not sigmoid(component)`);
  const c = sym.component;
  if (c.per !== null || c.options.classes !== null)
    throw new NativeUnsupported(`component '${c.name}' has classes or a random effect`);
  const inputs: NativeColumns['inputs'] = [];
  for (const f of c.features) {
    const fe = unparen(f.expr);
    const s = fe.kind === 'name' ? checked.symbols.get(fe) : undefined;
    const t = f.type;
    const f32 = (t.kind === 'num' && t.num === 'f32') || (t.kind === 'vector' && t.elem === 'f32');
    if (s?.kind !== 'input' || !f32)
      throw new NativeUnsupported(`feature '${f.text}' of '${c.name}' is not an f32 input read directly`);
    const d = s.input.default;
    const fill = d?.kind === 'number' ? d.value : d?.kind === 'vector' ? d.values : null;
    inputs.push({ name: s.input.name, offset: f.offset, width: f.width, fill });
  }
  const columns: NativeColumns = { features: c.inputWidth, inputs };
  const coef = bundle.components.get(c.name);
  if (coef === undefined) throw new NativeUnsupported(`the bundle has no component '${c.name}'`);
  return { model: fromCoefficients(coef, c.features.length === 1 && c.inputWidth >= 8), columns };
}

/** DENSE_MIN in compiler/emit/scoring.ts: a vector this wide takes proml's 8-lane dot product. */
const DENSE_MIN = 8;

function fromCoefficients(coef: ComponentCoefficients, oneVector: boolean): NativeModel {
  switch (coef.kind) {
    case 'linear': {
      const exactF32 = (xs: ArrayLike<number>): boolean =>
        Array.prototype.every.call(xs, (x: number) => Object.is(Math.fround(x), x) || Number.isNaN(x));
      const f32 = exactF32(coef.intercepts) && exactF32(coef.weights);
      return {
        kind: 'logistic-dense',
        weights: f32 ? Float32Array.from(coef.weights) : Float64Array.from(coef.weights),
        intercept: coef.intercepts[0]!,
        order: oneVector && coef.inputWidth >= DENSE_MIN ? 'lanes8' : 'sequential',
      };
    }
    case 'mlp':
      return {
        kind: 'mlp',
        activation: coef.activation,
        layers: coef.layers.map((l) => ({
          weights: l.weights,
          bias: l.bias,
          inputs: l.inputs,
          outputs: l.outputs,
        })),
      };
    case 'gbdt':
      return {
        kind: 'trees',
        trees: flattenTrees(coef),
        features: coef.inputWidth,
        baseScore: coef.base[0]!,
      };
    case 'random_effect':
      throw new NativeUnsupported('random effects have no native form');
  }
}

function flattenTrees(coef: Extract<ComponentCoefficients, { kind: 'gbdt' }>): NativeTrees {
  const total = coef.trees.reduce((n, t) => n + t.nodes.length, 0);
  const t: NativeTrees = {
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    defaultLeft: new Uint8Array(total),
    left: new Int32Array(total),
    right: new Int32Array(total),
    value: new Float64Array(total),
    roots: new Int32Array(coef.trees.length),
  };
  let at = 0;
  coef.trees.forEach((tree, k) => {
    t.roots[k] = at;
    tree.nodes.forEach((n, i) => {
      const g = at + i;
      if (n.split === 'categorical')
        throw new NativeUnsupported('categorical splits have no native form (numeric splits only)');
      if (n.split === 'leaf') {
        t.feature[g] = -1;
        t.value[g] = n.value;
        return;
      }
      t.feature[g] = n.feature;
      t.threshold[g] = n.threshold;
      t.defaultLeft[g] = n.defaultLeft ? 1 : 0;
      t.left[g] = at + n.left;
      t.right[g] = at + n.right;
    });
    at += tree.nodes.length;
  });
  return t;
}

/**
 * The input matrix (rows × columns.features, row-major f32) of proml rows: each input's value at
 * its columns; a missing value (null/absent) is the input's default, or NATIVE_MISSING without one.
 * Numbers are rounded to f32 as proml reads them.
 */
export function nativeRows(columns: NativeColumns, rows: Row[]): Float32Array {
  const w = columns.features;
  const x = new Float32Array(rows.length * w);
  new Uint32Array(x.buffer).fill(NATIVE_MISSING);
  rows.forEach((row, r) => {
    for (const c of columns.inputs) {
      const v = row[c.name] ?? c.fill;
      if (typeof v === 'number') x[r * w + c.offset] = v;
      else if (Array.isArray(v)) (v as number[]).forEach((e, k) => (x[r * w + c.offset + k] = e));
      else if (typeof v === 'boolean') x[r * w + c.offset] = v ? 1 : 0;
    }
  });
  return x;
}
