// Feature normalisation of linear components (`normalize true`, trainer/glm.ts `scale`): on logistic
// rows with one feature in units 10⁴ times too small (generated here with a seeded Rng), the scaled
// fit converges in fewer L-BFGS iterations to the same un-regularised solution (weights in raw
// feature space, within 1e-6); with l2 > 0 the penalty applies to the scaled coefficients (the fit
// equals a plain fit on the standardised columns, mapped back); a per-entity fit scales too.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSource } from '../../compiler/index.js';
import { Rng } from '../../compiler/reference/index.js';
import { fitGlobal, fitPerEntity } from '../../trainer/block.js';
import { columnScales, fitGlm } from '../../trainer/glm.js';
import { selectRows, type Csr } from '../../trainer/matrix.js';

const N = 500;

/** x1, x2 standard normal, x3 normal × 1e4 (a feature in the wrong unit); y from 0.8·x1 − 0.5·x2 + 0.6·x3/1e4. */
function ill(): { X: Csr; y: Float64Array } {
  const rng = new Rng(5, 'glm-normalize');
  const d = 3;
  const vals = new Float64Array(N * d);
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    vals.set([x[0]!, x[1]!, x[2]! * 1e4], i * d);
    y[i] = rng.next() < 1 / (1 + Math.exp(-(0.8 * x[0]! - 0.5 * x[1]! + 0.6 * x[2]!))) ? 1 : 0;
  }
  const X: Csr = {
    n: N,
    d,
    offsets: Int32Array.from({ length: N + 1 }, (_, i) => i * d),
    cols: Int32Array.from({ length: N * d }, (_, q) => q % d),
    vals,
  };
  return { X, y };
}

const COMPONENT = (() => {
  const src = `model m {
  version "1.0"
  owner "proml-team@example.com"
  purpose "testing"
  input x1: f64 required
  input x2: f64 required
  input x3: f64 required
  input member: entity
  component lin = linear(x1, x2, x3)
  component re = linear(x1, x2, x3) per member
  output p = sigmoid(lin + re)
  train p { label y objective logistic }
}
`;
  const m = checkSource('m.pml', src).checked;
  assert.ok(m !== null);
  return { lin: m.components.find((c) => c.name === 'lin')!, re: m.components.find((c) => c.name === 're')! };
})();

const H = (normalize: boolean): Map<string, boolean | number> =>
  new Map<string, boolean | number>([
    ['l2', 0],
    ['max_iter', 1000],
    ['tolerance', 1e-8],
    ['normalize', normalize],
  ]);

describe('linear components: normalize', () => {
  it('an ill-scaled feature: fewer iterations with scaling, the same un-regularised weights (1e-6)', (t) => {
    const { X, y } = ill();
    const opts = {
      X,
      y,
      loss: 'logistic' as const,
      classes: 1,
      intercept: true,
      l2: 0,
      tol: 1e-8,
      maxIter: 1000,
    };
    const raw = fitGlm(opts);
    const scaled = fitGlm({ ...opts, scale: columnScales(X) });
    t.diagnostic(`L-BFGS iterations: ${raw.iterations} raw, ${scaled.iterations} normalised`);
    assert.ok(raw.converged && scaled.converged);
    assert.ok(scaled.iterations * 4 < raw.iterations, `${scaled.iterations} vs ${raw.iterations}`);
    // the weights are in raw feature space: x3's is about 0.6e-4
    assert.ok(Math.abs(scaled.weights[2]! - 0.6e-4) < 0.15e-4, String(scaled.weights[2]));
    // the same minimiser: each weight within 1e-6 relative to its size, the intercept within 1e-6
    raw.weights.forEach((w, j) => {
      const v = scaled.weights[j]!;
      assert.ok(Math.abs(w - v) <= 1e-6 * Math.abs(w), `weight ${j}: ${w} vs ${v}`);
    });
    assert.ok(Math.abs(raw.intercepts[0]! - scaled.intercepts[0]!) < 1e-6);
  });

  it('the component key: `normalize true` scales the global fit; false (the default) does not', (t) => {
    const { X, y } = ill();
    const offset = new Float64Array(N);
    const opts = {
      X,
      y,
      loss: 'logistic' as const,
      classes: 1,
      intercept: true,
      l2: 0,
      tol: 1e-8,
      maxIter: 1000,
    };
    const on = fitGlobal(COMPONENT.lin, X, y, null, offset, 'logistic', 1, H(true), undefined);
    const off = fitGlobal(COMPONENT.lin, X, y, null, offset, 'logistic', 1, H(false), undefined);
    // with offsets (coordinate descent) the intercept does not start at the base rate: raw is slower still
    t.diagnostic(
      `with offsets: ${off.iterations} raw (converged: ${off.converged}), ${on.iterations} normalised`,
    );
    assert.ok(on.converged && on.iterations < off.iterations);
    assert.ok(on.coef.kind === 'linear' && off.coef.kind === 'linear');
    assert.deepEqual(on.coef.weights, fitGlm({ ...opts, offset, scale: columnScales(X) }).weights);
    assert.deepEqual(off.coef.weights, fitGlm({ ...opts, offset }).weights);
    assert.equal(on.coef.hyperparameters['normalize'], true);
  });

  it('with l2 > 0 the penalty applies to the scaled coefficients: a plain fit on standardised columns, mapped back', () => {
    const { X, y } = ill();
    const s = columnScales(X);
    // σ of x3 is about 1e4
    assert.ok(Math.abs(1 / s[2]! / 1e4 - 1) < 0.05, String(1 / s[2]!));
    const opts = {
      X,
      y,
      loss: 'logistic' as const,
      classes: 1,
      intercept: true,
      l2: 50,
      tol: 1e-12,
      maxIter: 1000,
    };
    const normalised = fitGlm({ ...opts, scale: s });
    const byHand = fitGlm({ ...opts, X: { ...X, vals: X.vals.map((v, q) => v * s[X.cols[q]!]!) } });
    const plain = fitGlm(opts);
    for (let j = 0; j < 3; j++)
      assert.ok(
        Math.abs(normalised.weights[j]! - byHand.weights[j]! * s[j]!) <=
          1e-9 * Math.abs(normalised.weights[j]!),
        `weight ${j}`,
      );
    // and differs from the raw-space penalty: x3's raw weight is barely penalised (its raw scale is large)
    assert.ok(Math.abs(plain.weights[2]! - normalised.weights[2]!) > 1e-3 * Math.abs(plain.weights[2]!));
  });

  it('per entity: every entity fit uses the component-wide scales; the blocks are in raw feature space', () => {
    const { X, y } = ill();
    const ids = Array.from({ length: N }, (_, i) => `e${i % 4}`);
    const offset = new Float64Array(N);
    const fit = fitPerEntity(COMPONENT.re, X, y, null, offset, 'logistic', 1, H(true), ids, 0);
    assert.ok(fit.coef.kind === 'random_effect');
    assert.equal(fit.coef.blocks.size, 4);
    const s = columnScales(X);
    const rows = Array.from({ length: N / 4 }, (_, i) => 4 * i + 1);
    const e1 = fitGlm({
      X: selectRows(X, rows),
      y: Float64Array.from(rows, (r) => y[r]!),
      loss: 'logistic',
      classes: 1,
      intercept: true,
      offset: new Float64Array(rows.length),
      l1: 0,
      l2: 0,
      maxIter: 1000,
      tol: 1e-8,
      scale: s,
    });
    assert.deepEqual([...fit.coef.blocks.get('e1')!], [e1.intercepts[0]!, ...e1.weights]);
  });
});
