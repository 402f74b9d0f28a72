// The reference evaluator on tiny models whose outputs are worked out by hand, one per construct
// (docs/dsl.md sections 6–10), plus every fixture model on its committed bundle and rows.csv.
// f32 steps are written out with Math.fround so each expectation shows the arithmetic it stands for.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  bucketOf,
  gbdtLeaf,
  hashInt,
  hashPair,
  hashString,
  parseRowsCsv,
  type Bundle,
  type CalibrationParams,
  type ComponentCoefficients,
  type Row,
  type TransformParams,
} from '../../abi/index.js';
import { readBundle, sha256Hex } from '../../abi/node.js';
import { checkBundle } from '../../compiler/bundle-check.js';
import { checkSource, type CheckedModel } from '../../compiler/index.js';
import { ReferenceEvaluator, evaluate, type RowResult } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MODELS_DIR, modelFixtures } from '../helpers.js';

const f = Math.fround;
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function model(body: string): CheckedModel {
  const r = checkSource('t.pml', `model t {\n version "1"\n owner "o"\n purpose "testing"\n${body}\n}`);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  assert.ok(
    r.checked !== null && errors.length === 0,
    errors.map((d) => `${d.code} ${d.message}`).join('\n'),
  );
  return r.checked;
}

function bundleOf(
  m: CheckedModel,
  parts: {
    components?: Record<string, ComponentCoefficients>;
    transforms?: Record<string, TransformParams>;
    calibrations?: Record<string, CalibrationParams>;
  },
): Bundle {
  const b: Bundle = {
    model: { name: m.name, version: '1' },
    sourceSha256: '',
    producer: 'test',
    notes: [],
    components: new Map(Object.entries(parts.components ?? {})),
    transforms: new Map(Object.entries(parts.transforms ?? {})),
    calibrations: new Map(Object.entries(parts.calibrations ?? {})),
  };
  assert.deepEqual(checkBundle(m, b), [], 'the hand-made bundle fits the model');
  return b;
}

function linear(weights: number[][], intercepts: number[], intercept = true): ComponentCoefficients {
  return {
    kind: 'linear',
    classes: weights.length,
    inputWidth: weights[0]!.length,
    intercept,
    hyperparameters: {},
    weights: Float64Array.from(weights.flat()),
    intercepts: Float64Array.from(intercepts),
  };
}

const leaf = gbdtLeaf;

function outputs(results: RowResult[]): (Record<string, unknown> | string)[] {
  return results.map((r) => (r.rejected !== null ? `${r.rejected.code} ${r.rejected.input}` : r.outputs));
}

