// The reference evaluator: a checked model + its coefficient bundle, evaluated row by row in plain,
// obvious TypeScript, following docs/dsl.md and docs/abi.md to the letter. It is the oracle the
// compiled module is differentially tested against, so it favours clarity over speed.
// Input: CheckedModel, Bundle, rows `{input: value | null}`. Output: per row, the output values (null
// when missing) or the rejection (PML41xx) of the first failing input.
// Numbers: every DSL-typed value is held at its type (f32 via Math.fround after each operation, int
// with 32-bit wrap-around); component sums and reductions accumulate in f64 and round once.
// Transcendental functions use the host's Math (f64): the wasm's own implementations must agree
// within the tolerance stated in docs/abi.md, which is why this file may use Math.exp and the module
// may not.

import * as abi from '../../abi/index.js';
import type {
  Bundle,
  CalibrationParams,
  ComponentCoefficients,
  Row,
  RowValue,
  TransformParams,
} from '../../abi/index.js';
import { type CallExpr, type Expr, type NameRef, assertNever, unparen } from '../ast.js';
import { bindArgs, constInt, constNumberList, constStringList, fittedPlan, typeOf } from '../fitted.js';
import type { CheckedComponent, CheckedInput, CheckedModel, CheckedOutput, ConstValue } from '../typed.js';
import { type NumKind, type Type, elemOf, isNumeric } from '../types.js';

// ---- values ----

/** A category value: its index (size = the OOV slot) and the label it hashes by (null for OOV). */
interface Cat {
  cat: true;
  index: number;
  label: string | null;
}
type Sparse = Map<number, number>;
/** null is a missing value. */
export type Value = null | number | boolean | string | Cat | (string | number)[] | number[] | Sparse;

export type OutputValue = null | number | boolean | number[];

export interface RowRejection {
  /** `PML4101` .. `PML4104` (abi ROW_ERRORS). */
  code: string;
  /** The offending input. */
  input: string;
  message: string;
}

export type RowResult =
  { outputs: Record<string, OutputValue>; rejected: null } | { outputs: null; rejected: RowRejection };

/** Raised for a row that does not fit the schema at all (a string where a number belongs): a caller bug, not a rejection. */
export class RowShapeError extends Error {}

export function cast(v: number, k: NumKind): number {
  return k === 'f32' ? Math.fround(v) : k === 'int' ? v | 0 : v;
}

