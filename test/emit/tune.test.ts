// Strategy tuning (compiler/tune.ts) on two differently shaped fixtures, a tree ensemble
// (abuse_anomaly) and an MLP (notification_send), with a small budget and the runtime as the timing
// host. Asserts structure and exactness, never which candidate won (timings are noise here):
// the module carries a tuning record naming distinct, exact candidates and a valid choice; its
// embedded manifest is the one returned; it scores fresh random rows byte for byte like the default
// build; a plain compile carries no record; an empty sample is PML3201. With a tolerance
// (--allow-inexact) the f32 MLP is a candidate: timed when within it, its max |Δ| recorded, dropped
// (PML3203) when not; outputDistance tells a class flip or a rejected row from rounding.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Bundle } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { randomRows } from '../../compiler/reference/index.js';
import { inputSchema } from '../../compiler/schema.js';
import { runtimeTuneHost } from '../../cli/tune.js';
import {
  candidateKnobs,
  outputDistance,
  tune,
  TuneError,
  type BenchOutputs,
  type TuneHost,
} from '../../compiler/tune.js';
import { MemoryEntityStore, Model, rowsToColumns, type HostColumn } from '../../runtime/index.js';
import { MODELS_DIR } from '../helpers.js';

interface Fixture {
  name: string;
  source: string;
  bundleJsonText: string;
  checked: CheckedModel;
  bundle: Bundle;
}

function fixture(name: string): Fixture {
  const dir = join(MODELS_DIR, name);
  const source = readFileSync(join(dir, 'model.pml'), 'utf8');
  const r = checkSource(`${name}.pml`, source);
  assert.ok(r.checked !== null && !r.sink.hasErrors, `${name} does not check`);
  return {
    name,
    source,
    bundleJsonText: readFileSync(join(dir, 'bundle', 'bundle.json'), 'utf8'),
    checked: r.checked,
    bundle: readBundle(join(dir, 'bundle')),
  };
}

/** The runtime as the timing host, as `proml tune` wires it. */
function host(f: Fixture, cols: HostColumn[], n: number): TuneHost {
  const sample = { source: 'random' as const, name: null, rows: n, sha256: 'test' };
  return runtimeTuneHost(sample, n, cols, new MemoryEntityStore(f.bundle));
}

/** The host over `count` random rows of the fixture (seed 11; 0 rows: an empty sample). */
function sampleHost(f: Fixture, count: number): TuneHost {
  const rows = randomRows(f.checked, f.bundle, { seed: 11, count });
  return host(f, rowsToColumns(inputSchema(f.checked), rows), rows.length);
}

const emit = (f: Fixture): { sourceText: string; bundleJsonText: string; compilerVersion: string } => ({
  sourceText: f.source,
  bundleJsonText: f.bundleJsonText,
  compilerVersion: 'test',
});

