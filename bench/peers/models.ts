// The peer benchmark's models, each built once and handed to every engine: the DSL source (inline),
// a seeded coefficient bundle, a pool of rows (proml / reference: Row objects) and the same rows as
// the row-major tensors the other engines take (computed here, outside any timed region).
// Input: a size profile (full or quick). Output: PeerModel[] (source, checked model, bundle, rows,
// tensors, ONNX bytes). Coefficients and inputs are f32-representable, so f32 engines see exactly
// the numbers proml sees; nothing is missing and no row is rejected (peers have no missing-value rule).

import type { Bundle, GbdtNode, GbdtTree, MlpLayer, Row } from '../../abi/index.js';
import { gbdtLeaf } from '../../abi/index.js';
import { checkBundle, checkSource, type CheckedModel } from '../../compiler/index.js';
import { ReferenceEvaluator, Rng } from '../../compiler/reference/index.js';
import * as onnx from './onnx.js';

export type ModelKind = 'logistic' | 'sparse' | 'game' | 'trees' | 'mlp';

/** One input tensor, row-major, `rowWidth` elements per row (a batch of n rows is a prefix). */
export interface PeerTensor {
  name: string;
  type: 'float32' | 'int32' | 'int64';
  data: Float32Array | Int32Array | BigInt64Array;
  /** Dims after the batch dimension ([] for a rank-1 input). */
  inner: number[];
}

export interface PeerModel {
  name: string;
  kind: ModelKind;
  describe: string;
  source: string;
  checked: CheckedModel;
  bundle: Bundle;
  /** The output every engine returns (a probability per row). */
  output: string;
  /** The row pool; a batch of n rows is rows.slice(0, n). */
  rows: Row[];
  /** The same rows for ONNX / tfjs / native engines. */
  tensors: PeerTensor[];
  /** The ONNX model (ai.onnx opset 17, ai.onnx.ml opset 3); single output `p`. */
  onnx: Uint8Array;
  /** What the non-proml engines get that proml computes itself (stated in RESULTS.md). */
  notes: string[];
}

export interface Profile {
  quick: boolean;
  /** Rows in each model's pool (the largest batch). */
  poolRows: number;
}

const HEADER = `  version "1"\n  owner "bench"\n  purpose "benchmark"\n`;