function isCat(v: Value): v is Cat {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

// ---- evaluator ----

export class ReferenceEvaluator {
  private readonly fittedKeys: Map<CallExpr, string>;
  private readonly vocabIndex = new Map<string, Map<string, number>>();
  private readonly inputIndex: Map<string, number>;

  constructor(
    readonly model: CheckedModel,
    readonly bundle: Bundle,
  ) {
    this.fittedKeys = fittedPlan(model).keys;
    this.inputIndex = new Map(model.inputs.map((i, n) => [i.name, n]));
  }

  evaluate(rows: Row[]): RowResult[] {
    return rows.map((r) => this.evaluateRow(r));
  }

  evaluateRow(row: Row): RowResult {
    const ctx = new RowContext(this, row);
    for (const input of this.model.inputs) {
      const rejection = ctx.readInput(input);
      if (rejection !== null) return { outputs: null, rejected: rejection };
    }
    const outputs: Record<string, OutputValue> = {};
    for (const o of this.model.outputs) outputs[o.name] = toOutput(o, ctx.output(o));
    return { outputs, rejected: null };
  }

  /**
   * The input a component sees on one row (what the transform module computes): linear/mlp as
   * (column, value) pairs without zeros, gbdt as one entry per column (null = missing). Null when
   * the row is rejected. Reads only the bundle's fitted transforms, not component coefficients.
   */
  componentInput(row: Row, component: string): [number, number][] | (number | null)[] | null {
    const c = this.model.components.find((x) => x.name === component);
    if (c === undefined) throw new Error(`no component '${component}'`);
    const ctx = new RowContext(this, row);
    for (const input of this.model.inputs) if (ctx.readInput(input) !== null) return null;
    return c.kind === 'gbdt' ? ctx.treeInput(c) : ctx.sparseInput(c);
  }

  /**
   * The value of an expression of the model on one row (null when missing), or undefined when the
   * row is rejected. The trainer fits fitted-transform statistics from these values (their
   * arguments); nested fitted transforms must already be in the bundle.
   */
  exprValue(row: Row, e: Expr): Value | undefined {
    const ctx = new RowContext(this, row);
    for (const input of this.model.inputs) if (ctx.readInput(input) !== null) return undefined;
    return ctx.expr(e);
  }

  /** @internal */
  transform(call: CallExpr): TransformParams {
    const key = this.fittedKeys.get(call);
    const p = key === undefined ? undefined : this.bundle.transforms.get(key);
    if (p === undefined)
      throw new Error(`bundle has no fitted statistics for ${call.callee.name} at '${key ?? '?'}'`);
    return p;
  }

  /** @internal the learned vocabulary of a vocab() call as label → index. */
  vocab(call: CallExpr): { index: Map<string, number>; labels: string[] } {
    const p = this.transform(call);
    if (p.kind !== 'vocab') throw new Error('internal error: vocab site fitted as ' + p.kind);
    const key = this.fittedKeys.get(call)!;
    let m = this.vocabIndex.get(key);
    if (m === undefined) {
      m = new Map(p.labels.map((l, i) => [l, i]));
      this.vocabIndex.set(key, m);
    }
    return { index: m, labels: p.labels };
  }

  /** @internal */
  component(name: string): ComponentCoefficients {
    const c = this.bundle.components.get(name);
    if (c === undefined) throw new Error(`bundle has no coefficients for component '${name}'`);
    return c;
  }

  /** @internal */
  calibration(method: 'platt' | 'isotonic', of: string): CalibrationParams {
    const c = this.bundle.calibrations.get(abi.calibrationKey(method, of));
    if (c === undefined) throw new Error(`bundle has no ${method} map for '${of}'`);
    return c;
  }

  /** @internal */
  inputNumber(name: string): number {
    return this.inputIndex.get(name) ?? -1;
  }
}

class RowContext {
  private readonly inputs = new Map<string, Value>();
  private readonly entities = new Map<string, string | null>();
  private readonly features = new Map<string, Value>();
  private readonly components = new Map<string, number | number[]>();
  private readonly outputs = new Map<string, Value>();
  private readonly model: CheckedModel;

  constructor(
    private readonly ev: ReferenceEvaluator,
    private readonly row: Row,
  ) {
    this.model = ev.model;
  }

  // ---- inputs ----

  readInput(input: CheckedInput): RowRejection | null {
    const raw: RowValue | undefined = this.row[input.name];
    const t = input.declared;
    const reject = (name: abi.RowErrorName): RowRejection => ({
      code: `PML${abi.ROW_ERRORS[name].code}`,
      input: input.name,
      message: `${abi.ROW_ERRORS[name].message}: '${input.name}'`,
    });
    const missing = raw === null || raw === undefined;
    if (missing && input.required) return reject('requiredMissing');
    const shape = (what: string): never => {
      throw new RowShapeError(`input '${input.name}' expects ${what}, got ${JSON.stringify(raw)}`);
    };
    switch (t.kind) {
      case 'entity':
        if (!missing && typeof raw !== 'string' && !(typeof raw === 'number' && Number.isInteger(raw)))
          shape('an entity id (string or integer)');
        this.entities.set(input.name, missing ? null : abi.entityKey(raw as string | number));
        return null;
      case 'bag': {
        if (missing) {
          this.inputs.set(input.name, []);
          return null;
        }
        if (!Array.isArray(raw)) return shape('a list');
        const items = (raw as unknown[]).filter((x) => x !== null);
        if (t.elem === 'string' && !items.every((x) => typeof x === 'string')) shape('a list of strings');
        if (t.elem === 'int' && !items.every((x) => typeof x === 'number' && (x | 0) === x))
          shape('a list of int32');
        this.inputs.set(input.name, items as (string | number)[]);
        return null;
      }
      default:
        break;
    }
    if (missing) {
      this.inputs.set(input.name, input.default === null ? null : constValue(input.default, t));
      return null;
    }
    switch (t.kind) {
      case 'num': {
        if (typeof raw !== 'number') return shape('a number');
        if (t.num === 'int' && (raw | 0) !== raw) shape('an integer in the 32-bit range');
        const v = cast(raw, t.num);
        if (input.range !== null && !inRange(v, input.range, t.num)) return reject('outOfRange');
        this.inputs.set(input.name, v);
        return null;
      }
      case 'bool':
        if (typeof raw !== 'boolean') shape('true or false');
        this.inputs.set(input.name, raw as boolean);
        return null;
      case 'string':
        if (typeof raw !== 'string') shape('a string');
        this.inputs.set(input.name, raw as string);
        return null;
      case 'category': {
        if (typeof raw !== 'string') return shape('a category label (string)');
        const labels = t.labels ?? [];
        const i = labels.indexOf(raw);
        if (i >= 0) this.inputs.set(input.name, { cat: true, index: i, label: raw });
        else {
          const u = input.unknown ?? { kind: 'oov' };
          if (u.kind === 'error') return reject('unknownCategory');
          this.inputs.set(
            input.name,
            u.kind === 'label'
              ? { cat: true, index: u.index, label: u.label }
              : { cat: true, index: t.size, label: null },
          );
        }
        return null;
      }
      case 'vector': {
        // a typed array (Float32Array / Float64Array) is taken as its numbers, like a list
        const list = raw instanceof Float32Array || raw instanceof Float64Array ? Array.from(raw) : raw;
        if (!Array.isArray(list) || list.length !== t.size || !list.every((x) => typeof x === 'number'))
          return shape(`a list of ${t.size} numbers`);
        const v = (list as number[]).map((x) => cast(x, t.elem));
        if (input.range !== null && !v.every((x) => inRange(x, input.range!, t.elem)))
          return reject('outOfRange');
        this.inputs.set(input.name, v);
        return null;
      }
      default:
        throw new Error(`internal error: input type ${t.kind}`);
    }
  }

  // ---- names ----

  private name(e: NameRef): Value {
    const sym = this.model.symbols.get(e);
    if (sym === undefined) throw new Error(`internal error: unresolved name '${e.name}'`);
    switch (sym.kind) {
      case 'input':
        return this.inputs.get(sym.input.name) ?? null;
      case 'feature': {
        const f = sym.feature;
        if (!this.features.has(f.name)) this.features.set(f.name, this.expr(f.expr));
        return this.features.get(f.name)!;
      }
      case 'component': {
        const c = sym.component;
        if (!this.components.has(c.name)) this.components.set(c.name, this.component(c));
        const m = this.components.get(c.name)!;
        const t = typeOf(this.model, e);
        if (t.kind === 'vector') return (m as number[]).map((x) => cast(x, t.elem));
        return cast(m as number, t.kind === 'num' ? t.num : 'f32');
      }
      case 'output':
        return this.output(sym.output);
      case 'word':
      case 'column':
        throw new Error(`internal error: '${e.name}' is not a value`);
    }
  }

  output(o: CheckedOutput): Value {
    if (!this.outputs.has(o.name)) this.outputs.set(o.name, this.expr(o.expr));
    return this.outputs.get(o.name)!;
  }

  // ---- expressions ----

  expr(e0: Expr): Value {
    const e = unparen(e0);
    const t = typeOf(this.model, e);
    switch (e.kind) {
      case 'number':
        return cast(e.value, t.kind === 'num' ? t.num : 'f64');
      case 'string':
        return e.value;
      case 'bool':
        return e.value;
      case 'name':
        return this.name(e);
      case 'list':
        throw new Error('internal error: a list is only a constant argument');
      case 'paren':
        return this.expr(e.inner);
      case 'unary': {
        const v = this.expr(e.operand);
        if (v === null) return null;
        if (e.op === 'not') return !(v as boolean);
        return numeric(t, [v], ([x], k) => (k === 'int' ? -x! | 0 : -x!));
      }
      case 'binary':
        return this.binary(e.op, e.left, e.right, t);
      case 'if': {
        // Missing when the condition or the branch taken is missing (docs/abi.md 5.x).
        const c = this.expr(e.cond);
        if (c === null) return null;
        const v = this.expr(c ? e.then : e.else);
        return v === null ? null : conform(v, t);
      }
      case 'call':
        return this.call(e, t);
      default:
        return assertNever(e);
    }
  }

  private binary(op: string, l: Expr, r: Expr, t: Type): Value {
    const a = this.expr(l);
    const b = this.expr(r);
    if (a === null || b === null) return null;
    switch (op) {
      case 'and':
        return (a as boolean) && (b as boolean);
      case 'or':
        return (a as boolean) || (b as boolean);
      case '+':
        return numeric(t, [a, b], ([x, y], k) => (k === 'int' ? (x! + y!) | 0 : x! + y!));
      case '-':
        return numeric(t, [a, b], ([x, y], k) => (k === 'int' ? (x! - y!) | 0 : x! - y!));
      case '*':
        return numeric(t, [a, b], ([x, y], k) => (k === 'int' ? Math.imul(x!, y!) : x! * y!));
      case '/':
        return numeric(t, [a, b], ([x, y]) => x! / y!);
      case '==':
      case '!=': {
        const eq = this.equal(a, b, typeOf(this.model, l), typeOf(this.model, r));
        return op === '==' ? eq : !eq;
      }
      default: {
        const k = compareKind(typeOf(this.model, l), typeOf(this.model, r));
        const x = cast(a as number, k);
        const y = cast(b as number, k);
        return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
      }
    }
  }

  private equal(a: Value, b: Value, ta: Type, tb: Type): boolean {
    if (isCat(a)) return a.label !== null && a.label === b;
    if (isCat(b)) return b.label !== null && b.label === a;
    if (typeof a === 'number' && typeof b === 'number') {
      const k = compareKind(ta, tb);
      return cast(a, k) === cast(b, k);
    }
    return a === b;
  }

  private call(e: CallExpr, t: Type): Value {
    const fn = e.callee.name;
    const args = bindArgs(e);
    const arg = (name: string): Value => this.expr(args.get(name)!);
    const floatMath = (f: (x: number) => number): Value => {
      const x = arg('x');
      return x === null ? null : numeric(t, [x], ([v]) => f(v!));
    };
    switch (fn) {
      case 'log':
        return floatMath(Math.log);
      case 'log1p':
        return floatMath(Math.log1p);
      case 'exp':
        return floatMath(Math.exp);
      case 'sqrt':
        return floatMath(Math.sqrt);
      case 'sigmoid':
        return floatMath(sigmoid);
      case 'tanh':
        return floatMath(Math.tanh);
      case 'sin':
        return floatMath(Math.sin);
      case 'cos':
        return floatMath(Math.cos);
      case 'abs':
        return floatMath(Math.abs);
      case 'floor':
        return floatMath(Math.floor);
      case 'pow': {
        const x = arg('x');
        const y = arg('y');
        if (x === null || y === null) return null;
        return numeric(t, [x], ([v]) => Math.pow(v!, y as number));
      }
      case 'min':
      case 'max': {
        const a = arg('a');
        const b = arg('b');
        if (a === null || b === null) return null;
        return numeric(t, [a, b], ([x, y]) => (fn === 'min' ? Math.min(x!, y!) : Math.max(x!, y!)));
      }
      case 'clip': {
        const x = arg('x');
        if (x === null) return null;
        let lo: number;
        let hi: number;
        if (args.has('lo')) {
          const l = arg('lo');
          const h = arg('hi');
          if (l === null || h === null) return null;
          lo = l as number;
          hi = h as number;
        } else {
          const range = this.declaredRange(args.get('x')!);
          lo = range.lo;
          hi = range.hi;
        }
        return numeric(t, [x], ([v], k) => Math.min(Math.max(v!, cast(lo, k)), cast(hi, k)));
      }
      case 'is_missing':
        return arg('x') === null;
      case 'coalesce': {
        const x = arg('x');
        return conform(x !== null ? x : arg('v'), t);
      }
      case 'lower': {
        const s = arg('s');
        return s === null ? null : abi.lower(s as string);
      }
      case 'tokens': {
        const s = arg('s');
        return s === null ? [] : abi.tokens(s as string);
      }
      case 'ngrams': {
        const s = arg('s');
        return s === null ? [] : abi.ngrams(s as string, constInt(args.get('n')!));
      }
      case 'length': {
        const s = arg('s');
        return s === null ? null : abi.length(s as string);
      }
      case 'count':
        return (arg('bag') as unknown[]).length;
      case 'overlap': {
        const a = new Set(arg('a') as unknown[]);
        const b = new Set(arg('b') as unknown[]);
        let n = 0;
        for (const x of a) if (b.has(x)) n++;
        return n;
      }
      case 'onehot': {
        const c = arg('x') as Cat | null;
        const size = (t as { size: number }).size;
        return c === null || c.index >= size ? new Map() : new Map([[c.index, 1]]);
      }
      case 'hash': {
        const buckets = constInt(args.get('buckets')!);
        const out: Sparse = new Map();
        for (const h of this.itemHashes(arg('x'))) bump(out, abi.bucketOf(h, buckets));
        return out;
      }
      case 'cross': {
        const buckets = constInt(args.get('buckets')!);
        const out: Sparse = new Map();
        const as = this.itemHashes(arg('a'));
        const bs = this.itemHashes(arg('b'));
        for (const ha of as) for (const hb of bs) bump(out, abi.bucketOf(abi.hashPair(ha, hb), buckets));
        return out;
      }
      case 'bucketize':
        return bucket(arg('x'), constNumberList(args.get('boundaries')!), typeOf(this.model, args.get('x')!));
      case 'quantiles': {
        const p = this.ev.transform(e);
        if (p.kind !== 'quantiles') throw new Error('internal error: quantiles fitted as ' + p.kind);
        return bucket(arg('x'), Array.from(p.boundaries), typeOf(this.model, args.get('x')!));
      }
      case 'lookup': {
        const s = arg('x');
        const labels = constStringList(args.get('labels')!);
        const i = s === null ? -1 : labels.indexOf(s as string);
        return i < 0
          ? { cat: true, index: labels.length, label: null }
          : { cat: true, index: i, label: labels[i]! };
      }
      case 'vocab': {
        const s = arg('x');
        const v = this.ev.vocab(e);
        const max = (t as { size: number }).size;
        const i = s === null ? undefined : v.index.get(s as string);
        return i === undefined
          ? { cat: true, index: max, label: null }
          : { cat: true, index: i, label: v.labels[i]! };
      }
      case 'standardize': {
        const x = arg('x');
        if (x === null) return null;
        const p = this.ev.transform(e);
        if (p.kind !== 'standardize') throw new Error('internal error: standardize fitted as ' + p.kind);
        const k = elemOf(t as Extract<Type, { kind: 'num' | 'vector' }>);
        const one = (v: number, i: number): number => {
          const s = p.std[i]! === 0 ? 1 : p.std[i]!;
          return cast(cast(cast(v, k) - cast(p.mean[i]!, k), k) / cast(s, k), k);
        };
        return Array.isArray(x) ? (x as number[]).map(one) : one(x as number, 0);
      }
      case 'concat': {
        const parts = [
          args.get('x')!,
          ...[...args.entries()].filter(([n]) => n.startsWith('rest')).map(([, v]) => v),
        ];
        const k = (t as { elem: NumKind }).elem;
        const out: number[] = [];
        for (const p of parts) {
          const v = this.expr(p);
          if (v === null) return null;
          if (Array.isArray(v)) for (const x of v as number[]) out.push(cast(x, k));
          else out.push(cast(v as number, k));
        }
        return out;
      }
      case 'dot': {
        const a = arg('a') as number[] | null;
        const b = arg('b') as number[] | null;
        if (a === null || b === null) return null;
        let s = 0;
        for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
        return cast(s, (t as { num: NumKind }).num);
      }
      case 'sum': {
        const v = arg('x') as number[] | null;
        if (v === null) return null;
        let s = 0;
        for (const x of v) s += x;
        return cast(s, (t as { num: NumKind }).num);
      }
      case 'argmax': {
        const v = arg('x') as number[] | null;
        if (v === null) return null;
        let best = 0;
        for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
        return best;
      }
      case 'softmax': {
        const v = arg('v') as number[] | null;
        if (v === null) return null;
        const m = Math.max(...v);
        const ex = v.map((x) => Math.exp(x - m));
        let s = 0;
        for (const x of ex) s += x;
        const k = (t as { elem: NumKind }).elem;
        return ex.map((x) => cast(x / s, k));
      }
      case 'platt':
      case 'isotonic': {
        const p = arg('p');
        if (p === null) return null;
        const of = unparen(args.get('p')!);
        if (of.kind !== 'name') throw new Error(`internal error: ${fn} of a non-name`);
        const out = this.model.symbols.get(of);
        const c = this.ev.calibration(fn, out?.kind === 'output' ? out.output.name : of.name);
        return cast(calibrate(c, p as number), 'f32');
      }
      default:
        throw new Error(`internal error: no reference implementation of ${fn}()`);
    }
  }

  private declaredRange(e: Expr): { lo: number; hi: number } {
    const u = unparen(e);
    const sym = u.kind === 'name' ? this.model.symbols.get(u) : undefined;
    if (sym?.kind !== 'input' || sym.input.range === null)
      throw new Error('internal error: clip(x) without a declared range');
    return sym.input.range;
  }

  /** The hashes a value contributes to hash()/cross(): one per item; none when missing or OOV. */
  private itemHashes(v: Value): number[] {
    if (v === null) return [];
    if (typeof v === 'string') return [abi.hashString(v)];
    if (typeof v === 'number') return [abi.hashInt(v)];
    if (isCat(v)) return v.label === null ? [] : [abi.hashString(v.label)];
    if (Array.isArray(v))
      return (v as (string | number)[]).map((x) =>
        typeof x === 'string' ? abi.hashString(x) : abi.hashInt(x),
      );
    throw new Error('internal error: cannot hash this value');
  }

  // ---- components ----

  private component(c: CheckedComponent): number | number[] {
    const coef = this.ev.component(c.name);
    const scalar = c.options.classes === null;
    const result = (m: number[]): number | number[] => (scalar ? m[0]! : m);
    switch (coef.kind) {
      case 'linear': {
        const x = this.sparseInput(c);
        const m: number[] = [];
        for (let k = 0; k < coef.classes; k++) {
          let s = coef.intercepts[k]!;
          for (const [j, v] of x) s += coef.weights[k * coef.inputWidth + j]! * v;
          m.push(s);
        }
        return result(m);
      }
      case 'random_effect': {
        const id = this.entities.get(c.per!) ?? null;
        const block = id === null ? undefined : coef.blocks.get(id);
        if (block === undefined) return result(new Array<number>(coef.classes).fill(0));
        const x = this.sparseInput(c);
        const icpt = coef.intercept ? 1 : 0;
        const m: number[] = [];
        for (let k = 0; k < coef.classes; k++) {
          const off = k * (icpt + coef.inputWidth);
          let s = icpt ? block[off]! : 0;
          for (const [j, v] of x) s += block[off + icpt + j]! * v;
          m.push(s);
        }
        return result(m);
      }
      case 'gbdt': {
        const x = this.treeInput(c);
        const m = Array.from(coef.base);
        for (const tree of coef.trees) {
          let i = 0;
          for (;;) {
            const n = tree.nodes[i]!;
            if (n.split === 'leaf') {
              m[tree.class]! += n.value;
              break;
            }
            const v = x[n.feature]!;
            const left =
              v === null ? n.defaultLeft : n.split === 'numeric' ? v < n.threshold : n.categories.includes(v);
            i = left ? n.left : n.right;
          }
        }
        return result(m);
      }
      case 'mlp': {
        let h: number[] = new Array<number>(c.inputWidth).fill(0);
        for (const [j, v] of this.sparseInput(c)) h[j] = v;
        coef.layers.forEach((layer, li) => {
          const last = li === coef.layers.length - 1;
          const z: number[] = [];
          for (let o = 0; o < layer.outputs; o++) {
            let s = layer.bias[o]!;
            for (let i = 0; i < layer.inputs; i++) s += layer.weights[o * layer.inputs + i]! * h[i]!;
            z.push(last ? s : activate(coef.activation, s));
          }
          h = z;
        });
        return result(h);
      }
    }
  }

  /** A linear/mlp component's input as (column, value) pairs in column order; zeros left out. */
  sparseInput(c: CheckedComponent): [number, number][] {
    const out: [number, number][] = [];
    for (const f of c.features) {
      const v = this.expr(f.expr);
      if (v === null)
        throw new Error(`internal error: optional feature '${f.text}' reached ${c.kind} '${c.name}'`);
      if (v instanceof Map) {
        for (const j of [...v.keys()].sort((a, b) => a - b)) out.push([f.offset + j, v.get(j)!]);
      } else if (Array.isArray(v)) (v as number[]).forEach((x, i) => out.push([f.offset + i, x]));
      else if (typeof v === 'boolean') out.push([f.offset, v ? 1 : 0]);
      else if (typeof v === 'number') out.push([f.offset, v]);
      else throw new Error(`internal error: feature '${f.text}' of ${c.kind} '${c.name}' is not numeric`);
    }
    return out.filter(([, v]) => v !== 0);
  }

  /** A gbdt's input, one entry per column: a number, a category index, or null (missing). */
  treeInput(c: CheckedComponent): (number | null)[] {
    const x = new Array<number | null>(c.inputWidth).fill(null);
    for (const f of c.features) {
      const v = this.expr(f.expr);
      if (v === null) continue;
      if (isCat(v)) x[f.offset] = v.index;
      else if (Array.isArray(v)) (v as number[]).forEach((e, i) => (x[f.offset + i] = e));
      else if (typeof v === 'boolean') x[f.offset] = v ? 1 : 0;
      else if (typeof v === 'number') x[f.offset] = v;
      else throw new Error(`internal error: feature '${f.text}' of gbdt '${c.name}' has no tree value`);
    }
    return x;
  }
}

// ---- helpers ----

function bump(m: Sparse, i: number): void {
  m.set(i, (m.get(i) ?? 0) + 1);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function activate(a: 'relu' | 'tanh' | 'sigmoid' | 'linear', x: number): number {
  switch (a) {
    case 'relu':
      return x > 0 ? x : 0;
    case 'tanh':
      return Math.tanh(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'linear':
      return x;
  }
}

/** Range check in the input's own type: bounds rounded to f32 for f32 inputs; NaN is out of range. */
function inRange(v: number, r: { lo: number; hi: number }, k: NumKind): boolean {
  const lo = k === 'f32' ? Math.fround(r.lo) : r.lo;
  const hi = k === 'f32' ? Math.fround(r.hi) : r.hi;
  return v >= lo && v <= hi;
}

/** The kind two numeric operands are compared in (promotion of their element kinds). */
function compareKind(a: Type, b: Type): NumKind {
  const ka = isNumeric(a) ? elemOf(a) : 'f64';
  const kb = isNumeric(b) ? elemOf(b) : 'f64';
  if (ka === 'f64' || kb === 'f64') return 'f64';
  if (ka === 'int' && kb === 'int') return 'int';
  return 'f32';
}

/**
 * Applies f elementwise at the result type `t`: operands are converted to t's element kind first
 * (scalars broadcast over vectors), and every result is rounded to it.
 */
function numeric(t: Type, operands: Value[], f: (xs: (number | undefined)[], k: NumKind) => number): Value {
  if (!isNumeric(t)) throw new Error(`internal error: numeric operation typed ${t.kind}`);
  const k = elemOf(t);
  if (t.kind === 'num')
    return cast(
      f(
        operands.map((o) => cast(o as number, k)),
        k,
      ),
      k,
    );
  const out: number[] = [];
  for (let i = 0; i < t.size; i++)
    out.push(
      cast(
        f(
          operands.map((o) => cast(Array.isArray(o) ? (o as number[])[i]! : (o as number), k)),
          k,
        ),
        k,
      ),
    );
  return out;
}

/** A value converted to type t (number promotion in `if` branches and `coalesce`). */
function conform(v: Value, t: Type): Value {
  if (v === null) return null;
  if (t.kind === 'num') return cast(v as number, t.num);
  if (t.kind === 'vector') return Array.isArray(v) ? (v as number[]).map((x) => cast(x, t.elem)) : v;
  return v;
}

/**
 * bucketize / quantiles: the index is the number of boundaries ≤ x, comparing in x's type
 * (boundaries rounded to f32 for f32 x); a missing or NaN x is the OOV slot (index = boundaries + 1).
 */
function bucket(x: Value, boundaries: number[], xt: Type): Cat {
  const n = boundaries.length + 1;
  if (x === null || Number.isNaN(x)) return { cat: true, index: n, label: null };
  const k = xt.kind === 'num' ? xt.num : 'f64';
  let i = 0;
  for (const b of boundaries) if ((k === 'f32' ? Math.fround(b) : b) <= (x as number)) i++;
  return { cat: true, index: i, label: String(i) };
}

function calibrate(c: CalibrationParams, p: number): number {
  if (c.kind === 'platt') return sigmoid(c.a * p + c.b);
  const { x, y } = c;
  if (Number.isNaN(p)) return NaN;
  if (p <= x[0]!) return y[0]!;
  const last = x.length - 1;
  if (p >= x[last]!) return y[last]!;
  let i = 0;
  while (x[i + 1]! <= p) i++;
  return y[i]! + ((y[i + 1]! - y[i]!) * (p - x[i]!)) / (x[i + 1]! - x[i]!);
}

function constValue(v: ConstValue, t: Type): Value {
  switch (v.kind) {
    case 'number':
      return cast(v.value, t.kind === 'num' ? t.num : 'f64');
    case 'bool':
    case 'string':
      return v.value;
    case 'label':
      return { cat: true, index: v.index, label: v.label };
    case 'vector': {
      const size = t.kind === 'vector' ? t.size : v.values.length;
      const k = t.kind === 'vector' ? t.elem : 'f64';
      return Array.from({ length: size }, (_, i) =>
        cast(v.values.length === 1 ? v.values[0]! : v.values[i]!, k),
      );
    }
  }
}

function toOutput(o: CheckedOutput, v: Value): OutputValue {
  if (v === null) return null;
  const t = o.type;
  if (t.kind === 'vector') return (v as number[]).map((x) => Math.fround(x));
  if (t.kind === 'num') return cast(v as number, t.num);
  if (t.kind === 'bool') return v as boolean;
  throw new Error(`internal error: output '${o.name}' has type ${t.kind}`);
}
