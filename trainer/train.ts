// `proml train`: from a model and a table of examples to a coefficient bundle, a report and held-out
// predictions. Steps: read the data (CSV in the rows format), split (or read --validation), fit the
// fitted-transform statistics, compile the TRANSFORM module and run it for every component's input
// columns (training and serving transforms are the same code), tune each train block (trainer/tune.ts:
// folds, search) and fit its components by coordinate descent over components (GAME: global fixed
// effect + per-entity random effects with offsets, Photon-ML's method) with trainer/block.ts
// fitBlock — the code every search trial and fold runs, so a trial with the final hyperparameters is
// the final fit — fit calibration maps, write the bundle, then compile the SCORING
// module and score the held-out rows with it: the report's predictions are the module's, so
// `proml compile` + scoring reproduces them bit for bit.
// Input: model path, options. Output: files in the output directory (bundle.json + tables,
// report.json, report.txt, validation-predictions.csv) and the TrainReport.
// Supported today: linear components (global and `per` entity) with the logistic, squared-error,
// poisson and multiclass objectives, L1/L2, `normalize`, platt/isotonic calibration; gbdt components
// (trainer/gbdt.ts: histogram boosting from the other components' margins, early stopping on the
// held-out rows); mlp components (trainer/mlp.ts: minibatch Adam/SGD on tfjs's wasm backend, from the
// other components' margins; tfjs is loaded only by a block with an mlp).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, ComponentCoefficients, Row } from '../abi/index.js';
import { readBundle, sha256Hex, writeBundle } from '../abi/node.js';
import { emitScoringModule, emitTransformModule } from '../compiler/emit/index.js';
import { checkSource, lowerModel } from '../compiler/index.js';
import { Rng } from '../compiler/reference/index.js';
import type { CheckedComponent, CheckedModel, CheckedTrain, HyperValue } from '../compiler/typed.js';
import { MemoryEntityStore, Model } from '../runtime/index.js';
import { fitTransforms } from './fit-transforms.js';
import { fitGlm, type GlmLoss } from './glm.js';
import type { Csr } from './matrix.js';
import * as metrics from './metrics.js';
import { TrainError } from './errors.js';
import { checkTrainingRows, readTrainingData } from './data.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { lockedFrom, lockedIn, useLockedTransforms } from './retrain.js';
import { blockRows, defaultMetric, fitBlock, type BlockRows, type BlockSpec } from './block.js';
import type { CvResult } from './folds.js';
import type { SearchReport } from './search.js';
import { foldsOf, formatTuning, tuneBlock, type TuneOptions } from './tune.js';

export { TRAIN_CODES, TrainError } from './errors.js';

export const TRAINER_VERSION = '0.1.0';

export interface TrainOptions extends TuneOptions {
  /** Training data: Arrow IPC (file or stream), Parquet or rows CSV naming every input and label. */
  data: string;
  /** Held-out data; without it, each block's `validation` fraction (default 0.1) is held out. */
  validation?: string | null;
  /** Output directory (the bundle, the report, held-out predictions). */
  out: string;
  kernelBytes?: Uint8Array;
  /** Progress lines (default: the progress sink's notes). */
  log?: (line: string) => void;
  /** Progress of each phase (default: none); the CLI renders it (trainer/progress.ts). */
  progress?: ProgressSink;
  /** Partial retraining (trainer/retrain.ts): refit these components, lock the others ... */
  retrain?: readonly string[] | null;
  /** ... at their coefficients in this bundle directory. */
  from?: string | null;
}

export interface BlockReport {
  output: string;
  objective: string;
  components: {
    name: string;
    kind: string;
    per: string | null;
    hyperparameters: Record<string, HyperValue>;
    entities?: number;
    iterations: number[];
    converged: boolean;
  }[];
  trainRows: number;
  validationRows: number;
  rejectedRows: number;
  metrics: Record<string, number>;
  reliability?: metrics.ReliabilityBin[];
  importance: { component: string; column: number; feature: string; weight: number }[];
  /** k-fold cross-validation (trainer/folds.ts): per-fold metrics, mean ± sd. */
  cv?: CvResult;
  /** Hyperparameter search (trainer/search.ts): the leaderboard. */
  search?: SearchReport;
}

