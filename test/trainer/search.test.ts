// k-fold cross-validation (trainer/folds.ts) and hyperparameter search (trainer/search.ts, tpe.ts):
// the leaderboard (budget entries, sorted by the search metric, the best trial's hyperparameters in
// the final fit and the bundle, its metric equal to the compiled module's held-out metric), the same
// trials and numbers for a seed whether trials run in worker threads or in process, TPE beating
// random search on a one-dimensional l2 search with a clear optimum, and k folds giving k fold
// metrics, the same for a seed. Data: logistic rows generated here with a seeded Rng.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBundle } from '../../abi/node.js';
import { checkSource } from '../../compiler/index.js';
import { Rng } from '../../compiler/reference/index.js';
import type { CheckedModel } from '../../compiler/typed.js';
import type { BlockRows, BlockSpec } from '../../trainer/block.js';
import { crossValidate, foldOf } from '../../trainer/folds.js';
import {
  searchBlock,
  type SearchMethod,
  type SearchReport,
  type TrialContext,
} from '../../trainer/search.js';
import { trainModel } from '../../trainer/train.js';

const N = 2000;
const D = 6;

/** Rows x1..xD, y: a logistic model with a linear part and an interaction (trees help). */
function makeRows(seed: number, n: number, d: number, signal: (x: number[]) => number): number[][] {
  const rng = new Rng(seed, 'search-test');
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: d }, () => Math.round(rng.normal() * 1e5) / 1e5);
    rows.push([...x, rng.next() < 1 / (1 + Math.exp(-signal(x))) ? 1 : 0]);
  }
  return rows;
}

const ROWS = makeRows(
  7,
  N,
  D,
  (x) => 0.8 * x[0]! - 0.6 * x[1]! + 0.3 * x[2]! + (x[3]! > 0.5 ? 0.9 : -0.2) * x[4]!,
);
const inputs = (d: number): string =>
  Array.from({ length: d }, (_, j) => `  input x${j + 1}: f64 default 0\n`).join('');
const xs = (d: number): string => Array.from({ length: d }, (_, j) => `x${j + 1}`).join(', ');

function modelSource(train: string): string {
  return `model searched {
  version "1.0"
  owner "proml-team@example.com"
  purpose "testing"
${inputs(D)}  component lin = linear(${xs(D)})
  component trees = gbdt(${xs(D)})
  output p = sigmoid(lin + trees)
  train p {
    label y
    objective logistic
    seed 3
    iterations 2
    trees { count 20 }
${train}
  }
}
`;
}

const SPACE = `
      lin.l2 in log [0.001, 100.0]
      trees.depth in [2, 5]
      trees.learning_rate in log [0.05, 0.5]`;

function writeCase(
  source: string,
  rows: number[][],
  d: number,
): { dir: string; model: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'proml-search-'));
  const header = [...Array.from({ length: d }, (_, j) => `x${j + 1}`), 'y'].join(',');
  writeFileSync(join(dir, 'data.csv'), [header, ...rows.map((r) => r.join(','))].join('\n') + '\n');
  writeFileSync(join(dir, 'model.pml'), source);
  return { dir, model: join(dir, 'model.pml'), data: join(dir, 'data.csv') };
}

function check(source: string): CheckedModel {
  const m = checkSource('model.pml', source).checked;
  assert.ok(m !== null, 'the test model checks');
  return m;
}

/**
 * The block's rows built by hand (the features are the raw inputs, so the transform module would
 * give exactly these): linear input as CSR, tree input as cells.
 */
function blockRowsOf(m: CheckedModel, rows: number[][], d: number): BlockRows {
  const n = rows.length;
  const inputs: BlockRows['inputs'] = new Map();
  for (const c of m.components) {
    if (c.kind === 'gbdt')
      inputs.set(c.name, {
        kind: 'cells',
        X: {
          n,
          width: d,
          values: Float64Array.from(rows.flatMap((r) => r.slice(0, d))),
          present: new Uint8Array(n * d).fill(1),
        },
      });
    else
      inputs.set(c.name, {
        kind: 'csr',
        X: {
          n,
          d,
          offsets: Int32Array.from({ length: n + 1 }, (_, i) => i * d),
          cols: Int32Array.from({ length: n * d }, (_, q) => q % d),
          vals: Float64Array.from(rows.flatMap((r) => r.slice(0, d))),
        },
      });
  }
  return { n, y: Float64Array.from(rows, (r) => r[d]!), w: null, inputs, entities: new Map() };
}

