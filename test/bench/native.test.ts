// The native C lower bound (bench/native/): the C program built from a bundle must compute what
// proml computes. For a 16-feature logistic model, a 12→16→8→1 relu MLP and 20 trees of depth 4
// over optional inputs (missing and NaN values both present), random bundles and rows: the native
// outputs are compared with the compiled module's and the reference evaluator's (max |diff| ≤ 1e-6).
// Also: the f32 threshold rounding the trees rely on, the binary cache, unsupported models.
// Without gcc the native cases assert nothing and say so in a diagnostic (gccAvailable() is false).
// Run: node --import ./scripts/preload-binaryen.mjs --test test/bench/native.test.ts

import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import type { Bundle, Row } from '../../abi/index.js';
import {
  gccAvailable,
  nativeBound,
  nativeBoundOf,
  nativeFromBundle,
  NativeUnsupported,
  thresholdF32,
} from '../../bench/native/index.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { evaluate, randomBundle, randomRows } from '../../compiler/reference/index.js';
import { rng } from '../emit/trees-harness.js';
import { instantiate, score } from '../emit/host.js';

const ROWS = 2_000;
const TOLERANCE = 1e-6;

function check(body: string): { checked: CheckedModel; source: string } {
  const source = `model native_case {\n  version "1"\n  owner "bench"\n  purpose "testing"\n${body}\n}\n`;
  const r = checkSource('native_case.pml', source);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  assert.ok(
    r.checked !== null && errors.length === 0,
    errors.map((d) => `${d.code} ${d.message}`).join('\n'),
  );
  return { checked: r.checked, source };
}

const CASES: Record<string, string> = {
  'logistic, 16 features': `  input x : vector<f32, 16> required
  component lin = linear(x)
  output p = sigmoid(lin)`,
  'mlp 12→16→8→1, relu': `  input x : vector<f32, 12> required
  component net = mlp(x, hidden = [16, 8], activation = relu)
  output p = sigmoid(net)`,
  '20 trees of depth 4, optional inputs': `  input a : f32
  input v : vector<f32, 14> required
  input b : f32
  component trees = gbdt(a, v, b)
  output p = sigmoid(trees)`,
};

