// One train block's fit on prepared rows: coordinate descent over the block's components (each
// refitted with the other components' margins as offsets; Photon-ML's GAME method), the components'
// margins on held-out rows, predictions through the output's link and the evaluation metrics.
// Input: BlockSpec (components, loss, passes, seed), BlockRows (labels, weights and every component's
// input from the transform module), hyperparameters per component, optionally locked components
// (partial retraining) and a progress sink. Output: coefficients, per-component reports, held-out
// margins. The one place that chooses how a component is fitted (fitComponent: gbdt, mlp, linear
// global or per entity): trainer/train.ts runs fitBlock for the final fit, cross-validation
// (trainer/folds.ts) and search trials (trainer/search.ts, also in worker threads) run it on other
// rows, so a trial's fit is the final fit's. No compiler back end here (no binaryen) and tfjs only
// on demand (an mlp component): a worker thread loads this file quickly.

import { entityKey, type ComponentCoefficients, type Row } from '../abi/index.js';
import { Rng } from '../compiler/reference/index.js';
import type { CheckedComponent, HyperValue } from '../compiler/typed.js';
import type { TransformResult } from '../runtime/index.js';
import { fitGbdtComponent, gbdtMargins, type GbdtCells } from './gbdt.js';
import { columnScales, fitGlm, type GlmLoss } from './glm.js';
import { selectRows, type Csr } from './matrix.js';
import * as metrics from './metrics.js';
import { beginFit, reportFit, type ProgressSink } from './progress.js';

export type Hyperparameters = Map<string, Map<string, HyperValue>>;

/** A component's input on some rows: sparse rows (linear) or cells (gbdt). */
export type ComponentInput = { kind: 'csr'; X: Csr } | { kind: 'cells'; X: GbdtCells };

/** What a block is fitted on: n rows (the ones the model's input rules accept), in a fixed order. */
export interface BlockRows {
  n: number;
  y: Float64Array;
  w: Float64Array | null;
  inputs: Map<string, ComponentInput>;
  /** Per `per ENTITY` component: each row's entity key (null: missing entity). */
  entities: Map<string, (string | null)[]>;
}

export interface BlockSpec {
  /** The output the block trains (names the random streams of folds and search). */
  output: string;
  comps: CheckedComponent[];
  loss: GlmLoss;
  /** Width of the margin: classes, or 1. */
  K: number;
  /** Coordinate-descent passes. */
  iterations: number;
  seed: number;
  /** The block's metric (gbdt early stopping watches it). */
  metric: string;
}

export interface ComponentReport {
  iterations: number[];
  converged: boolean;
  entities?: number;
}

export interface BlockFit {
  coefs: Map<string, ComponentCoefficients>;
  reports: Map<string, ComponentReport>;
  /** The sum of the components' margins on the held-out rows (n·K), or null without them. */
  heldMargin: Float64Array | null;
}

/** The default metric of a loss (docs/dsl.md 9.2). */
export function defaultMetric(loss: GlmLoss): string {
  return loss === 'logistic' || loss === 'multiclass' ? 'logloss' : 'rmse';
}

/** Metrics where larger is better; the others (logloss, rmse, mae, ece) are minimised. */
export function maximised(metric: string): boolean {
  return metric === 'auc' || metric === 'accuracy' || metric === 'f1';
}

/** The rows `idx` of a transform result as a block's input (labels and weights given per row of idx). */
export function blockRows(
  t: TransformResult,
  rows: readonly Row[],
  idx: readonly number[],
  comps: readonly CheckedComponent[],
  y: Float64Array,
  w: Float64Array | null,
): BlockRows {
  const inputs = new Map<string, ComponentInput>();
  const entities = new Map<string, (string | null)[]>();
  for (const c of comps) {
    const col = t.columns.find((x) => x.name === c.name);
    if (col === undefined) throw new Error(`component '${c.name}' has no input in the transform module`);
    if (col.kind === 'cells') {
      const W = col.width;
      const values = new Float64Array(idx.length * W);
      const present = new Uint8Array(idx.length * W);
      idx.forEach((r, i) => {
        for (let j = 0; j < W; j++) {
          const cell = r * W + j;
          values[i * W + j] = col.values[cell]!;
          present[i * W + j] = (col.validity[cell >> 3]! >> (cell & 7)) & 1;
        }
      });
      inputs.set(c.name, { kind: 'cells', X: { n: idx.length, width: W, values, present } });
    } else {
      const X: Csr = { n: t.n, d: col.width, offsets: col.offsets, cols: col.cols, vals: col.vals };
      inputs.set(c.name, { kind: 'csr', X: selectRows(X, idx) });
    }
    if (c.per !== null)
      entities.set(
        c.name,
        idx.map((r) => entityOf(rows[r]!, c.per!)),
      );
  }
  return { n: idx.length, y, w, inputs, entities };
}

