// Hashed bucket lists (hash of a bag, cross of two bags) are sorted before a linear sum walks them in
// ascending column order; lists of 12 items or more go through a radix pass first. This checks that
// path on long lists (0–150 items, many repeats) and bucket counts from 2 to 2^20, powers of two or
// not: the transform module's (column, count) entries equal the reference evaluator's exactly
// (ascending, one entry per distinct bucket, counts right); the scoring module's margins agree with
// the reference, and the SIMD and scalar builds with each other byte for byte.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Row } from '../../abi/index.js';
import { emitScoringModule, emitTransformModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import {
  evaluate,
  randomBundle,
  ReferenceEvaluator,
  Rng,
  withinTolerance,
} from '../../compiler/reference/index.js';
import { instantiate, score, transformRows } from './host.js';

const SOURCE = `model sparse_sort {
  version "1"
  owner "test"
  purpose "sorting hashed bucket lists"
  input words : bag<string>
  input ids : bag<int>
  component tiny = linear(hash(words, 2))
  component odd = linear(hash(words, 1_000), hash(ids, 77))
  component wide = linear(hash(words, 1_048_576), cross(words, ids, 50_021))
  output p = sigmoid(tiny + odd + wide)
}
`;

function rows(count: number): Row[] {
  const rng = new Rng(41, 'sparse-sort');
  const vocab = Array.from({ length: 40 }, (_, i) => `w${i}`);
  return Array.from({ length: count }, (_, r) => {
    // every length from 0 to 150 in turn, words from a small vocabulary (so buckets repeat) or not
    const n = r % 151;
    const words = Array.from({ length: n }, () =>
      rng.chance(0.5) ? rng.pick(vocab) : `u${rng.int(0, 1_000_000)}`,
    );
    const ids = Array.from({ length: Math.min(n, 12) }, () => rng.int(-50, 50));
    return { words, ids };
  });
}

describe('emit: sorted hashed bucket lists', () => {
  let kernels: Uint8Array;
  before(async () => {
    kernels = await kernelModuleBytes();
  });

  it('long lists with repeats: transform entries exact, scores as the reference, SIMD = scalar', async () => {
    const checked = checkSource('sparse_sort.pml', SOURCE).checked!;
    assert.ok(checked !== null);
    const sample = rows(453);
    const bundle = randomBundle(checked, { seed: 3, sample });
    // transform: every component's (column, count) entries, exactly the reference's
    const t = await emitTransformModule(checked, bundle, { sourceText: SOURCE, kernelBytes: kernels });
    const tx = instantiate(t.bytes);
    const got = transformRows(tx.exports, tx.manifest, sample);
    const ref = new ReferenceEvaluator(checked, bundle);
    let longLists = 0;
    sample.forEach((row, r) => {
      assert.equal(got.status[r], 0, `row ${r} rejected`);
      for (const c of checked.components) {
        const want = ref.componentInput(row, c.name) as [number, number][];
        const have = got.columns![c.name]![r] as [number, number][];
        assert.deepEqual(have, want, `row ${r} component ${c.name}`);
        if (want.length >= 12) longLists++;
      }
    });
    assert.ok(longLists > 500, `the radix path ran (${longLists} long lists)`);
    // scoring: SIMD and scalar builds byte for byte, and within tolerance of the reference
    const outs: string[] = [];
    for (const simd of [true, false]) {
      const s = await emitScoringModule(checked, lowerModel(checked), bundle, {
        sourceText: SOURCE,
        kernelBytes: kernels,
        simd,
      });
      const sx = instantiate(s.bytes);
      const res = score(sx.exports, sx.manifest, sample);
      outs.push(JSON.stringify(res));
      const want = evaluate(checked, bundle, sample);
      want.forEach((w, r) => {
        const p = res.outputs['p']![r] as number;
        assert.ok(
          withinTolerance(p, w.outputs!['p'] as number),
          `row ${r}: ${p} vs ${String(w.outputs!['p'])}`,
        );
      });
    }
    assert.equal(outs[0], outs[1]);
  });
});
