// Lowering to IR: every fixture lowers (scoring and transform variants) to a well-formed DAG whose
// listing is its golden file; and the rules lowering makes explicit — input rules, casts, splats,
// label comparisons, constant folding (exact operations only), CSE and dead-node elimination.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkSource } from '../../compiler/index.js';
import { printModule, type Module } from '../../compiler/ir.js';
import { lowerModel, type LowerOptions } from '../../compiler/lower.js';
import { MODELS_DIR, assertGolden, modelFixtures } from '../helpers.js';

function lower(src: string, roots: LowerOptions['roots'] = 'outputs'): Module {
  const r = checkSource('t.pml', src);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  assert.deepEqual(
    errors.map((d) => d.message),
    [],
  );
  return lowerModel(r.checked!, { roots });
}

function wellFormed(m: Module): void {
  for (const n of m.nodes) {
    assert.equal(n.id, m.nodes.indexOf(n));
    for (const a of n.args) assert.ok(a < n.id, `%${n.id} uses %${a} before it is defined`);
  }
  for (const o of m.outputs) assert.ok(m.nodes[o.node], `output ${o.name} points nowhere`);
  for (const c of m.components) {
    let offset = 0;
    for (const f of c.features) {
      assert.equal(f.offset, offset, `component ${c.name}: feature offsets are not contiguous`);
      offset += f.width;
    }
    assert.equal(offset, c.inputWidth);
  }
}

/** A model around some features: one linear component over `feats`, one output. */
function model(inputs: string, features: string, feats: string): string {
  return `model t {
  version "1"
  owner "o"
  purpose "p"
  ${inputs}
  ${features}
  component lin = linear(${feats})
  output p = sigmoid(lin)
  train { label y objective logistic }
}`;
}

describe('fixtures lower to well-formed IR', () => {
  for (const f of modelFixtures()) {
    it(f.name, () => {
      const scoring = lower(f.text);
      wellFormed(scoring);
      const transform = lower(f.text, 'features');
      wellFormed(transform);
      assert.equal(transform.outputs.length, 0);
      assert.ok(!transform.nodes.some((n) => n.op === 'component' || n.op === 'calibrate'));
      assertGolden(join(MODELS_DIR, f.name, 'model.ir.golden'), printModule(scoring));
    });
  }
});

describe('lowering rules', () => {
  it('makes input rules explicit: label lookup, range check, default, required', () => {
    const m = lower(
      model(
        'input a : f32 in [0, 1] required\n  input c : category("x", "y") default "y" unknown error',
        '',
        'a, onehot(c)',
      ),
    );
    const ops = m.nodes.map((n) => n.op);
    assert.deepEqual(ops.slice(0, 7), ['input', 'inrange', 'require', 'input', 'label', 'default', 'onehot']);
    const label = m.nodes.find((n) => n.op === 'label')!;
    assert.deepEqual(label.attrs, { labels: ['x', 'y'], unknown: 'error' });
    assert.deepEqual(m.nodes.find((n) => n.op === 'default')!.attrs, { value: 1 });
  });

  it('inserts casts for promotions and splats for scalar-vector arithmetic', () => {
    const m = lower(
      model('input n : int default 0\n  input v : vector<f32, 4> default 0', 'feature f = v * n', 'f'),
    );
    const listing = printModule(m);
    assert.match(listing, /: f32 = cast %\d+/);
    assert.match(listing, /: f32x4 = splat %\d+ n=4/);
    assert.match(listing, /: f32x4 = mul %\d+, %\d+/);
  });

  it('compares a category with a label by index', () => {
    const m = lower(
      model(
        'input c : category("a", "b", "c") default "a"',
        'feature is_b = if c == "b" then 1 else 0',
        'is_b',
      ),
    );
    const eq = m.nodes.find((n) => n.op === 'eq')!;
    const k = m.nodes[eq.args[1]!]!;
    assert.equal(k.op, 'const');
    assert.equal(k.attrs.value, 1);
  });

  it('folds exactly rounded constant arithmetic, in f32, and never transcendental functions', () => {
    const m = lower(
      model('input x : f32 default 0', 'feature a = x + (0.1 + 0.2) * 3\n  feature b = x + exp(1)', 'a, b'),
    );
    const consts = m.nodes.filter((n) => n.op === 'const').map((n) => n.attrs.value);
    const expected = Math.fround(Math.fround(Math.fround(0.1) + Math.fround(0.2)) * 3);
    assert.ok(consts.includes(expected), `consts: ${JSON.stringify(consts)}`);
    assert.ok(
      m.nodes.some((n) => n.op === 'exp'),
      'exp(1) must be left to the module',
    );
  });

  it('shares equal subexpressions (CSE)', () => {
    const m = lower(
      model('input x : f32 default 0', 'feature a = log1p(x) * 2\n  feature b = log1p(x) + 1', 'a, b'),
    );
    assert.equal(m.nodes.filter((n) => n.op === 'log1p').length, 1);
  });

  it('drops what no output needs, and the transform module keeps only feature columns', () => {
    const src = `model t {
  version "1"
  owner "o"
  purpose "p"
  input x : f32 default 0
  input z : f32 default 0
  feature used = log1p(x)
  feature unused = sqrt(z)
  component lin = linear(used)
  output p = sigmoid(lin)
  train { label y objective logistic }
}`;
    const r = checkSource('t.pml', src);
    const m = lowerModel(r.checked!, { roots: 'outputs' });
    assert.ok(!m.nodes.some((n) => n.op === 'sqrt'));
    assert.deepEqual(
      m.features.map((f) => f.name),
      ['used'],
    );
    const t = lowerModel(r.checked!, { roots: 'features' });
    assert.ok(!t.nodes.some((n) => n.op === 'sigmoid' || n.op === 'sqrt'));
    assert.ok(t.nodes.some((n) => n.op === 'log1p'));
  });

  it('gives fitted transforms stable bundle keys and clip(x) its declared range', () => {
    const m = lower(
      model(
        'input x : f32 in [0, 10] default 0\n  input s : string default ""',
        'feature z = standardize(x) + standardize(clip(x))\n  feature d = vocab(s, 50)',
        'z, onehot(d)',
      ),
    );
    const keys = m.nodes.filter((n) => n.attrs.key !== undefined).map((n) => n.attrs.key);
    assert.deepEqual(keys, ['feature.z.0', 'feature.z.1', 'feature.d.0']);
    assert.deepEqual(
      {
        lo: m.nodes.find((n) => n.op === 'clip')!.attrs.lo,
        hi: m.nodes.find((n) => n.op === 'clip')!.attrs.hi,
      },
      { lo: 0, hi: 10 },
    );
  });
});