function contextOf(
  source: string,
  rows: number[][],
  d: number,
  held: number,
  folds: number | null,
): TrialContext {
  const m = check(source);
  const tb = m.trains[0]!;
  const comps = m.outputs
    .find((o) => o.name === tb.output)!
    .trained!.components.map((n) => m.components.find((c) => c.name === n)!);
  const spec: BlockSpec = {
    output: tb.output,
    comps,
    loss: 'logistic',
    K: 1,
    iterations: tb.iterations ?? (comps.length === 1 ? 1 : 3),
    seed: tb.seed ?? 0,
    metric: tb.metric ?? 'logloss',
  };
  return {
    spec,
    train: blockRowsOf(m, rows.slice(held), d),
    held: held === 0 ? null : blockRowsOf(m, rows.slice(0, held), d),
    folds,
    base: tb.hyperparameters,
    dims: tb.search!.dimensions,
    metric: tb.search!.metric ?? 'logloss',
  };
}

const search = (
  ctx: TrialContext,
  method: SearchMethod,
  budget: number,
  parallel: number,
): Promise<SearchReport> =>
  searchBlock({ ctx, settings: { method, budget, parallel, metric: ctx.metric, timeLimit: null } }).then(
    (r) => r.report,
  );

/** The leaderboard without timings. */
const board = (r: SearchReport): unknown =>
  r.leaderboard.map((e) => ({ rank: e.rank, trial: e.trial, h: e.hyperparameters, metric: e.metric }));

function assertSorted(r: SearchReport, budget: number): void {
  assert.equal(r.leaderboard.length, budget);
  assert.deepEqual(
    r.leaderboard.map((e) => e.rank),
    Array.from({ length: budget }, (_, i) => i + 1),
  );
  assert.deepEqual(
    r.leaderboard.map((e) => e.trial).sort((a, b) => a - b),
    Array.from({ length: budget }, (_, i) => i + 1),
  );
  const ms = r.leaderboard.map((e) => e.metric);
  for (let i = 1; i < ms.length; i++)
    assert.ok(
      r.direction === 'minimise' ? ms[i - 1]! <= ms[i]! : ms[i - 1]! >= ms[i]!,
      `sorted: ${ms.join(', ')}`,
    );
}