function check(name: string, source: string): CheckedModel {
  const r = checkSource(`${name}.pml`, source);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  if (r.checked === null || errors.length > 0)
    throw new Error(`${name}: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  return r.checked;
}

function newBundle(model: CheckedModel, seed: number): Bundle {
  return {
    model: { name: model.name, version: model.meta.version ?? '' },
    sourceSha256: '',
    producer: `proml bench/peers (seed ${seed})`,
    notes: ['random coefficients for the peer benchmark; not a trained model'],
    components: new Map(),
    transforms: new Map(),
    calibrations: new Map(),
  };
}

function finish(m: Omit<PeerModel, 'checked' | 'onnx'> & { onnxOf: (b: Bundle) => Uint8Array }): PeerModel {
  const checked = check(m.name, m.source);
  const issues = checkBundle(checked, m.bundle).filter((i) => i.severity === 'error');
  if (issues.length > 0)
    throw new Error(`${m.name}: bundle: ${issues.map((i) => `${i.code} ${i.message}`).join('; ')}`);
  const { onnxOf, ...rest } = m;
  return { ...rest, checked, onnx: onnxOf(m.bundle) };
}

/** n·d f32 normal draws (f32-exact numbers) and the same as Row arrays. */
function denseRows(rng: Rng, n: number, d: number, scale = 1): { data: Float32Array; arrays: number[][] } {
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
  const arrays = Array.from({ length: n }, (_, r) => Array.from(data.subarray(r * d, (r + 1) * d)));
  return { data, arrays };
}

function f32s(n: number, f: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(f()));
}

// ---- 1. logistic regression over 1,000 dense features ----

export function logistic(p: Profile): PeerModel {
  const name = 'logistic_1000';
  const d = 1000;
  const source = `model ${name} {\n${HEADER}  input x : vector<f32, ${d}> required\n  component lin = linear(x)\n  output p = sigmoid(lin)\n}\n`;
  const rng = new Rng(11, name);
  const pre = check(name, source);
  const bundle = newBundle(pre, 11);
  bundle.components.set('lin', {
    kind: 'linear',
    classes: 1,
    inputWidth: d,
    intercept: true,
    hyperparameters: {},
    weights: f32s(d, () => (rng.normal() * 1.5) / Math.sqrt(d)),
    intercepts: f32s(1, () => rng.normal() * 0.1),
  });
  const x = denseRows(rng, p.poolRows, d);
  return finish({
    name,
    kind: 'logistic',
    describe: `linear over vector<f32, ${d}> (required), sigmoid`,
    source,
    bundle,
    output: 'p',
    rows: x.arrays.map((v) => ({ x: v })),
    tensors: [{ name: 'x', type: 'float32', data: x.data, inner: [d] }],
    notes: [],
    onnxOf: (b) => onnx.logistic(b, d),
  });
}

// ---- 2. sparse hashed logistic: a bag of string tokens hashed into 2^18 buckets ----

export const SPARSE_BUCKETS = 262_144;

export function sparse(p: Profile): PeerModel {
  const name = 'sparse_hashed';
  const source = `model ${name} {\n${HEADER}  input tokens : bag<string>\n  component lin = linear(hash(tokens, 262_144))\n  output p = sigmoid(lin)\n}\n`;
  const rng = new Rng(12, name);
  const pre = check(name, source);
  const bundle = newBundle(pre, 12);
  bundle.components.set('lin', {
    kind: 'linear',
    classes: 1,
    inputWidth: SPARSE_BUCKETS,
    intercept: true,
    hyperparameters: {},
    weights: f32s(SPARSE_BUCKETS, () => rng.normal() * 0.3),
    intercepts: f32s(1, () => rng.normal() * 0.1),
  });
  // 20–50 tokens per row from a 10^6-word vocabulary, skewed towards frequent words (repeats happen)
  const rows: Row[] = Array.from({ length: p.poolRows }, () =>
    Array.from({ length: rng.int(20, 50) }, () => `w${Math.floor(1e6 * rng.next() ** 3)}`),
  ).map((tokens) => ({ tokens }));
  // the hashed (bucket, count) pairs, from the reference evaluator: the very columns proml's module computes
  const probe = new ReferenceEvaluator(pre, bundle);
  const pairs = rows.map((r) => probe.componentInput(r, 'lin') as [number, number][]);
  const k = Math.max(...pairs.map((x) => x.length));
  const idx = new Int32Array(rows.length * k);
  const val = new Float32Array(rows.length * k);
  pairs.forEach((xs, r) =>
    xs.forEach(([j, v], q) => {
      idx[r * k + q] = j;
      val[r * k + q] = v;
    }),
  );
  return finish({
    name,
    kind: 'sparse',
    describe: `linear over hash(bag<string>, 2^18), sigmoid; 20–50 tokens per row (≤ ${k} distinct buckets)`,
    source,
    bundle,
    output: 'p',
    rows,
    tensors: [
      { name: 'idx', type: 'int32', data: idx, inner: [k] },
      { name: 'val', type: 'float32', data: val, inner: [k] },
    ],
    notes: [
      `peers get the rows pre-hashed: bucket indices and counts (padded to ${k} per row with count 0), computed by the reference evaluator outside the timed region; proml hashes the UTF-8 tokens (MurmurHash3) inside the timed call`,
    ],
    onnxOf: (b) => onnx.sparse(b, SPARSE_BUCKETS),
  });
}

// ---- 3. GAME: global linear + a per-member random effect ----

export function game(p: Profile): PeerModel {
  const name = 'game';
  const dg = 100;
  const dm = 10;
  const members = p.quick ? 1_000 : 100_000;
  const source = `model ${name} {\n${HEADER}  input x : vector<f32, ${dg}> required\n  input xm : vector<f32, ${dm}> required\n  input member : entity\n  component fixed = linear(x)\n  component per_member = linear(xm) per member\n  output p = sigmoid(fixed + per_member)\n}\n`;
  const rng = new Rng(13, name);
  const pre = check(name, source);
  const bundle = newBundle(pre, 13);
  bundle.components.set('fixed', {
    kind: 'linear',
    classes: 1,
    inputWidth: dg,
    intercept: true,
    hyperparameters: {},
    weights: f32s(dg, () => rng.normal() / Math.sqrt(dg)),
    intercepts: f32s(1, () => rng.normal() * 0.1),
  });
  // member ids: distinct random positive int32s (a real id space is sparse, so a lookup is a hash lookup)
  const ids = new Set<number>();
  while (ids.size < members) ids.add(rng.int(1, 2_147_483_646));
  const idList = [...ids];
  const blocks = new Map<string, Float64Array>();
  for (const id of idList)
    blocks.set(
      String(id),
      f32s(1 + dm, () => (rng.normal() * 0.5) / Math.sqrt(dm)),
    );
  bundle.components.set('per_member', {
    kind: 'random_effect',
    classes: 1,
    inputWidth: dm,
    intercept: true,
    entity: 'member',
    hyperparameters: {},
    blockWidth: 1 + dm,
    blocks,
  });
  const x = denseRows(rng, p.poolRows, dg);
  const xm = denseRows(rng, p.poolRows, dm);
  // 95% known members, 5% unknown (they contribute 0 in proml; ONNX maps them to a zero row)
  const member = Array.from({ length: p.poolRows }, () => {
    if (rng.chance(0.05)) {
      let id: number;
      do id = rng.int(1, 2_147_483_646);
      while (ids.has(id));
      return id;
    }
    return idList[rng.int(0, members - 1)]!;
  });
  return finish({
    name,
    kind: 'game',
    describe: `global linear over vector<f32, ${dg}> + per-member linear over vector<f32, ${dm}> (intercept + ${dm} slopes), ${members.toLocaleString('en-US')} members, 5% unknown ids; sigmoid`,
    source,
    bundle,
    output: 'p',
    rows: x.arrays.map((v, r) => ({ x: v, xm: xm.arrays[r]!, member: member[r]! })),
    tensors: [
      { name: 'x', type: 'float32', data: x.data, inner: [dg] },
      { name: 'xm', type: 'float32', data: xm.data, inner: [dm] },
      { name: 'member', type: 'int64', data: BigInt64Array.from(member, BigInt), inner: [] },
    ],
    notes: [
      `ONNX maps member id → block row inside the graph (ai.onnx.ml LabelEncoder int64 → int64, ${members.toLocaleString('en-US')} keys, unknown → a zero row, then Gather): the lookup is inside ORT's timed run; proml_score gets the blocks already staged by the host (the lookup is outside its timed call); the proml Model.score row includes the host lookup (MemoryEntityStore, a Map of decimal id text)`,
    ],
    onnxOf: (b) => onnx.game(b, idList, dg, dm),
  });
}

