// `proml import` (trainer/import/): XGBoost JSON models (fixtures/import/xgboost/*, made by
// scripts/reference/xgboost_models.py with Debian's xgboost 1.7) imported, compiled and scored with
// the runtime reproduce XGBoost's held-out margins and predictions within 1e-6 (relative for values
// above 1). Routing is checked exactly: walking XGBoost's JSON trees here and summing the leaves in
// float32 gives XGBoost's margins bit for bit, and summing the same leaves in f64 (rounded once)
// gives proml's compiled margins bit for bit — the only difference left is XGBoost's float32
// accumulation. The hand-checked LightGBM text model (fixtures/import/lightgbm/model.txt)
// reproduces margins computed by hand from its trees (ties at thresholds, NaN / None / Zero missing
// types); bad inputs fail with their PML52xx codes; `proml import` then `proml compile` works.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles models).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Row } from '../../abi/index.js';
import { readBundle, sha256Hex } from '../../abi/node.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkBundle, checkSource, formatSource, lowerModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { Model, type ScoreResult } from '../../runtime/index.js';
import {
  ImportError,
  importModel,
  nextUp,
  readImport,
  type ImportedModel,
} from '../../trainer/import/index.js';
import { ROOT } from '../helpers.js';

const XGB = join(ROOT, 'fixtures', 'import', 'xgboost');
const LGB = join(ROOT, 'fixtures', 'import', 'lightgbm');
let kernels: Uint8Array;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'proml-import-'));
}

/** Compiles outDir/model.pml with outDir/bundle and loads it; the model must check without errors. */
async function load(outDir: string): Promise<{ model: Model; warnings: string[] }> {
  const source = readFileSync(join(outDir, 'model.pml'), 'utf8');
  assert.equal(formatSource('model.pml', source).output, source, 'the written model is formatted');
  const r = checkSource('model.pml', source);
  assert.ok(r.checked !== null && !r.sink.hasErrors, r.sink.items.map((d) => d.message).join('\n'));
  const bundle = readBundle(join(outDir, 'bundle'));
  const issues = checkBundle(r.checked, bundle, sha256Hex(source));
  assert.deepEqual(issues, []);
  const { bytes } = await emitScoringModule(r.checked, lowerModel(r.checked), bundle, {
    sourceText: source,
    kernelBytes: kernels,
  });
  return {
    model: await Model.load(bytes),
    warnings: r.sink.items.map((d) => `${d.code} ${d.message}`),
  };
}

interface Info {
  objective: string;
  features: string[];
  classes: number;
}

/** rows.csv of an XGBoost fixture: the feature rows (missing cells left out) and XGBoost's outputs. */
function xgbRows(
  dir: string,
  info: Info,
  imported: ImportedModel,
): { rows: Row[]; margin: number[][]; pred: number[][] } {
  const lines = readFileSync(join(dir, 'rows.csv'), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const rows: Row[] = [];
  const margin: number[][] = [];
  const pred: number[][] = [];
  const k = info.classes;
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const row: Row = {};
    info.features.forEach((f, j) => {
      assert.equal(head[j], f);
      const c = cells[j]!;
      if (c === '') return;
      // the input names are the model's feature names (f0, f1, ... when it has none)
      const feature = imported.features[j]!;
      row[feature.source] = feature.kind === 'categorical' ? String(Math.trunc(Number(c))) : Number(c);
    });
    rows.push(row);
    const n = info.features.length;
    margin.push(cells.slice(n, n + k).map((c) => Math.fround(Number(c))));
    pred.push(cells.slice(n + k, n + 2 * k).map((c) => Math.fround(Number(c))));
  }
  return { rows, margin, pred };
}

function values(res: ScoreResult, name: string, r: number): number[] {
  const v = res.value(name, r);
  if (typeof v === 'number') return [v];
  assert.ok(Array.isArray(v), `${name} row ${r}: ${String(v)}`);
  return v as number[];
}

