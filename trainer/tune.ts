// Cross-validation and hyperparameter search for one train block, before its final fit (called by
// trainer/train.ts). Input: the block (its BlockSpec), its prepared training rows (trainer/block.ts
// BlockRows), the held-out rows (if any, prepared on demand), the command line's overrides. Output: the hyperparameters the final fit
// uses (the block's fixed ones, plus the best trial's values after a search), the k-fold report,
// the search report (leaderboard), and out-of-fold predictions when a calibration map needs them.
// Evaluation inside here is the trainer's own f64 arithmetic (trainer/block.ts predict/evalMetrics);
// the final held-out metrics of the report stay the compiled scoring module's.

import type { CheckedTrain } from '../compiler/typed.js';
import type { BlockRows, BlockSpec, Hyperparameters } from './block.js';
import { crossValidate, type CvResult } from './folds.js';
import { formatHyper, searchBlock, type SearchMethod, type SearchReport } from './search.js';

/** Command-line overrides of the train blocks' `folds` and `search` settings. */
export interface TuneOptions {
  /** k-fold cross-validation for every block (≥ 2), replacing the hold-out. */
  folds?: number | null;
  /** 'off': no search even where a block has one; 'random' / 'tpe': the method of every search block. */
  search?: 'off' | SearchMethod | null;
  /** Trials per search (replaces `budget`). */
  trials?: number | null;
  /** Trials at once (replaces `parallel`). */
  parallel?: number | null;
  /** Seconds after which a search starts no new batch of trials. */
  searchTime?: number | null;
}

export interface BlockTuning {
  hyperparameters: Hyperparameters;
  cv: CvResult | null;
  search: SearchReport | null;
  /** Out-of-fold predictions of the training rows (n·K), when asked for and folds are used. */
  oof: Float64Array | null;
}

export interface TuneInput {
  tb: CheckedTrain;
  /** The block as train.ts fits it (the same spec the trials and folds fit). */
  spec: BlockSpec;
  /** The training rows the model's input rules accept, with their labels and weights. */
  train: BlockRows;
  /** The held-out rows (transformed on first call), or null when none are held out. */
  held: (() => BlockRows) | null;
  options: TuneOptions;
  /** Out-of-fold predictions are wanted (a calibration of this output without held-out rows). */
  wantOof: boolean;
  log: (line: string) => void;
}

/** The block's folds after the command line's override (null: a hold-out). */
export function foldsOf(tb: CheckedTrain, options: TuneOptions): number | null {
  return options.folds ?? tb.folds;
}

export async function tuneBlock(input: TuneInput): Promise<BlockTuning> {
  const { tb, options, log } = input;
  const folds = foldsOf(tb, options);
  const searching = tb.search !== null && options.search !== 'off';
  const none: BlockTuning = { hyperparameters: tb.hyperparameters, cv: null, search: null, oof: null };
  if (!searching && folds === null) return none;
  const { spec, train } = input;
  let hyper = tb.hyperparameters;
  let search: SearchReport | null = null;
  let cv: CvResult | null = null;
  if (searching) {
    const held = folds === null && input.held !== null ? input.held() : null;
    const s = tb.search!;
    const metric = s.metric ?? spec.metric;
    const method: SearchMethod =
      options.search === 'random' || options.search === 'tpe'
        ? options.search
        : s.method === 'tpe'
          ? 'tpe'
          : 'random';
    const out = await searchBlock({
      ctx: { spec, train, held, folds, base: tb.hyperparameters, dims: s.dimensions, metric },
      settings: {
        method,
        budget: options.trials ?? s.budget ?? 20,
        parallel: options.parallel ?? s.parallel ?? 1,
        metric,
        timeLimit: options.searchTime ?? null,
      },
      log,
    });
    hyper = out.hyperparameters;
    search = out.report;
    cv = out.best.cv;
    const top = out.report.leaderboard[0]!;
    log(
      `${tb.output}: search (${method}, ${out.report.trials} trials, ${out.report.seconds.toFixed(1)} s): best trial ${top.trial}, ${metric} ${top.metric.toFixed(6)}: ${formatHyper(top.hyperparameters)}`,
    );
  }
  let oof: Float64Array | null = null;
  if (folds !== null && (cv === null || input.wantOof)) {
    const r = await crossValidate(spec, train, folds, hyper, input.wantOof);
    cv = { folds: r.folds, rows: r.rows, perFold: r.perFold, mean: r.mean, sd: r.sd };
    oof = r.oof;
  }
  if (cv !== null)
    log(
      `${tb.output}: ${cv.folds}-fold cross-validation: ${Object.entries(cv.mean)
        .map(([k, v]) => `${k} ${v.toFixed(6)} ± ${cv.sd[k]!.toFixed(6)}`)
        .join(', ')}`,
    );
  return { hyperparameters: hyper, cv, search, oof };
}

/** report.txt lines for a block's cross-validation and search (empty when neither ran). */
export function formatTuning(b: { cv?: CvResult | null; search?: SearchReport | null }): string[] {
  const lines: string[] = [];
  const cv = b.cv;
  if (cv !== undefined && cv !== null) {
    lines.push(`  ${cv.folds}-fold cross-validation (fold rows ${cv.rows.join(', ')}):`);
    for (const k of Object.keys(cv.mean))
      lines.push(
        `    ${k.padEnd(8)} ${cv.mean[k]!.toFixed(6)} ± ${cv.sd[k]!.toFixed(6)}   folds: ${cv.perFold.map((f) => f[k]!.toFixed(6)).join(', ')}`,
      );
  }
  const s = b.search;
  if (s !== undefined && s !== null) {
    lines.push(
      `  search: ${s.method}${s.startup === undefined ? '' : ` (${s.startup} random trials first)`}, ${s.trials} of ${s.budget} trials${s.stopped === 'time' ? ' (time limit)' : ''}, parallel ${s.parallel} on ${s.threads} thread${s.threads === 1 ? '' : 's'}, ${s.metric} (${s.direction}) on ${s.evaluation} rows, seed ${s.seed}, ${s.seconds.toFixed(1)} s`,
      `    rank  trial  ${s.metric.padEnd(10)}  seconds  hyperparameters`,
    );
    for (const e of s.leaderboard)
      lines.push(
        `    ${String(e.rank).padStart(4)}  ${String(e.trial).padStart(5)}  ${e.metric.toFixed(6).padEnd(10)}  ${e.seconds.toFixed(2).padStart(7)}  ${formatHyper(e.hyperparameters)}`,
      );
  }
  return lines;
}
