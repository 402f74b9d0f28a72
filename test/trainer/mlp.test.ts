// mlp components in `proml train` (trainer/mlp.ts): on synthetic XOR data (two features whose label
// no linear model can separate; generated here with a seeded Rng), the network's held-out AUC is far
// above logistic regression's; the same seed writes the same bundle bytes; `proml train` → `proml
// compile` → scoring reproduces validation-predictions.csv bit for bit; an additive linear + mlp model
// is fitted jointly by coordinate descent; the other objectives (squared error, poisson, multiclass)
// learn. Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readBundle } from '../../abi/node.js';
import { Rng } from '../../compiler/reference/index.js';
import type { Csr } from '../../trainer/matrix.js';
import * as metrics from '../../trainer/metrics.js';
import { fitMlp, mlpParams, type MlpLoss } from '../../trainer/mlp.js';
import { beginFit, type ProgressSink } from '../../trainer/progress.js';
import { trainModel, type TrainReport } from '../../trainer/train.js';
import { ROOT } from '../helpers.js';
import { assertReproducesPredictions } from './reproduce.js';

const HEAD = `  version "1.0.0"
  owner   "proml-team@example.com"
  purpose "testing"
  input x1 : f64 required
  input x2 : f64 required
  input x3 : f64 required
`;

/** A model over x1..x3 with the given component declarations, output sum and train block body. */
function model(name: string, components: string, sum: string, train: string): string {
  return `model ${name} {\n${HEAD}${components}\n  output p = sigmoid(${sum})\n  train p {\n    label y\n    objective logistic\n    metric auc\n${train}\n  }\n}\n`;
}

const NET = 'net { epochs 8 batch_size 64 learning_rate 0.03 }';

let dir = '';

