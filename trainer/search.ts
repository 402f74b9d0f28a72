// Hyperparameter search over a train block's search space (docs/dsl.md 9.4, docs/training.md):
// `method random` or `method tpe` (trainer/tpe.ts), `budget` trials, `parallel` trials at once on a
// piscina pool of worker threads (trainer/search-worker.mjs), scored with the search's metric on the
// held-out rows, or by the mean over the folds when the block uses `folds`.
// Input: the block's prepared rows (trainer/block.ts), its fixed hyperparameters and search space,
// the settings. Output: the best trial's hyperparameters and the search report (a leaderboard).
// Determinism: trials are proposed in batches of `parallel`; every proposal depends only on the seed,
// the trial's number and the trials of earlier batches, and results are recorded in trial order, not
// in the order workers finish. So a seed (and the same `parallel`) gives the same trials, metrics and
// best trial however many threads run them; `parallel` itself changes TPE's proposals (a batch does
// not see its own results). Only `timeLimit` (stop starting batches after that many seconds) makes
// the number of trials depend on the machine.

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Rng } from '../compiler/reference/index.js';
import type { HyperValue, SearchDimension } from '../compiler/typed.js';
import {
  evalMetrics,
  fitBlock,
  maximised,
  predict,
  type BlockRows,
  type BlockSpec,
  type Hyperparameters,
} from './block.js';
import { TRAIN_CODES, TrainError } from './errors.js';
import { crossValidate, type CvResult } from './folds.js';
import { sampleRandom, sampleTpe, tpeStartup, type Observation } from './tpe.js';

export type SearchMethod = 'random' | 'tpe';

export interface SearchSettings {
  method: SearchMethod;
  /** Trials (≥ 1). */
  budget: number;
  /** Trials proposed and run at once (≥ 1); worker threads: min(parallel, cores). */
  parallel: number;
  /** The metric the search optimises (auc/accuracy/f1 maximised, the others minimised). */
  metric: string;
  /** Seconds after which no new batch of trials starts (null: no limit). */
  timeLimit: number | null;
}

/** What a trial needs besides its hyperparameters (the same in the main thread and in workers). */
export interface TrialContext {
  spec: BlockSpec;
  train: BlockRows;
  /** Held-out rows (used when folds is null). */
  held: BlockRows | null;
  folds: number | null;
  /** The block's fixed hyperparameters. */
  base: Hyperparameters;
  dims: SearchDimension[];
  metric: string;
}

export interface TrialResult {
  /** The search metric (fold mean with folds). */
  metric: number;
  metrics: Record<string, number>;
  cv: CvResult | null;
  seconds: number;
}

export interface LeaderboardEntry {
  rank: number;
  /** 1-based, in proposal order. */
  trial: number;
  /** `component.param` → value, in the order of the search block. */
  hyperparameters: Record<string, HyperValue>;
  metric: number;
  /** Every metric of the evaluation (fold means with folds). */
  metrics: Record<string, number>;
  /** Fold standard deviation of the search metric (folds only). */
  sd?: number;
  seconds: number;
}

export interface SearchReport {
  method: SearchMethod;
  budget: number;
  /** Trials run (less than the budget only when the time limit stopped the search). */
  trials: number;
  parallel: number;
  threads: number;
  metric: string;
  direction: 'maximise' | 'minimise';
  /** Where trials are scored: 'held-out' or 'k-fold'. */
  evaluation: string;
  /** TPE: random trials before the model takes over. */
  startup?: number;
  stopped: 'budget' | 'time';
  seed: number;
  seconds: number;
  leaderboard: LeaderboardEntry[];
}

/** One sample's hyperparameters: the fixed ones with the sampled values set. */
export function withSample(
  base: Hyperparameters,
  dims: readonly SearchDimension[],
  x: readonly HyperValue[],
): Hyperparameters {
  const out: Hyperparameters = new Map([...base].map(([c, h]) => [c, new Map(h)]));
  dims.forEach((d, j) => {
    let h = out.get(d.component);
    if (h === undefined) out.set(d.component, (h = new Map()));
    h.set(d.param, x[j]!);
  });
  return out;
}

/** Trains the block with one sample and scores it (held-out rows, or k-fold mean). */
export async function runTrial(ctx: TrialContext, x: readonly HyperValue[]): Promise<TrialResult> {
  const started = performance.now();
  const hyper = withSample(ctx.base, ctx.dims, x);
  const { spec } = ctx;
  let metrics: Record<string, number>;
  let cv: CvResult | null = null;
  if (ctx.folds !== null) {
    const r = await crossValidate(spec, ctx.train, ctx.folds, hyper);
    cv = { folds: r.folds, rows: r.rows, perFold: r.perFold, mean: r.mean, sd: r.sd };
    metrics = r.mean;
  } else {
    const fit = await fitBlock(spec, ctx.train, ctx.held, hyper);
    metrics = evalMetrics(spec.loss, spec.K, ctx.held!.y, predict(spec.loss, spec.K, fit.heldMargin!));
  }
  return { metric: metrics[ctx.metric] ?? NaN, metrics, cv, seconds: (performance.now() - started) / 1000 };
}

/** Lower is better: what TPE and the leaderboard sort by (NaN last). */
function loss(metric: string, v: number): number {
  return Number.isNaN(v) ? Infinity : maximised(metric) ? -v : v;
}

export interface SearchInput {
  ctx: TrialContext;
  settings: SearchSettings;
  log?: (line: string) => void;
}

export interface SearchOutcome {
  hyperparameters: Hyperparameters;
  best: TrialResult;
  report: SearchReport;
}

