// The gbdt trainer (trainer/gbdt.ts): against XGBoost `hist` with the same hyperparameters on
// synthetic click-through-like data (scripts/reference/make-gbdt-data.ts, generated here; XGBoost's
// numbers committed in fixtures/train/gbdt/xgboost.json by scripts/reference/gbdt_xgboost.py), train →
// compile → score reproducing the held-out predictions bit for bit, the trainer's own margins equal to
// the compiled module's on the training rows (thresholds route every row as the bins did), squared
// error / poisson / multiclass with early stopping, and determinism for a seed.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseRowsCsv, type Bundle, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule, emitTransformModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel } from '../../compiler/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MemoryEntityStore, Model } from '../../runtime/index.js';
import { fitGbdt, gbdtCategorical, gbdtCells, gbdtParams, type GbdtFitInput } from '../../trainer/gbdt.js';
import { trainModel } from '../../trainer/train.js';
import { gbdtRows, writeGbdtData } from '../../scripts/reference/make-gbdt-data.js';
import { ROOT } from '../helpers.js';

const DIR = join(ROOT, 'fixtures', 'train', 'gbdt');
const MODEL = join(DIR, 'model.pml');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'proml-gbdt-'));
}

function sha256(path: string): Promise<string> {
  return import('node:crypto').then((c) => c.createHash('sha256').update(readFileSync(path)).digest('hex'));
}

/** model.pml's inputs and component with another output and train block. */
function variant(tail: string): string {
  const src = readFileSync(MODEL, 'utf8');
  return src.slice(0, src.indexOf('  output p')) + tail + '}\n';
}

const EMPTY_BUNDLE: Bundle = {
  model: { name: '', version: '' },
  sourceSha256: '',
  producer: 'test',
  notes: [],
  components: new Map(),
  transforms: new Map(),
  calibrations: new Map(),
};

