// Fitted-transform statistics from training rows: standardize (mean, population std — ddof 0, as
// scikit-learn's StandardScaler), quantiles (n − 1 cut points), vocab (labels with count ≥ min_count,
// the `max` most frequent, ties by label). Input: CheckedModel, training rows, the bundle so far.
// Output: TransformParams per fitted site, added to the bundle in post-order (a site nested in another
// is fitted first). The argument values come from the reference evaluator (compiler/reference), the
// DSL's definition; the features themselves are then computed by the compiled transform module.

import type { Bundle, Row, TransformParams } from '../abi/index.js';
import { bindArgs, fittedPlan } from '../compiler/fitted.js';
import { ReferenceEvaluator } from '../compiler/reference/index.js';
import type { CheckedModel } from '../compiler/typed.js';

export function fitTransforms(model: CheckedModel, rows: readonly Row[], bundle: Bundle): void {
  const plan = fittedPlan(model);
  for (const site of plan.transforms) {
    const ev = new ReferenceEvaluator(model, bundle);
    const arg = bindArgs(site.call).get('x')!;
    const values: unknown[] = [];
    for (const row of rows) {
      const v = ev.exprValue(row, arg);
      if (v !== undefined && v !== null) values.push(v);
    }
    bundle.transforms.set(site.key, fitSite(site, values));
  }
}

function fitSite(
  site: ReturnType<typeof fittedPlan>['transforms'][number],
  values: unknown[],
): TransformParams {
  if (site.fn === 'standardize') {
    const w = site.width;
    const mean = new Float64Array(w);
    const std = new Float64Array(w);
    const at = (v: unknown, k: number): number => (Array.isArray(v) ? (v as number[])[k]! : (v as number));
    for (let k = 0; k < w; k++) {
      let s = 0;
      let n = 0;
      for (const v of values) {
        const x = at(v, k);
        if (Number.isFinite(x)) {
          s += x;
          n++;
        }
      }
      const m = n > 0 ? s / n : 0;
      let ss = 0;
      for (const v of values) {
        const x = at(v, k);
        if (Number.isFinite(x)) ss += (x - m) * (x - m);
      }
      mean[k] = m;
      std[k] = n > 0 ? Math.sqrt(ss / n) : 0;
    }
    return { kind: 'standardize', mean, std };
  }
  if (site.fn === 'quantiles') {
    const xs = (values as number[])
      .filter((x) => typeof x === 'number' && !Number.isNaN(x))
      .sort((a, b) => a - b);
    const boundaries = new Float64Array(site.n - 1);
    for (let k = 1; k < site.n; k++)
      boundaries[k - 1] =
        xs.length === 0 ? 0 : xs[Math.min(xs.length - 1, Math.floor((k * xs.length) / site.n))]!;
    return { kind: 'quantiles', n: site.n, boundaries };
  }
  const counts = new Map<string, number>();
  for (const v of values) if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
  const kept = [...counts]
    .filter(([, c]) => c >= site.minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, site.max);
  return {
    kind: 'vocab',
    max: site.max,
    minCount: site.minCount,
    labels: kept.map(([l]) => l),
    counts: Float64Array.from(kept, ([, c]) => c),
  };
}
