// The checker's type representation: what a value is at serving time (shape, element kind, width,
// and whether it may be missing). Input: nothing (types only, plus small constructors/predicates).
// Output: `Type` for check.ts and every later stage, and `formatType` for messages and `proml ast`.
// `error` is the type of an expression that already produced a diagnostic; it absorbs later errors.

export type NumKind = 'int' | 'f32' | 'f64';
export type FloatKind = 'f32' | 'f64';

export type Type =
  /** A numeric scalar. */
  | { kind: 'num'; num: NumKind; optional: boolean }
  | { kind: 'bool'; optional: boolean }
  /**
   * A closed vocabulary of `size` labels (indices 0..size-1; index `size` is the out-of-vocabulary
   * slot). `labels` is null when the vocabulary is learned by the trainer (`vocab`, `quantiles`) or
   * has no names (`bucketize`).
   */
  | { kind: 'category'; size: number; labels: string[] | null; optional: boolean }
  | { kind: 'string'; optional: boolean }
  /** A sparse multiset; never missing (absent = empty bag). */
  | { kind: 'bag'; elem: 'string' | 'int' }
  /** A dense fixed-length vector. */
  | { kind: 'vector'; elem: FloatKind; size: number; optional: boolean }
  /** One-hot / hashed indicator vector: only usable as a component feature. Never missing. */
  | { kind: 'sparse'; size: number }
  /** An entity id: only usable after `per`. */
  | { kind: 'entity' }
  /** A constant list argument (`bucketize` boundaries, `lookup` vocabulary, `hidden` sizes). */
  | { kind: 'list'; elem: Type; length: number }
  /** A bare word naming an option value (`relu`, `logistic`, `error`). */
  | { kind: 'word' }
  | { kind: 'error' };

export const ERROR: Type = { kind: 'error' };
export const WORD: Type = { kind: 'word' };

export function num(k: NumKind, optional = false): Type {
  return { kind: 'num', num: k, optional };
}
export function bool(optional = false): Type {
  return { kind: 'bool', optional };
}
export function str(optional = false): Type {
  return { kind: 'string', optional };
}
export function vector(elem: FloatKind, size: number, optional = false): Type {
  return { kind: 'vector', elem, size, optional };
}
export function category(size: number, labels: string[] | null, optional = false): Type {
  return { kind: 'category', size, labels, optional };
}
export function sparse(size: number): Type {
  return { kind: 'sparse', size };
}

/** Whether the value may be absent at serving time (`T?`). */
export function isOptional(t: Type): boolean {
  return 'optional' in t && t.optional;
}

/** The same type, with the optional flag set or cleared (no-op for kinds that are never missing). */
export function withOptional(t: Type, optional: boolean): Type {
  if (!('optional' in t) || t.optional === optional) return t;
  return { ...t, optional };
}

export function isError(t: Type): boolean {
  return t.kind === 'error';
}

/** Numeric scalar or vector: the operands of arithmetic and elementwise math. */
export function isNumeric(t: Type): t is Extract<Type, { kind: 'num' | 'vector' }> {
  return t.kind === 'num' || t.kind === 'vector';
}

/** The element kind of a numeric type: `int`, `f32` or `f64`. */
export function elemOf(t: Extract<Type, { kind: 'num' | 'vector' }>): NumKind {
  return t.kind === 'num' ? t.num : t.elem;
}

/** Numeric promotion: any f64 → f64; int with int stays int; otherwise f32. */
export function promote(a: NumKind, b: NumKind): NumKind {
  if (a === 'f64' || b === 'f64') return 'f64';
  if (a === 'int' && b === 'int') return 'int';
  return 'f32';
}

/** The float kind a numeric element becomes under real-valued math (`log`, `/`). */
export function toFloat(k: NumKind): FloatKind {
  return k === 'f64' ? 'f64' : 'f32';
}

/** Width of a value as a component feature: scalar 1, vector/sparse N, category 1 (index, gbdt). */
export function featureWidth(t: Type): number {
  switch (t.kind) {
    case 'vector':
    case 'sparse':
      return t.size;
    default:
      return 1;
  }
}

/** `f32?`, `category(3)`, `vector<64>`, `vector<f64, 8>`, `sparse<4096>`, `bag<string>`. */
export function formatType(t: Type): string {
  const q = isOptional(t) ? '?' : '';
  switch (t.kind) {
    case 'num':
      return `${t.num}${q}`;
    case 'bool':
      return `bool${q}`;
    case 'category':
      return `category(${t.size})${q}`;
    case 'string':
      return `string${q}`;
    case 'bag':
      return `bag<${t.elem}>`;
    case 'vector':
      return t.elem === 'f32' ? `vector<${t.size}>${q}` : `vector<f64, ${t.size}>${q}`;
    case 'sparse':
      return `sparse<${t.size}>`;
    case 'entity':
      return 'entity';
    case 'list':
      return `list<${formatType(t.elem)}, ${t.length}>`;
    case 'word':
      return 'word';
    case 'error':
      return 'error';
  }
}

/** Structural equality, ignoring optional-ness when `ignoreOptional` is set. */
export function sameType(a: Type, b: Type, ignoreOptional = false): boolean {
  if (a.kind !== b.kind) return false;
  if (!ignoreOptional && isOptional(a) !== isOptional(b)) return false;
  switch (a.kind) {
    case 'num':
      return a.num === (b as typeof a).num;
    case 'category': {
      const c = b as typeof a;
      if (a.size !== c.size) return false;
      if (a.labels === null || c.labels === null) return a.labels === c.labels;
      return a.labels.every((l, i) => l === c.labels![i]);
    }
    case 'bag':
      return a.elem === (b as typeof a).elem;
    case 'vector':
      return a.elem === (b as typeof a).elem && a.size === (b as typeof a).size;
    case 'sparse':
      return a.size === (b as typeof a).size;
    case 'list':
      return a.length === (b as typeof a).length && sameType(a.elem, (b as typeof a).elem, ignoreOptional);
    default:
      return true;
  }
}
