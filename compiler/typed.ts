// The checked model: every name resolved, every expression typed, every option and setting turned
// into a typed value. Input: produced by check.ts from ast.Model. Output: what IR lowering, the
// trainer and the runtime manifest read — they never look at raw settings or re-resolve names.
// Expressions stay AST nodes (ast.Expr); their types and symbols live in `types` / `symbols`.

import type * as ast from './ast.js';
import type { Activation, Calibration, ComponentKind, Link, ObjectiveName } from './builtins.js';
import type { Type } from './types.js';

export interface CheckedModel {
  name: string;
  meta: ModelMeta;
  /** In declaration order. */
  inputs: CheckedInput[];
  /** In topological order: every feature comes after the features it reads. */
  features: CheckedFeature[];
  /** In declaration order. */
  components: CheckedComponent[];
  /** In topological order: an output comes after the outputs it reads. */
  outputs: CheckedOutput[];
  /** Every `platt(p)` / `isotonic(p)` call: a calibrator the trainer fits after p's train block. */
  calibrations: Calibrated[];
  /** In declaration order. */
  trains: CheckedTrain[];
  /** The type of every expression the checker visited (features, components, outputs, modifiers, settings). */
  types: Map<ast.Expr, Type>;
  /** What each name reference denotes. */
  symbols: Map<ast.NameRef, Symbol>;
}

export interface ModelMeta {
  version: string | null;
  owner: string | null;
  purpose: string | null;
  description: string | null;
}

export type Symbol =
  | { kind: 'input'; input: CheckedInput }
  | { kind: 'feature'; feature: CheckedFeature }
  | { kind: 'component'; component: CheckedComponent }
  | { kind: 'output'; output: CheckedOutput }
  /** A bare word in an option or setting value (`relu`, `logistic`, `error`). */
  | { kind: 'word'; word: string }
  /** A data column named by `label` / `weight`. */
  | { kind: 'column'; column: string };

/** A constant written in the source, resolved against the type it must have. */
export type ConstValue =
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  /** A category label and its index in the declared vocabulary. */
  | { kind: 'label'; label: string; index: number }
  | { kind: 'vector'; values: number[] };

/** What a category input does with a value outside its vocabulary. */
export type UnknownRule =
  /** default: the out-of-vocabulary slot (index = size) */
  | { kind: 'oov' }
  | { kind: 'label'; label: string; index: number }
  /** `unknown error`: the row is rejected */
  | { kind: 'error' };

export interface CheckedInput {
  name: string;
  decl: ast.InputDecl;
  /** The declared type (never optional). */
  declared: Type;
  /** The type expressions see: `declared`, marked optional when the input may be missing. */
  type: Type;
  optional: boolean;
  required: boolean;
  default: ConstValue | null;
  /** Declared range (element-wise for vectors). */
  range: { lo: number; hi: number } | null;
  /** Category inputs only; null for other types. */
  unknown: UnknownRule | null;
  pii: boolean;
}

export interface CheckedFeature {
  name: string;
  decl: ast.FeatureDecl;
  expr: ast.Expr;
  type: Type;
  /** Names of the inputs and features the expression reads directly. */
  reads: string[];
}

export interface ComponentFeature {
  expr: ast.Expr;
  /** The expression as written (for reports and feature importance). */
  text: string;
  type: Type;
  /** Columns this feature occupies in the component's input: scalar 1, vector/sparse N, category 1. */
  width: number;
  /** First column of this feature in the component's input. */
  offset: number;
}

export interface ComponentOptions {
  /** `classes = k`: the component's value is vector<k>; null: a scalar margin. */
  classes: number | null;
  /** linear: fit an intercept (default true); false for other kinds. */
  intercept: boolean;
  /** mlp: hidden layer sizes; [] for other kinds. */
  hidden: number[];
  /** mlp: activation (default relu); null for other kinds. */
  activation: Activation | null;
}

export interface CheckedComponent {
  name: string;
  decl: ast.ComponentDecl;
  kind: ComponentKind;
  features: ComponentFeature[];
  /** Sum of the feature widths. */
  inputWidth: number;
  options: ComponentOptions;
  /** Width of the component's value: `classes` or 1. */
  outputWidth: number;
  /** The entity input of a random effect (`per member`), or null. */
  per: string | null;
}

export interface CheckedOutput {
  name: string;
  decl: ast.OutputDecl;
  expr: ast.Expr;
  /** The output's value type (the declared type when one is written). */
  type: Type;
  declared: Type | null;
  /** Components the expression reads directly, in order of first use. */
  components: string[];
  /** Inputs, features and outputs the expression reads directly. */
  reads: string[];
  /** Set when a train block trains this output. */
  trained: TrainedForm | null;
}

export interface Calibrated {
  method: Calibration;
  /** The trained (logistic) output being calibrated. */
  of: string;
  /** The output whose expression holds the call. */
  in: string;
  call: ast.CallExpr;
}

/** `LINK(c1 + c2 + ... [± offsets])` */
export interface TrainedForm {
  link: Link;
  /** The `c1 + c2 + ...` expression inside the link. */
  sum: ast.Expr;
  components: string[];
  /** Summands that reference no component, added to (sign 1) or subtracted from (-1) the margin. */
  offsets: { expr: ast.Expr; sign: 1 | -1 }[];
}

export interface Objective {
  name: ObjectiveName;
  /** `quantile(alpha)` only; null otherwise. */
  alpha: number | null;
}

export type HyperValue = number | boolean | string;

export interface SearchDimension {
  component: string;
  param: string;
  scale: 'linear' | 'log' | 'choice';
  /** linear/log: [lo, hi]; choice: the candidate values. */
  values: HyperValue[];
  integer: boolean;
}

export interface CheckedSearch {
  budget: number | null;
  method: string | null;
  parallel: number | null;
  metric: string | null;
  dimensions: SearchDimension[];
}

export interface CheckedTrain {
  decl: ast.TrainBlock;
  output: string;
  label: string;
  weight: string | null;
  objective: Objective;
  seed: number | null;
  validation: number | null;
  folds: number | null;
  iterations: number | null;
  metric: string | null;
  /** Fixed hyperparameters per component name (only components this output trains). */
  hyperparameters: Map<string, Map<string, HyperValue>>;
  search: CheckedSearch | null;
}
