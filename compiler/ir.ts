// The IR: a typed expression DAG over one row's inputs, plus the components and outputs that read it.
// Input: built by lower.ts from a CheckedModel. Output: what the code generator (emit/) walks.
// Nodes are in SSA form and topological order (every argument id is smaller than the node's own id);
// structurally equal nodes are shared (hash-consing), so CSE is a property of construction.
// Types here are machine-level: scalars carry an `opt` flag (value + presence bit at run time).

export type Scalar = 'f32' | 'f64' | 'i32' | 'bool';

export type IrType =
  | { k: 'scalar'; s: Scalar; opt: boolean }
  /** Dense fixed-length vector of floats. */
  | { k: 'vec'; elem: 'f32' | 'f64'; n: number; opt: boolean }
  /** Category index 0..n-1; n is the out-of-vocabulary slot. opt: may be missing. */
  | { k: 'cat'; n: number; opt: boolean }
  /** UTF-8 text. */
  | { k: 'str'; opt: boolean }
  /** Multiset of strings or ints (absent = empty). */
  | { k: 'bag'; elem: 'str' | 'i32' }
  /** Sparse indicator/count vector of width n (onehot, hash, cross). */
  | { k: 'sparse'; n: number }
  /** Entity id (a key into a random effect's coefficient table). */
  | { k: 'entity' };

/** Operations. Arity and attributes are documented per group; see `OPS` for the checked table. */
export type Op =
  // leaves
  | 'input'
  | 'const'
  // missing values
  | 'default' // (x) attrs.value: x, or the constant when x is missing
  | 'require' // (x): x; a missing x rejects the row
  | 'inrange' // (x) attrs.lo, attrs.hi: x; a present value outside [lo, hi] rejects the row
  | 'is_missing'
  | 'coalesce'
  // conversions
  | 'cast' // numeric kind change (i32 → f32, f32 → f64, bool → f32 ...)
  | 'splat' // scalar → vector of attrs.n
  | 'label' // (str) attrs.labels, attrs.unknown → cat: a category input's string to its index
  // arithmetic, comparison, logic (elementwise; operands already cast and splatted)
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'neg'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eq'
  | 'ne'
  | 'and'
  | 'or'
  | 'not'
  | 'select' // (cond, a, b)
  // math (elementwise)
  | 'exp'
  | 'log'
  | 'log1p'
  | 'sqrt'
  | 'abs'
  | 'sigmoid'
  | 'tanh'
  | 'sin'
  | 'cos'
  | 'floor'
  | 'pow' // (x, y scalar)
  | 'min'
  | 'max'
  | 'clip' // (x) attrs.lo, attrs.hi
  // text and bags
  | 'lower'
  | 'tokens'
  | 'ngrams' // attrs.n
  | 'length'
  | 'count'
  | 'overlap'
  // categorical and sparse encoders
  | 'onehot'
  | 'hash' // (x) attrs.buckets
  | 'cross' // (a, b) attrs.buckets
  | 'bucketize' // (x) attrs.bounds
  | 'lookup' // (str) attrs.labels
  // vectors
  | 'concat'
  | 'dot'
  | 'sum'
  | 'argmax'
  | 'softmax'
  // fitted transforms: statistics come from the coefficient bundle under attrs.key
  | 'standardize'
  | 'quantiles' // attrs.n
  | 'vocab' // attrs.max
  // components and calibration
  | 'component' // (features..., entity?) attrs.component: the margin, f32 (or f32 x classes)
  | 'calibrate'; // (p) attrs.method, attrs.key

export interface Attrs {
  /** input: index into Module.inputs */
  input?: number;
  /** const / default: the value (numbers; booleans as 0/1; vectors as arrays; strings for str). */
  value?: number | string | number[];
  n?: number;
  lo?: number;
  hi?: number;
  buckets?: number;
  bounds?: number[];
  labels?: string[];
  /** label: what an unknown string becomes: 'oov', 'error', or a label index. */
  unknown?: 'oov' | 'error' | number;
  /** fitted transforms and calibrations: the bundle key of their statistics. */
  key?: string;
  max?: number;
  minCount?: number;
  method?: 'platt' | 'isotonic';
  component?: number;
}