/** Largest |a − b| over rows; a NaN must meet a NaN (else Infinity). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
    } else m = Math.max(m, Math.abs(x - y));
  }
  return m;
}

function skipWithoutGcc(t: TestContext): boolean {
  if (gccAvailable()) return false;
  t.diagnostic('gcc not found: the native bound is not exercised (peer suites leave its row out)');
  return true;
}

describe('native C lower bound', () => {
  let kernelBytes: Uint8Array;
  before(async () => {
    kernelBytes = await kernelModuleBytes();
  });

  it('thresholdF32: x < t in f64 ⇔ x < thresholdF32(t) in f32, for every f32 x', () => {
    const r = rng(11);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const specials = [0, -0, 1e-45, -1e-45, 3.4028234663852886e38, 3.5e38, -3.5e38, Infinity, -Infinity, NaN];
    const ts = [
      ...specials,
      ...Array.from({ length: 2000 }, () => (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10)),
    ];
    for (const t of ts) {
      const tf = thresholdF32(t);
      assert.ok(Object.is(Math.fround(tf), tf), `${t} → ${tf} is not an f32`);
      // x around t: its f32 neighbours (the only places the two comparisons could disagree)
      u32[0] = 0;
      f32[0] = t;
      const base = u32[0];
      for (let d = -3; d <= 3; d++) {
        u32[0] = (base + d) >>> 0;
        const x = f32[0]!;
        assert.equal(x < tf, x < t, `x=${x} t=${t} t'=${tf}`);
      }
      for (const x of [NaN, Infinity, -Infinity, 0, -0])
        assert.equal(x < tf, x < t, `x=${x} t=${t} t'=${tf}`);
    }
  });

  for (const [name, body] of Object.entries(CASES)) {
    it(`${name}: native outputs = the compiled module's and the reference's (≤ ${TOLERANCE})`, async (t) => {
      if (skipWithoutGcc(t)) return;
      const { checked, source } = check(body);
      // trees: thresholds at the rows' own values (exact ties), like the emitter's tests
      const opts = { seed: 5, maxTrees: 20, maxDepth: 4 };
      const sample = randomRows(checked, randomBundle(checked, opts), { seed: 6, count: ROWS });
      const bundle: Bundle = randomBundle(checked, { ...opts, sample });
      const all = randomRows(checked, bundle, { seed: 7, count: ROWS });
      const ref = evaluate(checked, bundle, all);
      const rows: Row[] = all.filter((_, i) => ref[i]!.rejected === null);
      const want = ref.flatMap((r) => (r.outputs === null ? [] : [r.outputs['p'] as number | null]));
      assert.ok(rows.length > ROWS / 2, `only ${rows.length} accepted rows`);

      const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
        sourceText: source,
        kernelBytes,
      });
      const { exports, manifest } = instantiate(bytes);
      const got = score(exports, manifest, rows, bundle);
      assert.equal(got.result, 0);
      const proml = got.outputs['p']!.map((v) => (v === null ? NaN : (v as number)));

      const native = await nativeBoundOf(checked, bundle, rows, { minTimeMs: 30, minRounds: 3 });
      assert.equal(native.outputs.length, rows.length);
      assert.ok(native.rounds >= 3 && native.rowsPerSec > 0 && Number.isFinite(native.spread));
      const vsProml = maxDiff(native.outputs, proml);
      const vsRef = maxDiff(
        native.outputs,
        want.map((v) => (v === null ? NaN : v)),
      );
      t.diagnostic(
        `${rows.length} rows; max |native − proml| ${vsProml}, |native − reference| ${vsRef}; ${native.rowsPerSec.toFixed(0)} rows/s`,
      );
      assert.ok(vsProml <= TOLERANCE, `native vs proml: ${vsProml}`);
      assert.ok(vsRef <= TOLERANCE, `native vs reference: ${vsRef}`);
      if (nativeFromBundle(checked, bundle).model.kind === 'trees') {
        // the case must reach both missing values (default direction) and present NaNs (right)
        const missing = rows.filter((r) => r['a'] === null || r['a'] === undefined).length;
        const nan = rows.filter(
          (r) => (r['v'] as number[]).some(Number.isNaN) || Number.isNaN(r['b']),
        ).length;
        assert.ok(missing > 0 && nan > 0, `missing ${missing}, NaN ${nan}`);
      }
    });
  }

  it('caches the binary by source: the second run of a model does not compile', async (t) => {
    if (skipWithoutGcc(t)) return;
    const model = {
      kind: 'logistic-dense' as const,
      weights: Float64Array.of(0.5, -2),
      intercept: 0.25,
      order: 'sequential' as const,
    };
    const x = Float32Array.of(1, 2, -1, 0.5);
    await nativeBound(model, x, 2, { minTimeMs: 1, minRounds: 1 });
    const again = await nativeBound(model, x, 2, { minTimeMs: 1, minRounds: 1 });
    assert.equal(again.cached, true);
    assert.equal(again.compileMs, 0);
    const p = (m: number): number => Math.fround(1 / (1 + Math.exp(-Math.fround(m))));
    assert.deepEqual(Array.from(again.outputs), [p(0.25 + 0.5 - 4), p(0.25 - 0.5 - 1)]);
  });

  it('rejects what has no native form: an output other than sigmoid(component), a category feature', () => {
    const shifted = check(`  input x : vector<f32, 4> required
  component lin = linear(x)
  output p = sigmoid(lin + 1.0)`);
    assert.throws(
      () => nativeFromBundle(shifted.checked, randomBundle(shifted.checked, { seed: 1 })),
      NativeUnsupported,
    );
    const cat = check(`  input c : category("a", "b", "c")
  component trees = gbdt(c)
  output p = sigmoid(trees)`);
    assert.throws(
      () => nativeFromBundle(cat.checked, randomBundle(cat.checked, { seed: 1 })),
      /not an f32 input/,
    );
  });
});