/**
 * XGBoost's prediction semantics (1.7 CPU predictor), written here from its JSON independently of
 * the importer: float32 features, `x < split_condition` goes left, NaN takes default_left, a
 * categorical split sends its listed categories right. Returns (class, leaf value) in tree order.
 */
function xgbWalker(text: string): { base: number; leaves: (x: (number | null)[]) => [number, number][] } {
  type Tree = Record<string, number[]>;
  const doc = JSON.parse(
    text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (m) => (m.startsWith('"') ? m : 'null')),
  ) as {
    learner: {
      objective: { name: string };
      learner_model_param: { base_score: string };
      gradient_booster: { model: { trees: Tree[]; tree_info: number[] } };
    };
  };
  const { learner } = doc;
  const bs = Math.fround(Number(learner.learner_model_param.base_score));
  const obj = learner.objective.name;
  const base =
    obj === 'binary:logistic'
      ? Math.fround(-Math.log(Math.fround(Math.fround(1 / bs) - 1)))
      : obj === 'count:poisson'
        ? Math.fround(Math.log(bs))
        : bs;
  const { trees, tree_info: info } = learner.gradient_booster.model;
  return {
    base,
    leaves: (x) =>
      trees.map((t, ti): [number, number] => {
        let i = 0;
        while (t['left_children']![i] !== -1) {
          const v = x[t['split_indices']![i]!];
          let left: boolean;
          if (v === null || v === undefined) left = t['default_left']![i] === 1;
          else if ((t['split_type'] ?? [])[i] === 1) {
            const k = t['categories_nodes']!.indexOf(i);
            const beg = t['categories_segments']![k]!;
            const set = t['categories']!.slice(beg, beg + t['categories_sizes']![k]!);
            left = !set.includes(Math.fround(v));
          } else left = Math.fround(v) < Math.fround(t['split_conditions']![i]!);
          i = left ? t['left_children']![i]! : t['right_children']![i]!;
        }
        return [info[ti]!, Math.fround(t['split_conditions']![i]!)];
      }),
  };
}

/** Measured differences, printed so the numbers can be quoted (docs/import.md). */
const measured: string[] = [];