describe('gbdt trainer', () => {
  it('reaches XGBoost’s held-out AUC (≤ 0.005) and compile → score reproduces its held-out predictions bit for bit', async () => {
    const ref = (
      JSON.parse(readFileSync(join(DIR, 'xgboost.json'), 'utf8')) as Record<
        string,
        { auc: number; train: { rows: number; sha256: string }; test: { rows: number; sha256: string } }
      >
    )['test']!;
    const dir = tmp();
    const data = writeGbdtData(dir, ref.train.rows, ref.test.rows);
    // the generator must still make the very files XGBoost was measured on
    assert.equal(
      await sha256(data.train),
      ref.train.sha256,
      'train.csv differs from the one in xgboost.json',
    );
    assert.equal(await sha256(data.test), ref.test.sha256, 'test.csv differs from the one in xgboost.json');
    const out = join(dir, 'out');
    const report = await trainModel(MODEL, { data: data.train, validation: data.test, out });
    const auc = report.blocks[0]!.metrics['auc']!;
    assert.ok(Math.abs(auc - ref.auc) <= 0.005, `held-out AUC ${auc} vs XGBoost ${ref.auc}`);
    assert.equal(report.blocks[0]!.components[0]!.iterations[0], 100);

    // proml compile (from the written bundle) + scoring = the trainer's validation-predictions.csv
    const source = readFileSync(MODEL, 'utf8');
    const checked = checkSource(MODEL, source).checked!;
    const bundle = readBundle(out);
    const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, { sourceText: source });
    const rows: Row[] = parseRowsCsv(readFileSync(data.test, 'utf8'), [
      ...csvColumns(checked),
      { name: 'y', kind: 'number' },
    ]).map((r) => {
      delete r['y'];
      return r;
    });
    const res = (await Model.load(bytes)).score(rows, new MemoryEntityStore(bundle));
    const lines = readFileSync(join(out, 'validation-predictions.csv'), 'utf8').trim().split('\n').slice(1);
    assert.equal(lines.length, rows.length);
    lines.forEach((line, i) => {
      const p = JSON.parse(line.split(',')[1]!) as number;
      assert.ok(Object.is(p, res.value('p', i)), `row ${i}: ${p} vs ${String(res.value('p', i))}`);
    });
  });

  it('squared error: the trainer’s margins are the compiled module’s on every training row; deterministic for a seed', async () => {
    const src = variant(`  output v : f64 = trees

  train v {
    label     y
    objective squared_error
    seed      5
    trees { count 30 depth 5 subsample 0.7 colsample 0.6 min_child_weight 2 l1 0.5 bins 32 }
  }
`);
    const checked = checkSource('sq.pml', src).checked!;
    assert.ok(checked !== null);
    // a learnable real target from the generated inputs (missing x4 and the category matter)
    const text = gbdtRows(3000, 11, 'squared');
    const rows = parseRowsCsv(text, [...csvColumns(checked), { name: 'y', kind: 'number' }]);
    const y = Float64Array.from(rows, (r) => {
      const x4 = r['x4'] as number | null;
      const cat = Number(String(r['cat']).slice(1));
      return (
        Math.sin(r['x0'] as number) +
        2 * (r['x1'] as number) +
        (x4 === null ? 1 : 0.3 * x4) +
        (cat < 5 ? 1 : 0)
      );
    });
    for (const r of rows) delete r['y'];
    const tm = await emitTransformModule(checked, EMPTY_BUNDLE, { sourceText: src });
    const t = (await Model.load(tm.bytes, { product: 'transform' })).transform(rows);
    const c = checked.components[0]!;
    const X = gbdtCells(
      t,
      c.name,
      rows.map((_, i) => i),
    );
    const input = (seed: number): GbdtFitInput => ({
      X,
      categorical: gbdtCategorical(c),
      y,
      w: null,
      offset: new Float64Array(X.n),
      loss: 'squared_error',
      classes: 1,
      params: gbdtParams(checked.trains[0]!.hyperparameters.get(c.name)),
      seed,
      stream: c.name,
    });
    const fit = fitGbdt(input(5));
    assert.equal(fit.trees.length, 30);
    assert.ok(
      fit.trees.some((tr) => tr.nodes.some((n) => n.split === 'categorical')),
      'no categorical split',
    );
    assert.ok(
      fit.trees.some((tr) => tr.nodes.some((n) => n.split === 'numeric' && n.defaultLeft)),
      'no split sends missing values left',
    );
    let sse = 0;
    let sst = 0;
    const mean = y.reduce((s, v) => s + v, 0) / y.length;
    y.forEach((v, i) => {
      sse += (v - fit.margins[i]!) ** 2;
      sst += (v - mean) ** 2;
    });
    assert.ok(sse / sst < 0.2, `training R² ${1 - sse / sst}`);

    const bundle: Bundle = {
      ...EMPTY_BUNDLE,
      components: new Map([
        [
          c.name,
          {
            kind: 'gbdt',
            classes: 1,
            inputWidth: c.inputWidth,
            hyperparameters: {},
            trees: fit.trees,
            base: fit.base,
          },
        ],
      ]),
    };
    const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, { sourceText: src });
    const res = (await Model.load(bytes)).score(rows, new MemoryEntityStore(bundle));
    let worst = 0;
    for (let i = 0; i < rows.length; i++)
      worst = Math.max(worst, Math.abs((res.value('v', i) as number) - fit.margins[i]!));
    // the component's value is its f64 sum rounded to f32 once: the trainer's f64 margins rounded the
    // same way are the module's on every row (a row routed differently would be off by a leaf value)
    rows.forEach((_, i) =>
      assert.ok(
        Object.is(res.value('v', i), Math.fround(fit.margins[i]!)),
        `row ${i}: module ${String(res.value('v', i))}, trainer ${fit.margins[i]}`,
      ),
    );
    assert.ok(worst <= 1e-6, `max |trainer margin − module| = ${worst}`);

    // the same seed gives the same trees; another seed samples other rows and columns
    const again = fitGbdt(input(5));
    assert.deepEqual(again.trees, fit.trees);
    assert.deepEqual(again.base, fit.base);
    assert.notDeepEqual(fitGbdt(input(6)).trees, fit.trees);

    // poisson on a count target: the boosted margins beat the constant
    const counts = Float64Array.from(y, (v) => Math.floor(Math.max(0, v) * 2));
    const pfit = fitGbdt({
      ...input(5),
      y: counts,
      loss: 'poisson',
      params: { ...input(5).params, subsample: 1 },
    });
    const dev = (m: (i: number) => number): number => {
      let s = 0;
      counts.forEach((k, i) => (s += Math.exp(m(i)) - k * m(i)));
      return s;
    };
    assert.ok(dev((i) => pfit.margins[i]!) < dev(() => pfit.base[0]!), 'poisson deviance does not improve');
  });

  it('multiclass (one tree per class per round, softmax) with early stopping on the held-out rows; leaf-wise growth', async () => {
    const dir = tmp();
    const model = join(dir, 'multi.pml');
    writeFileSync(
      model,
      variant(`  output k = softmax(trees)

  train k {
    label          y
    objective      multiclass
    metric         logloss
    trees { count 200 leaves 8 learning_rate 0.3 early_stopping 5 }
  }
`).replace(
        'gbdt(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, cat)',
        'gbdt(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, cat, classes = 3)',
      ),
    );
    // three classes: the binary label plus the sign of x0
    const relabel = (text: string): string =>
      text
        .trim()
        .split('\n')
        .map((line, i) => {
          if (i === 0) return line;
          const cells = line.split(',');
          cells[cells.length - 1] = String(
            Number(cells[cells.length - 1]) + (Number(cells[0]) > 0.3 ? 1 : 0),
          );
          return cells.join(',');
        })
        .join('\n') + '\n';
    writeFileSync(join(dir, 'train.csv'), relabel(gbdtRows(4000, 3, 'multi-train')));
    writeFileSync(join(dir, 'test.csv'), relabel(gbdtRows(1500, 3, 'multi-test')));
    const report = await trainModel(model, {
      data: join(dir, 'train.csv'),
      validation: join(dir, 'test.csv'),
      out: join(dir, 'out'),
    });
    const block = report.blocks[0]!;
    const rounds = block.components[0]!.iterations[0]!;
    assert.ok(rounds < 200, `early stopping never stopped (${rounds} rounds)`);
    const coef = readBundle(join(dir, 'out')).components.get('trees')!;
    assert.equal(coef.kind, 'gbdt');
    if (coef.kind !== 'gbdt') return;
    assert.equal(coef.trees.length, 3 * rounds);
    assert.deepEqual(
      coef.trees.slice(0, 3).map((t) => t.class),
      [0, 1, 2],
    );
    assert.ok(coef.trees.every((t) => t.nodes.filter((n) => n.split === 'leaf').length <= 8));
    // the held-out log loss beats the class frequencies' (≈ 1.0 here)
    const y = readFileSync(join(dir, 'train.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.slice(l.lastIndexOf(',') + 1)));
    const freq = [0, 1, 2].map((k) => y.filter((v) => v === k).length / y.length);
    const prior = -freq.reduce((s, f) => s + f * Math.log(f), 0);
    assert.ok(
      block.metrics['logloss']! < prior - 0.1,
      `log loss ${block.metrics['logloss']} vs prior ${prior}`,
    );
  });
});
