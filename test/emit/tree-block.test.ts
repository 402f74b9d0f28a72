// The row-blocked tree walk (EmitOptions.treeBlock, compiler/emit/trees.ts emitBlockedTrees): every
// fixture with a gbdt component, and a generated forest, scored in blocks of several sizes (including
// blocks that do not divide the batch, and batches smaller than a block) give byte-identical outputs
// and statuses to the row-at-a-time build, which the emit tests hold to the reference evaluator.
// Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseRowsCsv, type Bundle, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { CompileError, emitScoringModule, type EmitOptions } from '../../compiler/emit/index.js';
import { MAX_TREE_BLOCK } from '../../compiler/emit/scoring.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { evaluate, randomBundle, randomRows, withinTolerance } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MODELS_DIR } from '../helpers.js';
import { instantiate, score } from './host.js';

let kernels: Uint8Array;
before(async () => {
  kernels = await kernelModuleBytes();
});

/** Fixtures with at least one gbdt component. */
const TREE_FIXTURES = [
  'abuse_anomaly',
  'ad_bid',
  'all_functions',
  'all_types',
  'feed_ctr',
  'salary_estimate',
  'search_spaces',
];

async function build(
  checked: CheckedModel,
  bundle: Bundle,
  source: string,
  options: Omit<EmitOptions, 'sourceText'>,
) {
  return emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes: kernels,
    ...options,
  });
}

/** Outputs and statuses of rows scored in one call, as text (byte-identity through JSON of numbers and nulls). */
function scored(bytes: Uint8Array, bundle: Bundle, rows: Row[]): string {
  const { exports, manifest } = instantiate(bytes);
  const r = score(exports, manifest, rows, bundle);
  return JSON.stringify({ result: r.result, status: [...r.status], outputs: r.outputs });
}

describe('row-blocked tree walk', () => {
  it('every gbdt fixture: blocks of 8, 13 and 64 rows give the row-at-a-time outputs bit for bit', async () => {
    for (const name of TREE_FIXTURES) {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      const csv = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(checked));
      const rows = [...csv, ...randomRows(checked, bundle, { seed: 77, count: 301 })];
      const plain = await build(checked, bundle, source, { treeLayout: 'flat', treeBlock: 1 });
      assert.equal(plain.manifest.strategies['trees.block'], undefined, name);
      for (const treeBlock of [8, 13, 64]) {
        const blocked = await build(checked, bundle, source, { treeLayout: 'flat', treeBlock });
        assert.equal(blocked.manifest.strategies['trees.block'], String(treeBlock), name);
        // batches: one row, fewer than a lane group, a block and a bit, everything
        for (const n of [1, 7, treeBlock + 1, rows.length])
          assert.equal(
            scored(blocked.bytes, bundle, rows.slice(0, n)),
            scored(plain.bytes, bundle, rows.slice(0, n)),
            `${name}: treeBlock ${treeBlock}, ${n} rows`,
          );
      }
    }
  });

  it('a generated 100-tree forest (depth 7) with rejected and missing rows: blocked = row-at-a-time = reference', async () => {
    const source = [
      'model forest {',
      '  version "1"',
      '  owner "o"',
      '  purpose "testing"',
      '  input x : vector<f32, 12> required',
      '  input y : f64 in [-5, 5]',
      '  input kind : category("a", "b", "c")',
      '  component t = gbdt(x, y, kind)',
      '  output p = sigmoid(t)',
      '}',
    ].join('\n');
    const r = checkSource('forest.pml', source);
    assert.ok(r.checked !== null, r.sink.items.map((d) => `${d.code} ${d.message}`).join('\n'));
    const checked = r.checked;
    const bundle = randomBundle(checked, { seed: 5, maxTrees: 100, maxDepth: 7 });
    const rows = randomRows(checked, bundle, { seed: 6, count: 1_000 });
    const plain = await build(checked, bundle, source, { treeLayout: 'flat', treeBlock: 1 });
    const blocked = await build(checked, bundle, source, { treeBlock: 64 });
    assert.equal(blocked.manifest.strategies['trees.t'], 'flat');
    assert.equal(blocked.manifest.strategies['trees.block'], '64');
    assert.equal(blocked.manifest.strategies['trees.interleave'], undefined);
    assert.equal(scored(blocked.bytes, bundle, rows), scored(plain.bytes, bundle, rows));
    // and both are the reference's outputs (within the f32 sigmoid's rounding)
    const { exports, manifest } = instantiate(blocked.bytes);
    const got = score(exports, manifest, rows, bundle);
    const want = evaluate(checked, bundle, rows);
    let rejected = 0;
    want.forEach((w, i) => {
      if (w.rejected !== null) {
        rejected++;
        assert.notEqual(got.status[i], 0, `row ${i} should be rejected`);
        return;
      }
      assert.equal(got.status[i], 0, `row ${i}`);
      const g = got.outputs['p']![i] as number;
      assert.ok(
        withinTolerance(g, w.outputs['p'] as number),
        `row ${i}: ${g}, reference ${String(w.outputs['p'])}`,
      );
    });
    assert.ok(rejected > 0, 'the rows exercise rejection');
    assert.equal(got.result, rejected);
  });

  it('branchy ensembles are never blocked; treeBlock out of range is a compile error', async () => {
    const dir = join(MODELS_DIR, 'feed_ctr');
    const source = readFileSync(join(dir, 'model.pml'), 'utf8');
    const checked = checkSource('model.pml', source).checked!;
    const bundle = readBundle(join(dir, 'bundle'));
    const branchy = await build(checked, bundle, source, { treeLayout: 'branchy', treeBlock: 64 });
    assert.equal(branchy.manifest.strategies['trees.block'], undefined);
    for (const bad of [0, 1.5, MAX_TREE_BLOCK + 1])
      await assert.rejects(
        build(checked, bundle, source, { treeBlock: bad }),
        (e: unknown) => e instanceof CompileError && /treeBlock must be an integer/.test(e.message),
      );
  });
});
