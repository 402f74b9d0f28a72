// Lowering: CheckedModel → ir.Module. Makes every implicit rule of the DSL explicit as IR nodes:
// input rules (category labels → indices, ranges, defaults, required), numeric promotions (casts)
// and scalar-to-vector broadcasts (splats), constant arguments as attributes, fitted transforms as
// bundle keys. Constant folding (exactly rounded operations only), CSE (hash-consing) and
// dead-node elimination happen here, so the emitter sees a minimal DAG.

import { calibrationKey } from '../abi/index.js';
import * as ast from './ast.js';
import { fittedPlan } from './fitted.js';
import type * as ir from './ir.js';
import type { CheckedModel, CheckedInput, ConstValue } from './typed.js';
import type { Type } from './types.js';

export interface LowerOptions {
  /**
   * 'outputs': the scoring module (everything the outputs need);
   * 'features': the transform module (the components' feature columns only).
   */
  roots: 'outputs' | 'features';
}

/** Lowers a checked model. Never fails on a model the checker accepted. */
export function lowerModel(m: CheckedModel, options: LowerOptions = { roots: 'outputs' }): ir.Module {
  const l = new Lowerer(m);
  const mod = l.run();
  return eliminateDeadNodes(mod, options.roots);
}

/** The IR type of a checker type (list, word and error never reach the IR). */
export function irType(t: Type): ir.IrType {
  switch (t.kind) {
    case 'num':
      return { k: 'scalar', s: t.num === 'int' ? 'i32' : t.num, opt: t.optional };
    case 'bool':
      return { k: 'scalar', s: 'bool', opt: t.optional };
    case 'category':
      return { k: 'cat', n: t.size, opt: t.optional };
    case 'string':
      return { k: 'str', opt: t.optional };
    case 'bag':
      return { k: 'bag', elem: t.elem === 'string' ? 'str' : 'i32' };
    case 'vector':
      return { k: 'vec', elem: t.elem, n: t.size, opt: t.optional };
    case 'sparse':
      return { k: 'sparse', n: t.size };
    case 'entity':
      return { k: 'entity' };
    case 'list':
    case 'word':
    case 'error':
      throw new Error(`internal error: type '${t.kind}' has no IR form`);
  }
}

const MATH_OPS = new Set(['exp', 'log', 'log1p', 'sqrt', 'abs', 'sigmoid', 'tanh', 'sin', 'cos', 'floor']);
const PASS_OPS = new Set([
  'lower',
  'tokens',
  'length',
  'count',
  'overlap',
  'onehot',
  'dot',
  'sum',
  'argmax',
  'softmax',
]);
const BINARY: Record<ast.BinaryOp, ir.Op> = {
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
  '==': 'eq',
  '!=': 'ne',
  and: 'and',
  or: 'or',
};

function isOpt(t: ir.IrType): boolean {
  return 'opt' in t && t.opt;
}

function withOpt(t: ir.IrType, opt: boolean): ir.IrType {
  return 'opt' in t ? { ...t, opt } : t;
}

/** The numeric element kind of a scalar or vector type. */
function elemOf(t: ir.IrType): ir.Scalar | null {
  if (t.k === 'scalar') return t.s;
  if (t.k === 'vec') return t.elem;
  return null;
}

