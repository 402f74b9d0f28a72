// The trainer (trainer/): L2 logistic regression against scikit-learn on the breast-cancer data
// (fixtures/train/breast_cancer, made by scripts/reference/breast_cancer.py with Debian's sklearn),
// GAME against the global-only model on synthetic data with known truth (fixtures/train/game),
// `proml train` → `proml compile` → scoring reproducing the trainer's held-out predictions bit for bit,
// and the trainer's errors. Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBundle } from '../../abi/node.js';
import { TrainError, trainModel } from '../../trainer/train.js';
import { ROOT } from '../helpers.js';
import { assertReproducesPredictions } from './reproduce.js';

const BC = join(ROOT, 'fixtures', 'train', 'breast_cancer');
const GAME = join(ROOT, 'fixtures', 'train', 'game');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'proml-train-'));
}

function correlation(xs: number[], ys: number[]): number {
  const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe('trainer', () => {
  it('L2 logistic regression reaches scikit-learn’s coefficients (≤ 1e-4) and AUC on the breast-cancer data', async () => {
    const out = tmp();
    const report = await trainModel(join(BC, 'model.pml'), {
      data: join(BC, 'train.csv'),
      validation: join(BC, 'test.csv'),
      out,
    });
    const sk = JSON.parse(readFileSync(join(BC, 'sklearn.json'), 'utf8')) as {
      mean: number[];
      std: number[];
      coef: number[];
      intercept: number;
      test: { auc: number; logloss: number };
    };
    const bundle = readBundle(out);
    // the fitted standardize statistics are StandardScaler's
    // one standardize site per feature, fitted in declaration order
    const stats = [...bundle.transforms.values()];
    assert.equal(stats.length, sk.mean.length);
    sk.mean.forEach((m, j) => {
      const p = stats[j]!;
      assert.equal(p.kind, 'standardize');
      if (p.kind !== 'standardize') return;
      assert.ok(Math.abs(p.mean[0]! - m) <= 1e-9 * Math.max(1, Math.abs(m)), `mean ${j}`);
      assert.ok(Math.abs(p.std[0]! - sk.std[j]!) <= 1e-9 * Math.max(1, sk.std[j]!), `std ${j}`);
    });
    const lin = bundle.components.get('lin')!;
    assert.equal(lin.kind, 'linear');
    if (lin.kind !== 'linear') return;
    const worst = Math.max(...sk.coef.map((c, j) => Math.abs(c - lin.weights[j]!)));
    assert.ok(worst <= 1e-4, `max |coef − sklearn| = ${worst}`);
    assert.ok(Math.abs(lin.intercepts[0]! - sk.intercept) <= 1e-4);
    const m = report.blocks[0]!.metrics;
    assert.ok(Math.abs(m['auc']! - sk.test.auc) <= 1e-9, `AUC ${m['auc']} vs ${sk.test.auc}`);
    assert.ok(
      Math.abs(m['logloss']! - sk.test.logloss) <= 1e-4,
      `log loss ${m['logloss']} vs ${sk.test.logloss}`,
    );
  });

  it('GAME (global + per-member effect) beats the global-only model and recovers the members’ slopes', async () => {
    const auc: Record<string, number> = {};
    for (const name of ['global', 'game']) {
      const report = await trainModel(join(GAME, `${name}.pml`), {
        data: join(GAME, 'train.csv'),
        validation: join(GAME, 'test.csv'),
        out: join(tmp(), name),
      });
      auc[name] = report.blocks[0]!.metrics['auc']!;
      if (name !== 'game') continue;
      const truth = JSON.parse(readFileSync(join(GAME, 'truth.json'), 'utf8')) as {
        members: Record<string, { intercept: number; x1: number }>;
      };
      const re = readBundle(report.out).components.get('member_re')!;
      assert.equal(re.kind, 'random_effect');
      if (re.kind !== 'random_effect') return;
      assert.ok(re.blocks.size >= 250, `${re.blocks.size} members fitted`);
      const ids = [...re.blocks.keys()];
      const slope = correlation(
        ids.map((id) => truth.members[id]!.x1),
        ids.map((id) => re.blocks.get(id)![1]!),
      );
      const icpt = correlation(
        ids.map((id) => truth.members[id]!.intercept),
        ids.map((id) => re.blocks.get(id)![0]!),
      );
      assert.ok(slope > 0.85, `slope correlation ${slope}`);
      assert.ok(icpt > 0.85, `intercept correlation ${icpt}`);
    }
    assert.ok(
      auc['game']! > auc['global']! + 0.05,
      `held-out AUC: GAME ${auc['game']}, global ${auc['global']}`,
    );
  });

  it('proml train → proml compile → scoring reproduces the held-out predictions bit for bit', async () => {
    const dir = tmp();
    const bundle = join(dir, 'bundle');
    const wasm = join(dir, 'game.wasm');
    const cli = (args: string[]): { code: number | null; out: string; err: string } => {
      const r = spawnSync(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const model = join(GAME, 'game.pml');
    const t = cli([
      'train',
      model,
      '--data',
      join(GAME, 'train.csv'),
      '--validation',
      join(GAME, 'test.csv'),
      '-o',
      bundle,
      '--quiet',
    ]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /held-out metrics: auc 0\.\d+/);
    const c = cli(['compile', model, '--coefficients', bundle, '-o', wasm]);
    assert.equal(c.code, 0, c.err);
    await assertReproducesPredictions(model, join(GAME, 'test.csv'), wasm, bundle);
  });

  it('errors: an unsupported objective, a missing label column, a label that does not suit the objective', async () => {
    const expectCode = async (model: string, data: string, code: string): Promise<void> => {
      await assert.rejects(trainModel(model, { data, out: tmp() }), (e: unknown) => {
        assert.ok(e instanceof TrainError, String(e));
        assert.equal(e.code, code);
        return true;
      });
    };
    // every component kind trains now (mlp: test/trainer/mlp.test.ts); the quantile objective does not yet
    const quantile = join(tmp(), 'quantile.pml');
    (await import('node:fs')).writeFileSync(
      quantile,
      readFileSync(join(GAME, 'game.pml'), 'utf8')
        .replace('output p = sigmoid(global + member_re)', 'output p = global + member_re')
        .replace('objective  logistic', 'objective  quantile(0.9)')
        .replace('metric     auc', 'metric     mae'),
    );
    await expectCode(quantile, join(GAME, 'train.csv'), 'PML5003');
    await expectCode(join(GAME, 'game.pml'), join(BC, 'train.csv'), 'PML5002');
    // the breast-cancer label is 0/1; train it as a multiclass... no: feed a label of 2 to a logistic model
    const dir = tmp();
    const bad = readFileSync(join(GAME, 'train.csv'), 'utf8').replace(/,1\n/, ',2\n');
    const path = join(dir, 'bad.csv');
    (await import('node:fs')).writeFileSync(path, bad);
    await expectCode(join(GAME, 'game.pml'), path, 'PML5004');
  });
});