// ---- 4. gradient-boosted trees ----

const leaf = gbdtLeaf;

function split(rng: Rng, features: number): GbdtNode {
  return {
    split: 'numeric',
    feature: rng.int(0, features - 1),
    // inputs are N(0, 1): thresholds from the same law keep both sides reachable
    threshold: Math.fround(rng.normal()),
    categories: [],
    defaultLeft: rng.chance(0.5),
    left: -1,
    right: -1,
    value: 0,
  };
}

/** A full tree of `depth` (2^depth leaves), nodes in pre-order. */
function fullTree(rng: Rng, features: number, depth: number, scale: number): GbdtNode[] {
  const nodes: GbdtNode[] = [];
  const grow = (d: number): number => {
    const i = nodes.length;
    if (d === depth) {
      nodes.push(leaf(Math.fround(rng.normal() * scale)));
      return i;
    }
    const s = split(rng, features);
    nodes.push(s);
    s.left = grow(d + 1);
    s.right = grow(d + 1);
    return i;
  };
  grow(0);
  return nodes;
}

/** A tree grown leaf-wise (LightGBM's way) to `leaves` leaves: a random leaf is split each step. */
function leafwiseTree(
  rng: Rng,
  features: number,
  leaves: number,
  maxDepth: number,
  scale: number,
): GbdtNode[] {
  const nodes: GbdtNode[] = [leaf(0)];
  const open: { i: number; depth: number }[] = [{ i: 0, depth: 0 }];
  let count = 1;
  while (count < leaves) {
    const k = rng.int(0, open.length - 1);
    const { i, depth } = open[k]!;
    if (depth >= maxDepth) continue;
    open.splice(k, 1);
    const s = split(rng, features);
    s.left = nodes.length;
    s.right = nodes.length + 1;
    nodes[i] = s;
    nodes.push(leaf(0), leaf(0));
    open.push({ i: s.left, depth: depth + 1 }, { i: s.right, depth: depth + 1 });
    count++;
  }
  for (const { i } of open) nodes[i]!.value = Math.fround(rng.normal() * scale);
  return nodes;
}

export interface TreeShape {
  name: string;
  trees: number;
  features: number;
  /** Full trees of this depth, or leaf-wise trees of `leaves` leaves. */
  depth?: number;
  leaves?: number;
}