/** Rows `idx` (in that order) of a block's rows. */
export function subsetRows(d: BlockRows, idx: readonly number[]): BlockRows {
  const inputs = new Map<string, ComponentInput>();
  for (const [name, inp] of d.inputs) {
    if (inp.kind === 'csr') inputs.set(name, { kind: 'csr', X: selectRows(inp.X, idx) });
    else {
      const W = inp.X.width;
      const values = new Float64Array(idx.length * W);
      const present = new Uint8Array(idx.length * W);
      idx.forEach((r, i) => {
        values.set(inp.X.values.subarray(r * W, (r + 1) * W), i * W);
        present.set(inp.X.present.subarray(r * W, (r + 1) * W), i * W);
      });
      inputs.set(name, { kind: 'cells', X: { n: idx.length, width: W, values, present } });
    }
  }
  const entities = new Map<string, (string | null)[]>();
  for (const [name, ids] of d.entities)
    entities.set(
      name,
      idx.map((r) => ids[r]!),
    );
  return {
    n: idx.length,
    y: Float64Array.from(idx, (r) => d.y[r]!),
    w: d.w === null ? null : Float64Array.from(idx, (r) => d.w![r]!),
    inputs,
    entities,
  };
}

export function entityOf(row: Row, input: string): string | null {
  const v = row[input];
  return typeof v === 'string' || typeof v === 'number' ? entityKey(v) : null;
}

export interface FitBlockOptions {
  log?: (line: string) => void;
  /** Each component fit reports to a phase of this sink (the final fit; trials and folds pass none). */
  progress?: ProgressSink;
  /**
   * Partial retraining (trainer/retrain.ts): these components keep the given coefficients and are
   * not fitted; their margins on the training (and held-out) rows are offsets of the others.
   */
  locked?: ReadonlyMap<string, ComponentCoefficients>;
}

/**
 * Fits the block's components on `train` with the hyperparameters `hyper` (coordinate descent,
 * warm-started linear and mlp fits); `held` (optional) is what gbdt early stopping watches and where
 * the returned margins are computed. The one fit of a block: train.ts's final fit, every search
 * trial and every fold call this, so a trial with the final hyperparameters on the same rows gives
 * the same coefficients.
 */
export async function fitBlock(
  spec: BlockSpec,
  train: BlockRows,
  held: BlockRows | null,
  hyper: Hyperparameters,
  options: FitBlockOptions = {},
): Promise<BlockFit> {
  const { comps, K } = spec;
  const log = options.log ?? ((): void => undefined);
  const margins = new Map<string, Float64Array>(comps.map((c) => [c.name, new Float64Array(train.n * K)]));
  const heldMargins = new Map<string, Float64Array>();
  const coefs = new Map<string, ComponentCoefficients>();
  const reports = new Map<string, ComponentReport>(
    comps.map((c) => [c.name, { iterations: [], converged: true }]),
  );
  const locked = new Set<string>();
  for (const c of comps) {
    const coef = options.locked?.get(c.name);
    if (coef === undefined) continue;
    coefs.set(c.name, coef);
    margins.set(c.name, componentMargins(coef, train, c.name, K));
    if (held !== null) heldMargins.set(c.name, componentMargins(coef, held, c.name, K));
    locked.add(c.name);
  }
  for (let it = 0; it < spec.iterations; it++) {
    for (const c of comps) {
      if (locked.has(c.name)) continue;
      // offsets: the other components' margins
      const offset = new Float64Array(train.n * K);
      for (const o of comps)
        if (o !== c) {
          const m = margins.get(o.name)!;
          for (let i = 0; i < offset.length; i++) offset[i] = offset[i]! + m[i]!;
        }
      const rep = reports.get(c.name)!;
      const started = performance.now();
      const label = `${spec.output}: pass ${it + 1}/${spec.iterations}, ${c.name}`;
      const phase = options.progress === undefined ? null : beginFit(options.progress, label);
      let fit: ComponentFit;
      try {
        fit = await fitComponent(spec, c, train, held, heldMargins, offset, hyper.get(c.name), {
          pass: it,
          warm: coefs.get(c.name),
          log,
        });
      } finally {
        phase?.end();
      }
      coefs.set(c.name, fit.coef);
      margins.set(c.name, fit.margins);
      if (held !== null) heldMargins.set(c.name, await heldComponentMargins(fit.coef, held, c.name, K));
      rep.iterations.push(fit.iterations);
      rep.converged = rep.converged && fit.converged;
      if (fit.entities !== undefined) rep.entities = fit.entities;
      log(
        `${label}${c.per === null ? '' : ` (per ${c.per}: ${fit.entities} entities)`}: ${fit.iterations} solver iterations, ${((performance.now() - started) / 1000).toFixed(2)} s`,
      );
    }
  }
  return { coefs, reports, heldMargin: held === null ? null : sumOthers(heldMargins, null, held.n * K) };
}