describe('reference evaluator: hand-computed cases', () => {
  it('linear with an offset under sigmoid; required and range rejections', () => {
    const m = model(`
      input x        : f32 default 0
      input exposure : f32 in [0.5, 10] required
      component lin = linear(x)
      output p = sigmoid(lin + log(exposure))
      train p { label y objective logistic }`);
    const b = bundleOf(m, { components: { lin: linear([[2]], [-1]) } });
    const got = outputs(
      evaluate(m, b, [
        { x: 0.5, exposure: 1 },
        { x: 1.5, exposure: 2 },
        { exposure: 1 },
        { x: 1 },
        { x: 1, exposure: 11 },
      ]),
    );
    assert.deepEqual(got, [
      { p: 0.5 }, // -1 + 2·0.5 + log 1 = 0
      { p: f(sigmoid(f(2 + f(Math.log(2))))) }, // -1 + 2·1.5 = 2, plus log 2 in f32
      { p: f(sigmoid(-1)) }, // x missing → default 0
      'PML4101 exposure',
      'PML4102 exposure',
    ]);
  });

  it('random effects: a known entity adds its block; unknown and missing entities add 0', () => {
    const m = model(`
      input member : entity
      input x      : f32 default 0
      component g  = linear(x)
      component re = linear(x) per member
      output y = g + re
      train y { label t objective squared_error }`);
    const re: ComponentCoefficients = {
      kind: 'random_effect',
      classes: 1,
      inputWidth: 1,
      intercept: true,
      entity: 'member',
      hyperparameters: {},
      blockWidth: 2,
      blocks: new Map([
        ['alice', Float64Array.from([1, 2])],
        ['42', Float64Array.from([-1, 0.5])],
      ]),
    };
    const b = bundleOf(m, { components: { g: linear([[1]], [0.5]), re } });
    const got = outputs(
      evaluate(m, b, [{ member: 'alice', x: 2 }, { member: 'bob', x: 2 }, { x: 2 }, { member: 42, x: 2 }]),
    );
    assert.deepEqual(got, [{ y: 7.5 }, { y: 2.5 }, { y: 2.5 }, { y: 2.5 }]); // 0.5+2 (+ 1+4) ; 42: -1 + 1 = 0
  });

  it('gbdt: numeric and categorical splits, learned missing direction, OOV as its own value', () => {
    const m = model(`
      input a : f32 // optional
      input c : category("x", "y", "z")
      component t = gbdt(a, c)
      output s = t
      train s { label v objective squared_error }`);
    const t: ComponentCoefficients = {
      kind: 'gbdt',
      classes: 1,
      inputWidth: 2,
      hyperparameters: {},
      base: Float64Array.from([0.5]),
      trees: [
        {
          class: 0,
          nodes: [
            {
              ...leaf(0),
              split: 'numeric',
              feature: 0,
              threshold: 1.5,
              defaultLeft: true,
              left: 1,
              right: 2,
            },
            leaf(10),
            leaf(20),
          ],
        },
        {
          class: 0,
          nodes: [
            {
              ...leaf(0),
              split: 'categorical',
              feature: 1,
              categories: [0, 3],
              defaultLeft: false,
              left: 1,
              right: 2,
            },
            leaf(100),
            leaf(200),
          ],
        },
      ],
    };
    const b = bundleOf(m, { components: { t } });
    const rows: Row[] = [
      { a: 1, c: 'x' }, // left, left
      { a: null, c: 'y' }, // missing a → default left; y → right
      { a: 1.5, c: 'zz' }, // 1.5 < 1.5 is false → right; OOV (3) → left
      { a: 2, c: null }, // missing category → default right
      { a: NaN, c: 'z' }, // NaN is not missing: NaN < 1.5 is false → right
    ];
    assert.deepEqual(outputs(evaluate(m, b, rows)), [
      { s: 110.5 },
      { s: 210.5 },
      { s: 120.5 },
      { s: 220.5 },
      { s: 220.5 },
    ]);
  });

  it('mlp: two layers, relu after the hidden one, none after the last', () => {
    const m = model(`
      input x1 : f32 default 0
      input x2 : f32 default 0
      component net = mlp(x1, x2, hidden = [2], activation = relu)
      output y = net
      train y { label t objective squared_error }`);
    const net: ComponentCoefficients = {
      kind: 'mlp',
      classes: 1,
      inputWidth: 2,
      hyperparameters: {},
      activation: 'relu',
      layers: [
        {
          inputs: 2,
          outputs: 2,
          weights: Float64Array.from([1, -1, 0.5, 0.5]),
          bias: Float64Array.from([0, -1]),
        },
        { inputs: 2, outputs: 1, weights: Float64Array.from([2, 4]), bias: Float64Array.from([0.25]) },
      ],
    };
    const b = bundleOf(m, { components: { net } });
    // hidden = relu([1 − 2, 0.5 + 1 − 1]) = [0, 0.5]; out = 2·0 + 4·0.5 + 0.25
    assert.deepEqual(outputs(evaluate(m, b, [{ x1: 1, x2: 2 }])), [{ y: 2.25 }]);
  });

  it('softmax over a 3-class linear, argmax takes the first of equal maxima', () => {
    const m = model(`
      input c : category("a", "b") default "a"
      component lin = linear(onehot(c), classes = 3, intercept = false)
      output probs = softmax(lin)
      output top : int = argmax(probs)
      train probs { label k objective multiclass }`);
    const b = bundleOf(m, {
      components: {
        lin: linear(
          [
            [1, 0],
            [2, 0],
            [2, 0],
          ],
          [0, 0, 0],
          false,
        ),
      },
    });
    const [ra, rb] = evaluate(m, b, [{ c: 'a' }, { c: 'b' }]);
    const e = [Math.exp(1 - 2), 1, 1];
    const s = e[0]! + 2;
    assert.deepEqual(ra!.outputs, { probs: e.map((v) => f(v / s)), top: 1 });
    assert.deepEqual(rb!.outputs, { probs: [f(1 / 3), f(1 / 3), f(1 / 3)], top: 0 });
  });

  it('hash and cross put counts in the murmur3 buckets; missing and OOV give nothing', () => {
    const m = model(`
      input s    : string
      input tags : bag<string>
      input n    : int default 0
      input c    : category("red", "blue")
      component lin = linear(hash(s, 16), hash(tags, 1_024), hash(n, 8), cross(c, tags, 64), intercept = false)
      output y = lin
      train y { label t objective squared_error }`);
    const b = bundleOf(m, {
      components: { lin: linear([new Array<number>(16 + 1024 + 8 + 64).fill(1)], [0], false) },
    });
    const ev = new ReferenceEvaluator(m, b);
    const got = ev.componentInput({ s: 'hello', tags: ['a', 'b', 'a'], n: 7, c: 'red' }, 'lin');
    // Buckets pinned by test/abi/semantics.test.ts: hello → 13 of 16; a → 320, b → 608 of 1024;
    // 7 → 5 of 8; (red, a) → 18, (red, b) → 57 of 64.
    assert.equal(bucketOf(hashString('hello'), 16), 13);
    assert.equal(bucketOf(hashInt(7), 8), 5);
    assert.equal(bucketOf(hashPair(hashString('red'), hashString('b')), 64), 57);
    assert.deepEqual(got, [
      [13, 1],
      [16 + 320, 2],
      [16 + 608, 1],
      [16 + 1024 + 5, 1],
      [16 + 1024 + 8 + 18, 2],
      [16 + 1024 + 8 + 57, 1],
    ]);
    assert.deepEqual(ev.componentInput({ s: null, tags: [], n: 0, c: 'green' }, 'lin'), [
      [16 + 1024 + bucketOf(hashInt(0), 8), 1],
    ]);
    assert.deepEqual(outputs(evaluate(m, b, [{ s: 'hello', tags: ['a', 'b', 'a'], n: 7, c: 'red' }])), [
      { y: 8 },
    ]);
  });

  it('onehot gives zeros for OOV and missing; bucketize edges; lookup', () => {
    const m = model(`
      input c : category("a", "b") // optional; unknown → OOV
      input x : f32 // optional
      input s : string
      component lin = linear(onehot(c), intercept = false)
      component t   = gbdt(bucketize(x, [1, 10, 100]), lookup(s, ["yes", "no"]))
      output y = lin + t
      train y { label v objective squared_error }`);
    const t: ComponentCoefficients = {
      kind: 'gbdt',
      classes: 1,
      inputWidth: 2,
      hyperparameters: {},
      base: Float64Array.from([0]),
      trees: [{ class: 0, nodes: [leaf(0)] }],
    };
    const b = bundleOf(m, { components: { lin: linear([[1, 1]], [0], false), t } });
    const ev = new ReferenceEvaluator(m, b);
    assert.deepEqual(ev.componentInput({ c: 'b' }, 'lin'), [[1, 1]]);
    assert.deepEqual(ev.componentInput({ c: 'B' }, 'lin'), []);
    assert.deepEqual(ev.componentInput({ c: null }, 'lin'), []);
    const buckets = [0.5, 1, 9.999, 10, 100, 1e9, -Infinity, null, NaN].map((x) =>
      ev.componentInput({ x, s: 'no' }, 't'),
    );
    assert.deepEqual(buckets, [
      [0, 1],
      [1, 1],
      [1, 1],
      [2, 1],
      [3, 1],
      [3, 1],
      [0, 1],
      [4, 1], // missing → OOV (index 4 of category(4))
      [4, 1], // NaN → OOV
    ]);
    assert.deepEqual(ev.componentInput({ s: 'maybe' }, 't'), [4, 2]);
    assert.deepEqual(ev.componentInput({}, 't'), [4, 2]);
  });

  it('standardize, quantiles and vocab use the bundle’s statistics', () => {
    const m = model(`
      input x : f32 default 0
      input v : vector<f32, 2> default 0
      input s : string
      component lin = linear(standardize(x), standardize(v), intercept = false)
      component t   = gbdt(quantiles(x, 4), vocab(lower(s), 10))
      output y = lin + t
      train y { label k objective squared_error }`);
    const t: ComponentCoefficients = {
      kind: 'gbdt',
      classes: 1,
      inputWidth: 2,
      hyperparameters: {},
      base: Float64Array.from([0]),
      trees: [{ class: 0, nodes: [leaf(0)] }],
    };
    const b = bundleOf(m, {
      components: { lin: linear([[1, 1, 1]], [0], false), t },
      transforms: {
        'component.lin.0': { kind: 'standardize', mean: Float64Array.from([2]), std: Float64Array.from([4]) },
        'component.lin.1': {
          kind: 'standardize',
          mean: Float64Array.from([1, 1]),
          std: Float64Array.from([0, 2]),
        },
        'component.t.0': { kind: 'quantiles', n: 4, boundaries: Float64Array.from([0, 5, 5]) },
        'component.t.1': {
          kind: 'vocab',
          max: 10,
          minCount: 1,
          labels: ['café', 'tea'],
          counts: Float64Array.from([9, 3]),
        },
      },
    });
    const ev = new ReferenceEvaluator(m, b);
    // (3 − 2)/4; std 0 counts as 1: (3 − 1)/1; (5 − 1)/2
    assert.deepEqual(ev.componentInput({ x: 3, v: [3, 5] }, 'lin'), [
      [0, 0.25],
      [1, 2],
      [2, 2],
    ]);
    assert.deepEqual(ev.componentInput({ x: 3, s: 'CAFÉ' }, 't'), [1, 0]); // 0 ≤ 3 < 5; lower → café
    assert.deepEqual(ev.componentInput({ x: 5, s: 'Tea' }, 't'), [3, 1]); // tied boundaries: bucket 2 is empty
    assert.deepEqual(ev.componentInput({ x: -1, s: 'coffee' }, 't'), [0, 10]); // OOV of category(10) is 10
    assert.deepEqual(ev.componentInput({ x: -1 }, 't'), [0, 10]);
  });

  it('platt and isotonic calibrate a trained probability', () => {
    const m = model(`
      input x : f32 default 0
      component lin = linear(x, intercept = false)
      output p  = sigmoid(lin)
      output pp = platt(p)
      output pi = isotonic(p)
      train p { label y objective logistic }`);
    const b = bundleOf(m, {
      components: { lin: linear([[1]], [0], false) },
      calibrations: {
        'platt.p': { kind: 'platt', of: 'p', a: 2, b: -1 },
        'isotonic.p': {
          kind: 'isotonic',
          of: 'p',
          x: Float64Array.from([0.2, 0.5, 0.8]),
          y: Float64Array.from([0.1, 0.3, 0.9]),
        },
      },
    });
    const [r0, r1, r2] = evaluate(m, b, [{ x: 0 }, { x: 100 }, { x: -100 }]);
    // p = 0.5: platt = sigmoid(2·0.5 − 1) = 0.5; isotonic hits the breakpoint 0.5 → 0.3
    assert.deepEqual(r0!.outputs, { p: 0.5, pp: 0.5, pi: f(0.3) });
    // p = 1 (f32): above the last breakpoint → 0.9; platt = sigmoid(1)
    assert.deepEqual(r1!.outputs, { p: 1, pp: f(sigmoid(1)), pi: f(0.9) });
    // p ≈ 0: below the first breakpoint → 0.1
    assert.equal(r2!.outputs!['pi'], f(0.1));
    const mid = new ReferenceEvaluator(m, b).evaluateRow({ x: Math.log(0.65 / 0.35) });
    const p = mid.outputs!['p'] as number;
    assert.equal(mid.outputs!['pi'], f(0.3 + ((0.9 - 0.3) * (p - 0.5)) / 0.3));
  });

  it('unknown error and required reject the row; unknown "label" maps; defaults fill in', () => {
    const m = model(`
      input strict : category("yes", "no") unknown error
      input loose  : category("s", "m", "other") unknown "other" default "m"
      input n      : int required
      component t = gbdt(strict, loose)
      output y = t + n
      train y { label v objective squared_error }`);
    const t: ComponentCoefficients = {
      kind: 'gbdt',
      classes: 1,
      inputWidth: 2,
      hyperparameters: {},
      base: Float64Array.from([0]),
      trees: [{ class: 0, nodes: [leaf(0)] }],
    };
    const b = bundleOf(m, { components: { t } });
    const ev = new ReferenceEvaluator(m, b);
    assert.deepEqual(
      outputs(ev.evaluate([{ strict: 'maybe', n: 1 }, { strict: 'yes' }, { strict: null, n: 2 }])),
      ['PML4103 strict', 'PML4101 n', { y: 2 }],
    );
    assert.deepEqual(ev.componentInput({ strict: 'no', loose: 'xl', n: 0 }, 't'), [1, 2]);
    assert.deepEqual(ev.componentInput({ strict: 'no', n: 0 }, 't'), [1, 1]);
  });

  it('missing values propagate through arithmetic and if; coalesce and is_missing stop them', () => {
    const m = model(`
      input a : f32 // optional
      input b : int in [0, 10] default 3
      feature both = if a > 0 then a else b
      output raw = both
      output filled = coalesce(a, -1) + b
      output gone : bool = is_missing(a)
      output wrap : int = b * 2_147_483_647`);
    const b = bundleOf(m, {});
    assert.deepEqual(outputs(evaluate(m, b, [{ a: 2 }, { a: null, b: 5 }])), [
      { raw: 2, filled: 5, gone: false, wrap: Math.imul(3, 2147483647) },
      { raw: null, filled: 4, gone: true, wrap: Math.imul(5, 2147483647) },
    ]);
  });
});

describe('reference evaluator on every fixture model', () => {
  for (const fx of modelFixtures()) {
    it(`${fx.name}: rows.csv evaluates with bundle/`, () => {
      const r = checkSource(`${fx.name}/model.pml`, fx.text);
      assert.ok(r.checked !== null);
      const m = r.checked;
      const dir = join(MODELS_DIR, fx.name);
      const bundle = readBundle(join(dir, 'bundle'));
      assert.deepEqual(
        checkBundle(m, bundle, sha256Hex(readFileSync(fx.path))),
        [],
        'bundle fits (rerun scripts/make-fixture-bundles.ts?)',
      );
      const rows = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(m));
      assert.equal(rows.length, 200);
      const results = evaluate(m, bundle, rows);
      const ok = results.filter((x) => x.rejected === null);
      assert.ok(ok.length >= 100, `only ${ok.length} rows accepted`);
      for (const x of ok)
        assert.deepEqual(
          Object.keys(x.outputs!),
          m.outputs.map((o) => o.name),
        );
      // Something must reach the outputs: not every value of an output may be null.
      for (const o of m.outputs)
        assert.ok(
          ok.some((x) => x.outputs![o.name] !== null),
          `${o.name} is always null`,
        );
    });
  }
});