describe('proml tune (compiler/tune.ts)', () => {
  it('tries the knobs a model uses: tree layouts for trees, SIMD × unroll for an MLP', () => {
    const knobs = (name: string): string[] =>
      candidateKnobs(lowerModel(fixture(name).checked)).map((k) => JSON.stringify(k));
    assert.deepEqual(knobs('abuse_anomaly'), [
      '{}',
      '{"treeLayout":"branchy"}',
      '{"treeLayout":"flat","treeInterleave":1,"treeBlock":1}',
      '{"treeLayout":"flat","treeInterleave":4,"treeBlock":1}',
      '{"treeLayout":"flat","treeInterleave":8,"treeBlock":1}',
      '{"treeLayout":"flat","treeBlock":32}',
      '{"treeLayout":"flat","treeBlock":128}',
    ]);
    const mlp = knobs('notification_send');
    assert.equal(mlp.length, 1 + 2 * 3 * 2 + 1);
    assert.ok(mlp.includes('{"simd":true,"mlpBlock":64}'), 'the row-blocked f64 MLP');
    assert.ok(mlp.includes('{"simd":false,"mlpUnroll":8,"mlpWeights":"f32","mlpBlock":1}'));
    assert.ok(!mlp.some((k) => k.includes('treeLayout')));
    // a dense vector dotted by a linear component: SIMD × its weight storage
    const dense = checkSource(
      'dense.pml',
      'model dense {\n  input x : vector<f32, 64> required\n  component lin = linear(x)\n  output p = sigmoid(lin)\n}\n',
    ).checked!;
    assert.deepEqual(
      candidateKnobs(lowerModel(dense)).map((k) => JSON.stringify(k)),
      [
        '{}',
        '{"simd":true,"linearWeights":"f32"}',
        '{"simd":true,"linearWeights":"f64"}',
        '{"simd":false,"linearWeights":"f32"}',
        '{"simd":false,"linearWeights":"f64"}',
      ],
    );
  });

  for (const name of ['abuse_anomaly', 'notification_send']) {
    it(`${name}: a module with a tuning record, exact, scoring like the default build`, async () => {
      const f = fixture(name);
      const count = 400;
      const lines: string[] = [];
      const result = await tune(f.checked, f.bundle, {
        emit: emit(f),
        host: sampleHost(f, count),
        budgetSeconds: 0.4,
        log: (l) => lines.push(l),
      });
      const r = result.record;
      assert.deepEqual(result.inexact, []);
      assert.ok(lines.some((l) => l.startsWith('compiled default')));
      // the record: the default first, distinct exact candidates, a valid choice, figures for the timed
      assert.deepEqual(r.candidates[0]!.options, {});
      assert.deepEqual(r.candidates[0]!.strategies, {});
      assert.ok(r.candidates.length >= 2, 'at least one candidate besides the default');
      const opts = r.candidates.map((c) => JSON.stringify(c.options));
      assert.equal(new Set(opts).size, opts.length);
      for (const c of r.candidates.slice(1)) {
        assert.ok(
          Object.keys(c.strategies).length > 0,
          `${JSON.stringify(c.options)} differs in no strategy`,
        );
        assert.ok(c.rowsPerSec !== null && c.speedup !== null);
        assert.ok(c.rowsPerSec.q1 <= c.rowsPerSec.median && c.rowsPerSec.median <= c.rowsPerSec.q3);
      }
      assert.ok(r.candidates.every((c) => c.exact));
      assert.ok(r.chosen >= 0 && r.chosen < r.candidates.length);
      assert.ok(r.rounds >= 5);
      assert.equal(r.sample.rows, count);
      assert.ok(r.sample.rejected < count);
      assert.equal(r.machine.node, process.version);
      assert.ok(!Number.isNaN(Date.parse(r.date)));
      assert.match(r.reason, r.chosen === 0 ? /default/ : /speed-up/);
      // the module says the same: its strategies are the chosen candidate's, its manifest carries the record
      const tuned = await Model.load(result.bytes);
      assert.deepEqual(tuned.manifest, JSON.parse(JSON.stringify(result.manifest)));
      assert.deepEqual(tuned.manifest.tuning, JSON.parse(JSON.stringify(r)));
      for (const [k, v] of Object.entries(r.candidates[r.chosen]!.strategies))
        assert.equal(tuned.manifest.strategies[k], v);
      // a plain compile carries no tuning record, and scores fresh rows exactly like the tuned module
      const plain = await emitScoringModule(f.checked, lowerModel(f.checked), f.bundle, emit(f));
      assert.equal('tuning' in plain.manifest, false);
      const base = await Model.load(plain.bytes);
      const fresh = randomRows(f.checked, f.bundle, { seed: 12, count: 1_000 });
      const entities = new MemoryEntityStore(f.bundle);
      assert.deepEqual(tuned.score(fresh, entities).bytes(), base.score(fresh, entities).bytes());
    });
  }

  it('--allow-inexact: the f32 MLP is timed within the tolerance (max |Δ| recorded), dropped outside it', async () => {
    const f = fixture('notification_send');
    const mod = lowerModel(f.checked);
    const exactOnly = candidateKnobs(mod).map((k) => JSON.stringify(k));
    const withInexact = candidateKnobs(mod, true).map((k) => JSON.stringify(k));
    assert.deepEqual(withInexact.slice(0, exactOnly.length), exactOnly);
    assert.deepEqual(withInexact.slice(exactOnly.length), [
      '{"simd":true,"mlpPrecision":"f32"}',
      '{"simd":true,"mlpPrecision":"f32","mlpBlock":1}',
    ]);
    assert.ok(!exactOnly.some((k) => k.includes('mlpPrecision')));
    const run = (tolerance: number) =>
      tune(f.checked, f.bundle, {
        emit: emit(f),
        host: sampleHost(f, 400),
        budgetSeconds: 0.4,
        tolerance,
      });
    const loose = await run(1e-4);
    assert.equal(loose.record.tolerance, 1e-4);
    const f32 = loose.record.candidates.filter((c) => c.options['mlpPrecision'] === 'f32');
    assert.equal(f32.length, 2);
    for (const c of f32) {
      assert.equal(c.exact, false);
      assert.ok(c.maxAbsDiff !== null && c.maxAbsDiff > 0 && c.maxAbsDiff <= 1e-4, String(c.maxAbsDiff));
      assert.ok(c.rowsPerSec !== null, 'timed');
      assert.match(c.strategies['mlp.precision'] ?? '', /inexact/);
    }
    assert.ok(loose.record.candidates.filter((c) => !('mlpPrecision' in c.options)).every((c) => c.exact));
    const chosen = loose.record.candidates[loose.record.chosen]!;
    if (!chosen.exact) assert.match(loose.record.reason, /INEXACT: outputs within .* tolerance 0\.0001/);
    assert.deepEqual(loose.outside, []);
    // a tolerance below f32 rounding: both dropped, with why; the module is an exact build
    const tight = await run(1e-12);
    assert.equal(tight.outside.length, 2);
    for (const o of tight.outside) assert.match(o, /above the tolerance 1e-12/);
    for (const c of tight.record.candidates.filter((x) => x.options['mlpPrecision'] === 'f32')) {
      assert.equal(c.rowsPerSec, null);
      assert.ok(c.maxAbsDiff !== null && c.maxAbsDiff > 0);
    }
    assert.equal(tight.record.candidates[tight.record.chosen]!.exact, true);
  });

  it('--allow-inexact on a model without an MLP says so and tunes the exact candidates', async () => {
    const f = fixture('abuse_anomaly');
    const lines: string[] = [];
    const r = await tune(f.checked, f.bundle, {
      emit: emit(f),
      host: sampleHost(f, 200),
      budgetSeconds: 0.2,
      tolerance: 1e-5,
      log: (l) => lines.push(l),
    });
    assert.ok(
      lines.some((l) => /no inexact strategy applies/.test(l)),
      lines.join('\n'),
    );
    assert.ok(r.record.candidates.every((c) => c.exact && c.maxAbsDiff === null));
    assert.equal(r.record.tolerance, 1e-5);
  });

  it('outputDistance: rounding is a distance; a status, a missing value or a class is a difference', () => {
    const out = (status: number[], p: number[], cls: number[], valid = 0xff): BenchOutputs => ({
      status: Uint32Array.from(status),
      outputs: [
        { name: 'p', type: 'f32', validity: Uint8Array.of(valid), values: Float32Array.from(p) },
        { name: 'c', type: 'int', validity: Uint8Array.of(0xff), values: Int32Array.from(cls) },
      ],
    });
    const want = out([0, 0], [0.25, 3], [1, 2]);
    assert.deepEqual(outputDistance(out([0, 0], [0.25, 3], [1, 2]), want), { maxAbs: 0, maxScaled: 0 });
    const d = outputDistance(out([0, 0], [0.2500001, 3.000003], [1, 2]), want);
    assert.ok(!('differs' in d));
    assert.ok(Math.abs(d.maxAbs - Math.abs(Math.fround(3.000003) - 3)) < 1e-12);
    assert.ok(d.maxScaled < d.maxAbs, 'scaled by |b| above 1');
    assert.match(
      (outputDistance(out([0, 1], [0.25, 3], [1, 2]), want) as { differs: string }).differs,
      /row 1's status/,
    );
    assert.match(
      (outputDistance(out([0, 0], [0.25, 3], [1, 3]), want) as { differs: string }).differs,
      /output 'c' \(int\)/,
    );
    assert.match(
      (outputDistance(out([0, 0], [0.25, 3], [1, 2], 0xfe), want) as { differs: string }).differs,
      /missing/,
    );
    assert.match((outputDistance(out([0, 0], [NaN, 3], [1, 2]), want) as { differs: string }).differs, /NaN/);
  });

  it('an empty sample is PML3201 (nothing to time)', async () => {
    const f = fixture('abuse_anomaly');
    await assert.rejects(
      tune(f.checked, f.bundle, {
        emit: emit(f),
        host: sampleHost(f, 0),
        budgetSeconds: 0.1,
      }),
      (e: unknown) => e instanceof TuneError && e.code === 'PML3201',
    );
  });
});
