// Partial retraining (trainer/retrain.ts): `--retrain member_re --from old/` refits the random effect
// on new data with the global component locked at the old bundle's coefficients (an offset), keeps
// the old fitted transforms, and reports what was locked; bad requests are PML5008.
// Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBundle } from '../../abi/node.js';
import { fitGlm } from '../../trainer/glm.js';
import { TrainError, trainModel } from '../../trainer/train.js';
import { ROOT } from '../helpers.js';

const GAME = join(ROOT, 'fixtures', 'train', 'game');
const MODEL = join(GAME, 'game.pml');
const dir = mkdtempSync(join(tmpdir(), 'proml-retrain-'));
const lines = readFileSync(join(GAME, 'train.csv'), 'utf8').trim().split('\n');
const part = (name: string, from: number, to: number): string => {
  const path = join(dir, name);
  writeFileSync(path, [lines[0], ...lines.slice(from, to)].join('\n') + '\n');
  return path;
};
const d1 = part('d1.csv', 1, 4001);
const d2 = part('d2.csv', 4001, 8001);
const held = join(GAME, 'test.csv');

describe('partial retraining (--retrain ... --from ...)', () => {
  it('refits member_re on new data with global locked at the old coefficients', async () => {
    const old = join(dir, 'old');
    await trainModel(MODEL, { data: d1, validation: held, out: old });
    const out = join(dir, 'new');
    const report = await trainModel(MODEL, {
      data: d2,
      validation: held,
      out,
      retrain: ['member_re'],
      from: old,
    });
    assert.deepEqual(report.retrain, { from: old, retrained: ['member_re'], locked: ['global'] });
    const a = readBundle(old);
    const b = readBundle(out);
    const ga = a.components.get('global')!;
    const gb = b.components.get('global')!;
    assert.ok(ga.kind === 'linear' && gb.kind === 'linear');
    assert.deepEqual([...gb.weights], [...ga.weights], 'global weights unchanged');
    assert.deepEqual([...gb.intercepts], [...ga.intercepts]);
    const ra = a.components.get('member_re')!;
    const rb = b.components.get('member_re')!;
    assert.ok(ra.kind === 'random_effect' && rb.kind === 'random_effect');
    assert.notDeepEqual([...rb.blocks.get('m49')!], [...ra.blocks.get('m49')!], 'member_re refitted');
    // member m49's block is the penalised GLM on its d2 rows with the locked global margin as offset
    const rows = readFileSync(d2, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','))
      .filter((c) => c[2] === 'm49');
    const x1 = rows.map((c) => Number(c[0]));
    const offset = rows.map(
      (c) => ga.intercepts[0]! + ga.weights[0]! * Number(c[0]) + ga.weights[1]! * Number(c[1]),
    );
    const fit = fitGlm({
      X: {
        n: rows.length,
        d: 1,
        offsets: Int32Array.from({ length: rows.length + 1 }, (_, i) => i),
        cols: new Int32Array(rows.length),
        vals: Float64Array.from(x1),
      },
      y: Float64Array.from(rows, (c) => Number(c[3])),
      loss: 'logistic',
      classes: 1,
      intercept: true,
      offset: Float64Array.from(offset),
      l2: 1,
    });
    const block = rb.blocks.get('m49')!;
    assert.ok(Math.abs(block[0]! - fit.intercepts[0]!) < 1e-9, `${block[0]} vs ${fit.intercepts[0]}`);
    assert.ok(Math.abs(block[1]! - fit.weights[0]!) < 1e-9, `${block[1]} vs ${fit.weights[0]}`);
    assert.match(readFileSync(join(out, 'report.txt'), 'utf8'), /retrained: member_re; locked at .*: global/);
    assert.ok(report.blocks[0]!.metrics['auc']! > 0.75, `AUC ${report.blocks[0]!.metrics['auc']}`);
  });

  it('errors: an unknown component, --from alone, a bundle of another model (PML5008)', async () => {
    const expect = async (options: object, message: RegExp): Promise<void> =>
      assert.rejects(trainModel(MODEL, { data: d1, out: join(dir, 'x'), ...options }), (e: unknown) => {
        assert.ok(e instanceof TrainError, String(e));
        assert.equal(e.code, 'PML5008');
        assert.match(e.message, message);
        return true;
      });
    await expect(
      { retrain: ['member'], from: dir },
      /no trained component 'member'.*\(components: global, member_re\)/,
    );
    await expect({ from: dir }, /--from needs --retrain/);
    const other = join(dir, 'bc');
    const bc = join(ROOT, 'fixtures', 'train', 'breast_cancer');
    await trainModel(join(bc, 'model.pml'), { data: join(bc, 'train.csv'), out: other });
    await expect({ retrain: ['member_re'], from: other }, /the bundle is for model '.*', not 'game'/);
  });

  it('the CLI: --retrain member_re --from <bundle>', () => {
    const out = join(dir, 'cli');
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'cli', 'bin.mjs'),
        'train',
        MODEL,
        '--data',
        d2,
        '-o',
        out,
        '--retrain',
        'member_re',
        '--from',
        join(dir, 'old'),
        '-q',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /retrained: member_re; locked at .*old: global/);
  });
});