class Lowerer {
  private readonly nodes: ir.Node[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly inputNodes = new Map<string, number>();
  private readonly featureNodes = new Map<string, number>();
  private readonly componentNodes = new Map<string, number>();
  private readonly outputNodes = new Map<string, number>();
  private readonly inputs: ir.IrInput[] = [];
  private readonly components: ir.IrComponent[] = [];
  /** Bundle keys of the fitted-transform calls (compiler/fitted.ts decides them; trainer and reference agree). */
  private readonly fittedKeys: Map<ast.CallExpr, string>;

  constructor(private readonly m: CheckedModel) {
    this.fittedKeys = fittedPlan(m).keys;
  }

  run(): ir.Module {
    this.m.inputs.forEach((inp) => this.lowerInput(inp));
    const features: { name: string; node: number }[] = [];
    for (const f of this.m.features) {
      const node = this.expr(f.expr);
      this.featureNodes.set(f.name, node);
      features.push({ name: f.name, node });
    }
    for (const c of this.m.components) {
      const cols: ir.IrFeatureColumn[] = c.features.map((f) => ({
        node: this.expr(f.expr),
        width: f.width,
        offset: f.offset,
        text: f.text,
      }));
      const per = c.per === null ? null : this.m.inputs.findIndex((i) => i.name === c.per);
      const index = this.components.length;
      this.components.push({
        name: c.name,
        kind: c.kind,
        features: cols,
        inputWidth: c.inputWidth,
        outputWidth: c.outputWidth,
        per,
        intercept: c.options.intercept,
        hidden: c.options.hidden,
        activation: c.options.activation,
      });
      const args = cols.map((x) => x.node);
      if (c.per !== null) args.push(this.inputNodes.get(c.per)!);
      const margin: ir.IrType =
        c.outputWidth === 1
          ? { k: 'scalar', s: 'f32', opt: false }
          : { k: 'vec', elem: 'f32', n: c.outputWidth, opt: false };
      this.componentNodes.set(c.name, this.mk('component', args, margin, { component: index }));
    }
    const outputs: ir.IrOutput[] = [];
    for (const o of this.m.outputs) {
      let node = this.expr(o.expr);
      const want = irType(o.type);
      node = this.convert(node, want);
      this.outputNodes.set(o.name, node);
      outputs.push({ name: o.name, node, type: this.nodes[node]!.type });
    }
    return {
      name: this.m.name,
      inputs: this.inputs,
      nodes: this.nodes,
      features,
      components: this.components,
      outputs,
    };
  }

  // ---- node construction: folding and hash-consing

  private mk(op: ir.Op, args: number[], type: ir.IrType, attrs: ir.Attrs = {}): number {
    const folded = this.fold(op, args, type, attrs);
    if (folded !== null) return folded;
    const key = `${op}|${args.join(',')}|${JSON.stringify(attrs)}|${JSON.stringify(type)}`;
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    const id = this.nodes.length;
    this.nodes.push({ id, op, args, type, attrs });
    this.byKey.set(key, id);
    return id;
  }

  private constNode(value: number | string | number[], type: ir.IrType): number {
    return this.mk('const', [], withOpt(type, false), { value });
  }

  private constOf(id: number): number | null {
    const n = this.nodes[id]!;
    return n.op === 'const' && typeof n.attrs.value === 'number' ? n.attrs.value : null;
  }

  /**
   * Folds operations whose arguments are constants, for exactly rounded operations only
   * (+ − × ÷ √, comparisons, logic, casts, min/max/abs/floor): their results are the same on every
   * IEEE-754 machine. Transcendental functions are left to the module's own deterministic kernels.
   */
  private fold(op: ir.Op, args: number[], type: ir.IrType, attrs: ir.Attrs): number | null {
    if (op === 'const' || op === 'input' || op === 'component' || type.k !== 'scalar') return null;
    if (op === 'is_missing' && !isOpt(this.nodes[args[0]!]!.type)) return this.constNode(0, type);
    if ((op === 'coalesce' || op === 'default' || op === 'require') && !isOpt(this.nodes[args[0]!]!.type)) {
      return args[0]!;
    }
    const vals = args.map((a) => this.constOf(a));
    if (vals.length === 0 || vals.some((v) => v === null)) return null;
    const v = vals as number[];
    const round = (x: number): number => {
      if (type.s === 'f32') return Math.fround(x);
      if (type.s === 'i32') return x | 0;
      if (type.s === 'bool') return x ? 1 : 0;
      return x;
    };
    let r: number;
    switch (op) {
      case 'add':
        r = v[0]! + v[1]!;
        break;
      case 'sub':
        r = v[0]! - v[1]!;
        break;
      case 'mul':
        // i32 multiplication wraps; Math.imul gives the exact low 32 bits
        r = type.s === 'i32' ? Math.imul(v[0]!, v[1]!) : v[0]! * v[1]!;
        break;
      case 'div':
        if (type.s === 'i32') return null;
        r = v[0]! / v[1]!;
        break;
      case 'neg':
        r = -v[0]!;
        break;
      case 'lt':
        r = v[0]! < v[1]! ? 1 : 0;
        break;
      case 'le':
        r = v[0]! <= v[1]! ? 1 : 0;
        break;
      case 'gt':
        r = v[0]! > v[1]! ? 1 : 0;
        break;
      case 'ge':
        r = v[0]! >= v[1]! ? 1 : 0;
        break;
      case 'eq':
        r = v[0]! === v[1]! ? 1 : 0;
        break;
      case 'ne':
        r = v[0]! !== v[1]! ? 1 : 0;
        break;
      case 'and':
        r = v[0]! && v[1]! ? 1 : 0;
        break;
      case 'or':
        r = v[0]! || v[1]! ? 1 : 0;
        break;
      case 'not':
        r = v[0]! ? 0 : 1;
        break;
      case 'select':
        return v[0]! ? args[1]! : args[2]!;
      case 'cast':
        r = v[0]!;
        break;
      case 'min':
        r = Math.min(v[0]!, v[1]!);
        break;
      case 'max':
        r = Math.max(v[0]!, v[1]!);
        break;
      case 'abs':
        r = Math.abs(v[0]!);
        break;
      case 'floor':
        r = Math.floor(v[0]!);
        break;
      case 'sqrt':
        // √ is correctly rounded in f64, and rounding that to f32 is exact for √ (f64 has > 2·24+2 bits)
        r = Math.sqrt(v[0]!);
        break;
      case 'clip':
        r = Math.min(Math.max(v[0]!, attrs.lo!), attrs.hi!);
        break;
      default:
        return null;
    }
    if (!Number.isFinite(r)) return null; // leave ±inf and NaN to run time: their encoding is the module's
    return this.constNode(round(r), type);
  }

  // ---- conversions

  /** Casts a node to the element kind of `want` and splats a scalar to a vector if `want` is one. */
  private convert(id: number, want: ir.IrType): number {
    const have = this.nodes[id]!.type;
    const he = elemOf(have);
    const we = elemOf(want);
    if (he === null || we === null) return id;
    let node = id;
    if (he !== we) {
      const t: ir.IrType =
        have.k === 'vec'
          ? { k: 'vec', elem: we as 'f32' | 'f64', n: have.n, opt: have.opt }
          : { k: 'scalar', s: we, opt: isOpt(have) };
      node = this.mk('cast', [node], t);
    }
    if (want.k === 'vec' && have.k === 'scalar') {
      node = this.mk(
        'splat',
        [node],
        { k: 'vec', elem: want.elem, n: want.n, opt: isOpt(have) },
        { n: want.n },
      );
    }
    return node;
  }

  // ---- inputs

  private lowerInput(inp: CheckedInput): void {
    const index = this.inputs.length;
    const declared = irType(inp.declared);
    // categories cross the host boundary as their label text
    const hostType: ir.IrType =
      declared.k === 'cat' ? { k: 'str', opt: true } : 'opt' in declared ? withOpt(declared, true) : declared;
    this.inputs.push({ name: inp.name, type: hostType });
    let node = this.mk('input', [], hostType, { input: index });
    if (inp.declared.kind === 'category') {
      const labels = inp.declared.labels ?? [];
      const u = inp.unknown;
      const unknown: ir.Attrs['unknown'] =
        u === null || u.kind === 'oov' ? 'oov' : u.kind === 'error' ? 'error' : u.index;
      node = this.mk('label', [node], { k: 'cat', n: labels.length, opt: true }, { labels, unknown });
    }
    if (inp.range !== null && (declared.k === 'scalar' || declared.k === 'vec')) {
      node = this.mk('inrange', [node], this.nodes[node]!.type, { lo: inp.range.lo, hi: inp.range.hi });
    }
    if (inp.default !== null && 'opt' in declared) {
      node = this.mk('default', [node], withOpt(this.nodes[node]!.type, false), {
        value: constValue(inp.default),
      });
    } else if (inp.required && 'opt' in declared) {
      node = this.mk('require', [node], withOpt(this.nodes[node]!.type, false));
    }
    this.inputNodes.set(inp.name, node);
  }

  // ---- expressions

  private typeOf(e: ast.Expr): ir.IrType {
    const t = this.m.types.get(e);
    if (t === undefined) throw new Error(`internal error: no type for ${e.kind} at ${e.span.start}`);
    return irType(t);
  }

  private expr(e: ast.Expr): number {
    switch (e.kind) {
      case 'paren':
        return this.expr(e.inner);
      case 'number': {
        const t = this.typeOf(e);
        return this.constNode(t.k === 'scalar' && t.s === 'f32' ? Math.fround(e.value) : e.value, t);
      }
      case 'bool':
        return this.constNode(e.value ? 1 : 0, { k: 'scalar', s: 'bool', opt: false });
      case 'string':
        return this.constNode(e.value, { k: 'str', opt: false });
      case 'name':
        return this.name(e);
      case 'list':
        throw new Error('internal error: a list is only a constant argument');
      case 'unary': {
        const t = this.typeOf(e);
        const x = this.convert(this.expr(e.operand), t);
        return this.mk(e.op === '-' ? 'neg' : 'not', [x], t);
      }
      case 'binary':
        return this.binary(e);
      case 'if': {
        const t = this.typeOf(e);
        const c = this.expr(e.cond);
        return this.mk(
          'select',
          [c, this.convert(this.expr(e.then), t), this.convert(this.expr(e.else), t)],
          t,
        );
      }
      case 'call':
        return this.call(e);
      default:
        return ast.assertNever(e);
    }
  }

  private name(e: ast.NameRef): number {
    const sym = this.m.symbols.get(e);
    switch (sym?.kind) {
      case 'input':
        return this.inputNodes.get(sym.input.name)!;
      case 'feature':
        return this.featureNodes.get(sym.feature.name)!;
      case 'component':
        return this.componentNodes.get(sym.component.name)!;
      case 'output':
        return this.outputNodes.get(sym.output.name)!;
      default:
        throw new Error(`internal error: name '${e.name}' does not denote a value`);
    }
  }

  private binary(e: ast.BinaryExpr): number {
    const t = this.typeOf(e);
    const op = BINARY[e.op];
    let a = this.expr(e.left);
    let b = this.expr(e.right);
    const ta = this.nodes[a]!.type;
    const tb = this.nodes[b]!.type;
    if (op === 'eq' || op === 'ne') {
      // a category compared with one of its labels compares indices
      if (ta.k === 'cat' && tb.k === 'str') b = this.labelConst(e.right, ta, e.left);
      else if (tb.k === 'cat' && ta.k === 'str') a = this.labelConst(e.left, tb, e.right);
    }
    if (op === 'lt' || op === 'le' || op === 'gt' || op === 'ge' || op === 'eq' || op === 'ne') {
      const ea = elemOf(this.nodes[a]!.type);
      const eb = elemOf(this.nodes[b]!.type);
      if (ea !== null && eb !== null && ea !== eb && ea !== 'bool' && eb !== 'bool') {
        const common = promote(ea, eb);
        a = this.convert(a, { k: 'scalar', s: common, opt: false });
        b = this.convert(b, { k: 'scalar', s: common, opt: false });
      }
      return this.mk(op, [a, b], t);
    }
    if (op === 'and' || op === 'or') return this.mk(op, [a, b], t);
    return this.mk(op, [this.convert(a, t), this.convert(b, t)], t);
  }

  /** The index constant of a string literal compared with a category. */
  private labelConst(lit: ast.Expr, cat: Extract<ir.IrType, { k: 'cat' }>, catExpr: ast.Expr): number {
    const inner = ast.unparen(lit);
    const ct = this.m.types.get(catExpr);
    const labels = ct?.kind === 'category' ? (ct.labels ?? []) : [];
    const index = inner.kind === 'string' ? labels.indexOf(inner.value) : -1;
    return this.constNode(index < 0 ? cat.n : index, { k: 'cat', n: cat.n, opt: false });
  }

  private fittedKey(call: ast.CallExpr): string {
    const key = this.fittedKeys.get(call);
    if (key === undefined) throw new Error(`internal error: no bundle key for ${call.callee.name}()`);
    return key;
  }

  private call(e: ast.CallExpr): number {
    const fn = e.callee.name;
    const t = this.typeOf(e);
    const args = e.args.filter((a) => a.name === null).map((a) => a.value);
    const named = new Map(e.args.filter((a) => a.name !== null).map((a) => [a.name!.name, a.value]));
    const num = (x: ast.Expr): number => {
      const u = ast.unparen(x);
      if (u.kind === 'number') return u.value;
      if (u.kind === 'unary' && u.op === '-' && ast.unparen(u.operand).kind === 'number') {
        return -(ast.unparen(u.operand) as ast.NumberLit).value;
      }
      throw new Error(`internal error: '${fn}' expects a constant`);
    };
    const list = (x: ast.Expr): ast.Expr[] => {
      const u = ast.unparen(x);
      if (u.kind !== 'list') throw new Error(`internal error: '${fn}' expects a list`);
      return u.items;
    };
    if (MATH_OPS.has(fn)) return this.mk(fn as ir.Op, [this.convert(this.expr(args[0]!), t)], t);
    if (PASS_OPS.has(fn))
      return this.mk(
        fn as ir.Op,
        args.map((a) => this.expr(a)),
        t,
      );
    switch (fn) {
      case 'pow': {
        const y = this.convert(this.expr(args[1]!), { k: 'scalar', s: elemOf(t)!, opt: false });
        return this.mk('pow', [this.convert(this.expr(args[0]!), t), y], t);
      }
      case 'min':
      case 'max':
        return this.mk(fn, [this.convert(this.expr(args[0]!), t), this.convert(this.expr(args[1]!), t)], t);
      case 'clip': {
        const x = this.convert(this.expr(args[0]!), t);
        if (args.length === 1) {
          const inp = this.m.inputs.find((i) => i.name === (ast.unparen(args[0]!) as ast.NameRef).name)!;
          return this.mk('clip', [x], t, { lo: inp.range!.lo, hi: inp.range!.hi });
        }
        const lo = this.convert(this.expr(args[1]!), t);
        const hi = this.convert(this.expr(args[2]!), t);
        const clo = this.constOf(lo);
        const chi = this.constOf(hi);
        if (clo !== null && chi !== null) return this.mk('clip', [x], t, { lo: clo, hi: chi });
        return this.mk('min', [this.mk('max', [x, lo], t), hi], t);
      }
      case 'is_missing':
        return this.mk('is_missing', [this.expr(args[0]!)], t);
      case 'coalesce':
        return this.mk(
          'coalesce',
          [this.convert(this.expr(args[0]!), t), this.convert(this.expr(args[1]!), t)],
          t,
        );
      case 'ngrams':
        return this.mk('ngrams', [this.expr(args[0]!)], t, { n: num(args[1]!) });
      case 'hash': {
        const x = this.expr(args[0]!);
        return this.mk('hash', [x], t, { buckets: num(args[1]!), ...this.labelsOf(args[0]!) });
      }
      case 'cross':
        return this.mk('cross', [this.expr(args[0]!), this.expr(args[1]!)], t, { buckets: num(args[2]!) });
      case 'bucketize': {
        const x = this.expr(args[0]!);
        return this.mk('bucketize', [x], t, { bounds: list(args[1]!).map(num) });
      }
      case 'lookup': {
        const labels = list(args[1]!).map((x) => (ast.unparen(x) as ast.StringLit).value);
        return this.mk('lookup', [this.expr(args[0]!)], t, { labels });
      }
      case 'concat': {
        const elem = elemOf(t) as 'f32' | 'f64';
        const parts = args.map((a) => {
          const id = this.expr(a);
          const have = this.nodes[id]!.type;
          return this.convert(
            id,
            have.k === 'vec' ? { ...have, elem } : { k: 'scalar', s: elem, opt: isOpt(have) },
          );
        });
        return this.mk('concat', parts, t);
      }
      case 'standardize':
        return this.mk('standardize', [this.convert(this.expr(args[0]!), t)], t, { key: this.fittedKey(e) });
      case 'quantiles':
        return this.mk('quantiles', [this.expr(args[0]!)], t, { n: num(args[1]!), key: this.fittedKey(e) });
      case 'vocab': {
        const mc = named.get('min_count');
        return this.mk('vocab', [this.expr(args[0]!)], t, {
          max: num(args[1]!),
          ...(mc === undefined ? {} : { minCount: num(mc) }),
          key: this.fittedKey(e),
        });
      }
      case 'platt':
      case 'isotonic': {
        const p = this.convert(this.expr(args[0]!), { k: 'scalar', s: 'f32', opt: isOpt(t) });
        const target = (ast.unparen(args[0]!) as ast.NameRef).name;
        return this.mk('calibrate', [p], t, { method: fn, key: calibrationKey(fn, target) });
      }
      default:
        throw new Error(`internal error: no lowering for function '${fn}'`);
    }
  }

  /** `hash` of a category hashes its label text: pass the labels along when they are known. */
  private labelsOf(x: ast.Expr): ir.Attrs {
    const t = this.m.types.get(x);
    return t?.kind === 'category' && t.labels !== null ? { labels: t.labels } : {};
  }
}

function promote(a: ir.Scalar, b: ir.Scalar): ir.Scalar {
  if (a === 'f64' || b === 'f64') return 'f64';
  if (a === 'f32' || b === 'f32') return 'f32';
  return 'i32';
}

function constValue(c: ConstValue): number | string | number[] {
  switch (c.kind) {
    case 'number':
      return c.value;
    case 'bool':
      return c.value ? 1 : 0;
    case 'string':
      return c.value;
    case 'label':
      return c.index;
    case 'vector':
      return c.values;
  }
}

/**
 * Keeps only the nodes the roots need and renumbers them densely (order preserved, so the result
 * is still topological). Roots: the outputs (scoring module) or the component features (transform).
 */
export function eliminateDeadNodes(m: ir.Module, roots: LowerOptions['roots']): ir.Module {
  const live = new Set<number>();
  const stack: number[] =
    roots === 'outputs'
      ? m.outputs.map((o) => o.node)
      : m.components.flatMap((c) => c.features.map((f) => f.node));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    stack.push(...m.nodes[id]!.args);
  }
  const remap = new Map<number, number>();
  const nodes: ir.Node[] = [];
  for (const n of m.nodes) {
    if (!live.has(n.id)) continue;
    const id = nodes.length;
    remap.set(n.id, id);
    nodes.push({ ...n, id, args: n.args.map((a) => remap.get(a)!) });
  }
  const usedComponents = new Set(nodes.filter((n) => n.op === 'component').map((n) => n.attrs.component!));
  const components =
    roots === 'outputs' ? m.components.filter((_, i) => usedComponents.has(i)) : m.components;
  const compIndex = new Map(components.map((c) => [c, m.components.indexOf(c)]));
  const newIndex = new Map([...compIndex].map(([, old], i) => [old, i]));
  for (const n of nodes)
    if (n.op === 'component') n.attrs = { ...n.attrs, component: newIndex.get(n.attrs.component!)! };
  return {
    name: m.name,
    inputs: m.inputs,
    nodes,
    features: m.features
      .filter((f) => remap.has(f.node))
      .map((f) => ({ name: f.name, node: remap.get(f.node)! })),
    components: components.map((c) => ({
      ...c,
      features: c.features.map((f) => ({ ...f, node: remap.get(f.node)! })),
    })),
    outputs: roots === 'outputs' ? m.outputs.map((o) => ({ ...o, node: remap.get(o.node)! })) : [],
  };
}