/**
 * One component's fit in one coordinate-descent pass, by kind: gbdt (trainer/gbdt.ts, early stopping
 * on `held` with the other components' held-out margins as offsets), mlp (trainer/mlp.ts, loaded on
 * demand: tfjs only when a block has an mlp, so search workers stay light otherwise), linear global
 * or per entity (below). `warm`: the component's previous pass (linear and mlp start from it).
 */
async function fitComponent(
  spec: BlockSpec,
  c: CheckedComponent,
  train: BlockRows,
  held: BlockRows | null,
  heldMargins: Map<string, Float64Array>,
  offset: Float64Array,
  h: Map<string, HyperValue> | undefined,
  at: { pass: number; warm: ComponentCoefficients | undefined; log: (line: string) => void },
): Promise<ComponentFit> {
  const { K, loss, seed } = spec;
  const input = train.inputs.get(c.name)!;
  if (input.kind === 'cells') {
    const early =
      held === null || held.n === 0
        ? undefined
        : {
            X: (held.inputs.get(c.name) as { kind: 'cells'; X: GbdtCells }).X,
            y: held.y,
            offset: sumOthers(heldMargins, c.name, held.n * K),
            metric: spec.metric,
          };
    return fitGbdtComponent(c, input.X, train.y, train.w, offset, loss, K, h, seed, early, at.log);
  }
  if (c.kind === 'mlp') {
    const { fitMlpComponent } = await import('./mlp.js');
    return fitMlpComponent(c, input.X, train.y, train.w, offset, loss, K, h, seed, at.pass, at.warm, at.log);
  }
  if (c.per === null) return fitGlobal(c, input.X, train.y, train.w, offset, loss, K, h, at.warm);
  return fitPerEntity(c, input.X, train.y, train.w, offset, loss, K, h, train.entities.get(c.name)!, seed);
}

/** componentMargins, and an mlp's through tfjs (loaded by its fit). */
async function heldComponentMargins(
  coef: ComponentCoefficients,
  rows: BlockRows,
  name: string,
  K: number,
): Promise<Float64Array> {
  if (coef.kind !== 'mlp') return componentMargins(coef, rows, name, K);
  const { mlpMargins } = await import('./mlp.js');
  return mlpMargins(coef, (rows.inputs.get(name) as { kind: 'csr'; X: Csr }).X);
}

function sumOthers(margins: Map<string, Float64Array>, except: string | null, size: number): Float64Array {
  const s = new Float64Array(size);
  for (const [name, m] of margins) if (name !== except) for (let i = 0; i < size; i++) s[i] = s[i]! + m[i]!;
  return s;
}