export interface Node {
  id: number;
  op: Op;
  args: number[];
  type: IrType;
  attrs: Attrs;
}

export interface IrInput {
  name: string;
  /** The type the host passes: for a category this is `str` (labels cross the boundary as text). */
  type: IrType;
}

export interface IrFeatureColumn {
  node: number;
  /** Columns occupied in the component's input (scalar 1, vector/sparse n, category 1). */
  width: number;
  offset: number;
  /** The feature as written, for reports. */
  text: string;
}

export interface IrComponent {
  name: string;
  kind: 'linear' | 'gbdt' | 'mlp';
  features: IrFeatureColumn[];
  inputWidth: number;
  outputWidth: number;
  /** Index of the entity input of a random effect, or null. */
  per: number | null;
  intercept: boolean;
  hidden: number[];
  activation: 'relu' | 'tanh' | 'sigmoid' | 'linear' | null;
}

export interface IrOutput {
  name: string;
  node: number;
  type: IrType;
}

export interface Module {
  name: string;
  inputs: IrInput[];
  nodes: Node[];
  /** Named features (for reports and the transform module), in the checker's topological order. */
  features: { name: string; node: number }[];
  components: IrComponent[];
  outputs: IrOutput[];
}

export function formatIrType(t: IrType): string {
  const q = (opt: boolean): string => (opt ? '?' : '');
  switch (t.k) {
    case 'scalar':
      return t.s + q(t.opt);
    case 'vec':
      return `${t.elem}x${t.n}${q(t.opt)}`;
    case 'cat':
      return `cat${t.n}${q(t.opt)}`;
    case 'str':
      return `str${q(t.opt)}`;
    case 'bag':
      return `bag<${t.elem}>`;
    case 'sparse':
      return `sparse${t.n}`;
    case 'entity':
      return 'entity';
  }
}

function formatAttrs(a: Attrs): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || k === 'input' || k === 'component') continue;
    parts.push(`${k}=${JSON.stringify(v)}`);
  }
  return parts.join(' ');
}

/** A readable listing of a module: one node per line, then features, components and outputs. */
export function printModule(m: Module): string {
  const out: string[] = [`module ${m.name}`];
  m.inputs.forEach((inp, i) => out.push(`  input ${i} ${inp.name} : ${formatIrType(inp.type)}`));
  for (const n of m.nodes) {
    let rhs: string;
    if (n.op === 'input') rhs = `input ${m.inputs[n.attrs.input!]!.name}`;
    else if (n.op === 'component') rhs = `component ${m.components[n.attrs.component!]!.name}`;
    else {
      const attrs = formatAttrs(n.attrs);
      rhs = [n.op, n.args.map((a) => `%${a}`).join(', '), attrs].filter((x) => x !== '').join(' ');
    }
    out.push(`  %${n.id} : ${formatIrType(n.type)} = ${rhs}`);
  }
  for (const f of m.features) out.push(`  feature ${f.name} = %${f.node}`);
  for (const c of m.components) {
    const feats = c.features.map((f) => `%${f.node}@${f.offset}+${f.width}`).join(' ');
    const per = c.per === null ? '' : ` per ${m.inputs[c.per]!.name}`;
    const extra = c.kind === 'mlp' ? ` hidden=${JSON.stringify(c.hidden)} activation=${c.activation}` : '';
    const icpt = c.kind === 'linear' ? ` intercept=${c.intercept}` : '';
    out.push(
      `  component ${c.name} = ${c.kind}[${c.inputWidth} -> ${c.outputWidth}]${per}${icpt}${extra} { ${feats} }`,
    );
  }
  for (const o of m.outputs) out.push(`  output ${o.name} : ${formatIrType(o.type)} = %${o.node}`);
  return out.join('\n') + '\n';
}
