// GBDT training: proml's trainer (trainer/gbdt.ts) against XGBoost 1.7 `tree_method hist` with one
// thread and the same hyperparameters (fixtures/train/gbdt/model.pml: 100 trees, depth 6, eta 0.1,
// lambda 1, min_child_weight 1, 256 bins), on the synthetic click-through-like data of
// scripts/reference/make-gbdt-data.ts (100,000 training rows, 25,000 held out; 12 numeric columns with
// missing values, one 20-label category). Both sides measured in this one run:
//   - held-out AUC: proml's from `trainModel` (predictions of the compiled scoring module), XGBoost's
//     from its booster (scripts/reference/gbdt_xgboost.py, Debian's /usr/bin/python3);
//   - fit time: proml's fitGbdt (binning + boosting) on the transform module's cells, XGBoost's
//     xgb.train (its DMatrix built beforehand, outside the timing; its quantile sketch is inside, as
//     proml's binning is); REPEAT fits each, interleaved, median wall and median process-CPU seconds,
//     and ratios.
// The machine is shared (see the load line): CPU seconds are the steadier comparison.
// Output: the table (bench/index.ts → bench/results/gbdt-train.md).
// Run: npm run bench -- gbdt-train   (needs /usr/bin/python3 with python3-xgboost and python3-sklearn)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRowsCsv, type Bundle } from '../abi/index.js';
import { emitTransformModule } from '../compiler/emit/index.js';
import { checkSource } from '../compiler/index.js';
import { csvColumns } from '../compiler/schema.js';
import { Model } from '../runtime/index.js';
import { fitGbdt, gbdtCategorical, gbdtCells, gbdtParams } from '../trainer/gbdt.js';
import { trainModel } from '../trainer/train.js';
import { writeGbdtData } from '../scripts/reference/make-gbdt-data.js';

const ROOT = new URL('..', import.meta.url).pathname;
const MODEL = join(ROOT, 'fixtures', 'train', 'gbdt', 'model.pml');
const PYTHON = '/usr/bin/python3';
const TRAIN_ROWS = 100_000;
const TEST_ROWS = 25_000;
const REPEAT = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface XgbResult {
  xgboost: string;
  auc: number;
  logloss: number;
  seconds: number[];
  cpu_seconds: number[];
}