describe('hyperparameter search', () => {
  it('proml train: random search, budget 8 on 2 worker threads: a sorted leaderboard whose best trial is the final fit', async () => {
    const c = writeCase(
      modelSource(`    validation 0.25
    search {
      budget 8
      method random
      parallel 2
      metric logloss${SPACE}
    }`),
      ROWS,
      D,
    );
    const out = join(c.dir, 'out');
    const report = await trainModel(c.model, { data: c.data, out });
    const b = report.blocks[0]!;
    const s = b.search!;
    assertSorted(s, 8);
    assert.equal(s.threads, 2);
    assert.equal(s.evaluation, 'held-out');
    const best = s.leaderboard[0]!;
    // the final fit used the best trial's values (report and bundle)
    const lin = b.components.find((x) => x.name === 'lin')!.hyperparameters;
    const trees = b.components.find((x) => x.name === 'trees')!.hyperparameters;
    assert.equal(lin['l2'], best.hyperparameters['lin.l2']);
    assert.equal(trees['depth'], best.hyperparameters['trees.depth']);
    assert.equal(trees['learning_rate'], best.hyperparameters['trees.learning_rate']);
    assert.equal(trees['count'], 20);
    const bundle = readFileSync(join(out, 'bundle.json'), 'utf8');
    assert.ok(bundle.includes(String(best.hyperparameters['lin.l2'])));
    // the trial's metric (trainer f64) is the compiled module's held-out metric (f32 outputs)
    assert.ok(
      Math.abs(best.metric - b.metrics['logloss']!) < 1e-5,
      `best trial ${best.metric} vs final ${b.metrics['logloss']}`,
    );
    const txt = readFileSync(join(out, 'report.txt'), 'utf8');
    assert.match(txt, /search: random, 8 of 8 trials, parallel 2 on 2 threads, logloss \(minimise\)/);
    assert.match(txt, /rank {2}trial {2}logloss/);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      blocks: { search: SearchReport }[];
    };
    assert.deepEqual(board(json.blocks[0]!.search), board(s));
  });

  it('the same seed gives the same leaderboard, in worker threads or in process; TPE is deterministic too', async () => {
    const src = modelSource(`    validation 0.25
    search { budget 8 method random parallel 2 metric logloss${SPACE} }`);
    const ctx = contextOf(src, ROWS, D, 500, null);
    const a = await search(ctx, 'random', 8, 2);
    const inProcess = await search(ctx, 'random', 8, 1);
    assertSorted(a, 8);
    // random proposals do not depend on results: in process (parallel 1) = in workers, the same seed
    assert.equal(inProcess.threads, 1);
    assert.deepEqual(board(inProcess), board(a));
    const t1 = await search(ctx, 'tpe', 8, 2);
    const t2 = await search(ctx, 'tpe', 8, 2);
    assertSorted(t1, 8);
    assert.deepEqual(board(t1), board(t2));
    assert.equal(t1.startup, 2);
    // TPE's random start-up trials are random search's first trials
    const first = (r: SearchReport, k: number): unknown =>
      r.leaderboard
        .filter((e) => e.trial <= k)
        .sort((p, q) => p.trial - q.trial)
        .map((e) => e.hyperparameters);
    assert.deepEqual(first(t1, 2), first(a, 2));
    // another seed, other trials
    const other = await search({ ...ctx, spec: { ...ctx.spec, seed: 4 } }, 'random', 8, 1);
    assert.notDeepEqual(board(other), board(a));
  });

  it('TPE finds a clear l2 optimum at least as well as random search', async () => {
    // few rows, many noise features: held-out log loss has a clear minimum in l2
    const d = 30;
    const rows = makeRows(11, 400, d, (x) => 1.2 * x[0]! - 0.8 * x[1]! + 0.5 * x[2]!);
    const src = `model ridge {
  version "1.0"
  owner "proml-team@example.com"
  purpose "testing"
${inputs(d)}  component lin = linear(${xs(d)})
  output p = sigmoid(lin)
  train p {
    label y
    objective logistic
    seed 5
    validation 0.5
    search { budget 16 method tpe metric logloss lin.l2 in log [0.0001, 10_000.0] }
  }
}
`;
    const ctx = contextOf(src, rows, d, 200, null);
    const tpe = await search(ctx, 'tpe', 16, 1);
    const rnd = await search(ctx, 'random', 16, 1);
    const best = (r: SearchReport): number => r.leaderboard[0]!.metric;
    const median = (r: SearchReport, from: number): number => {
      const m = r.leaderboard
        .filter((e) => e.trial > from)
        .map((e) => e.metric)
        .sort((p, q) => p - q);
      return m[Math.floor(m.length / 2)]!;
    };
    assert.ok(best(tpe) <= best(rnd) + 1e-3, `tpe best ${best(tpe)}, random best ${best(rnd)}`);
    // after its start-up, TPE samples near the optimum: its typical trial beats random's
    assert.ok(
      median(tpe, tpe.startup!) < median(rnd, tpe.startup!),
      `medians ${median(tpe, tpe.startup!)} vs ${median(rnd, tpe.startup!)}`,
    );
  });
});

describe('search with an mlp component', () => {
  it('trials fit the mlp in worker threads (tfjs loads there) and in process alike; the best trial is the final fit', async () => {
    const src = `model searched_net {
  version "1.0"
  owner "proml-team@example.com"
  purpose "testing"
${inputs(D)}  component lin = linear(${xs(D)})
  component net = mlp(x4, x5, hidden = [8], activation = tanh)
  output p = sigmoid(lin + net)
  train p {
    label y
    objective logistic
    seed 3
    iterations 2
    validation 0.25
    net { epochs 3 batch_size 64 }
    search { budget 3 method random parallel 2 metric logloss net.learning_rate in log [0.001, 0.1] }
  }
}
`;
    const c = writeCase(src, ROWS.slice(0, 1000), D);
    const inWorkers = await trainModel(c.model, { data: c.data, out: join(c.dir, 'workers') });
    const inProcess = await trainModel(c.model, { data: c.data, out: join(c.dir, 'process'), parallel: 1 });
    const s = inWorkers.blocks[0]!.search!;
    assertSorted(s, 3);
    assert.equal(s.threads, 2);
    assert.equal(inProcess.blocks[0]!.search!.threads, 1);
    // the same trials and metrics (bit for bit) whether tfjs ran in the workers or in this thread
    assert.deepEqual(board(inProcess.blocks[0]!.search!), board(s));
    const best = s.leaderboard[0]!;
    const net = inWorkers.blocks[0]!.components.find((x) => x.name === 'net')!;
    assert.equal(net.hyperparameters['learning_rate'], best.hyperparameters['net.learning_rate']);
    assert.deepEqual(net.iterations, [3, 3]);
    const bundle = readBundle(join(c.dir, 'workers'));
    const coef = bundle.components.get('net')!;
    assert.equal(coef.hyperparameters['learning_rate'], best.hyperparameters['net.learning_rate']);
    // the final fit is the best trial's fit: its held-out log loss (the compiled module's) is the trial's
    const final = inWorkers.blocks[0]!.metrics['logloss']!;
    assert.ok(Math.abs(best.metric - final) < 1e-6, `best trial ${best.metric} vs final ${final}`);
    assert.equal(
      readFileSync(join(c.dir, 'workers', 'bundle.json'), 'utf8'),
      readFileSync(join(c.dir, 'process', 'bundle.json'), 'utf8'),
    );
  });
});

