// The reference evaluator's public surface: evaluate a checked model + bundle on rows (the oracle of
// differential tests), and deterministic random bundles and rows for any model.
// Input: CheckedModel, Bundle, rows. Output: per-row outputs or rejections; generated test material.

import type { Bundle, Row } from '../../abi/index.js';
import type { CheckedModel } from '../typed.js';
import { ReferenceEvaluator, type RowResult } from './eval.js';

export {
  ReferenceEvaluator,
  RowShapeError,
  type OutputValue,
  type RowRejection,
  type RowResult,
} from './eval.js';
export { Rng, randomBundle, randomRows, type RandomBundleOptions, type RandomRowsOptions } from './random.js';

/** Evaluates every row; a rejected row has `rejected` set and no outputs. */
export function evaluate(model: CheckedModel, bundle: Bundle, rows: Row[]): RowResult[] {
  return new ReferenceEvaluator(model, bundle).evaluate(rows);
}

/**
 * Agreement of a compiled module's value with the reference (docs/abi.md, "Tolerance"):
 * |got − want| ≤ atol + rtol·|want|; NaN matches NaN; bools and ints must be equal.
 */
export const TOLERANCE = { rtol: 1e-6, atol: 1e-6 } as const;

export function withinTolerance(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(want);
}