/** Rows with x1, x2 uniform in [-1, 1], x3 normal; y from `margin` (a probability via sigmoid). */
function writeRows(
  path: string,
  n: number,
  seed: number,
  margin: (x1: number, x2: number, x3: number) => number,
): void {
  const rng = new Rng(seed, 'mlp-test-data');
  const lines = ['x1,x2,x3,y'];
  for (let i = 0; i < n; i++) {
    const x1 = 2 * rng.next() - 1;
    const x2 = 2 * rng.next() - 1;
    const x3 = rng.next() + rng.next() + rng.next() - 1.5;
    const p = 1 / (1 + Math.exp(-margin(x1, x2, x3)));
    lines.push(`${x1},${x2},${x3},${rng.next() < p ? 1 : 0}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

/** XOR of the signs of x1 and x2, 5 % of labels flipped (a margin of ±log(19)). */
const xor = (x1: number, x2: number): number => (x1 * x2 > 0 ? 1 : -1) * Math.log(19);

function bundleBytes(out: string): Map<string, string> {
  const files = readdirSync(out).filter((f) => f === 'bundle.json' || f.endsWith('.arrow'));
  return new Map(files.sort().map((f) => [f, readFileSync(join(out, f)).toString('hex')]));
}

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('trainer: mlp components', () => {
  let xorReport: TrainReport | null = null;
  let linearAuc = NaN;

  // the XOR model is trained once: its report (AUC) and its bundle (`proml compile`) are tested
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'proml-mlp-'));
    writeRows(join(dir, 'train.csv'), 3000, 1, xor);
    writeRows(join(dir, 'valid.csv'), 1000, 2, xor);
    writeFileSync(
      join(dir, 'xor.pml'),
      model(
        'xor',
        '  component net = mlp(x1, x2, hidden = [16, 16], activation = relu)',
        'net',
        `    seed 3\n    ${NET}`,
      ),
    );
    writeFileSync(
      join(dir, 'linear.pml'),
      model('xor_linear', '  component lin = linear(x1, x2)', 'lin', ''),
    );
    xorReport = await trainModel(join(dir, 'xor.pml'), {
      data: join(dir, 'train.csv'),
      validation: join(dir, 'valid.csv'),
      out: join(dir, 'xor-out'),
    });
    const report = await trainModel(join(dir, 'linear.pml'), {
      data: join(dir, 'train.csv'),
      validation: join(dir, 'valid.csv'),
      out: join(dir, 'linear-out'),
    });
    linearAuc = report.blocks[0]!.metrics['auc']!;
  });

  it('learns XOR: held-out AUC > 0.9 where logistic regression stays < 0.65', (t) => {
    const report = xorReport!;
    const auc = report.blocks[0]!.metrics['auc']!;
    t.diagnostic(`held-out AUC: mlp ${auc}, linear ${linearAuc}`);
    assert.ok(auc > 0.9, `mlp held-out AUC ${auc}`);
    assert.ok(linearAuc < 0.65, `linear held-out AUC ${linearAuc}`);
    assert.deepEqual(report.blocks[0]!.components[0]!.iterations, [8]);
    const net = readBundle(join(dir, 'xor-out')).components.get('net')!;
    assert.equal(net.kind, 'mlp');
    if (net.kind !== 'mlp') return;
    assert.deepEqual(
      net.layers.map((l) => [l.inputs, l.outputs]),
      [
        [2, 16],
        [16, 16],
        [16, 1],
      ],
    );
    assert.equal(net.activation, 'relu');
  });

  it('is deterministic: the same seed writes the same bundle bytes (dropout on), another seed other weights', async () => {
    const text = model(
      'xor',
      '  component net = mlp(x1, x2, hidden = [8, 8], activation = tanh)',
      'net',
      '    seed SEED\n    net { epochs 2 batch_size 64 learning_rate 0.01 dropout 0.2 l2 0.001 }',
    );
    const bytes: Map<string, string>[] = [];
    for (const [i, seed] of [7, 7, 8].entries()) {
      const path = join(dir, `det-${i}.pml`);
      writeFileSync(path, text.replace('SEED', String(seed)));
      const out = join(dir, `det-${i}`);
      await trainModel(path, { data: join(dir, 'train.csv'), validation: join(dir, 'valid.csv'), out });
      bytes.push(bundleBytes(out));
    }
    assert.ok(bytes[0]!.size >= 2);
    assert.deepEqual(bytes[1], bytes[0]);
    assert.notDeepEqual(bytes[2], bytes[0]);
  });

  it('train → proml compile → scoring reproduces the held-out predictions bit for bit', async () => {
    const path = join(dir, 'xor.pml');
    const bundle = join(dir, 'xor-out');
    const wasm = join(dir, 'xor.wasm');
    const c = cli(['compile', path, '--coefficients', bundle, '-o', wasm]);
    assert.equal(c.code, 0, c.err);
    await assertReproducesPredictions(path, join(dir, 'valid.csv'), wasm, bundle);
  });

  it('linear + mlp are fitted jointly by coordinate descent (the mlp takes the XOR, the linear part x3)', async (t) => {
    // truth: margin = XOR(x1, x2) + 2·x3 − 0.5; each part alone misses the other's signal
    const truth = (x1: number, x2: number, x3: number): number => 0.7 * xor(x1, x2) + 2 * x3 - 0.5;
    writeRows(join(dir, 'joint-train.csv'), 3000, 3, truth);
    writeRows(join(dir, 'joint-valid.csv'), 1000, 4, truth);
    const net = '  component net = mlp(x1, x2, hidden = [16, 16])';
    const lin = '  component lin = linear(x3)';
    const variants: Record<string, string> = {
      joint: model(
        'joint',
        `${net}\n${lin}`,
        'lin + net',
        `    iterations 2\n    seed 5\n    lin { l2 0.1 }\n    ${NET}`,
      ),
      mlp: model('joint', net, 'net', `    seed 5\n    ${NET}`),
      linear: model('joint', lin, 'lin', '    lin { l2 0.1 }'),
    };
    const auc: Record<string, number> = {};
    const slope: Record<string, number> = {};
    for (const [name, text] of Object.entries(variants)) {
      const path = join(dir, `joint-${name}.pml`);
      writeFileSync(path, text);
      const report = await trainModel(path, {
        data: join(dir, 'joint-train.csv'),
        validation: join(dir, 'joint-valid.csv'),
        out: join(dir, `joint-${name}`),
      });
      auc[name] = report.blocks[0]!.metrics['auc']!;
      const l = readBundle(join(dir, `joint-${name}`)).components.get('lin');
      if (l?.kind === 'linear') slope[name] = l.weights[0]!;
    }
    t.diagnostic(`held-out AUC ${JSON.stringify(auc)}; x3 weight ${JSON.stringify(slope)}`);
    // the linear part alone is attenuated (the XOR it cannot see acts like noise); fitted with the mlp's
    // margins as offsets it comes closer to the truth's slope of 2
    assert.ok(
      Math.abs(slope['joint']! - 2) < Math.abs(slope['linear']! - 2) - 0.2,
      `x3 weight: joint ${slope['joint']}, linear alone ${slope['linear']}`,
    );
    assert.ok(auc['joint']! > auc['mlp']! + 0.03, `joint ${auc['joint']} vs mlp alone ${auc['mlp']}`);
    assert.ok(
      auc['joint']! > auc['linear']! + 0.03,
      `joint ${auc['joint']} vs linear alone ${auc['linear']}`,
    );
  });

  it('reports its epochs through beginFit (progress): a phase of `epochs` units, 0 to epochs', async () => {
    const n = 200;
    const X: Csr = {
      n,
      d: 1,
      offsets: Int32Array.from({ length: n + 1 }, (_, i) => i),
      cols: new Int32Array(n),
      vals: Float64Array.from({ length: n }, (_, i) => i / n),
    };
    const seen: { label: string; total: number | null; unit: string | undefined; done: number[] }[] = [];
    const sink: ProgressSink = {
      begin(label, total, unit) {
        const phase = { label, total, unit, done: [] as number[] };
        seen.push(phase);
        return { update: (d) => void phase.done.push(d), end: () => undefined };
      },
      note: () => undefined,
    };
    const fit = beginFit(sink, 'p: pass 1/1, net');
    await fitMlp({
      X,
      y: Float64Array.from({ length: n }, (_, i) => i % 2),
      w: null,
      offset: new Float64Array(n),
      loss: 'logistic',
      classes: 1,
      hidden: [4],
      activation: 'relu',
      params: { ...mlpParams(undefined), epochs: 3, batchSize: 50 },
      seed: 1,
      stream: 'net',
      pass: 0,
      warm: null,
      log: () => undefined,
    });
    fit.end();
    assert.deepEqual(seen, [{ label: 'p: pass 1/1, net', total: 3, unit: 'epochs', done: [0, 1, 2, 3] }]);
  });

  it('squared error, poisson and multiclass (softmax) objectives learn a non-linear target', async () => {
    const rng = new Rng(9, 'mlp-objectives');
    const n = 2000;
    const d = 2;
    const xs = Float64Array.from({ length: n * d }, () => 2 * rng.next() - 1);
    const X: Csr = {
      n,
      d,
      offsets: Int32Array.from({ length: n + 1 }, (_, i) => i * d),
      cols: Int32Array.from({ length: n * d }, (_, i) => i % d),
      vals: xs,
    };
    const r2 = (i: number): number => xs[i * d]! ** 2 + xs[i * d + 1]! ** 2;
    const cases: {
      loss: MlpLoss;
      K: number;
      y: (i: number) => number;
      check: (y: Float64Array, m: Float64Array) => void;
    }[] = [
      {
        loss: 'squared_error',
        K: 1,
        y: (i) => 3 * r2(i) + 10 + 0.1 * (rng.next() - 0.5),
        check: (y, m) =>
          assert.ok(metrics.rmse([...y], [...m]) < 0.25, `rmse ${metrics.rmse([...y], [...m])}`),
      },
      {
        loss: 'poisson',
        K: 1,
        y: (i) => Math.round(8 * r2(i) + rng.next()),
        check: (y, m) => {
          const mu = [...m].map(Math.exp);
          const base = [...y].reduce((s, v) => s + v, 0) / n;
          assert.ok(
            metrics.rmse([...y], mu) <
              0.6 *
                metrics.rmse(
                  [...y],
                  mu.map(() => base),
                ),
            `rmse ${metrics.rmse([...y], mu)}`,
          );
        },
      },
      {
        loss: 'multiclass',
        K: 3,
        y: (i) => (r2(i) < 0.3 ? 0 : r2(i) < 0.9 ? 1 : 2),
        check: (y, m) => {
          let right = 0;
          for (let i = 0; i < n; i++) {
            const row = [...m.subarray(3 * i, 3 * i + 3)];
            if (row.indexOf(Math.max(...row)) === y[i]) right++;
          }
          assert.ok(right / n > 0.85, `accuracy ${right / n}`);
        },
      },
    ];
    for (const c of cases) {
      const y = Float64Array.from({ length: n }, (_, i) => c.y(i));
      const fit = await fitMlp({
        X,
        y,
        w: null,
        offset: new Float64Array(n * c.K),
        loss: c.loss,
        classes: c.K,
        hidden: [16, 16],
        activation: 'tanh',
        params: { ...mlpParams(undefined), epochs: 12, batchSize: 64, learningRate: 0.03 },
        seed: 1,
        stream: c.loss,
        pass: 0,
        warm: null,
        log: () => undefined,
      });
      assert.ok(fit.losses.at(-1)! < fit.losses[0]!, `${c.loss}: losses ${fit.losses.join(', ')}`);
      c.check(y, fit.margins);
    }
  });
});
