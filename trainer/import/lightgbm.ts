// LightGBM's text model format (Booster.save_model('m.txt'), LightGBM v2–v4) → ImportedModel.
// Input: the text of the model file. Output: an ImportedModel (trainer/import/common.ts): f64 inputs
// (LightGBM tests `x <= threshold` on doubles, which is proml's `x < next_after(threshold)` on
// doubles), leaf values as written (shrinkage already applied), no base margin (LightGBM folds the
// initial score into the first trees), the objective's link.
// Missing values follow LightGBM's NumericalDecision for each split's missing type (decision_type
// bits 2–3): NaN → a missing value takes the default direction (bit 1); None → a missing value is
// read as 0.0 and compared; Zero → a missing value and every |x| ≤ 1e-35f take the default
// direction (the split becomes a short chain of proml splits around the zero band, sharing the two
// subtrees). Categorical splits, linear trees and random-forest averaging are errors (PML52xx).

import type { GbdtNode, GbdtTree } from '../../abi/bundle.js';
import { gbdtLeaf } from '../../abi/bundle.js';
import {
  ImportError,
  modelNameFromPath,
  type ImportedModel,
  type ImportOptions,
  type Link,
} from './common.js';

/** LightGBM's kZeroThreshold (1e-35f), as the double it is promoted to in IsZero. */
const ZERO = Math.fround(1e-35);

/** The smallest double greater than x (x finite or −∞). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

interface Section {
  values: Map<string, string>;
  flags: Set<string>;
}

function parseSection(lines: string[]): Section {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (const line of lines) {
    const t = line.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (eq < 0) flags.add(t);
    else values.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return { values, flags };
}

/** Objective name → link (the first word of `objective=`). */
const LINKS: Record<string, Link> = {
  binary: 'sigmoid',
  cross_entropy: 'sigmoid',
  xentropy: 'sigmoid',
  regression: 'identity',
  regression_l1: 'identity',
  huber: 'identity',
  fair: 'identity',
  quantile: 'identity',
  mape: 'identity',
  lambdarank: 'identity',
  rank_xendcg: 'identity',
  custom: 'identity',
  poisson: 'exp',
  gamma: 'exp',
  tweedie: 'exp',
  multiclass: 'softmax',
  multiclassova: 'sigmoid',
};