export async function run(): Promise<string> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found (Debian python3 with python3-xgboost)`);
  const dir = mkdtempSync(join(tmpdir(), 'proml-gbdt-bench-'));
  try {
    const data = writeGbdtData(dir, TRAIN_ROWS, TEST_ROWS);

    // proml: the whole trainer once (held-out AUC from the compiled module) ...
    const report = await trainModel(MODEL, {
      data: data.train,
      validation: data.test,
      out: join(dir, 'out'),
    });
    const prom = report.blocks[0]!.metrics;
    // ... then the fit alone, REPEAT times, on the transform module's cells
    const source = readFileSync(MODEL, 'utf8');
    const checked = checkSource(MODEL, source).checked!;
    const rows = parseRowsCsv(readFileSync(data.train, 'utf8'), [
      ...csvColumns(checked),
      { name: 'y', kind: 'number' },
    ]);
    const y = Float64Array.from(rows, (r) => r['y'] as number);
    for (const r of rows) delete r['y'];
    const empty: Bundle = {
      model: { name: '', version: '' },
      sourceSha256: '',
      producer: 'bench',
      notes: [],
      components: new Map(),
      transforms: new Map(),
      calibrations: new Map(),
    };
    const tm = await emitTransformModule(checked, empty, { sourceText: source });
    const t = (await Model.load(tm.bytes, { product: 'transform' })).transform(rows);
    const c = checked.components[0]!;
    const X = gbdtCells(
      t,
      c.name,
      rows.map((_, i) => i),
    );
    const wall: number[] = [];
    const cpu: number[] = [];
    const xgbRuns: XgbResult[] = [];
    // interleaved (a proml fit, an XGBoost fit, ...): the machine's load changes over minutes
    for (let i = 0; i < REPEAT; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fitGbdt({
        X,
        categorical: gbdtCategorical(c),
        y,
        w: null,
        offset: new Float64Array(X.n),
        loss: 'logistic',
        classes: 1,
        params: gbdtParams(checked.trains[0]!.hyperparameters.get(c.name)),
        seed: 0,
        stream: c.name,
      });
      wall.push((performance.now() - t0) / 1000);
      const u = process.cpuUsage(c0);
      cpu.push((u.user + u.system) / 1e6);
      console.log(`  proml fit ${i + 1}: ${wall[i]!.toFixed(2)} s wall, ${cpu[i]!.toFixed(2)} s CPU`);
      // XGBoost, one thread (a fresh process: it reads the CSVs and builds its DMatrix untimed)
      const py = spawnSync(
        PYTHON,
        [join(ROOT, 'scripts', 'reference', 'gbdt_xgboost.py'), data.train, data.test, '--repeat', '1'],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      if (py.status !== 0) throw new Error(`gbdt_xgboost.py failed: ${py.stderr}`);
      const r = JSON.parse(py.stdout.trim().split('\n').pop()!) as XgbResult;
      xgbRuns.push(r);
      console.log(
        `  xgboost fit ${i + 1}: ${r.seconds[0]!.toFixed(2)} s wall, ${r.cpu_seconds[0]!.toFixed(2)} s CPU`,
      );
    }
    const xgb: XgbResult = {
      ...xgbRuns[0]!,
      seconds: xgbRuns.map((x) => x.seconds[0]!),
      cpu_seconds: xgbRuns.map((x) => x.cpu_seconds[0]!),
    };

    const pw = median(wall);
    const pc = median(cpu);
    const xw = median(xgb.seconds);
    const xc = median(xgb.cpu_seconds);
    const f = (x: number, d = 2): string => x.toFixed(d);
    return [
      `Data: scripts/reference/make-gbdt-data.ts, ${TRAIN_ROWS.toLocaleString('en')} training rows, ${TEST_ROWS.toLocaleString('en')} held out; 13 columns (12 numeric, two with missing values; one 20-label category).`,
      `Hyperparameters (both): 100 trees, depth 6, learning rate 0.1, L2 1, L1 0, min_child_weight 1, 256 bins, no row/column sampling; base margin logit(mean y); XGBoost ${xgb.xgboost} tree_method hist, nthread 1, the category as a native categorical feature.`,
      `Fit time: median of ${REPEAT} fits each, interleaved (proml: fitGbdt incl. binning; XGBoost: xgb.train incl. its quantile sketch, DMatrix outside). Wall time on a loaded machine depends on the load at that moment; CPU time (process user + system) is the steadier ratio.`,
      '',
      '| trainer | held-out AUC | held-out log loss | fit wall s (median) | fit CPU s (median) | wall ratio | CPU ratio |',
      '|---|---:|---:|---:|---:|---:|---:|',
      `| proml (trainer/gbdt.ts, Node ${process.version}) | ${f(prom['auc']!, 6)} | ${f(prom['logloss']!, 6)} | ${f(pw)} | ${f(pc)} | ${f(pw / xw)}× | ${f(pc / xc)}× |`,
      `| XGBoost ${xgb.xgboost} hist, 1 thread | ${f(xgb.auc, 6)} | ${f(xgb.logloss, 6)} | ${f(xw)} | ${f(xc)} | 1× | 1× |`,
      '',
      `AUC difference (proml − XGBoost): ${(prom['auc']! - xgb.auc).toFixed(6)}. Individual fits, wall s: proml ${wall.map((s) => f(s)).join(', ')}; XGBoost ${xgb.seconds.map((s) => f(s)).join(', ')}. CPU s: proml ${cpu.map((s) => f(s)).join(', ')}; XGBoost ${xgb.cpu_seconds.map((s) => f(s)).join(', ')}.`,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