describe('search settings', () => {
  it('PML5007 without held-out rows or folds, for a bad budget or parallel; a time limit stops after a batch', async () => {
    const src = modelSource(`    search { budget 4 metric logloss${SPACE} }`);
    const noHeld = contextOf(src, ROWS.slice(0, 300), D, 0, null);
    const settings = {
      method: 'random' as const,
      budget: 4,
      parallel: 1,
      metric: 'logloss',
      timeLimit: null,
    };
    await assert.rejects(
      searchBlock({ ctx: noHeld, settings }),
      /^Error: PML5007: output 'p': a search needs held-out rows or folds/,
    );
    const ctx = contextOf(src, ROWS.slice(0, 300), D, 100, null);
    await assert.rejects(
      searchBlock({ ctx, settings: { ...settings, budget: 0 } }),
      /PML5007: the search budget/,
    );
    await assert.rejects(searchBlock({ ctx, settings: { ...settings, parallel: 1.5 } }), /PML5007: parallel/);
    await assert.rejects(
      crossValidate(ctx.spec, ctx.train, 1, ctx.base),
      /PML5007: folds must be an integer ≥ 2/,
    );
    const timed = await searchBlock({ ctx, settings: { ...settings, timeLimit: 0 } });
    assert.equal(timed.report.trials, 1);
    assert.equal(timed.report.stopped, 'time');
    assert.equal(timed.report.leaderboard.length, 1);
  });
});

describe('k-fold cross-validation', () => {
  it('folds 3: three fold metrics, their mean and sd, the same for a seed; the folds partition the rows', async () => {
    const src = modelSource(`    folds 3
    search { budget 4 method tpe parallel 2 metric auc${SPACE} }`);
    const ctx = contextOf(src, ROWS, D, 0, 3);
    const fold = foldOf(N, 3, 3, 'p');
    const sizes = [0, 1, 2].map((f) => fold.filter((x) => x === f).length);
    assert.deepEqual(sizes, [667, 667, 666]);
    const hyper = ctx.base;
    const a = await crossValidate(ctx.spec, ctx.train, 3, hyper);
    const b = await crossValidate(ctx.spec, ctx.train, 3, hyper);
    assert.equal(a.perFold.length, 3);
    assert.deepEqual(a.perFold, b.perFold);
    const auc = a.perFold.map((f) => f['auc']!);
    assert.ok(Math.abs(a.mean['auc']! - (auc[0]! + auc[1]! + auc[2]!) / 3) < 1e-12);
    assert.ok(a.sd['auc']! > 0 && a.mean['auc']! > 0.65, JSON.stringify(a.mean));
    const other = await crossValidate({ ...ctx.spec, seed: 4 }, ctx.train, 3, hyper);
    assert.notDeepEqual(other.perFold, a.perFold);
  });

  it('proml train with folds 3 and a search: no hold-out, the leaderboard scores fold means, the report has the best trial’s folds', async () => {
    const c = writeCase(
      modelSource(`    folds 3
    search {
      budget 4
      method tpe
      parallel 2
      metric auc${SPACE}
    }`),
      ROWS,
      D,
    );
    const out = join(c.dir, 'out');
    const report = await trainModel(c.model, { data: c.data, out });
    const b = report.blocks[0]!;
    assert.equal(b.validationRows, 0);
    assert.equal(b.trainRows, N);
    assert.equal(b.cv!.folds, 3);
    assert.equal(b.cv!.perFold.length, 3);
    const s = b.search!;
    assertSorted(s, 4);
    assert.equal(s.evaluation, '3-fold');
    assert.equal(s.direction, 'maximise');
    assert.equal(s.leaderboard[0]!.metric, b.cv!.mean['auc']);
    const txt = readFileSync(join(out, 'report.txt'), 'utf8');
    assert.match(txt, /3-fold cross-validation \(fold rows 667, 667, 666\)/);
    assert.match(txt, /auc +0\.\d{6} ± 0\.\d{6} +folds: 0\.\d{6}, 0\.\d{6}, 0\.\d{6}/);
  });
});
