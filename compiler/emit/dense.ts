// Which linear components take the dense dot product (Gen.denseDot in scoring.ts): a vector input
// read straight from its column, 8 partial sums in f64. Shared by the emitter (weight storage, the
// dot product itself) and by tune (whether linear weight storage is a knob worth timing); this file
// does not load binaryen, so tune's candidate list stays light.

import type * as ir from '../ir.js';

/** Vector features at least this wide in a global linear component take the dense (SIMD) dot product. */
export const DENSE_MIN = 8;

/**
 * Whether a linear component takes the dense dot product for some feature: a vector input of
 * DENSE_MIN or more values (behind require / inrange / default only), the shape
 * Gen.directVector reads straight from its column.
 */
export function hasDenseDot(c: ir.IrComponent, mod: ir.Module): boolean {
  if (c.per !== null) return false;
  return c.features.some((f) => {
    let n = mod.nodes[f.node]!;
    while (n.op === 'require' || n.op === 'inrange' || n.op === 'default') n = mod.nodes[n.args[0]!]!;
    return n.op === 'input' && n.type.k === 'vec' && n.type.n >= DENSE_MIN;
  });
}