/** A fitted component's margins (n·K) on some rows (an unknown entity contributes 0). */
export function componentMargins(
  coef: ComponentCoefficients,
  rows: BlockRows,
  name: string,
  K: number,
): Float64Array {
  const input = rows.inputs.get(name)!;
  if (coef.kind === 'gbdt') return gbdtMargins(coef, (input as { kind: 'cells'; X: GbdtCells }).X);
  if (coef.kind === 'mlp' || input.kind !== 'csr') throw new Error(`cannot compute margins of '${name}'`);
  const csr = input.X;
  const ids = rows.entities.get(name);
  const m = new Float64Array(rows.n * K);
  for (let i = 0; i < rows.n; i++) {
    const block = coef.kind === 'random_effect' ? coef.blocks.get(ids?.[i] ?? '') : null;
    if (block === undefined) continue;
    const icpt = coef.intercept ? 1 : 0;
    for (let k = 0; k < K; k++) {
      let s = 0;
      if (coef.kind === 'linear') {
        s = coef.intercepts[k]!;
        for (let q = csr.offsets[i]!; q < csr.offsets[i + 1]!; q++)
          s += coef.weights[k * csr.d + csr.cols[q]!]! * csr.vals[q]!;
      } else if (block !== null) {
        const b0 = k * (icpt + coef.inputWidth);
        s = icpt ? block[b0]! : 0;
        for (let q = csr.offsets[i]!; q < csr.offsets[i + 1]!; q++)
          s += block[b0 + icpt + csr.cols[q]!]! * csr.vals[q]!;
      }
      m[i * K + k] = s;
    }
  }
  return m;
}

/** Predictions from margins (n·K) through the link of the loss: probabilities, counts or values. */
export function predict(loss: GlmLoss, K: number, margin: Float64Array): Float64Array {
  const p = new Float64Array(margin.length);
  if (loss === 'logistic') for (let i = 0; i < p.length; i++) p[i] = 1 / (1 + Math.exp(-margin[i]!));
  else if (loss === 'poisson') for (let i = 0; i < p.length; i++) p[i] = Math.exp(margin[i]!);
  else if (loss === 'multiclass')
    for (let r = 0; r < margin.length / K; r++) {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) mx = Math.max(mx, margin[r * K + k]!);
      let s = 0;
      for (let k = 0; k < K; k++) s += p[r * K + k] = Math.exp(margin[r * K + k]! - mx);
      for (let k = 0; k < K; k++) p[r * K + k] = p[r * K + k]! / s;
    }
  else p.set(margin);
  return p;
}

/** The report's metrics for a loss (the same set train.ts reports for the held-out rows). */
export function evalMetrics(
  loss: GlmLoss,
  K: number,
  y: Float64Array,
  p: Float64Array,
): Record<string, number> {
  if (y.length === 0) return {};
  if (loss === 'logistic')
    return {
      auc: metrics.auc(y, p),
      logloss: metrics.logLoss(y, p),
      accuracy: metrics.accuracy(y, p),
      f1: metrics.f1(y, p),
    };
  if (loss === 'multiclass')
    return { logloss: metrics.multiLogLoss(y, p, K), accuracy: metrics.multiAccuracy(y, p, K) };
  return { rmse: metrics.rmse(y, p), mae: metrics.mae(y, p) };
}

// ---- component fits (linear global and per entity; gbdt is trainer/gbdt.ts)

export function num(h: Map<string, HyperValue> | undefined, key: string, dflt: number): number {
  const v = h?.get(key);
  return typeof v === 'number' ? v : dflt;
}

export interface ComponentFit {
  coef: ComponentCoefficients;
  margins: Float64Array;
  iterations: number;
  converged: boolean;
  entities?: number;
}

export function fitGlobal(
  c: CheckedComponent,
  X: Csr,
  y: Float64Array,
  w: Float64Array | null,
  offset: Float64Array,
  loss: GlmLoss,
  K: number,
  h: Map<string, HyperValue> | undefined,
  warm: ComponentCoefficients | undefined,
): ComponentFit {
  const start = warm?.kind === 'linear' ? Float64Array.from([...warm.intercepts, ...warm.weights]) : null;
  const fit = fitGlm({
    X,
    y,
    loss,
    classes: K,
    intercept: c.options.intercept,
    weights: w,
    offset,
    l1: num(h, 'l1', 0),
    l2: num(h, 'l2', 1),
    maxIter: num(h, 'max_iter', 100),
    tol: num(h, 'tolerance', 1e-6),
    scale: h?.get('normalize') === true ? columnScales(X) : null,
    start,
    onIteration: (k) => reportFit(k, num(h, 'max_iter', 100), 'iterations'),
  });
  const margins = new Float64Array(X.n * K);
  for (let i = 0; i < X.n; i++)
    for (let k = 0; k < K; k++) {
      let m = fit.intercepts[k]!;
      for (let q = X.offsets[i]!; q < X.offsets[i + 1]!; q++)
        m += fit.weights[k * X.d + X.cols[q]!]! * X.vals[q]!;
      margins[i * K + k] = m;
    }
  return {
    coef: {
      kind: 'linear',
      classes: K,
      inputWidth: c.inputWidth,
      intercept: c.options.intercept,
      hyperparameters: Object.fromEntries(h ?? new Map()),
      weights: fit.weights,
      intercepts: fit.intercepts,
    },
    margins,
    iterations: fit.iterations,
    converged: fit.converged,
  };
}

