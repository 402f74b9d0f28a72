// Proposals for hyperparameter search over a train block's search space (docs/dsl.md 9.4): uniform
// random samples and the Tree-structured Parzen Estimator (Bergstra et al. 2011, as in Hyperopt).
// Input: the space (SearchDimension[]), the finished trials (values, lower = better), a seeded Rng.
// Output: one point (a value per dimension). Pure functions of their inputs: a seed and the same
// observations give the same point on every machine.
//
// TPE: the trials are sorted by value and split at the γ quantile (γ = 0.25, at least one good
// trial) into good and bad. Per dimension, l(x) is a Parzen density of the good values and g(x) of
// the bad ones, each with a prior component: numeric dimensions (log-scale ones in log space) are
// a mixture of normals truncated to [lo, hi], one per value (bandwidth: the larger gap to its
// sorted neighbours, Hyperopt's rule, clipped to [range / min(100, n + 1), range]) plus a normal at
// the middle with σ = range; choices are categorical with one pseudo-count per choice. 24 candidates
// are drawn from l and the one with the largest Σ_d log l(x_d) − log g(x_d) is proposed
// (dimensions independent, the "tree" is flat: the DSL's spaces have no conditional parameters).

import type { Rng } from '../compiler/reference/index.js';
import type { HyperValue, SearchDimension } from '../compiler/typed.js';

export const TPE_GAMMA = 0.25;
export const TPE_CANDIDATES = 24;

/** Random trials before TPE takes over: a quarter of the budget, between 2 and 10. */
export function tpeStartup(budget: number): number {
  return Math.max(2, Math.min(10, Math.ceil(budget / 4)));
}

export interface Observation {
  x: HyperValue[];
  /** Lower is better (a maximised metric is negated); NaN counts as the worst. */
  value: number;
}

/** A numeric dimension in the space TPE models it in (log for log-scale dimensions). */
interface Axis {
  lo: number;
  hi: number;
  toAxis: (v: number) => number;
  fromAxis: (u: number) => number;
}

function axis(d: SearchDimension): Axis {
  const lo = d.values[0] as number;
  const hi = d.values[1] as number;
  return d.scale === 'log'
    ? { lo: Math.log(lo), hi: Math.log(hi), toAxis: Math.log, fromAxis: Math.exp }
    : { lo, hi, toAxis: (v) => v, fromAxis: (u) => u };
}

/** A value of the dimension from a point on its axis: whole for integers, 6 significant digits otherwise. */
function finish(d: SearchDimension, v: number): number {
  const lo = d.values[0] as number;
  const hi = d.values[1] as number;
  const x = d.integer ? Math.round(v) : Number(v.toPrecision(6));
  return Math.min(hi, Math.max(lo, x));
}

export function sampleRandom(dims: readonly SearchDimension[], rng: Rng): HyperValue[] {
  return dims.map((d) => {
    if (d.scale === 'choice') return d.values[Math.floor(rng.next() * d.values.length)]!;
    if (d.integer && d.scale === 'linear') return rng.int(d.values[0] as number, d.values[1] as number);
    const a = axis(d);
    return finish(d, a.fromAxis(a.lo + rng.next() * (a.hi - a.lo)));
  });
}

export function sampleTpe(
  dims: readonly SearchDimension[],
  observations: readonly Observation[],
  rng: Rng,
): HyperValue[] {
  if (observations.length < 2) return sampleRandom(dims, rng);
  const order = observations
    .map((o, i) => ({ v: Number.isNaN(o.value) ? Infinity : o.value, i }))
    .sort((a, b) => a.v - b.v || a.i - b.i)
    .map((o) => observations[o.i]!);
  const nGood = Math.max(1, Math.ceil(TPE_GAMMA * order.length));
  const good = order.slice(0, nGood);
  const bad = order.slice(nGood);
  const models = dims.map((d, j) => {
    const xs = (os: readonly Observation[]): HyperValue[] => os.map((o) => o.x[j]!);
    if (d.scale === 'choice') return { d, l: categorical(d, xs(good)), g: categorical(d, xs(bad)) };
    const a = axis(d);
    const on = (vs: HyperValue[]): number[] => vs.map((v) => a.toAxis(v as number));
    return { d, l: parzen(a, on(xs(good))), g: parzen(a, on(xs(bad))) };
  });
  let best: HyperValue[] | null = null;
  let bestScore = -Infinity;
  for (let c = 0; c < TPE_CANDIDATES; c++) {
    let score = 0;
    const x = models.map((m) => {
      if (m.d.scale === 'choice') {
        const cat = m.l as Categorical;
        const k = cat.sample(rng);
        score += Math.log(cat.p[k]!) - Math.log((m.g as Categorical).p[k]!);
        return m.d.values[k]!;
      }
      const l = m.l as Parzen;
      const u = l.sample(rng);
      const v = finish(m.d, l.axis.fromAxis(u));
      // score the value actually proposed (rounded), on the axis
      const ua = l.axis.toAxis(v);
      score += l.logDensity(ua) - (m.g as Parzen).logDensity(ua);
      return v;
    });
    if (score > bestScore || best === null) {
      best = x;
      bestScore = score;
    }
  }
  return best!;
}

interface Categorical {
  p: number[];
  sample: (rng: Rng) => number;
}

function categorical(d: SearchDimension, vs: readonly HyperValue[]): Categorical {
  const counts = d.values.map(() => 1);
  for (const v of vs) {
    const k = d.values.indexOf(v);
    if (k >= 0) counts[k]!++;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const p = counts.map((c) => c / total);
  return {
    p,
    sample: (rng) => {
      let u = rng.next();
      for (let k = 0; k < p.length; k++) if ((u -= p[k]!) < 0) return k;
      return p.length - 1;
    },
  };
}

interface Parzen {
  axis: Axis;
  logDensity: (u: number) => number;
  sample: (rng: Rng) => number;
}

function parzen(a: Axis, points: readonly number[]): Parzen {
  const range = a.hi - a.lo;
  const prior = { mu: (a.lo + a.hi) / 2, sigma: range };
  const sorted = [...points].sort((x, y) => x - y);
  const minSigma = range / Math.min(100, sorted.length + 1);
  const comps = sorted.map((mu, i) => {
    const left = i > 0 ? mu - sorted[i - 1]! : mu - a.lo;
    const right = i + 1 < sorted.length ? sorted[i + 1]! - mu : a.hi - mu;
    return { mu, sigma: Math.min(range, Math.max(minSigma, left, right)) };
  });
  comps.push(prior);
  const mass = comps.map((c) => Phi((a.hi - c.mu) / c.sigma) - Phi((a.lo - c.mu) / c.sigma));
  const w = 1 / comps.length;
  return {
    axis: a,
    logDensity: (u) => {
      let s = 0;
      comps.forEach((c, i) => {
        const z = (u - c.mu) / c.sigma;
        s += (w * Math.exp(-0.5 * z * z)) / (c.sigma * Math.sqrt(2 * Math.PI) * Math.max(mass[i]!, 1e-12));
      });
      return Math.log(Math.max(s, 1e-300));
    },
    sample: (rng) => {
      const c = comps[Math.floor(rng.next() * comps.length)]!;
      for (let t = 0; t < 100; t++) {
        const u = c.mu + c.sigma * rng.normal();
        if (u >= a.lo && u <= a.hi) return u;
      }
      return Math.min(a.hi, Math.max(a.lo, c.mu));
    },
  };
}

/** The standard normal CDF (erf by Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: enough for weights). */
function Phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
