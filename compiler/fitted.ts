// What a checked model needs from a coefficient bundle besides component coefficients: its fitted
// transform sites (standardize / quantiles / vocab calls) with their stable keys, and its calibration
// maps. Input: CheckedModel. Output: FittedSite / CalibrationSite lists and a call → key map, read by
// bundle-check.ts, the reference evaluator, the random bundle generator and (later) lower and trainer.
// Also the small constant-argument readers those stages share (the checker does not keep constants).

import { type Expr, type CallExpr, childExprs, unparen } from './ast.js';
import { FUNCTIONS } from './builtins.js';
import type { CheckedModel } from './typed.js';
import type { Type } from './types.js';

/**
 * A fitted-transform call. Its key is `OWNER.NAME.K`: the feature, component or output whose
 * expression holds the call, and K the call's rank among that expression's fitted calls in
 * post-order (arguments before the call, left to right). Keys survive reformatting and reordering of
 * declarations; they change when the expression itself changes (then the model must be refitted).
 */
export type FittedSite = { key: string; call: CallExpr } & (
  | { fn: 'standardize'; width: number }
  | { fn: 'quantiles'; n: number }
  | { fn: 'vocab'; max: number; minCount: number }
);

export interface CalibrationSite {
  /** `METHOD.OUTPUT` (abi calibrationKey). */
  key: string;
  method: 'platt' | 'isotonic';
  of: string;
}

export interface FittedPlan {
  transforms: FittedSite[];
  calibrations: CalibrationSite[];
  /** Fitted call → its key. */
  keys: Map<CallExpr, string>;
}

const FITTED = new Set(['standardize', 'quantiles', 'vocab']);

export function fittedPlan(model: CheckedModel): FittedPlan {
  const transforms: FittedSite[] = [];
  const keys = new Map<CallExpr, string>();
  const visit = (owner: string, roots: Expr[]): void => {
    let k = 0;
    const walk = (e: Expr): void => {
      for (const c of children(e)) walk(c);
      if (e.kind !== 'call' || !FITTED.has(e.callee.name)) return;
      const key = `${owner}.${k++}`;
      keys.set(e, key);
      const args = bindArgs(e);
      if (e.callee.name === 'standardize') {
        const t = typeOf(model, args.get('x')!);
        transforms.push({ key, call: e, fn: 'standardize', width: t.kind === 'vector' ? t.size : 1 });
      } else if (e.callee.name === 'quantiles') {
        transforms.push({ key, call: e, fn: 'quantiles', n: constInt(args.get('n')!) });
      } else {
        const mc = args.get('min_count');
        transforms.push({
          key,
          call: e,
          fn: 'vocab',
          max: constInt(args.get('max')!),
          minCount: mc === undefined ? 1 : constInt(mc),
        });
      }
    };
    for (const r of roots) walk(r);
  };
  for (const f of model.features) visit(`feature.${f.name}`, [f.expr]);
  for (const c of model.components)
    visit(
      `component.${c.name}`,
      c.features.map((f) => f.expr),
    );
  for (const o of model.outputs) visit(`output.${o.name}`, [o.expr]);

  const calibrations: CalibrationSite[] = [];
  const seen = new Set<string>();
  for (const c of model.calibrations) {
    const key = `${c.method}.${c.of}`;
    if (seen.has(key)) continue;
    seen.add(key);
    calibrations.push({ key, method: c.method, of: c.of });
  }
  return { transforms, calibrations, keys };
}

/** Direct sub-expressions (shared with every other walker). */
export const children = childExprs;

/** A built-in call's arguments by parameter name (positional ones in order, then named ones). */
export function bindArgs(call: CallExpr): Map<string, Expr> {
  const spec = FUNCTIONS[call.callee.name];
  const out = new Map<string, Expr>();
  if (spec === undefined) return out;
  const positional = spec.params.filter((p) => p.named !== true);
  let i = 0;
  const rest: Expr[] = [];
  for (const a of call.args) {
    if (a.name !== null) out.set(a.name.name, a.value);
    else if (i < positional.length) out.set(positional[i++]!.name, a.value);
    else rest.push(a.value);
  }
  rest.forEach((r, j) => out.set(`rest${j}`, r));
  return out;
}

/** The checker's type of an expression (looking through parentheses). */
export function typeOf(model: CheckedModel, e: Expr): Type {
  const t = model.types.get(e) ?? model.types.get(unparen(e));
  if (t === undefined) throw new Error(`internal error: no type recorded for a '${e.kind}' expression`);
  return t;
}

/** A numeric constant: a number literal, or `-` before one. */
export function constNumber(e: Expr): number {
  const u = unparen(e);
  if (u.kind === 'number') return u.value;
  if (u.kind === 'unary' && u.op === '-') return -constNumber(u.operand);
  throw new Error(`internal error: expected a numeric constant, found '${u.kind}'`);
}

export function constInt(e: Expr): number {
  const v = constNumber(e);
  if (!Number.isInteger(v)) throw new Error(`internal error: expected an integer constant, found ${v}`);
  return v;
}

export function constNumberList(e: Expr): number[] {
  const u = unparen(e);
  if (u.kind !== 'list') throw new Error(`internal error: expected a list constant, found '${u.kind}'`);
  return u.items.map(constNumber);
}

export function constStringList(e: Expr): string[] {
  const u = unparen(e);
  if (u.kind !== 'list') throw new Error(`internal error: expected a list constant, found '${u.kind}'`);
  return u.items.map((i) => {
    const s = unparen(i);
    if (s.kind !== 'string') throw new Error(`internal error: expected a string constant, found '${s.kind}'`);
    return s.value;
  });
}
