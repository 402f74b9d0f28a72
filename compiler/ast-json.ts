// JSON views of the syntax tree: spans dropped (for structural comparison, e.g. the fmt round trip)
// or shown as `line:col-line:col` (for golden files a human reviews).
// Input: any AST value. Output: plain JSON-able values with stable key order.

import type { Span } from './ast.js';
import type { SourceFile } from './diagnostics.js';

/** A deep copy without `span` keys: two trees are the same model iff these are deep-equal. */
export function stripSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== 'span') out[k] = stripSpans(v);
    return out;
  }
  return node;
}

/** A deep copy with spans printed as `3:14-3:20` (1-based lines and columns). */
export function spansAsPositions(node: unknown, file: SourceFile): unknown {
  if (Array.isArray(node)) return node.map((n) => spansAsPositions(n, file));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'span') {
        const s = v as Span;
        const a = file.position(s.start);
        const b = file.position(s.end);
        out[k] = `${a.line + 1}:${a.column + 1}-${b.line + 1}:${b.column + 1}`;
      } else out[k] = spansAsPositions(v, file);
    }
    return out;
  }
  return node;
}