describe('proml import', () => {
  before(async () => {
    kernels = await kernelModuleBytes();
  });

  for (const name of readdirSync(XGB).sort()) {
    it(`xgboost ${name}: compiled scores reproduce XGBoost's margins and predictions (≤ 1e-6)`, async () => {
      const dir = join(XGB, name);
      const info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8')) as Info;
      const out = tmp();
      const result = importModel('xgboost', join(dir, 'model.json'), out, { name });
      const imported = readImport('xgboost', join(dir, 'model.json'));
      assert.equal(imported.objective, info.objective);
      assert.equal(result.features, info.features.length);
      const { model, warnings } = await load(out);
      // only the expected warning: no train block trains the imported trees
      assert.ok(
        warnings.every((w) => w.startsWith('PML2904')),
        warnings.join('\n'),
      );
      const { rows, margin, pred } = xgbRows(dir, info, imported);
      assert.ok(rows.length >= 500);
      const res = model.score(rows);
      const walker = xgbWalker(readFileSync(join(dir, 'model.json'), 'utf8'));
      let worstMargin = 0;
      let worstPred = 0;
      let identical = 0;
      let absMargin = 0;
      let absPred = 0;
      rows.forEach((row, r) => {
        assert.equal(res.rejection(r), null);
        const m = values(res, 'margin', r);
        const p = values(res, 'prediction', r);
        // XGBoost's own routing, walked here on its JSON: summed in float32 in tree order it is
        // XGBoost's margin bit for bit; summed in f64 and rounded once it is proml's, bit for bit
        const x = imported.features.map((f) => {
          const v = row[f.source];
          return v === undefined || v === null ? null : Number(v);
        });
        const leaves = walker.leaves(x);
        m.forEach((v, q) => {
          const want = margin[r]![q]!;
          let s32 = walker.base;
          let s64 = walker.base;
          for (const [cls, value] of leaves)
            if (cls === q) {
              s32 = Math.fround(s32 + value);
              s64 += value;
            }
          assert.ok(Object.is(s32, want), `row ${r} class ${q}: float32 sum ${s32} vs XGBoost ${want}`);
          assert.ok(Object.is(v, Math.fround(s64)), `row ${r} class ${q}: ${v} vs ${Math.fround(s64)}`);
          worstMargin = Math.max(worstMargin, Math.abs(v - want) / Math.max(1, Math.abs(want)));
          absMargin = Math.max(absMargin, Math.abs(v - want));
          if (Object.is(v, want)) identical++;
        });
        p.forEach((v, q) => {
          const want = pred[r]![q]!;
          worstPred = Math.max(worstPred, Math.abs(v - want) / Math.max(1, Math.abs(want)));
          absPred = Math.max(absPred, Math.abs(v - want));
        });
      });
      const cells = rows.length * info.classes;
      measured.push(
        `${name}: ${rows.length} rows, max |Δ prediction| ${absPred.toExponential(2)} (relative ${worstPred.toExponential(2)}), max |Δ margin| ${absMargin.toExponential(2)} (relative ${worstMargin.toExponential(2)}), ${identical}/${cells} margins bit-identical`,
      );
      console.log(`# ${measured[measured.length - 1]}`);
      assert.ok(worstPred <= 1e-6, `max |prediction − XGBoost| = ${worstPred}`);
      assert.ok(worstMargin <= 1e-6, `max |margin − XGBoost| = ${worstMargin}`);
    });
  }

  it('lightgbm: the hand-checked text model reproduces margins computed by hand', async () => {
    const out = tmp();
    importModel('lightgbm', join(LGB, 'model.txt'), out, { name: 'lgb' });
    const { model } = await load(out);
    // The trees of model.txt, read by hand (LightGBM: `x <= threshold` goes left):
    //   Tree=0  node0: age <= 35.500000000000007, missing NaN, default left  → node1 | leaf2
    //           node1: income <= 50000, missing None (missing reads as 0)     → leaf0 | leaf1
    //           leaves 0.12345678901234566, -0.20000000000000001, 0.35714285714285715
    //   Tree=1  node0: score <= -0.3, missing Zero, default left (|x| ≤ 1e-35f and missing → left)
    //           leaves -0.050000000000000003, 0.070000000000000007
    //   Tree=2  node0: income <= 1000, missing NaN, default right            → leaf0 | node1
    //           node1: age <= 20, missing None (missing reads as 0)          → leaf1 | leaf2
    //           leaves 0.20000000000000001, -0.14999999999999999, 0.029999999999999999
    const t0 = [0.12345678901234566, -0.2, 0.35714285714285715];
    const t1 = [-0.05, 0.07];
    const t2 = [0.2, -0.15, 0.03];
    const cases: { row: Row; leaves: [number, number, number]; why: string }[] = [
      { row: { age: 30, income: 60_000, score: -0.1 }, leaves: [t0[1]!, t1[1]!, t2[2]!], why: 'plain' },
      {
        row: { age: 35.500000000000007, income: 50_000, score: -0.3 },
        leaves: [t0[0]!, t1[0]!, t2[2]!],
        why: 'ties go left',
      },
      {
        row: { age: 35.500000000000014, income: 50_000.00000000001, score: -0.29999999999999993 },
        leaves: [t0[2]!, t1[1]!, t2[2]!],
        why: 'one ulp above the thresholds goes right',
      },
      {
        row: { income: 500, score: 0 },
        leaves: [t0[0]!, t1[0]!, t2[0]!],
        why: 'age missing (NaN type) → default left; score 0 → zero band → default left',
      },
      {
        row: { age: 50, score: 1e-36 },
        leaves: [t0[2]!, t1[0]!, t2[2]!],
        why: 'income missing: tree 2 NaN type → default right; 1e-36 is zero',
      },
      {
        row: { age: 10 },
        leaves: [t0[0]!, t1[0]!, t2[1]!],
        why: 'income missing → None in tree 0 reads 0 ≤ 50000 → left; score missing → Zero → left',
      },
      {
        row: { age: 25, income: 2000, score: 2e-35 },
        leaves: [t0[0]!, t1[1]!, t2[2]!],
        why: '2e-35 is outside the zero band → compared: > -0.3 → right',
      },
      {
        row: { age: 18, income: 999.9999999999999, score: -5 },
        leaves: [t0[0]!, t1[0]!, t2[0]!],
        why: 'small values',
      },
      {
        row: { income: 1500, score: -5e-36 },
        leaves: [t0[0]!, t1[0]!, t2[1]!],
        why: 'tree 2 node1 age missing (None) → 0 ≤ 20 → left; -5e-36 is in the band',
      },
      {
        row: { age: 20, income: 1000.0000000000001 },
        leaves: [t0[0]!, t1[0]!, t2[1]!],
        why: 'age = 20 ties left in tree 2',
      },
    ];
    const res = model.score(cases.map((c) => c.row));
    let worst = 0;
    cases.forEach((c, r) => {
      const margin = c.leaves[0] + c.leaves[1] + c.leaves[2];
      const p = 1 / (1 + Math.exp(-margin));
      const gotMargin = res.value('margin', r) as number;
      const gotP = res.value('prediction', r) as number;
      assert.ok(Math.abs(gotMargin - margin) <= 1e-6, `${c.why}: margin ${gotMargin} vs ${margin}`);
      assert.ok(Math.abs(gotP - p) <= 1e-6, `${c.why}: p ${gotP} vs ${p}`);
      // the component margin is float32 in proml: it must be the double margin rounded once
      assert.equal(gotMargin, Math.fround(margin), c.why);
      worst = Math.max(worst, Math.abs(gotP - p), Math.abs(gotMargin - margin));
    });
    measured.push(`lightgbm hand-checked: ${cases.length} rows, max |Δ| ${worst.toExponential(2)}`);
    console.log(`# ${measured[measured.length - 1]}`);
  });

  it('lightgbm: a Zero missing type whose default disagrees with the comparison becomes a chain', () => {
    const m = readImport('lightgbm', join(LGB, 'model.txt'));
    // Tree=1: score <= -0.3 with the zero band sent left: x < nextUp(-0.3) | x < -1e-35f | x < nextUp(1e-35f)
    const t = m.trees[1]!;
    const splits = t.nodes.filter((n) => n.split === 'numeric').map((n) => n.threshold);
    const z = Math.fround(1e-35);
    assert.deepEqual(splits, [nextUp(-0.3), -z, nextUp(z)]);
    assert.equal(nextUp(1), 1 + Number.EPSILON);
    assert.equal(nextUp(-Number.MIN_VALUE), -0);
    assert.equal(nextUp(0), Number.MIN_VALUE);
  });

  it('errors: unreadable, not a model, unsupported objective / booster / categorical, bad feature names', () => {
    const dir = tmp();
    const expect = (f: () => unknown, code: string, text?: RegExp): void => {
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof ImportError, String(e));
        assert.equal(e.code, code);
        if (text !== undefined) assert.match(e.message, text);
        return true;
      });
    };
    const write = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const xgb = readFileSync(join(XGB, 'binary_missing', 'model.json'), 'utf8');
    const lgb = readFileSync(join(LGB, 'model.txt'), 'utf8');
    expect(() => readImport('xgboost', join(dir, 'nope.json')), 'PML5201', /no such file/);
    expect(() => readImport('xgboost', dir), 'PML5201');
    expect(() => readImport('xgboost', write('a.json', 'not json at all')), 'PML5202', /not JSON/);
    expect(() => readImport('xgboost', write('b.json', '{"hello": 1}')), 'PML5202', /not an XGBoost model/);
    expect(() => readImport('xgboost', join(LGB, 'model.txt')), 'PML5202');
    expect(() => readImport('lightgbm', join(XGB, 'binary_missing', 'model.json')), 'PML5202');
    expect(
      () => readImport('xgboost', write('c.json', xgb.replace('"binary:logistic"', '"survival:cox"'))),
      'PML5203',
      /survival:cox/,
    );
    expect(
      () => readImport('xgboost', write('d.json', xgb.replace('"name":"gbtree"', '"name":"dart"'))),
      'PML5204',
      /dart/,
    );
    expect(
      () => readImport('xgboost', write('e.json', xgb.replace(/"left_children":\[/, '"left_children":[7,'))),
      'PML5202',
    );
    expect(
      () =>
        readImport(
          'lightgbm',
          write('f.txt', lgb.replace('objective=binary sigmoid:1', 'objective=cross_entropy_lambda')),
        ),
      'PML5203',
    );
    expect(() => readImport('lightgbm', write('g.txt', lgb.replace('num_cat=0', 'num_cat=1'))), 'PML5205');
    expect(
      () => readImport('lightgbm', write('h.txt', lgb.replace('decision_type=6', 'decision_type=7'))),
      'PML5205',
    );
    expect(
      () => readImport('lightgbm', write('i.txt', lgb.replace('is_linear=0', 'is_linear=1'))),
      'PML5204',
    );
    expect(
      () =>
        importModel('xgboost', join(XGB, 'binary_missing', 'model.json'), join(dir, 'o1'), {
          featureNames: ['a', 'b'],
        }),
      'PML5206',
      /2 names but the model has 5/,
    );
    expect(
      () =>
        importModel('xgboost', join(XGB, 'binary_missing', 'model.json'), join(dir, 'o2'), {
          featureNames: ['a', 'b', 'a', 'c', 'd'],
        }),
      'PML5206',
    );
  });

  it('feature names are made valid proml identifiers; reserved words and clashes are renamed', () => {
    const dir = tmp();
    const r = importModel('xgboost', join(XGB, 'regression', 'model.json'), dir, {
      featureNames: ['input', 'income (usd)', '2nd', 'margin'],
    });
    const pml = readFileSync(r.pmlPath, 'utf8');
    assert.match(pml, /input input_ +: f32/);
    assert.match(pml, /input income__usd_ +: f32/);
    assert.match(pml, /input f_2nd +: f32/);
    assert.match(pml, /input margin_ +: f32/);
    assert.match(pml, /component trees = gbdt\(input_, income__usd_, f_2nd, margin_\)/);
  });

  it('cli: proml import writes a model that proml compile accepts', async () => {
    const dir = tmp();
    // in process (cli/main.ts), so the test does not pay for three tsx start-ups
    const { main } = await import('../../cli/main.js');
    const cli = async (args: string[]): Promise<{ code: number; err: string }> => {
      const err: string[] = [];
      const code = await main(args, { out: () => {}, err: (s) => err.push(s), color: false });
      return { code, err: err.join('\n') };
    };
    const model = join(XGB, 'multiclass', 'model.json');
    const i = await cli(['import', 'xgboost', model, '-o', join(dir, 'mc'), '--name', 'intent']);
    assert.equal(i.code, 0, i.err);
    assert.match(i.err, /imported .*\(4 features, 30 trees\)/);
    const c = await cli([
      'compile',
      join(dir, 'mc', 'model.pml'),
      '--coefficients',
      join(dir, 'mc', 'bundle'),
      '-o',
      join(dir, 'mc.wasm'),
    ]);
    assert.equal(c.code, 0, c.err);
    const bad = await cli(['import', 'lightgbm', model, '-o', join(dir, 'x')]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /error PML5202/);
    assert.equal((await cli(['import', 'catboost', 'm.cbm', '-o', dir])).code, 2);
    assert.equal((await cli(['import', 'xgboost', model])).code, 2);
    assert.equal((await cli(['import', 'xgboost', model, '-o', dir, '--name', 'no-dash'])).code, 2);
  });
});