export function trees(p: Profile, shape: TreeShape): PeerModel {
  const { name, features } = shape;
  const source = `model ${name} {\n${HEADER}  input x : vector<f32, ${features}> required\n  component trees = gbdt(x)\n  output p = sigmoid(trees)\n}\n`;
  const rng = new Rng(14, name);
  const pre = check(name, source);
  const bundle = newBundle(pre, 14);
  // leaf values ~ N(0, s²) with s = 1/√trees: the margin stays O(1), so p is not saturated
  const scale = 1 / Math.sqrt(shape.trees);
  const list: GbdtTree[] = Array.from({ length: shape.trees }, () => ({
    class: 0,
    nodes:
      shape.depth !== undefined
        ? fullTree(rng, features, shape.depth, scale)
        : leafwiseTree(rng, features, shape.leaves!, 16, scale),
  }));
  bundle.components.set('trees', {
    kind: 'gbdt',
    classes: 1,
    inputWidth: features,
    hyperparameters: {},
    trees: list,
    base: f32s(1, () => rng.normal() * 0.1),
  });
  const nodes = list.reduce((t, x) => t + x.nodes.length, 0);
  const x = denseRows(rng, p.poolRows, features);
  const shapeText =
    shape.depth !== undefined ? `depth ${shape.depth} (full)` : `${shape.leaves} leaves (leaf-wise)`;
  return finish({
    name,
    kind: 'trees',
    describe: `gbdt: ${shape.trees} trees × ${shapeText} over vector<f32, ${features}>, ${nodes.toLocaleString('en-US')} nodes; sigmoid`,
    source,
    bundle,
    output: 'p',
    rows: x.arrays.map((v) => ({ x: v })),
    tensors: [{ name: 'x', type: 'float32', data: x.data, inner: [features] }],
    notes: [
      'ONNX: TreeEnsembleRegressor, every split BRANCH_LT with the same f32 thresholds (proml goes left on x < t, compared in f64 with x widened exactly: the same decision for f32 x and t); missing-value routing is exported (missing_value_tracks_true = the default-left flag) but not exercised (no missing or NaN inputs), then Sigmoid',
    ],
    onnxOf: (b) => onnx.trees(b, features),
  });
}

// ---- 5. MLP 256-128-64-1, relu, sigmoid output ----

export interface MlpShape {
  input: number;
  hidden: number[];
}

export function mlp(p: Profile, shape: MlpShape): PeerModel {
  const name = 'mlp';
  const source = `model ${name} {\n${HEADER}  input x : vector<f32, ${shape.input}> required\n  component net = mlp(x, hidden = [${shape.hidden.join(', ')}], activation = relu)\n  output p = sigmoid(net)\n}\n`;
  const rng = new Rng(15, name);
  const pre = check(name, source);
  const bundle = newBundle(pre, 15);
  const widths = [shape.input, ...shape.hidden, 1];
  const layers: MlpLayer[] = widths.slice(1).map((outputs, i) => {
    const inputs = widths[i]!;
    const s = Math.sqrt(2 / inputs); // He initialisation keeps relu activations O(1)
    return {
      inputs,
      outputs,
      weights: f32s(inputs * outputs, () => rng.normal() * s),
      bias: f32s(outputs, () => rng.normal() * 0.1),
    };
  });
  bundle.components.set('net', {
    kind: 'mlp',
    classes: 1,
    inputWidth: shape.input,
    hyperparameters: {},
    activation: 'relu',
    layers,
  });
  const x = denseRows(rng, p.poolRows, shape.input);
  return finish({
    name,
    kind: 'mlp',
    describe: `MLP ${widths.join('→')}, relu, sigmoid output`,
    source,
    bundle,
    output: 'p',
    rows: x.arrays.map((v) => ({ x: v })),
    tensors: [{ name: 'x', type: 'float32', data: x.data, inner: [shape.input] }],
    notes: [],
    onnxOf: (b) => onnx.mlp(b),
  });
}

/** Every model of a profile, in report order, as factories (one model in memory at a time). */
export function modelFactories(p: Profile): { name: string; build: () => PeerModel }[] {
  const q = p.quick;
  const t500: TreeShape = q
    ? { name: 'trees_500x8', trees: 20, depth: 4, features: 100 }
    : { name: 'trees_500x8', trees: 500, depth: 8, features: 100 };
  const t1000: TreeShape = q
    ? { name: 'trees_1000x31', trees: 20, leaves: 31, features: 15 }
    : { name: 'trees_1000x31', trees: 1000, leaves: 31, features: 15 };
  const net: MlpShape = q ? { input: 16, hidden: [16, 8] } : { input: 256, hidden: [128, 64] };
  return [
    { name: 'logistic_1000', build: () => logistic(p) },
    { name: 'sparse_hashed', build: () => sparse(p) },
    { name: 'game', build: () => game(p) },
    { name: t500.name, build: () => trees(p, t500) },
    { name: t1000.name, build: () => trees(p, t1000) },
    { name: 'mlp', build: () => mlp(p, net) },
  ];
}

/** Rows [at, at + n) of a tensor (a view) and its dims ([n, ...inner]). */
export function slice(t: PeerTensor, n: number, at = 0): { data: PeerTensor['data']; dims: number[] } {
  const w = t.inner.reduce((a, b) => a * b, 1);
  return { data: t.data.subarray(at * w, (at + n) * w), dims: [n, ...t.inner] };
}
