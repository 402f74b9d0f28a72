// The syntax tree of a .pml model, as built by parser.ts (the grammar's actions build it directly).
// Input: nothing (types only). Output: the node shapes every later stage reads.
// Nodes are discriminated unions on `kind`; every node carries a `span` of UTF-16 offsets into the
// source text (line:column is computed only when a diagnostic is printed). Comments are not nodes:
// the lexer keeps them aside and the printer re-attaches them by offset.

export interface Span {
  start: number;
  end: number;
}

export interface Ident {
  kind: 'ident';
  span: Span;
  name: string;
}

export interface Model {
  kind: 'model';
  span: Span;
  name: Ident;
  /** Items in source order (the printer keeps that order). */
  items: Item[];
}

export type Item = MetaItem | InputDecl | FeatureDecl | ComponentDecl | OutputDecl | TrainBlock;

export type MetaKey = 'version' | 'owner' | 'purpose' | 'description';

export interface MetaItem {
  kind: 'meta';
  span: Span;
  key: MetaKey;
  value: StringLit;
}

/** `input name : type modifier*` */
export interface InputDecl {
  kind: 'input';
  span: Span;
  name: Ident;
  type: TypeRef;
  modifiers: InputModifier[];
}

/**
 * A written type: `f32`, `bag<string>`, `vector<f32, 64>`, `category("a", "b")`.
 * The parser accepts any name with angle or paren parameters; the checker validates them.
 */
export interface TypeRef {
  kind: 'type';
  span: Span;
  name: Ident;
  /** 'none': `f32`; 'angle': `bag<string>`; 'paren': `category("a", "b")`. */
  style: 'none' | 'angle' | 'paren';
  params: TypeParam[];
}

export type TypeParam = TypeRef | NumberLit | StringLit;

export type InputModifier =
  RangeModifier | DefaultModifier | RequiredModifier | UnknownModifier | PiiModifier;

/** `in [lo, hi]` */
export interface RangeModifier {
  kind: 'range';
  span: Span;
  lo: Expr;
  hi: Expr;
}

/** `default v`: the value substituted when the input is missing. */
export interface DefaultModifier {
  kind: 'default';
  span: Span;
  value: Expr;
}

/** `required`: a missing value rejects the row. */
export interface RequiredModifier {
  kind: 'required';
  span: Span;
}

/** `unknown "label"` or `unknown error`: what a category does with a value outside its vocabulary. */
export interface UnknownModifier {
  kind: 'unknown';
  span: Span;
  value: Expr;
}

/** `pii`: the input carries personal data (read by the privacy checks). */
export interface PiiModifier {
  kind: 'pii';
  span: Span;
}

/** `feature name = expr` */
export interface FeatureDecl {
  kind: 'feature';
  span: Span;
  name: Ident;
  value: Expr;
}

/** `component name = kind(args) [per entity]` */
export interface ComponentDecl {
  kind: 'component';
  span: Span;
  name: Ident;
  value: CallExpr;
  per: Ident | null;
}

/** `output name [: type] = expr` */
export interface OutputDecl {
  kind: 'output';
  span: Span;
  name: Ident;
  type: TypeRef | null;
  value: Expr;
}

/** `train [output] { setting* }` */
export interface TrainBlock {
  kind: 'train';
  span: Span;
  target: Ident | null;
  settings: Setting[];
}

/** `path value`, `path in space` or `path { setting* }`; path is `a` or `a.b`. */
export interface Setting {
  kind: 'setting';
  span: Span;
  path: Ident[];
  value: SettingValue;
}

export type SettingValue = Expr | SettingBlock | SearchSpace;

export interface SettingBlock {
  kind: 'block';
  span: Span;
  settings: Setting[];
}

/** `in [lo, hi]` (scale 'linear'), `in log [lo, hi]` (scale 'log'), `in {a, b, c}` (scale 'choice'). */
export interface SearchSpace {
  kind: 'space';
  span: Span;
  scale: 'linear' | 'log' | 'choice';
  values: Expr[];
}

// ---- expressions ----

export type Expr =
  | NumberLit
  | StringLit
  | BoolLit
  | NameRef
  | ListExpr
  | UnaryExpr
  | BinaryExpr
  | IfExpr
  | CallExpr
  | ParenExpr;

export interface NumberLit {
  kind: 'number';
  span: Span;
  value: number;
  /** The literal as written (kept for the printer: `262_144`, `1e-3`). */
  raw: string;
  /** True when written without `.` or exponent. */
  isInt: boolean;
}

export interface StringLit {
  kind: 'string';
  span: Span;
  /** The decoded value (escapes resolved). */
  value: string;
}

export interface BoolLit {
  kind: 'bool';
  span: Span;
  value: boolean;
}

/** A reference to an input, feature, component or output, or a bare word such as `relu`. */
export interface NameRef {
  kind: 'name';
  span: Span;
  name: string;
}

export interface ListExpr {
  kind: 'list';
  span: Span;
  items: Expr[];
}

export type UnaryOp = '-' | 'not';

export interface UnaryExpr {
  kind: 'unary';
  span: Span;
  op: UnaryOp;
  operand: Expr;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '<' | '<=' | '>' | '>=' | '==' | '!=' | 'and' | 'or';

export interface BinaryExpr {
  kind: 'binary';
  span: Span;
  op: BinaryOp;
  left: Expr;
  right: Expr;
}

export interface IfExpr {
  kind: 'if';
  span: Span;
  cond: Expr;
  then: Expr;
  else: Expr;
}

export interface Arg {
  kind: 'arg';
  span: Span;
  /** Set for named arguments (`hidden = [64, 32]`). */
  name: Ident | null;
  value: Expr;
}

export interface CallExpr {
  kind: 'call';
  span: Span;
  callee: Ident;
  args: Arg[];
}

/** Kept so the printer can reproduce the user's parentheses; the checker looks through it. */
export interface ParenExpr {
  kind: 'paren';
  span: Span;
  inner: Expr;
}

/**
 * Binding strength of binary operators (higher binds tighter). `not` sits at 3 and unary minus at 7:
 * or 1 < and 2 < not 3 < comparisons 4 (non-associative) < + - 5 < * / 6 < unary minus 7.
 */
export const BINARY_PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  or: 1,
  and: 2,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '==': 4,
  '!=': 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
};

/**
 * The direct sub-expressions of an expression, in source order. Tolerates the partial nodes that
 * error recovery can leave (missing children are skipped), so every walker can share it.
 */
export function childExprs(e: Expr): Expr[] {
  const out: (Expr | null | undefined)[] = [];
  switch (e.kind) {
    case 'paren':
      out.push(e.inner);
      break;
    case 'unary':
      out.push(e.operand);
      break;
    case 'binary':
      out.push(e.left, e.right);
      break;
    case 'if':
      out.push(e.cond, e.then, e.else);
      break;
    case 'list':
      if (Array.isArray(e.items)) out.push(...e.items);
      break;
    case 'call':
      if (Array.isArray(e.args)) for (const a of e.args) out.push(a?.value);
      break;
    default:
      break;
  }
  return out.filter((x): x is Expr => x !== null && x !== undefined && typeof x === 'object');
}

export function assertNever(x: never): never {
  throw new Error(`internal error: unexpected node ${JSON.stringify(x)}`);
}

/** Strips parentheses: `((x))` → `x`. */
export function unparen(e: Expr): Expr {
  while (e.kind === 'paren') e = e.inner;
  return e;
}