/** Parses a LightGBM text model. `path` names the file (default model name, messages). */
export function importLightgbm(text: string, path: string, options: ImportOptions = {}): ImportedModel {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== 'tree')
    throw new ImportError(
      'notAModel',
      `${path} is not a LightGBM text model (its first line is not 'tree')`,
      'give the file written by booster.save_model("model.txt")',
    );
  const treeStarts: number[] = [];
  let end = lines.length;
  lines.forEach((l, i) => {
    if (l.startsWith('Tree=')) treeStarts.push(i);
    if (l.trim() === 'end of trees' && end === lines.length) end = i;
  });
  const header = parseSection(lines.slice(1, treeStarts[0] ?? end));
  const h = (key: string): string => {
    const v = header.values.get(key);
    if (v === undefined) throw new ImportError('notAModel', `${path}: the header has no '${key}='`);
    return v;
  };
  const int = (s: string, what: string): number => {
    const v = Number(s);
    if (!Number.isInteger(v) || s.trim() === '')
      throw new ImportError('notAModel', `${path}: ${what} '${s}' is not an integer`);
    return v;
  };
  const version = header.values.get('version') ?? 'unknown version';
  const source = `lightgbm ${version}`;
  const numClass = int(h('num_class'), 'num_class');
  const perIteration = int(
    header.values.get('num_tree_per_iteration') ?? String(numClass),
    'num_tree_per_iteration',
  );
  const numFeature = int(h('max_feature_idx'), 'max_feature_idx') + 1;
  const objective = h('objective').trim();
  const words = objective.split(/\s+/);
  const link = LINKS[words[0]!];
  if (link === undefined)
    throw new ImportError(
      'objective',
      `objective '${objective}' is not supported`,
      `supported: ${Object.keys(LINKS).join(', ')}`,
    );
  if (words.includes('sqrt'))
    throw new ImportError('objective', `objective '${objective}' (sqrt-transformed label) is not supported`);
  let scale = 1;
  for (const w of words.slice(1)) {
    const m = /^sigmoid:(.+)$/.exec(w);
    if (m !== null) scale = Number(m[1]);
  }
  if (!(Number.isFinite(scale) && scale > 0))
    throw new ImportError('notAModel', `${path}: bad sigmoid parameter in '${objective}'`);
  if (header.flags.has('average_output'))
    throw new ImportError('unsupported', 'random-forest models (average_output) are not supported');
  const classes = perIteration;
  if (link === 'softmax' ? classes < 2 : words[0] !== 'multiclassova' && classes !== 1)
    throw new ImportError(
      'notAModel',
      `${path}: objective '${objective}' with ${classes} trees per iteration`,
    );
  const featureNames = (header.values.get('feature_names') ?? '').split(' ').filter((s) => s !== '');
  const names =
    featureNames.length === numFeature
      ? featureNames
      : Array.from({ length: numFeature }, (_, j) => `Column_${j}`);

  const trees: GbdtTree[] = treeStarts.map((start, ti) => {
    const stop = ti + 1 < treeStarts.length ? treeStarts[ti + 1]! : end;
    const where = `Tree=${ti}`;
    const s = parseSection(lines.slice(start + 1, stop));
    const get = (key: string): string => {
      const v = s.values.get(key);
      if (v === undefined) throw new ImportError('notAModel', `${path}: ${where} has no '${key}='`);
      return v;
    };
    const list = (key: string, n: number): number[] => {
      const xs = get(key)
        .trim()
        .split(/\s+/)
        .filter((x) => x !== '')
        .map(Number);
      if (xs.length !== n || xs.some((x) => Number.isNaN(x)))
        throw new ImportError('notAModel', `${path}: ${where}: '${key}' is not ${n} numbers`);
      return xs;
    };
    if ((s.values.get('is_linear') ?? '0') !== '0')
      throw new ImportError('unsupported', `${where}: linear trees (linear_tree) are not supported`);
    if ((s.values.get('num_cat') ?? '0') !== '0')
      throw new ImportError(
        'categorical',
        `${where}: categorical splits are not supported for LightGBM models`,
        'retrain with the categories one-hot or integer-coded as numeric features',
      );
    const leaves = int(get('num_leaves'), `${where} num_leaves`);
    if (leaves < 1) throw new ImportError('notAModel', `${path}: ${where}: num_leaves ${leaves}`);
    const leafValue = list('leaf_value', leaves);
    if (!leafValue.every(Number.isFinite))
      throw new ImportError('notAModel', `${path}: ${where}: a leaf value is not finite`);
    const cls = ti % classes;
    if (leaves === 1) return { class: cls, nodes: [leaf(leafValue[0]!)] };
    const k = leaves - 1;
    const feature = list('split_feature', k);
    const threshold = list('threshold', k);
    const decision = list('decision_type', k);
    const left = list('left_child', k);
    const right = list('right_child', k);
    const nodes: GbdtNode[] = [];
    const seen = new Set<number>();
    /** Appends the subtree of internal node i (or leaf ~i when negative); returns its index. */
    const build = (ref: number): number => {
      if (ref < 0) {
        const l = ~ref;
        if (l >= leaves) throw new ImportError('notAModel', `${path}: ${where}: leaf ${l} out of range`);
        nodes.push(leaf(leafValue[l]!));
        return nodes.length - 1;
      }
      if (ref >= k || seen.has(ref))
        throw new ImportError(
          'notAModel',
          `${path}: ${where}: node ${ref} is ${ref >= k ? 'out of range' : 'reached twice'}`,
        );
      seen.add(ref);
      const j = feature[ref]!;
      if (!(Number.isInteger(j) && j >= 0 && j < numFeature))
        throw new ImportError('notAModel', `${path}: ${where}: node ${ref} tests feature ${j}`);
      const dt = decision[ref]!;
      if ((dt & 1) !== 0)
        throw new ImportError(
          'categorical',
          `${where}: categorical splits are not supported for LightGBM models`,
        );
      const defaultLeft = (dt & 2) !== 0;
      const missingType = (dt >> 2) & 3;
      const t = threshold[ref]!;
      const cut = nextUp(t); // x <= t  ⇔  x < nextUp(t) for doubles
      // regions between cuts, each going left (true) or right (false)
      let cuts: number[];
      let dirs: boolean[];
      let missingLeft: boolean;
      if (missingType === 1) {
        // Zero: values in [-ZERO, ZERO] (and missing) go the default way
        const points = [...new Set([-ZERO, nextUp(ZERO), cut])].sort((a, b) => a - b);
        const bounds = [-Infinity, ...points, Infinity];
        cuts = [];
        dirs = [];
        for (let r = 0; r + 1 < bounds.length; r++) {
          const lo = bounds[r]!;
          const hi = bounds[r + 1]!;
          const inBand = lo >= -ZERO && hi <= nextUp(ZERO);
          const dir = inBand ? defaultLeft : hi <= cut;
          if (dirs.length > 0 && dirs[dirs.length - 1] === dir) continue;
          if (dirs.length > 0) cuts.push(lo);
          dirs.push(dir);
        }
        missingLeft = defaultLeft;
      } else {
        cuts = [cut];
        dirs = [true, false];
        // NaN: the default direction; None: a missing value is read as 0.0
        missingLeft = missingType === 2 ? defaultLeft : 0 <= t;
      }
      if (cuts.length === 0) {
        // every value goes one way: a split whose both sides reach the same subtree is not needed
        return build(dirs[0]! ? left[ref]! : right[ref]!);
      }
      const chain = cuts.map(() => {
        nodes.push(leaf(0));
        return nodes.length - 1;
      });
      const l = build(left[ref]!);
      const r = build(right[ref]!);
      const target = (dir: boolean): number => (dir ? l : r);
      const missingTarget = missingLeft ? l : r;
      chain.forEach((at, c) => {
        const next = c + 1 < chain.length ? chain[c + 1]! : target(dirs[c + 1]!);
        const here = target(dirs[c]!);
        nodes[at] = {
          split: 'numeric',
          feature: j,
          threshold: cuts[c]!,
          categories: [],
          // missing: stop here when this region's subtree is the missing one, else walk on
          defaultLeft: here === missingTarget,
          left: here,
          right: next,
          value: 0,
        };
      });
      return chain[0]!;
    };
    build(0);
    return { class: cls, nodes };
  });
  if (trees.length === 0) throw new ImportError('notAModel', `${path}: no trees`);
  if (trees.length % classes !== 0)
    throw new ImportError(
      'notAModel',
      `${path}: ${trees.length} trees is not a multiple of ${classes} classes`,
    );
  return {
    source,
    objective,
    name: options.name ?? modelNameFromPath(path),
    features: names.map((n) => ({ source: n, kind: 'numeric' })),
    inputType: 'f64',
    classes,
    link,
    ...(scale !== 1 ? { scale } : {}),
    trees,
    base: new Array<number>(classes).fill(0),
    notes: [
      'inputs are f64: `x <= threshold` is stored as `x < next_after(threshold)` (exact for doubles)',
      'missing values follow each split’s missing type (NaN: default direction; None: read as 0; Zero: |x| ≤ 1e-35 and missing take the default direction)',
    ],
    float32: false,
  };
}

const leaf = gbdtLeaf;