/** Random effects: one small penalised GLM per entity on its rows, with the other components as offsets. */
export function fitPerEntity(
  c: CheckedComponent,
  X: Csr,
  y: Float64Array,
  w: Float64Array | null,
  offset: Float64Array,
  loss: GlmLoss,
  K: number,
  h: Map<string, HyperValue> | undefined,
  ids: (string | null)[],
  seed: number,
): ComponentFit {
  const minRows = num(h, 'min_rows', 1);
  const maxRows = num(h, 'max_rows', Infinity);
  const groups = new Map<string, number[]>();
  ids.forEach((id, i) => {
    if (id === null) return;
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = []));
    g.push(i);
  });
  const icpt = c.options.intercept ? 1 : 0;
  const W = c.inputWidth;
  // normalize: one scale per column from all the component's training rows, shared by every entity
  const scale = h?.get('normalize') === true ? columnScales(X) : null;
  const blocks = new Map<string, Float64Array>();
  const margins = new Float64Array(X.n * K);
  let iterations = 0;
  let converged = true;
  const ordered = [...groups.keys()].sort();
  for (const [e, id] of ordered.entries()) {
    reportFit(e, ordered.length, 'entities');
    let rows = groups.get(id)!;
    if (rows.length < minRows) continue;
    if (rows.length > maxRows) {
      // a seeded sample of max_rows rows (Fisher-Yates prefix), kept in row order
      const rng = new Rng(seed, `re/${c.name}/${id}`);
      const a = [...rows];
      for (let i = 0; i < maxRows; i++) {
        const j = i + Math.floor(rng.next() * (a.length - i));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      rows = a.slice(0, maxRows).sort((p, q) => p - q);
    }
    const Xe = selectRows(X, rows);
    const oe = new Float64Array(rows.length * K);
    rows.forEach((r, k) => {
      for (let q = 0; q < K; q++) oe[k * K + q] = offset[r * K + q]!;
    });
    const fit = fitGlm({
      X: Xe,
      y: Float64Array.from(rows, (r) => y[r]!),
      loss,
      classes: K,
      intercept: icpt === 1,
      weights: w === null ? null : Float64Array.from(rows, (r) => w[r]!),
      offset: oe,
      l1: num(h, 'l1', 0),
      l2: num(h, 'l2', 1),
      maxIter: num(h, 'max_iter', 100),
      tol: num(h, 'tolerance', 1e-6),
      scale,
    });
    iterations = Math.max(iterations, fit.iterations);
    converged = converged && fit.converged;
    const block = new Float64Array(K * (icpt + W));
    for (let q = 0; q < K; q++) {
      if (icpt) block[q * (icpt + W)] = fit.intercepts[q]!;
      block.set(fit.weights.subarray(q * W, (q + 1) * W), q * (icpt + W) + icpt);
    }
    blocks.set(id, block);
  }
  // margins of every training row whose entity has a block (all its rows, sampled or not)
  ids.forEach((id, i) => {
    const block = id === null ? undefined : blocks.get(id);
    if (block === undefined) return;
    for (let q = 0; q < K; q++) {
      let m = icpt ? block[q * (icpt + W)]! : 0;
      for (let p = X.offsets[i]!; p < X.offsets[i + 1]!; p++)
        m += block[q * (icpt + W) + icpt + X.cols[p]!]! * X.vals[p]!;
      margins[i * K + q] = m;
    }
  });
  return {
    coef: {
      kind: 'random_effect',
      classes: K,
      inputWidth: W,
      intercept: icpt === 1,
      entity: c.per!,
      hyperparameters: Object.fromEntries(h ?? new Map()),
      blockWidth: K * (icpt + W),
      blocks,
    },
    margins,
    iterations,
    converged,
    entities: blocks.size,
  };
}
