// The embedded entity store: per-entity coefficient blocks (GAME random effects) held in memory,
// loaded from a coefficient bundle's random-effect tables. Input: a Bundle (abi/bundle.ts).
// Output: an EntityStore answering a batch of ids per component in one call; an unknown id is null,
// which the module scores as a zero contribution (docs/abi.md 3.1). Browser-safe.

import type { Bundle } from '../abi/index.js';
import type { EntityStore } from './model.js';

export class MemoryEntityStore implements EntityStore {
  private readonly tables = new Map<string, Map<string, Float64Array>>();

  constructor(bundle?: Bundle) {
    if (bundle === undefined) return;
    for (const [name, c] of bundle.components)
      if (c.kind === 'random_effect') this.tables.set(name, c.blocks);
  }

  /** Adds or replaces one entity's block. */
  put(component: string, id: string, block: Float64Array): void {
    let t = this.tables.get(component);
    if (t === undefined) this.tables.set(component, (t = new Map()));
    t.set(id, block);
  }

  /** Entities of a component. */
  size(component: string): number {
    return this.tables.get(component)?.size ?? 0;
  }

  fetch(component: string, ids: readonly (string | null)[]): (Float64Array | null)[] {
    const t = this.tables.get(component);
    const out = new Array<Float64Array | null>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      out[i] = id === null || t === undefined ? null : (t.get(id) ?? null);
    }
    return out;
  }
}
