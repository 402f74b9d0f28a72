// Deterministic random test material for any checked model: a well-formed coefficient bundle (random
// weights, trees, vocabularies, calibrations; big structures capped) and rows that exercise the
// edges (missing values, unknown categories and entities, empty bags, range boundaries, rejections).
// Input: CheckedModel, a seed (and, for the bundle, optionally sample rows to aim weights and tree
// thresholds at). Output: abi Bundle / Row[]. Same inputs, same output, on every machine.

import * as abi from '../../abi/index.js';
import type {
  Bundle,
  CalibrationParams,
  ComponentCoefficients,
  GbdtNode,
  GbdtTree,
  HyperValue,
  Row,
  RowValue,
  TransformParams,
} from '../../abi/index.js';
import { type CallExpr, type Expr, unparen } from '../ast.js';
import { bindArgs, children, constStringList, fittedPlan } from '../fitted.js';
import type { CheckedComponent, CheckedInput, CheckedModel } from '../typed.js';
import { ReferenceEvaluator } from './eval.js';

// ---- PRNG (sfc32 seeded through murmur3: independent streams per named item) ----

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = '') {
    const bytes = abi.utf8(`${seed}/${stream}`);
    this.a = abi.murmur3_32(bytes, 1);
    this.b = abi.murmur3_32(bytes, 2);
    this.c = abi.murmur3_32(bytes, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** A normal draw rounded to f32 (bundles may be stored as float32 and must round-trip exactly). */
  weight(scale: number): number {
    return Math.fround(this.normal() * scale);
  }
}

// ---- bundle ----

export interface RandomBundleOptions {
  seed: number;
  /** Rows whose component inputs the bundle should reach: linear weights on every column they hit, tree thresholds at their values. */
  sample?: Row[];
  /** Trees per class, at most (default 8). */
  maxTrees?: number;
  /** Tree depth, at most (default 4). */
  maxDepth?: number;
  /** Extra non-zero weights per sparse feature besides those the sample hits (default 16). */
  sparseWeights?: number;
  /** Entities with a coefficient block per random effect (default 12). */
  entities?: number;
  sourceSha256?: string;
}

const WORDS = [
  'apple',
  'Banana',
  'café',
  'CAFÉ',
  'ΣΟΦΙΑ',
  'straße',
  'İstanbul',
  'naïve',
  '日本語',
  'emoji😀',
  'x',
  'hello',
  'World',
  'spam',
  'free',
  'money',
  'fr33',
  'm0ney',
  'ÀÉÎ',
  'yes',
  'no',
  'maybe',
  'com',
  'net',
  'io',
  'gmail',
  'example',
  'Ünïcödé',
  'ǅemal',
  '١٢٣',
  'engineer',
  'Senior',
  'data',
  'US',
  'DE',
  'IN',
  'a',
  'zz',
];

export function randomBundle(model: CheckedModel, options: RandomBundleOptions): Bundle {
  const seed = options.seed;
  const maxTrees = options.maxTrees ?? 8;
  const maxDepth = options.maxDepth ?? 4;
  const notes = [
    `random coefficients for tests (seed ${seed}); not a trained model`,
    `caps: at most ${maxTrees} trees per class of depth ≤ ${maxDepth}; sparse linear weights only where sample rows reach plus ${options.sparseWeights ?? 16} per sparse feature; ${options.entities ?? 12} entities per random effect`,
  ];
  const bundle: Bundle = {
    model: { name: model.name, version: model.meta.version ?? '' },
    sourceSha256: options.sourceSha256 ?? '',
    producer: `proml random bundle (seed ${seed})`,
    notes,
    components: new Map(),
    transforms: new Map(),
    calibrations: new Map(),
  };
  const plan = fittedPlan(model);
  for (const site of plan.transforms) {
    const rng = new Rng(seed, `transform/${site.key}`);
    let p: TransformParams;
    if (site.fn === 'standardize') {
      const mean = new Float64Array(site.width).map(() => rng.weight(3));
      const std = new Float64Array(site.width).map(() =>
        rng.chance(0.15) ? 0 : Math.fround(0.1 + Math.abs(rng.normal()) * 2),
      );
      p = { kind: 'standardize', mean, std };
    } else if (site.fn === 'quantiles') {
      const range = argRange(model, site.call);
      const xs = Array.from({ length: site.n - 1 }, () =>
        Math.fround(range === null ? rng.normal() * 10 : range.lo + rng.next() * (range.hi - range.lo)),
      ).sort((a, b) => a - b);
      if (xs.length > 2 && rng.chance(0.3)) xs[1] = xs[0]!; // a tie: an empty bucket, as real data gives
      p = { kind: 'quantiles', n: site.n, boundaries: Float64Array.from(xs) };
    } else {
      const pool = [...new Set(WORDS.map((w) => abi.lower(w)))];
      const size = Math.min(site.max, rng.int(6, 16));
      const labels: string[] = [];
      while (labels.length < size && labels.length < pool.length) {
        const w = rng.pick(pool);
        if (!labels.includes(w)) labels.push(w);
      }
      let c = site.minCount + rng.int(50, 500);
      const counts = Float64Array.from(labels, () => (c = Math.max(site.minCount, c - rng.int(0, 40))));
      p = { kind: 'vocab', max: site.max, minCount: site.minCount, labels, counts };
    }
    bundle.transforms.set(site.key, p);
  }
  for (const site of plan.calibrations) {
    const rng = new Rng(seed, `calibration/${site.key}`);
    let p: CalibrationParams;
    if (site.method === 'platt')
      p = { kind: 'platt', of: site.of, a: Math.fround(0.5 + rng.next() * 3), b: rng.weight(1) };
    else {
      const n = rng.int(3, 8);
      const x = new Set<number>();
      while (x.size < n) x.add(Math.fround(rng.next()));
      const xs = [...x].sort((a, b) => a - b);
      const ys = xs.map(() => Math.fround(rng.next())).sort((a, b) => a - b);
      p = { kind: 'isotonic', of: site.of, x: Float64Array.from(xs), y: Float64Array.from(ys) };
    }
    bundle.calibrations.set(site.key, p);
  }

  // Component inputs on the sample rows (needs only the fitted transforms made above).
  const probe = new ReferenceEvaluator(model, bundle);
  for (const c of model.components) {
    const rng = new Rng(seed, `component/${c.name}`);
    const inputs = (options.sample ?? [])
      .map((r) => probe.componentInput(r, c.name))
      .filter((x) => x !== null);
    bundle.components.set(
      c.name,
      randomComponent(model, c, rng, inputs, { ...options, maxTrees, maxDepth }, notes),
    );
  }
  return bundle;
}

function hyperparameters(model: CheckedModel, c: CheckedComponent): Record<string, HyperValue> {
  for (const t of model.trains) {
    const h = t.hyperparameters.get(c.name);
    if (h !== undefined) return Object.fromEntries(h);
  }
  return {};
}

function randomComponent(
  model: CheckedModel,
  c: CheckedComponent,
  rng: Rng,
  sample: ([number, number][] | (number | null)[])[],
  o: RandomBundleOptions & { maxTrees: number; maxDepth: number },
  notes: string[],
): ComponentCoefficients {
  const classes = c.outputWidth;
  const hyper = hyperparameters(model, c);
  switch (c.kind) {
    case 'linear': {
      const intercept = c.options.intercept;
      if (c.per !== null) {
        const icpt = intercept ? 1 : 0;
        const blockWidth = classes * (icpt + c.inputWidth);
        const blocks = new Map<string, Float64Array>();
        for (const id of entityIds(c.per, o.entities ?? 12))
          blocks.set(
            id,
            new Float64Array(blockWidth).map(() => rng.weight(0.5)),
          );
        return {
          kind: 'random_effect',
          classes,
          inputWidth: c.inputWidth,
          intercept,
          entity: c.per,
          hyperparameters: hyper,
          blockWidth,
          blocks,
        };
      }
      const weights = new Float64Array(classes * c.inputWidth);
      const hit = new Set<number>();
      for (const s of sample) for (const [j] of s as [number, number][]) hit.add(j);
      for (const f of c.features) {
        const dense = f.type.kind !== 'sparse';
        const extra = o.sparseWeights ?? 16;
        const cols = dense
          ? range(f.offset, f.width)
          : [...hit].filter((j) => j >= f.offset && j < f.offset + f.width);
        if (!dense) for (let i = 0; i < extra; i++) cols.push(f.offset + rng.int(0, f.width - 1));
        for (const j of cols)
          for (let k = 0; k < classes; k++) weights[k * c.inputWidth + j] = rng.weight(0.5);
      }
      const intercepts = new Float64Array(classes).map(() => (intercept ? rng.weight(0.5) : 0));
      return {
        kind: 'linear',
        classes,
        inputWidth: c.inputWidth,
        intercept,
        hyperparameters: hyper,
        weights,
        intercepts,
      };
    }
    case 'gbdt': {
      const count = typeof hyper['count'] === 'number' ? hyper['count'] : 100;
      const depth = Math.min(
        typeof hyper['depth'] === 'number'
          ? hyper['depth']
          : typeof hyper['leaves'] === 'number'
            ? Math.ceil(Math.log2(hyper['leaves']))
            : 6,
        o.maxDepth,
      );
      const perClass = Math.min(count, o.maxTrees);
      if (perClass < count || depth < (typeof hyper['depth'] === 'number' ? hyper['depth'] : 6))
        notes.push(
          `component '${c.name}': ${perClass} of ${count} trees per class, depth ≤ ${depth} (capped for a small fixture)`,
        );
      const categorySize = new Map<number, number>();
      for (const f of c.features) if (f.type.kind === 'category') categorySize.set(f.offset, f.type.size);
      const observed: number[][] = range(0, c.inputWidth).map(() => []);
      for (const s of sample)
        (s as (number | null)[]).forEach((v, j) => {
          if (v !== null && Number.isFinite(v)) observed[j]!.push(v);
        });
      const trees: GbdtTree[] = [];
      for (let t = 0; t < perClass; t++)
        for (let k = 0; k < classes; k++)
          trees.push({ class: k, nodes: randomTree(rng, c.inputWidth, depth, categorySize, observed) });
      const base = new Float64Array(classes).map(() => rng.weight(0.2));
      return {
        kind: 'gbdt',
        classes,
        inputWidth: c.inputWidth,
        hyperparameters: { ...hyper, count: perClass },
        trees,
        base,
      };
    }
    case 'mlp': {
      const widths = [c.inputWidth, ...c.options.hidden, classes];
      const layers = widths.slice(1).map((outputs, i) => {
        const inputs = widths[i]!;
        const scale = 1 / Math.sqrt(inputs);
        return {
          inputs,
          outputs,
          weights: new Float64Array(inputs * outputs).map(() => rng.weight(scale)),
          bias: new Float64Array(outputs).map(() => rng.weight(0.1)),
        };
      });
      return {
        kind: 'mlp',
        classes,
        inputWidth: c.inputWidth,
        hyperparameters: hyper,
        activation: c.options.activation ?? 'relu',
        layers,
      };
    }
  }
}

function randomTree(
  rng: Rng,
  width: number,
  depth: number,
  categorySize: Map<number, number>,
  observed: number[][],
): GbdtNode[] {
  const nodes: GbdtNode[] = [];
  const grow = (d: number): number => {
    const i = nodes.length;
    const leaf: GbdtNode = abi.gbdtLeaf(rng.weight(0.3));
    nodes.push(leaf);
    if (d >= depth || (d > 0 && rng.chance(0.2))) return i;
    const feature = rng.int(0, width - 1);
    const size = categorySize.get(feature);
    const node: GbdtNode = { ...leaf, value: 0, feature, defaultLeft: rng.chance(0.5) };
    if (size !== undefined && rng.chance(0.7)) {
      node.split = 'categorical';
      // Go left on a few of the indices the sample shows (and OOV), not on thousands of unused ones.
      const candidates = [...new Set([...observed[feature]!, size, rng.int(0, size)])].sort((a, b) => a - b);
      node.categories = candidates.filter(() => rng.chance(0.5)).slice(0, 16);
    } else {
      node.split = 'numeric';
      const seen = observed[feature]!;
      node.threshold =
        seen.length === 0
          ? rng.weight(2)
          : rng.chance(0.5)
            ? rng.pick(seen)
            : Math.fround((rng.pick(seen) + rng.pick(seen)) / 2);
    }
    nodes[i] = node;
    node.left = grow(d + 1);
    node.right = grow(d + 1);
    return i;
  };
  grow(0);
  return nodes;
}

function range(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

function entityIds(entity: string, n: number): string[] {
  return range(0, n).map((i) => `${entity}-${i}`);
}

/** The declared range of quantiles()' argument when it is an input with one. */
function argRange(model: CheckedModel, call: CallExpr): { lo: number; hi: number } | null {
  const x = unparen(bindArgs(call).get('x')!);
  const sym = x.kind === 'name' ? model.symbols.get(x) : undefined;
  return sym?.kind === 'input' ? sym.input.range : null;
}

// ---- rows ----

export interface RandomRowsOptions {
  seed: number;
  count: number;
}

/** Rows for the model's inputs, with every edge case docs/dsl.md section 10 names. */
export function randomRows(model: CheckedModel, bundle: Bundle, options: RandomRowsOptions): Row[] {
  const rng = new Rng(options.seed, 'rows');
  const pool = [...WORDS, ...modelStrings(model, bundle)];
  const entityPool = new Map<string, string[]>();
  for (const c of bundle.components.values())
    if (c.kind === 'random_effect')
      entityPool.set(c.entity, [...(entityPool.get(c.entity) ?? []), ...c.blocks.keys()]);
  const rows: Row[] = [];
  for (let r = 0; r < options.count; r++) {
    const row: Row = {};
    for (const input of model.inputs)
      row[input.name] = randomValue(rng, input, pool, entityPool.get(input.name) ?? []);
    rows.push(row);
  }
  return rows;
}

/** Strings the model treats specially: lookup() lists, learned vocabularies, category labels. */
function modelStrings(model: CheckedModel, bundle: Bundle): string[] {
  const out: string[] = [];
  const walk = (e: Expr): void => {
    if (e.kind === 'call' && e.callee.name === 'lookup')
      out.push(...constStringList(bindArgs(e).get('labels')!));
    for (const c of children(e)) walk(c);
  };
  for (const f of model.features) walk(f.expr);
  for (const c of model.components) for (const f of c.features) walk(f.expr);
  for (const t of bundle.transforms.values()) if (t.kind === 'vocab') out.push(...t.labels);
  return out;
}

function randomValue(rng: Rng, input: CheckedInput, pool: string[], entities: string[]): RowValue {
  const t = input.declared;
  const pMissing = input.required ? 0.02 : 0.12;
  if (rng.chance(pMissing)) return null;
  switch (t.kind) {
    case 'num':
      return randomNumber(rng, t.num, input.range);
    case 'bool':
      return rng.chance(0.5);
    case 'string':
      return rng.chance(0.5)
        ? rng.pick(pool)
        : range(0, rng.int(0, 4))
            .map(() => rng.pick(pool))
            .join(rng.pick([' ', ', ', '.', '-', '  ', '\t', '/']));
    case 'category': {
      const labels = t.labels ?? [];
      if (rng.chance(0.12)) return rng.pick(['zz_unknown', labels[0]!.toUpperCase() + '!', '']);
      return rng.pick(labels);
    }
    case 'bag':
      if (rng.chance(0.2)) return [];
      return t.elem === 'string'
        ? range(0, rng.int(1, 6)).map(() => rng.pick(pool))
        : range(0, rng.int(1, 6)).map(() =>
            rng.chance(0.05) ? rng.pick([2147483647, -2147483648, 0]) : rng.int(-5, 60),
          );
    case 'vector': {
      const v = range(0, t.size).map(() => randomNumber(rng, t.elem, input.range, 0));
      if (input.range !== null && rng.chance(0.03)) v[rng.int(0, t.size - 1)] = input.range.hi + 1;
      return v;
    }
    case 'entity':
      if (entities.length > 0 && rng.chance(0.7)) return rng.pick(entities);
      return rng.chance(0.5) ? `new-${rng.int(0, 999)}` : rng.int(1, 99999);
    default:
      throw new Error(`internal error: input type ${t.kind}`);
  }
}

function randomNumber(
  rng: Rng,
  k: 'int' | 'f32' | 'f64',
  r: { lo: number; hi: number } | null,
  pOut = 0.03,
): number {
  const round = (x: number): number => (k === 'int' ? Math.round(x) : k === 'f32' ? Math.fround(x) : x);
  if (r !== null) {
    const u = rng.next();
    if (u < 0.08) return round(r.lo);
    if (u < 0.16) return round(r.hi);
    if (u < 0.16 + pOut)
      return k === 'int' ? rng.pick([r.lo - 1, r.hi + 1]) : rng.pick([r.lo - 1, r.hi + 0.5, NaN]);
    return round(r.lo + rng.next() * (r.hi - r.lo));
  }
  if (k === 'int') return rng.chance(0.03) ? rng.pick([2147483647, -2147483648]) : rng.int(-1000, 1000);
  const u = rng.next();
  if (u < 0.05) return 0;
  if (u < 0.07) return NaN;
  if (u < 0.09) return round(rng.normal() * 1e6);
  return round(rng.normal() * 10);
}