const WORKER_ENTRY = fileURLToPath(new URL('./search-worker.mjs', import.meta.url));

export async function searchBlock(input: SearchInput): Promise<SearchOutcome> {
  const { ctx, settings: s } = input;
  const log = input.log ?? ((): void => undefined);
  const t0 = performance.now();
  if (!Number.isInteger(s.budget) || s.budget < 1)
    throw new TrainError('search', `the search budget must be an integer ≥ 1 (got ${s.budget})`);
  if (!Number.isInteger(s.parallel) || s.parallel < 1)
    throw new TrainError('search', `parallel must be an integer ≥ 1 (got ${s.parallel})`);
  if (ctx.dims.length === 0)
    throw new TrainError(
      'search',
      `output '${ctx.spec.output}': the search block has no COMPONENT.PARAM in SPACE entry`,
    );
  if (ctx.folds === null && (ctx.held === null || ctx.held.n === 0))
    throw new TrainError(
      'search',
      `output '${ctx.spec.output}': a search needs held-out rows or folds to score its trials (none are held out)`,
    );
  const threads = Math.min(s.parallel, s.budget, Math.max(1, availableParallelism()));
  const pool =
    threads > 1
      ? new Piscina<{ x: HyperValue[] }, TrialResult>({
          filename: WORKER_ENTRY,
          minThreads: threads,
          maxThreads: threads,
          // workers need none of the parent's flags (`--import` preloads, `--test`)
          execArgv: [],
          // the context once per worker (structured clone: rows, components, space)
          workerData: ctx,
        })
      : null;
  const startup = tpeStartup(s.budget);
  const xs: HyperValue[][] = [];
  const results: TrialResult[] = [];
  let stopped: SearchReport['stopped'] = 'budget';
  try {
    while (xs.length < s.budget) {
      if (s.timeLimit !== null && results.length > 0 && (performance.now() - t0) / 1000 >= s.timeLimit) {
        stopped = 'time';
        break;
      }
      // propose a batch from the trials of earlier batches only
      const observed: Observation[] = results.map((r, i) => ({ x: xs[i]!, value: loss(s.metric, r.metric) }));
      const batch: HyperValue[][] = [];
      for (let b = 0; b < s.parallel && xs.length + b < s.budget; b++) {
        const trial = xs.length + b;
        const rng = new Rng(ctx.spec.seed, `search/${ctx.spec.output}/${trial}`);
        batch.push(
          s.method === 'tpe' && trial >= startup
            ? sampleTpe(ctx.dims, observed, rng)
            : sampleRandom(ctx.dims, rng),
        );
      }
      const first = xs.length;
      xs.push(...batch);
      const done =
        pool === null
          ? await sequential(batch, (x) => runTrial(ctx, x))
          : await Promise.all(batch.map((x) => pool.run({ x }).catch(fromWorker)));
      results.push(...done);
      done.forEach((r, b) =>
        log(
          `${ctx.spec.output}: search trial ${first + b + 1}/${s.budget} (${s.method}): ${s.metric} ${r.metric.toFixed(6)} with ${formatHyper(entries(ctx.dims, batch[b]!))} (${r.seconds.toFixed(2)} s)`,
        ),
      );
    }
  } finally {
    if (pool !== null) await pool.destroy();
  }
  const order = results
    .map((_, i) => i)
    .sort((a, b) => loss(s.metric, results[a]!.metric) - loss(s.metric, results[b]!.metric) || a - b);
  const leaderboard: LeaderboardEntry[] = order.map((i, rank) => {
    const r = results[i]!;
    const e: LeaderboardEntry = {
      rank: rank + 1,
      trial: i + 1,
      hyperparameters: entries(ctx.dims, xs[i]!),
      metric: r.metric,
      metrics: r.metrics,
      seconds: r.seconds,
    };
    if (r.cv !== null) e.sd = r.cv.sd[s.metric] ?? NaN;
    return e;
  });
  const bestIdx = order[0]!;
  const report: SearchReport = {
    method: s.method,
    budget: s.budget,
    trials: results.length,
    parallel: s.parallel,
    threads,
    metric: s.metric,
    direction: maximised(s.metric) ? 'maximise' : 'minimise',
    evaluation: ctx.folds === null ? 'held-out' : `${ctx.folds}-fold`,
    stopped,
    seed: ctx.spec.seed,
    seconds: (performance.now() - t0) / 1000,
    leaderboard,
  };
  if (s.method === 'tpe') report.startup = Math.min(startup, s.budget);
  return { hyperparameters: withSample(ctx.base, ctx.dims, xs[bestIdx]!), best: results[bestIdx]!, report };
}

/** A worker's TrainError arrives as a plain Error with the code in its message: make it a TrainError again. */
function fromWorker(e: unknown): never {
  if (e instanceof Error && !(e instanceof TrainError)) {
    const kind = (Object.keys(TRAIN_CODES) as (keyof typeof TRAIN_CODES)[]).find((k) =>
      e.message.startsWith(`${TRAIN_CODES[k].code}: `),
    );
    if (kind !== undefined) throw new TrainError(kind, e.message.slice(TRAIN_CODES[kind].code.length + 2));
  }
  throw e;
}

async function sequential<T, R>(xs: readonly T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const x of xs) out.push(await f(x));
  return out;
}

function entries(dims: readonly SearchDimension[], x: readonly HyperValue[]): Record<string, HyperValue> {
  return Object.fromEntries(dims.map((d, j) => [`${d.component}.${d.param}`, x[j]!]));
}

export function formatHyper(h: Record<string, HyperValue>): string {
  return Object.entries(h)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v)}`)
    .join(' ');
}
