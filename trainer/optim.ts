// Unconstrained convex minimisation for the linear learners: L-BFGS, and OWL-QN (Andrew & Gao 2007)
// when an L1 term is present. Input: an objective returning f(x) and writing ∇f(x) (the smooth part),
// the L1 weight per coordinate (0 = unpenalised), a start point and limits. Output: the minimiser,
// its value, iterations, and why it stopped. Deterministic: no randomness, fixed operation order.

export interface SmoothObjective {
  /** f(x) of the smooth part; writes its gradient into g. */
  (x: Float64Array, g: Float64Array): number;
}

export interface MinimizeOptions {
  /** L1 weight per coordinate (length n) or one for all; 0 or absent: plain L-BFGS. */
  l1?: Float64Array | number;
  /** Iterations (default 100). */
  maxIter?: number;
  /** Stop when the (pseudo-)gradient's max-norm ≤ tol · max(1, |f|) (default 1e-6). */
  tol?: number;
  /** History pairs kept (default 10). */
  memory?: number;
  /** Called after each iteration with the number done (progress). */
  onIteration?: (iterations: number) => void;
}

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
  reason: string;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function minimize(
  fun: SmoothObjective,
  x0: Float64Array,
  options: MinimizeOptions = {},
): MinimizeResult {
  const n = x0.length;
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-6;
  const m = options.memory ?? 10;
  const l1v = options.l1 ?? 0;
  const l1 = (i: number): number => (typeof l1v === 'number' ? l1v : l1v[i]!);
  const hasL1 = typeof l1v === 'number' ? l1v > 0 : l1v.some((v) => v > 0);

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fun(x, g);
  const l1norm = (v: Float64Array): number => {
    if (!hasL1) return 0;
    let s = 0;
    for (let i = 0; i < n; i++) s += l1(i) * Math.abs(v[i]!);
    return s;
  };
  let F = f + l1norm(x);
  // pseudo-gradient of f + Σ l1_i |x_i| (OWL-QN); the gradient itself without L1
  const pg = new Float64Array(n);
  const pseudo = (): void => {
    for (let i = 0; i < n; i++) {
      const w = l1(i);
      if (!hasL1 || w === 0) pg[i] = g[i]!;
      else if (x[i]! > 0) pg[i] = g[i]! + w;
      else if (x[i]! < 0) pg[i] = g[i]! - w;
      else if (g[i]! + w < 0) pg[i] = g[i]! + w;
      else if (g[i]! - w > 0) pg[i] = g[i]! - w;
      else pg[i] = 0;
    }
  };
  pseudo();
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const maxAbs = (v: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s = Math.max(s, Math.abs(v[i]!));
    return s;
  };
  for (let it = 0; it < maxIter; it++) {
    if (maxAbs(pg) <= tol * Math.max(1, Math.abs(F)))
      return { x, f: F, iterations: it, converged: true, reason: 'gradient below tolerance' };
    // two-loop recursion on -pg
    for (let i = 0; i < n; i++) d[i] = -pg[i]!;
    const alpha: number[] = new Array<number>(S.length);
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(S[k]!, d);
      const y = Y[k]!;
      for (let i = 0; i < n; i++) d[i] = d[i]! - alpha[k]! * y[i]!;
    }
    if (S.length > 0) {
      const k = S.length - 1;
      const gamma = dot(S[k]!, Y[k]!) / dot(Y[k]!, Y[k]!);
      for (let i = 0; i < n; i++) d[i] = d[i]! * gamma;
    } else {
      // first step: a unit step along the steepest descent, scaled to a modest length
      const s = 1 / Math.max(1, maxAbs(pg));
      for (let i = 0; i < n; i++) d[i] = d[i]! * s;
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k]! * dot(Y[k]!, d);
      const s = S[k]!;
      for (let i = 0; i < n; i++) d[i] = d[i]! + (alpha[k]! - beta) * s[i]!;
    }
    if (hasL1) {
      // keep the direction in the orthant of -pg
      for (let i = 0; i < n; i++) if (d[i]! * -pg[i]! <= 0) d[i] = 0;
    }
    let dirDeriv = dot(d, pg);
    if (!(dirDeriv < 0)) {
      // not a descent direction (numerical trouble): restart from steepest descent
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -pg[i]! / Math.max(1, maxAbs(pg));
      dirDeriv = dot(d, pg);
      if (!(dirDeriv < 0))
        return { x, f: F, iterations: it, converged: true, reason: 'no descent direction' };
    }
    // backtracking line search (Armijo), projected onto the orthant with L1
    let step = 1;
    let accepted = false;
    let FNew = F;
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < n; i++) {
        let v = x[i]! + step * d[i]!;
        if (hasL1 && l1(i) > 0) {
          const orth = x[i]! !== 0 ? Math.sign(x[i]!) : Math.sign(-pg[i]!);
          if (v * orth <= 0) v = 0;
        }
        xNew[i] = v;
      }
      const fNew = fun(xNew, gNew);
      FNew = fNew + l1norm(xNew);
      let decrease = 0;
      for (let i = 0; i < n; i++) decrease += pg[i]! * (xNew[i]! - x[i]!);
      if (Number.isFinite(FNew) && FNew <= F + 1e-4 * decrease) {
        accepted = true;
        f = fNew;
        break;
      }
      step *= 0.5;
    }
    if (!accepted)
      return { x, f: F, iterations: it, converged: true, reason: 'line search made no progress' };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    x.set(xNew);
    g.set(gNew);
    const FOld = F;
    F = FNew;
    pseudo();
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      if (S.length > m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    options.onIteration?.(it + 1);
    if (Math.abs(FOld - F) <= 1e-15 * Math.max(1, Math.abs(F)) && maxAbs(pg) <= Math.sqrt(tol))
      return { x, f: F, iterations: it + 1, converged: true, reason: 'objective stopped changing' };
  }
  return { x, f: F, iterations: maxIter, converged: false, reason: `stopped after ${maxIter} iterations` };
}
