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

/**
 * Vector inputs (indexes into mod.inputs) whose values only dense dot products read, straight from
 * their columns: the row prelude need not load their lanes into locals (a 1,000-wide input had
 * cost 1,000 loads a row that no code used; binaryen keeps them, as a load may trap). Conservative:
 * any other user of the input, or of a require / inrange / default over it (an output, a vector
 * op, a tree or MLP feature, a per-entity linear component) keeps the lanes. For scoring modules:
 * the caller keeps them for an input with a range check (the check reads every lane) and in
 * transform modules (which write every feature's column).
 */
export function denseOnlyInputs(mod: ir.Module): Set<number> {
  const users = new Map<number, number[]>();
  for (const n of mod.nodes)
    for (const a of n.args) {
      let list = users.get(a);
      if (list === undefined) users.set(a, (list = []));
      list.push(n.id);
    }
  const named = new Set<number>(mod.outputs.map((o) => o.node));
  const out = new Set<number>();
  for (const input of mod.nodes) {
    const t = input.type;
    if (input.op !== 'input' || t.k !== 'vec' || t.n < DENSE_MIN) continue;
    // Gen.directVector reads the column when the value is there on every accepted row
    const onlyDense = (id: number, present: boolean): boolean => {
      if (named.has(id)) return false;
      for (const u of users.get(id) ?? []) {
        const n = mod.nodes[u]!;
        if (n.op === 'require' || n.op === 'inrange' || n.op === 'default') {
          if (n.args[0] !== id || !onlyDense(u, present || n.op !== 'inrange')) return false;
          continue;
        }
        if (n.op !== 'component') return false;
        const c = mod.components[n.attrs.component!]!;
        if (c.kind !== 'linear' || c.per !== null || !present) return false;
      }
      return true;
    };
    if (onlyDense(input.id, !t.opt)) out.add(input.attrs.input!);
  }
  return out;
}