export interface TrainReport {
  model: string;
  trainer: string;
  data: { path: string; sha256: string; rows: number };
  validation: { path: string | null; sha256: string | null; rows: number };
  /** Partial retraining: the components refitted and the ones locked at the `from` bundle's. */
  retrain?: { from: string; retrained: string[]; locked: string[] };
  blocks: BlockReport[];
  seconds: number;
  out: string;
}

const lossOf = (t: CheckedTrain): { loss: GlmLoss; link: 'sigmoid' | 'identity' | 'exp' | 'softmax' } => {
  switch (t.objective.name) {
    case 'logistic':
      return { loss: 'logistic', link: 'sigmoid' };
    case 'squared_error':
      return { loss: 'squared_error', link: 'identity' };
    case 'poisson':
      return { loss: 'poisson', link: 'exp' };
    case 'multiclass':
      return { loss: 'multiclass', link: 'softmax' };
    default:
      throw new TrainError(
        'unsupported',
        `objective ${t.objective.name} is not supported yet by the trainer`,
      );
  }
};

export async function trainModel(modelPath: string, options: TrainOptions): Promise<TrainReport> {
  const t0 = performance.now();
  const progress = options.progress ?? silentProgress;
  const log = options.log ?? ((line: string): void => progress.note(line));
  const source = readFileSync(modelPath, 'utf8');
  const r = checkSource(modelPath, source);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  if (r.checked === null || errors.length > 0)
    throw new TrainError('model', errors.map((d) => `${d.code} ${d.message}`).join('; '));
  const model: CheckedModel = r.checked;
  if (model.trains.length === 0) throw new TrainError('model', `model '${model.name}' has no train block`);
  const locked = lockedFrom(model, options);

  // ---- data
  const data = await readTrainingData(options.data, model, { progress });
  const all = data.rows;
  let trainRows: Row[];
  let validRows: Row[];
  let validSha: string | null = null;
  if (options.validation !== undefined && options.validation !== null) {
    trainRows = all;
    const v = await readTrainingData(options.validation, model, { progress, what: 'validation' });
    validRows = v.rows;
    validSha = v.sha256;
  } else {
    const t = model.trains[0]!;
    const rng = new Rng(t.seed ?? 0, 'split');
    const idx = all.map((_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    // `folds` replaces the hold-out: every row trains (and is cross-validated)
    const k = foldsOf(t, options) !== null ? 0 : Math.round(all.length * (t.validation ?? 0.1));
    const held = new Set(idx.slice(0, k));
    trainRows = all.filter((_, i) => !held.has(i));
    validRows = all.filter((_, i) => held.has(i));
  }
  if (trainRows.length === 0) throw new TrainError('noRows', `no training rows in '${options.data}'`);
  checkTrainingRows(model, trainRows, options.data);
  log(`data: ${trainRows.length} training rows, ${validRows.length} held out`);

  // ---- fitted transforms, then the transform module
  const bundle: Bundle = {
    model: { name: model.name, version: model.meta.version ?? '' },
    sourceSha256: sha256Hex(source),
    producer: `proml-trainer ${TRAINER_VERSION}`,
    notes: [],
    components: new Map(),
    transforms: new Map(),
    calibrations: new Map(),
  };
  fitTransforms(model, trainRows, bundle);
  if (locked !== null) useLockedTransforms(bundle, locked);
  if (bundle.transforms.size > 0) log(`fitted ${bundle.transforms.size} transform statistics`);
  const tm = await emitTransformModule(model, bundle, {
    sourceText: source,
    kernelBytes: options.kernelBytes,
  });
  const transform = await Model.load(tm.bytes, { product: 'transform' });
  const inputNames = model.inputs.map((i) => i.name);
  const inputsOf = (rows: Row[]): Row[] =>
    rows.map((row) => Object.fromEntries(inputNames.map((n) => [n, row[n] ?? null])));
  const transformPhase = progress.begin(`transform module (${trainRows.length} rows)`, null);
  const tTrain = transform.transform(inputsOf(trainRows));
  transformPhase.end();
  const accepted: number[] = [];
  for (let i = 0; i < tTrain.n; i++) if (tTrain.status[i] === 0) accepted.push(i);
  if (accepted.length === 0)
    throw new TrainError('noRows', 'every training row is rejected by the model (required inputs, ranges)');
  log(
    `transform module: ${tTrain.n - accepted.length} of ${tTrain.n} training rows rejected by the model's input rules`,
  );

  // ---- fit each train block
  const reports: BlockReport[] = [];
  const compReports = new Map<string, BlockReport['components'][number]>();
  /** Out-of-fold predictions per output (blocks with folds whose output is calibrated). */
  const oofs = new Map<string, { p: Float64Array; y: Float64Array }>();
  for (const tb of model.trains) {
    const out = model.outputs.find((o) => o.name === tb.output)!;
    const form = out.trained!;
    const { loss } = lossOf(tb);
    if (form.offsets.length > 0)
      throw new TrainError(
        'unsupported',
        `output '${out.name}': offsets outside components are not supported yet by the trainer`,
      );
    const comps = form.components.map((n) => model.components.find((c) => c.name === n)!);
    const K = comps[0]!.outputWidth;
    const spec: BlockSpec = {
      output: tb.output,
      comps,
      loss,
      K,
      iterations: tb.iterations ?? (comps.length === 1 ? 1 : 3),
      seed: tb.seed ?? 0,
      metric: tb.metric ?? defaultMetric(loss),
    };
    const y = Float64Array.from(accepted, (i) => labelOf(trainRows[i]!, tb, loss));
    const w =
      tb.weight === null ? null : Float64Array.from(accepted, (i) => Number(trainRows[i]![tb.weight!] ?? 1));
    const train = blockRows(tTrain, trainRows, accepted, comps, y, w);
    // the held-out rows through the transform module, once, when a search or early stopping needs them
    let heldRows: BlockRows | null = null;
    const held = (): BlockRows => {
      if (heldRows !== null) return heldRows;
      const t = transform.transform(inputsOf(validRows));
      const acc: number[] = [];
      for (let i = 0; i < t.n; i++) if (t.status[i] === 0) acc.push(i);
      const hy = Float64Array.from(acc, (i) => labelOf(validRows[i]!, tb, loss));
      const hw =
        tb.weight === null ? null : Float64Array.from(acc, (i) => Number(validRows[i]![tb.weight!] ?? 1));
      return (heldRows = blockRows(t, validRows, acc, comps, hy, hw));
    };
    // cross-validation and hyperparameter search (trainer/tune.ts) choose the hyperparameters fitted below
    const tuned = await tuneBlock({
      tb,
      spec,
      train,
      held: validRows.length === 0 ? null : held,
      options,
      wantOof: validRows.length === 0 && model.calibrations.some((c) => c.of === tb.output),
      log,
    });
    const hyper = tuned.hyperparameters;
    if (tuned.oof !== null) oofs.set(tb.output, { p: tuned.oof, y });
    // the final fit: the code every search trial and fold runs (trainer/block.ts), on all training
    // rows; gbdt early stopping watches the held-out rows
    const early = comps.some((c) => c.kind === 'gbdt' && hyper.get(c.name)?.has('early_stopping'));
    const fit = await fitBlock(spec, train, validRows.length > 0 && early ? held() : null, hyper, {
      log,
      progress,
      locked: lockedIn(locked, comps),
    });
    const coefs = fit.coefs;
    for (const c of comps) {
      const rep = fit.reports.get(c.name)!;
      compReports.set(c.name, {
        name: c.name,
        kind: c.per === null ? c.kind : 'random_effect',
        per: c.per,
        hyperparameters: Object.fromEntries(hyper.get(c.name) ?? new Map()),
        iterations: rep.iterations,
        converged: rep.converged,
        ...(rep.entities === undefined ? {} : { entities: rep.entities }),
      });
    }
    for (const [name, coef] of coefs) bundle.components.set(name, coef);
    reports.push({
      output: tb.output,
      objective: tb.objective.name,
      components: comps.map((c) => compReports.get(c.name)!),
      trainRows: accepted.length,
      validationRows: validRows.length,
      rejectedRows: tTrain.n - accepted.length,
      metrics: {},
      importance: importance(comps, coefs),
      ...(tuned.cv === null ? {} : { cv: tuned.cv }),
      ...(tuned.search === null ? {} : { search: tuned.search }),
    });
  }

  // ---- calibration maps (fitted on the held-out rows' predictions of the calibrated output)
  // ---- write the bundle, compile the scoring module, score the held-out rows with it
  mkdirSync(options.out, { recursive: true });
  const scoringPreview = async (b: Bundle): Promise<{ model: Model; bytes: Uint8Array }> => {
    const { bytes } = await emitScoringModule(model, lowerModel(model), b, {
      sourceText: source,
      kernelBytes: options.kernelBytes,
    });
    return { model: await Model.load(bytes), bytes };
  };
  if (model.calibrations.length > 0) {
    const pre = await scoringPreviewWithoutCalibration(model, bundle, scoringPreview);
    for (const cal of model.calibrations) {
      const tb = model.trains.find((t) => t.output === cal.of)!;
      const res = pre.score(
        inputsOf(validRows.length > 0 ? validRows : trainRows),
        new MemoryEntityStore(bundle),
      );
      const rowsUsed = validRows.length > 0 ? validRows : trainRows;
      const ps: number[] = [];
      const ys: number[] = [];
      rowsUsed.forEach((row, i) => {
        const v = res.value(cal.of, i);
        if (typeof v === 'number') {
          ps.push(v);
          ys.push(labelOf(row, tb, 'logistic'));
        }
      });
      const oof = oofs.get(cal.of);
      if (oof !== undefined) {
        // folds, no held-out rows: the out-of-fold predictions (docs/dsl.md 6.6)
        ps.length = 0;
        ys.length = 0;
        for (let i = 0; i < oof.p.length; i++) {
          ps.push(oof.p[i]!);
          ys.push(oof.y[i]!);
        }
      }
      const key = `${cal.method}.${cal.of}`;
      bundle.calibrations.set(
        key,
        cal.method === 'platt' ? fitPlatt(cal.of, ps, ys) : fitIsotonic(cal.of, ps, ys),
      );
      log(
        `calibration ${key}: fitted on ${ps.length} ${oof === undefined ? 'held-out' : 'out-of-fold'} predictions`,
      );
    }
  }
  writeBundle(options.out, bundle);
  const written = readBundle(options.out);
  const { model: scorer } = await scoringPreview(written);
  const store = new MemoryEntityStore(written);
  const scoringPhase = progress.begin(`scoring ${validRows.length} held-out rows`, null);
  const scored = scorer.score(inputsOf(validRows), store);
  scoringPhase.end();
  for (const rep of reports) {
    const tb = model.trains.find((t) => t.output === rep.output)!;
    const { loss } = lossOf(tb);
    const ys: number[] = [];
    const ps: number[] = [];
    const out = scorer.manifest.outputs.find((o) => o.name === rep.output)!;
    validRows.forEach((row, i) => {
      const v = scored.value(rep.output, i);
      if (v === null) return;
      ys.push(labelOf(row, tb, loss));
      if (Array.isArray(v)) ps.push(...v);
      else ps.push(v as number);
    });
    if (ys.length > 0) {
      if (loss === 'logistic') {
        rep.metrics = {
          auc: metrics.auc(ys, ps),
          logloss: metrics.logLoss(ys, ps),
          accuracy: metrics.accuracy(ys, ps),
          f1: metrics.f1(ys, ps),
        };
        const cal = metrics.calibration(ys, ps);
        rep.metrics['ece'] = cal.ece;
        rep.reliability = cal.curve;
      } else if (loss === 'multiclass') {
        rep.metrics = {
          logloss: metrics.multiLogLoss(ys, ps, out.size),
          accuracy: metrics.multiAccuracy(ys, ps, out.size),
        };
      } else rep.metrics = { rmse: metrics.rmse(ys, ps), mae: metrics.mae(ys, ps) };
    }
  }
  // held-out predictions, exactly as the scoring module wrote them
  const outs = scorer.manifest.outputs;
  const lines = [['row', ...outs.map((o) => o.name), '_status'].join(',')];
  for (let i = 0; i < validRows.length; i++)
    lines.push(
      [String(i), ...outs.map((o) => JSON.stringify(scored.value(o.name, i))), String(scored.status[i])].join(
        ',',
      ),
    );
  writeFileSync(join(options.out, 'validation-predictions.csv'), lines.join('\n') + '\n');
  const report: TrainReport = {
    model: model.name,
    trainer: `proml-trainer ${TRAINER_VERSION}`,
    data: { path: options.data, sha256: data.sha256, rows: all.length },
    validation: {
      path: options.validation ?? null,
      sha256: validSha,
      rows: validRows.length,
    },
    ...(locked === null
      ? {}
      : { retrain: { from: locked.from, retrained: locked.retrained, locked: [...locked.coefs.keys()] } }),
    blocks: reports,
    seconds: (performance.now() - t0) / 1000,
    out: options.out,
  };
  writeFileSync(join(options.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(options.out, 'report.txt'), formatReport(report));
  return report;
}

/** The scoring module with identity calibration maps, to get the calibrated outputs' inputs. */
async function scoringPreviewWithoutCalibration(
  model: CheckedModel,
  bundle: Bundle,
  compile: (b: Bundle) => Promise<{ model: Model }>,
): Promise<Model> {
  const b: Bundle = { ...bundle, calibrations: new Map(bundle.calibrations) };
  for (const cal of model.calibrations)
    b.calibrations.set(
      `${cal.method}.${cal.of}`,
      cal.method === 'platt'
        ? { kind: 'platt', of: cal.of, a: 1, b: 0 }
        : { kind: 'isotonic', of: cal.of, x: Float64Array.of(0, 1), y: Float64Array.of(0, 1) },
    );
  return (await compile(b)).model;
}

function labelOf(row: Row, tb: CheckedTrain, loss: GlmLoss): number {
  const v = row[tb.label];
  const x = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : NaN;
  const ok =
    loss === 'logistic'
      ? x === 0 || x === 1
      : loss === 'multiclass'
        ? Number.isInteger(x) && x >= 0
        : loss === 'poisson'
          ? Number.isFinite(x) && x >= 0
          : Number.isFinite(x);
  if (!ok)
    throw new TrainError(
      'label',
      `label '${tb.label}' = ${JSON.stringify(v)} does not suit objective ${tb.objective.name}`,
    );
  return x;
}

/** platt: p' = sigmoid(a·p + b), a one-feature logistic fit (tiny L2 for separable data). */
function fitPlatt(
  of: string,
  ps: number[],
  ys: number[],
): { kind: 'platt'; of: string; a: number; b: number } {
  const n = ps.length;
  const X: Csr = {
    n,
    d: 1,
    offsets: Int32Array.from({ length: n + 1 }, (_, i) => i),
    cols: new Int32Array(n),
    vals: Float64Array.from(ps),
  };
  const fit = fitGlm({
    X,
    y: Float64Array.from(ys),
    loss: 'logistic',
    classes: 1,
    intercept: true,
    l2: 1e-6,
    maxIter: 200,
    tol: 1e-10,
  });
  return { kind: 'platt', of, a: fit.weights[0]!, b: fit.intercepts[0]! };
}

/** isotonic: pool-adjacent-violators on (p, y) sorted by p; points at the blocks' mean p (strictly increasing). */
function fitIsotonic(
  of: string,
  ps: number[],
  ys: number[],
): { kind: 'isotonic'; of: string; x: Float64Array; y: Float64Array } {
  const idx = ps.map((_, i) => i).sort((a, b) => ps[a]! - ps[b]! || a - b);
  const blocks: { sx: number; sy: number; n: number }[] = [];
  for (const i of idx) {
    blocks.push({ sx: ps[i]!, sy: ys[i]!, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]!;
      const a = blocks[blocks.length - 2]!;
      if (a.sy / a.n < b.sy / b.n && a.sx / a.n < b.sx / b.n) break;
      blocks.pop();
      a.sx += b.sx;
      a.sy += b.sy;
      a.n += b.n;
    }
  }
  if (blocks.length === 1)
    blocks.push({ sx: blocks[0]!.sx / blocks[0]!.n + 1e-9, sy: blocks[0]!.sy / blocks[0]!.n, n: 1 });
  return {
    kind: 'isotonic',
    of,
    x: Float64Array.from(blocks, (b) => b.sx / b.n),
    y: Float64Array.from(blocks, (b) => b.sy / b.n),
  };
}

function importance(
  comps: CheckedComponent[],
  coefs: Map<string, ComponentCoefficients>,
): BlockReport['importance'] {
  const out: BlockReport['importance'] = [];
  for (const c of comps) {
    const coef = coefs.get(c.name);
    if (coef?.kind !== 'linear') continue;
    const featureOf = (col: number): string => {
      const f = c.features.find((x) => col >= x.offset && col < x.offset + x.width);
      return f === undefined ? `#${col}` : f.width === 1 ? f.text : `${f.text}[${col - f.offset}]`;
    };
    coef.weights.forEach((wt, j) => {
      if (wt !== 0)
        out.push({
          component: c.name,
          column: j % c.inputWidth,
          feature: featureOf(j % c.inputWidth),
          weight: wt,
        });
    });
  }
  return out.sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight)).slice(0, 20);
}

export function formatReport(r: TrainReport): string {
  const lines = [
    `proml train — model ${r.model} (${r.trainer})`,
    `data: ${r.data.path} (${r.data.rows} rows, sha256 ${r.data.sha256.slice(0, 12)}…)`,
    `held out: ${r.validation.path ?? (r.validation.rows === 0 ? 'none (k-fold cross-validation)' : 'a fraction of the data')} (${r.validation.rows} rows)`,
  ];
  if (r.retrain !== undefined)
    lines.push(
      `retrained: ${r.retrain.retrained.join(', ')}; locked at ${r.retrain.from}: ${r.retrain.locked.join(', ') || '(none)'}`,
    );
  for (const b of r.blocks) {
    lines.push(
      '',
      `output ${b.output} — objective ${b.objective}: ${b.trainRows} training rows (${b.rejectedRows} rejected by input rules)`,
    );
    for (const c of b.components)
      lines.push(
        `  ${c.name} (${c.kind}${c.per === null ? '' : ` per ${c.per}, ${c.entities ?? 0} entities`}): ${JSON.stringify(c.hyperparameters)}; solver iterations per pass ${c.iterations.join(', ')}${c.converged ? '' : ' (NOT converged: raise max_iter)'}`,
      );
    lines.push(
      `  held-out metrics: ${
        Object.entries(b.metrics)
          .map(([k, v]) => `${k} ${v.toFixed(6)}`)
          .join(', ') || '(no held-out rows)'
      }`,
    );
    lines.push(...formatTuning(b));
    if (b.importance.length > 0) {
      lines.push('  largest weights:');
      for (const i of b.importance.slice(0, 10))
        lines.push(`    ${i.weight >= 0 ? '+' : ''}${i.weight.toFixed(6)}  ${i.component}: ${i.feature}`);
    }
  }
  lines.push('', `took ${r.seconds.toFixed(2)} s; outputs in ${r.out}`);
  return lines.join('\n') + '\n';
}
