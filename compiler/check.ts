// The binder/checker: resolves names, infers and checks types, validates inputs, components,
// outputs and train blocks against the tables in builtins.ts.
// Input: ast.Model (possibly partial after parse-error recovery) + DiagnosticSink.
// Output: CheckedModel (typed.ts) with every name resolved and every expression typed; PML2xxx
// diagnostics. An expression that produced an error gets type `error`, which silences follow-ups.

import * as ast from './ast.js';
import {
  ARG_KINDS,
  COMPONENT_KINDS,
  FUNCTIONS,
  INPUT_TYPES,
  OBJECTIVES,
  OUTPUT_TYPES,
  QUANTILE_ALPHA,
  SEARCH_SETTINGS,
  TRAIN_SETTINGS,
  describeSpec,
  type Activation,
  type Calibration,
  type ComponentKind,
  type FunctionSpec,
  type InputTypeName,
  type Link,
  type ParamSpec,
  type ValueSpec,
} from './builtins.js';
import { closest, type DiagnosticSink, type Severity, type SourceFile } from './diagnostics.js';
import type {
  Calibrated,
  CheckedComponent,
  CheckedFeature,
  CheckedInput,
  CheckedModel,
  CheckedOutput,
  CheckedSearch,
  CheckedTrain,
  ComponentFeature,
  ComponentOptions,
  ConstValue,
  HyperValue,
  ModelMeta,
  Objective,
  SearchDimension,
  Symbol,
  TrainedForm,
  UnknownRule,
} from './typed.js';
import {
  ERROR,
  WORD,
  bool,
  category,
  elemOf,
  featureWidth,
  formatType,
  isNumeric,
  isOptional,
  num,
  promote,
  sameType,
  sparse,
  str,
  toFloat,
  vector,
  withOptional,
  type NumKind,
  type Type,
} from './types.js';

export type * from './typed.js';

// ---- diagnostic codes ----

interface CodeInfo {
  code: string;
  severity: Severity;
  summary: string;
}

/** Every code the checker reports. docs/errors.md mirrors this table (a test keeps them in sync). */
export const CHECK_CODES = {
  // 20xx names
  unknownName: { code: 'PML2001', severity: 'error', summary: 'unknown name' },
  duplicateName: {
    code: 'PML2002',
    severity: 'error',
    summary: 'name already declared (inputs, features, components and outputs share one namespace)',
  },
  unknownFunction: { code: 'PML2003', severity: 'error', summary: 'unknown function' },
  featureCycle: {
    code: 'PML2004',
    severity: 'error',
    summary: 'feature depends on itself (the cycle is printed)',
  },
  componentOutsideOutput: {
    code: 'PML2005',
    severity: 'error',
    summary: 'component referenced outside an output',
  },
  outputReference: {
    code: 'PML2006',
    severity: 'error',
    summary: 'output referenced from a feature or component',
  },
  outputCycle: {
    code: 'PML2008',
    severity: 'error',
    summary: 'output depends on itself (the cycle is printed)',
  },
  kindAsFunction: {
    code: 'PML2007',
    severity: 'error',
    summary: 'component kind called inside an expression',
  },
  // 21xx types and shapes
  unknownType: { code: 'PML2101', severity: 'error', summary: 'unknown type name' },
  badTypeParams: { code: 'PML2102', severity: 'error', summary: 'invalid type parameters' },
  duplicateLabel: { code: 'PML2103', severity: 'error', summary: 'duplicate category label' },
  arity: { code: 'PML2104', severity: 'error', summary: 'wrong number of arguments' },
  argType: { code: 'PML2105', severity: 'error', summary: 'argument of the wrong type' },
  vectorAsScalar: { code: 'PML2106', severity: 'error', summary: 'vector used where a scalar is needed' },
  vectorLength: { code: 'PML2107', severity: 'error', summary: 'vector lengths differ' },
  entityAsValue: {
    code: 'PML2108',
    severity: 'error',
    summary: "entity used as a value (only allowed after 'per')",
  },
  sparseAsValue: {
    code: 'PML2109',
    severity: 'error',
    summary: 'sparse value used outside a component feature',
  },
  operandType: {
    code: 'PML2110',
    severity: 'error',
    summary: 'operator applied to operands of the wrong type',
  },
  badConstArg: {
    code: 'PML2111',
    severity: 'error',
    summary: 'invalid constant argument (bucket count, n, boundaries, vocabulary)',
  },
  badNamedArg: { code: 'PML2112', severity: 'error', summary: 'unknown or repeated named argument' },
  listNotAllowed: { code: 'PML2113', severity: 'error', summary: 'list literal where a value is expected' },
  branchMismatch: { code: 'PML2114', severity: 'error', summary: "'if' branches of different types" },
  notALabel: {
    code: 'PML2115',
    severity: 'error',
    summary: 'string compared with a category is not one of its labels',
  },
  clipWithoutRange: {
    code: 'PML2116',
    severity: 'error',
    summary: 'clip(x) on something without a declared range',
  },
  // 22xx inputs, ranges, defaults
  defaultAndRequired: {
    code: 'PML2201',
    severity: 'error',
    summary: "input has both 'default' and 'required'",
  },
  rangeOnNonNumeric: {
    code: 'PML2202',
    severity: 'error',
    summary: "'in [lo, hi]' on an input that is not numeric",
  },
  rangeBound: {
    code: 'PML2203',
    severity: 'error',
    summary: 'range bound is not a number constant (or not an integer for int)',
  },
  rangeOrder: { code: 'PML2204', severity: 'error', summary: 'range has lo > hi' },
  badDefault: {
    code: 'PML2205',
    severity: 'error',
    summary: "'default' is not a constant of the input's type",
  },
  defaultOutOfRange: {
    code: 'PML2206',
    severity: 'error',
    summary: "'default' outside the input's declared range",
  },
  defaultNotLabel: {
    code: 'PML2207',
    severity: 'error',
    summary: "'default' is not a label of the category",
  },
  unknownOnNonCategory: {
    code: 'PML2208',
    severity: 'error',
    summary: "'unknown' on an input that is not a category",
  },
  badUnknown: {
    code: 'PML2209',
    severity: 'error',
    summary: "'unknown' is neither a label of the category nor 'error'",
  },
  duplicateModifier: { code: 'PML2210', severity: 'error', summary: 'modifier written twice' },
  defaultNeverMissing: {
    code: 'PML2211',
    severity: 'error',
    summary: "'default' or 'required' on a bag, or 'default' on an entity (never missing)",
  },
  // 23xx components
  unknownKind: { code: 'PML2301', severity: 'error', summary: 'unknown component kind' },
  noFeatures: { code: 'PML2302', severity: 'error', summary: 'component without features' },
  badFeature: {
    code: 'PML2303',
    severity: 'error',
    summary: 'feature type not accepted by the component kind',
  },
  optionalFeature: {
    code: 'PML2304',
    severity: 'error',
    summary: 'optional (possibly missing) feature in a linear or mlp component',
  },
  unknownOption: { code: 'PML2305', severity: 'error', summary: 'unknown option for the component kind' },
  badOption: { code: 'PML2306', severity: 'error', summary: 'invalid option value' },
  missingOption: { code: 'PML2307', severity: 'error', summary: "required option missing (mlp 'hidden')" },
  perNotAllowed: {
    code: 'PML2308',
    severity: 'error',
    summary: "'per' on a component kind other than linear",
  },
  perNotEntity: {
    code: 'PML2309',
    severity: 'error',
    summary: "'per' names something that is not an entity input",
  },
  duplicateOption: { code: 'PML2310', severity: 'error', summary: 'option given twice' },
  componentNamedLikeSetting: {
    code: 'PML2311',
    severity: 'error',
    summary: 'component named like a train setting key (it could not be configured)',
  },
  // 24xx outputs
  noOutputs: { code: 'PML2401', severity: 'error', summary: 'model has no output' },
  badOutputType: { code: 'PML2402', severity: 'error', summary: 'output type is not f32, f64, int or bool' },
  outputTypeMismatch: {
    code: 'PML2403',
    severity: 'error',
    summary: "output value does not match the output's declared type",
  },
  badOutputValue: {
    code: 'PML2404',
    severity: 'error',
    summary: 'output value is not a number, bool or vector',
  },
  calibrationOutsideOutput: {
    code: 'PML2405',
    severity: 'error',
    summary: 'platt/isotonic used outside an output',
  },
  notDecomposable: {
    code: 'PML2406',
    severity: 'error',
    summary: 'trained output is not LINK(sum of components [+ offsets])',
  },
  componentTwice: {
    code: 'PML2407',
    severity: 'error',
    summary: 'component added twice in a trained output',
  },
  linkClasses: {
    code: 'PML2408',
    severity: 'error',
    summary: "components' classes do not fit the output's link",
  },
  calibrationTarget: {
    code: 'PML2409',
    severity: 'error',
    summary: 'platt/isotonic argument is not an output trained with objective logistic',
  },
  // 25xx training and hyperparameters
  unknownSetting: { code: 'PML2501', severity: 'error', summary: 'unknown train setting' },
  missingSetting: {
    code: 'PML2502',
    severity: 'error',
    summary: "required train setting missing ('label', 'objective')",
  },
  badSetting: { code: 'PML2503', severity: 'error', summary: 'invalid train setting value' },
  labelIsInput: { code: 'PML2504', severity: 'error', summary: 'label (leakage) or weight is an input' },
  objectiveLink: { code: 'PML2505', severity: 'error', summary: "objective does not fit the output's link" },
  badTrainTarget: {
    code: 'PML2506',
    severity: 'error',
    summary: 'train block target unknown, ambiguous or without components',
  },
  duplicateSetting: { code: 'PML2507', severity: 'error', summary: 'setting given twice' },
  unknownHyperparam: {
    code: 'PML2508',
    severity: 'error',
    summary: 'unknown hyperparameter for the component kind',
  },
  badHyperparam: {
    code: 'PML2509',
    severity: 'error',
    summary: 'hyperparameter value outside its valid range',
  },
  badSearchSpace: { code: 'PML2510', severity: 'error', summary: 'invalid search space' },
  spaceOutsideSearch: {
    code: 'PML2511',
    severity: 'error',
    summary: "search space outside the 'search' block",
  },
  fixedAndSearched: { code: 'PML2512', severity: 'error', summary: 'hyperparameter both fixed and searched' },
  outputTrainedTwice: { code: 'PML2513', severity: 'error', summary: 'two train blocks for one output' },
  componentTrainedTwice: {
    code: 'PML2514',
    severity: 'error',
    summary: 'component trained by two train blocks',
  },
  labelNotColumn: {
    code: 'PML2515',
    severity: 'error',
    summary: 'label or weight names a feature, component or output',
  },
  perOnlyHyperparam: {
    code: 'PML2516',
    severity: 'error',
    summary: "hyperparameter only valid with 'per' (min_rows, max_rows)",
  },
  componentNotInOutput: {
    code: 'PML2517',
    severity: 'error',
    summary: 'component settings for a component the trained output does not use',
  },
  validationAndFolds: { code: 'PML2518', severity: 'error', summary: "'validation' and 'folds' together" },
  metricObjective: { code: 'PML2519', severity: 'error', summary: 'metric does not suit the objective' },
  // 26xx meta
  missingVersion: { code: 'PML2601', severity: 'error', summary: "missing 'version'" },
  missingOwner: { code: 'PML2602', severity: 'warning', summary: "missing 'owner'" },
  missingPurpose: { code: 'PML2603', severity: 'warning', summary: "missing 'purpose'" },
  duplicateMeta: { code: 'PML2604', severity: 'error', summary: 'meta item written twice' },
  // 29xx warnings
  unusedInput: { code: 'PML2901', severity: 'warning', summary: 'input never used' },
  unusedFeature: { code: 'PML2902', severity: 'warning', summary: 'feature never used' },
  unusedComponent: { code: 'PML2903', severity: 'warning', summary: 'component never used by an output' },
  untrainedComponent: {
    code: 'PML2904',
    severity: 'warning',
    summary: 'component used by an output that no train block trains',
  },
  neverMissing: {
    code: 'PML2905',
    severity: 'warning',
    summary: 'is_missing/coalesce on a value that is never missing',
  },
  leavesUnreachable: {
    code: 'PML2906',
    severity: 'warning',
    summary: 'gbdt leaves > 2^depth (the leaf limit is unreachable)',
  },
} as const satisfies Record<string, CodeInfo>;

export type CheckCode = keyof typeof CHECK_CODES;

// ---- entry points ----

/** Binds and type-checks a parsed model. Never throws on a parser-produced (even partial) AST. */
export function check(model: ast.Model, sink: DiagnosticSink): CheckedModel {
  return new Checker(model, sink).run();
}

// ---- internals ----

type Entry =
  | { kind: 'input'; input: CheckedInput }
  | { kind: 'feature'; feature: CheckedFeature; state: 'todo' | 'active' | 'done' }
  | { kind: 'component'; decl: ast.ComponentDecl; component: CheckedComponent | null }
  | { kind: 'output'; output: CheckedOutput; state: 'todo' | 'active' | 'done' };

type Where = 'feature' | 'component' | 'output';

interface Ctx {
  where: Where;
  /** Inputs and features read directly. */
  reads: Set<string>;
  /** Components read (outputs only), in order of first use. */
  components: string[];
}

/** A constant folded from literals, `-`, `+ - * /` and parentheses. */
type Const =
  | { kind: 'number'; value: number; isInt: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean };

const EMPTY_SPAN: ast.Span = { start: 0, end: 0 };

function spanOf(n: { span?: ast.Span } | null | undefined, fallback: ast.Span = EMPTY_SPAN): ast.Span {
  return n?.span ?? fallback;
}

function isObj<T>(x: T | null | undefined): x is T {
  return typeof x === 'object' && x !== null;
}

function has<T extends object>(table: T, key: string): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(table, key);
}

function quoteList(xs: readonly string[]): string {
  return xs.map((x) => `'${x}'`).join(', ');
}

/** Category labels as written in source: `"a", "b"`. */
function labelList(xs: readonly string[]): string {
  return xs.map((x) => JSON.stringify(x)).join(', ');
}

/** True when `b` is `a` with one pair of adjacent characters swapped (`lable` / `label`). */
function isTransposition(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  const diff: number[] = [];
  for (let i = 0; i < a.length && diff.length <= 2; i++) if (a[i] !== b[i]) diff.push(i);
  const [i, j] = diff;
  return diff.length === 2 && j === i! + 1 && a[i!] === b[j] && a[j] === b[i!];
}

/** The candidate a misspelt word most likely meant: the closest by edit distance, or a transposition. */
function suggestion(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  return closest(word, list) ?? list.find((c) => isTransposition(word, c));
}

/** `did you mean 'x'?` for a misspelt name, or undefined. */
function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const c = suggestion(word, candidates);
  return c === undefined ? undefined : `did you mean '${c}'?`;
}

/** `did you mean "x"?` for a misspelt category label, or undefined. */
function didYouMeanLabel(word: string, labels: readonly string[]): string | undefined {
  const c = suggestion(word, labels);
  return c === undefined ? undefined : `did you mean ${JSON.stringify(c)}?`;
}

/** `100000` → `100_000`, as an integer literal is best written. */
function groupDigits(n: number): string {
  const s = String(Math.abs(n));
  const grouped = s.length <= 3 ? s : s.replace(/\B(?=(\d{3})+(?!\d))/g, '_');
  return n < 0 ? `-${grouped}` : grouped;
}

/** Common names of types in other languages, mapped to proml's. */
const TYPE_ALIASES: Record<string, string> = {
  float: 'f32',
  float32: 'f32',
  real: 'f32',
  double: 'f64',
  float64: 'f64',
  integer: 'int',
  int32: 'int',
  int64: 'int',
  long: 'int',
  boolean: 'bool',
  str: 'string',
  text: 'string',
};

class Checker {
  private readonly types = new Map<ast.Expr, Type>();
  private readonly symbols = new Map<ast.NameRef, Symbol>();
  private readonly entries = new Map<string, Entry>();
  private readonly used = new Set<string>();
  private readonly inputs: CheckedInput[] = [];
  private readonly features: CheckedFeature[] = [];
  private readonly featureOrder: CheckedFeature[] = [];
  private readonly components: CheckedComponent[] = [];
  private readonly componentDecls: ast.ComponentDecl[] = [];
  private readonly outputs: CheckedOutput[] = [];
  private readonly trains: CheckedTrain[] = [];
  /** Names of the features being inferred, innermost last: the path printed for a cycle. */
  private readonly stack: string[] = [];
  private readonly outputStack: string[] = [];
  /** Components whose `classes` option was invalid. */
  private readonly shapeless = new Set<string>();
  /** `component.param` → span of its fixed setting, in the train block being checked. */
  private hyperSpans = new Map<string, ast.Span>();
  private readonly outputOrder: CheckedOutput[] = [];
  private readonly calibrations: Calibrated[] = [];
  /** A train block named no output that could be resolved (see warnUntrained). */
  private unresolvedTrain = false;
  private readonly file: SourceFile;

  constructor(
    private readonly model: ast.Model,
    private readonly sink: DiagnosticSink,
  ) {
    this.file = sink.file;
  }

  private report(code: CheckCode, span: ast.Span, message: string, hint?: string): void {
    const info = CHECK_CODES[code];
    if (info.severity === 'error') this.sink.error(info.code, span, message, hint);
    else this.sink.warning(info.code, span, message, hint);
  }

  run(): CheckedModel {
    const items = Array.isArray(this.model.items) ? this.model.items.filter(isObj) : [];
    const modelSpan = spanOf(this.model.name, spanOf(this.model));
    const meta = this.checkMeta(items, modelSpan);
    this.declare(items);
    for (const f of this.features) this.inferFeature(this.entries.get(f.name), f, null);
    for (const d of this.componentDecls) this.checkComponent(d);
    for (const o of this.outputs) this.inferOutput(this.entries.get(o.name), null);
    for (const it of items) if (it.kind === 'train') this.checkTrain(it);
    if (this.outputs.length === 0)
      this.report(
        'noOutputs',
        modelSpan,
        `model '${this.model.name?.name ?? ''}' has no output`,
        "add e.g. 'output score = ...'",
      );
    this.checkCalibrations();
    this.warnUntrained();
    // Without outputs everything is unused; the missing output is the one thing to report.
    if (this.outputs.length > 0) this.warnUnused();
    return {
      name: this.model.name?.name ?? '',
      meta,
      inputs: this.inputs,
      features: this.featureOrder,
      components: this.components,
      outputs: this.outputOrder,
      calibrations: this.calibrations,
      trains: this.trains,
      types: this.types,
      symbols: this.symbols,
    };
  }

  // ---- meta ----

  private checkMeta(items: ast.Item[], modelSpan: ast.Span): ModelMeta {
    const meta: ModelMeta = { version: null, owner: null, purpose: null, description: null };
    const first = new Map<string, ast.Span>();
    for (const it of items) {
      if (it.kind !== 'meta' || !has(meta, it.key)) continue;
      const prev = first.get(it.key);
      if (prev !== undefined) {
        const line = this.file.position(prev.start).line + 1;
        this.report(
          'duplicateMeta',
          { start: it.span.start, end: it.span.start + it.key.length },
          `'${it.key}' is given twice`,
          `keep one (the first is on line ${line})`,
        );
        continue;
      }
      first.set(it.key, it.span);
      meta[it.key] = it.value?.value ?? '';
    }
    if (meta.version === null)
      this.report(
        'missingVersion',
        modelSpan,
        `model '${this.model.name?.name ?? ''}' has no 'version'`,
        'add e.g. version "1.0"',
      );
    if (meta.owner === null)
      this.report(
        'missingOwner',
        modelSpan,
        `model '${this.model.name?.name ?? ''}' has no 'owner'`,
        'add e.g. owner "team-ranking"',
      );
    if (meta.purpose === null)
      this.report(
        'missingPurpose',
        modelSpan,
        `model '${this.model.name?.name ?? ''}' has no 'purpose'`,
        'add e.g. purpose "job_recommendation" (a short snake_case id the privacy checks read)',
      );
    return meta;
  }

  // ---- declarations ----

  /** Registers every declared name (reporting duplicates) and checks inputs, which read no names. */
  private declare(items: ast.Item[]): void {
    for (const it of items) {
      if (it.kind === 'meta' || it.kind === 'train') continue;
      const name = it.name?.name;
      if (typeof name !== 'string' || name === '') continue;
      const prev = this.entries.get(name);
      if (prev !== undefined) {
        const where = this.declSpan(prev);
        const line = this.file.position(where.start).line + 1;
        this.report(
          'duplicateName',
          it.name.span,
          `'${name}' is already declared`,
          `first declared as ${prev.kind} '${name}' on line ${line}`,
        );
        // Still check the duplicate's own contents, without registering it.
        if (it.kind === 'input') this.checkInput(it);
        else if (it.kind === 'feature') this.expr(it.value, this.ctx('feature'));
        else if (it.kind === 'output') this.expr(it.value, this.ctx('output'));
        continue;
      }
      switch (it.kind) {
        case 'input': {
          const input = this.checkInput(it);
          this.inputs.push(input);
          this.entries.set(name, { kind: 'input', input });
          break;
        }
        case 'feature': {
          const feature: CheckedFeature = { name, decl: it, expr: it.value, type: ERROR, reads: [] };
          this.features.push(feature);
          this.entries.set(name, { kind: 'feature', feature, state: 'todo' });
          break;
        }
        case 'component':
          this.componentDecls.push(it);
          this.entries.set(name, { kind: 'component', decl: it, component: null });
          break;
        case 'output': {
          const output: CheckedOutput = {
            name,
            decl: it,
            expr: it.value,
            type: ERROR,
            declared: null,
            components: [],
            reads: [],
            trained: null,
          };
          this.outputs.push(output);
          this.entries.set(name, { kind: 'output', output, state: 'todo' });
          break;
        }
        default:
          ast.assertNever(it);
      }
    }
  }

  private declSpan(e: Entry): ast.Span {
    switch (e.kind) {
      case 'input':
        return spanOf(e.input.decl.name);
      case 'feature':
        return spanOf(e.feature.decl.name);
      case 'component':
        return spanOf(e.decl.name);
      case 'output':
        return spanOf(e.output.decl.name);
    }
  }

  private namesOf(...kinds: Entry['kind'][]): string[] {
    return [...this.entries].filter(([, e]) => kinds.includes(e.kind)).map(([n]) => n);
  }

  // ---- inputs ----

  private checkInput(d: ast.InputDecl): CheckedInput {
    const name = d.name?.name ?? '';
    const declared = isObj(d.type) ? this.typeRef(d.type) : ERROR;
    const seen = new Map<string, ast.InputModifier>();
    const mods = Array.isArray(d.modifiers) ? d.modifiers.filter(isObj) : [];
    for (const m of mods) {
      if (seen.has(m.kind)) {
        const word = m.kind === 'range' ? 'in' : m.kind;
        this.report('duplicateModifier', m.span, `'${word}' is given twice on input '${name}'`, 'keep one');
        continue;
      }
      seen.set(m.kind, m);
    }
    const rangeMod = seen.get('range') as ast.RangeModifier | undefined;
    const defMod = seen.get('default') as ast.DefaultModifier | undefined;
    const reqMod = seen.get('required') as ast.RequiredModifier | undefined;
    const unkMod = seen.get('unknown') as ast.UnknownModifier | undefined;

    if (defMod !== undefined && reqMod !== undefined) {
      const later = defMod.span.start > reqMod.span.start ? defMod : reqMod;
      this.report(
        'defaultAndRequired',
        later.span,
        `input '${name}' has both 'default' and 'required'`,
        "a required input is never substituted: keep 'required' to reject rows, or 'default' to fill them",
      );
    }

    const range = rangeMod === undefined ? null : this.checkRange(name, declared, rangeMod);
    const def = defMod === undefined ? null : this.checkDefault(name, declared, range, defMod);
    const unknown = this.checkUnknown(name, declared, unkMod);
    const required = reqMod !== undefined;
    if (required && declared.kind === 'bag')
      this.report(
        'defaultNeverMissing',
        reqMod.span,
        `input '${name}' is ${formatType(declared)} and never missing (an absent bag is the empty bag)`,
        "remove 'required'",
      );
    const canBeMissing = declared.kind !== 'bag' && declared.kind !== 'entity' && declared.kind !== 'error';
    // A written but invalid default still counts: the error is reported once, not again per use.
    const optional = canBeMissing && !required && defMod === undefined;
    return {
      name,
      decl: d,
      declared,
      type: withOptional(declared, optional),
      optional,
      required,
      default: def,
      range,
      unknown,
      pii: seen.has('pii'),
    };
  }

  /** Resolves a written input type. */
  private typeRef(r: ast.TypeRef): Type {
    const name = r.name?.name ?? '';
    const params = Array.isArray(r.params) ? r.params.filter(isObj) : [];
    if (!has(INPUT_TYPES, name)) {
      this.report(
        'unknownType',
        spanOf(r.name, r.span),
        `unknown type '${name}'`,
        (has(TYPE_ALIASES, name) ? `did you mean '${TYPE_ALIASES[name]}'?` : undefined) ??
          didYouMean(name, Object.keys(INPUT_TYPES)) ??
          `types: ${Object.keys(INPUT_TYPES).join(', ')}`,
      );
      return ERROR;
    }
    const tn: InputTypeName = name;
    switch (INPUT_TYPES[tn].params) {
      case 'none':
        if (r.style !== 'none' || params.length > 0) {
          this.report('badTypeParams', r.span, `type '${tn}' takes no parameters`, `write '${tn}'`);
          return ERROR;
        }
        switch (tn) {
          case 'f32':
          case 'f64':
          case 'int':
            return num(tn);
          case 'bool':
            return bool();
          case 'string':
            return str();
          default:
            return { kind: 'entity' };
        }
      case 'labels': {
        if (r.style !== 'paren' || params.length === 0) {
          this.report(
            'badTypeParams',
            r.span,
            'category needs at least one label',
            'write category("a", "b", ...)',
          );
          return ERROR;
        }
        const labels: string[] = [];
        let ok = true;
        for (const p of params) {
          if (p.kind !== 'string') {
            this.report(
              'badTypeParams',
              p.span,
              'category labels must be strings',
              'write category("a", "b", ...)',
            );
            ok = false;
          } else if (labels.includes(p.value)) {
            this.report(
              'duplicateLabel',
              p.span,
              `label ${JSON.stringify(p.value)} is listed twice`,
              'keep one',
            );
            ok = false;
          } else labels.push(p.value);
        }
        return ok ? category(labels.length, labels) : ERROR;
      }
      case 'elem': {
        const p = params[0];
        const elem = p?.kind === 'type' && (p.params?.length ?? 0) === 0 ? p.name?.name : undefined;
        if (r.style !== 'angle' || params.length !== 1 || (elem !== 'string' && elem !== 'int')) {
          this.report(
            'badTypeParams',
            p === undefined || r.style !== 'angle' ? r.span : p.span,
            'bag needs an element type string or int',
            'write bag<string> or bag<int>',
          );
          return ERROR;
        }
        return { kind: 'bag', elem };
      }
      case 'elemAndSize': {
        const [e, n] = params;
        const elem = e?.kind === 'type' && (e.params?.length ?? 0) === 0 ? e.name?.name : undefined;
        if (r.style !== 'angle' || params.length !== 2 || (elem !== 'f32' && elem !== 'f64')) {
          this.report(
            'badTypeParams',
            params.length === 2 && e !== undefined ? e.span : r.span,
            'vector needs an element type (f32 or f64) and a length',
            'write vector<f32, 64>',
          );
          return ERROR;
        }
        if (n?.kind !== 'number' || !n.isInt || n.value < 1) {
          this.report(
            'badTypeParams',
            spanOf(n, r.span),
            'vector length must be an integer ≥ 1',
            'write vector<f32, 64>',
          );
          return ERROR;
        }
        return vector(elem, n.value);
      }
    }
  }

  private checkRange(name: string, t: Type, m: ast.RangeModifier): { lo: number; hi: number } | null {
    const lo = this.constant(m.lo);
    const hi = this.constant(m.hi);
    if (t.kind === 'error') return null;
    if (t.kind !== 'num' && t.kind !== 'vector') {
      this.report(
        'rangeOnNonNumeric',
        m.span,
        `input '${name}' is ${formatType(t)}; 'in [lo, hi]' needs a number or vector`,
        'remove the range',
      );
      return null;
    }
    let ok = true;
    for (const [b, c] of [
      [m.lo, lo],
      [m.hi, hi],
    ] as const) {
      if (c?.kind !== 'number') {
        this.report('rangeBound', spanOf(b, m.span), `range bounds of '${name}' must be number constants`);
        ok = false;
      } else if (t.kind === 'num' && t.num === 'int' && !Number.isInteger(c.value)) {
        this.report(
          'rangeBound',
          spanOf(b, m.span),
          `range bounds of int input '${name}' must be integers, got ${c.value}`,
        );
        ok = false;
      }
    }
    if (!ok || lo?.kind !== 'number' || hi?.kind !== 'number') return null;
    if (lo.value > hi.value) {
      this.report(
        'rangeOrder',
        m.span,
        `range of '${name}' is empty: ${lo.value} > ${hi.value}`,
        `write in [${this.file.text.slice(m.hi.span.start, m.hi.span.end)}, ${this.file.text.slice(m.lo.span.start, m.lo.span.end)}]`,
      );
      return null;
    }
    return { lo: lo.value, hi: hi.value };
  }

  private checkDefault(
    name: string,
    t: Type,
    range: { lo: number; hi: number } | null,
    m: ast.DefaultModifier,
  ): ConstValue | null {
    const span = spanOf(m.value, m.span);
    const v = unwrap(m.value);
    if (t.kind === 'error') {
      this.constant(m.value);
      return null;
    }
    const bad = (what: string, gotText?: string): null => {
      const got = gotText ?? this.file.text.slice(span.start, span.end).replace(/\s+/g, ' ').trim();
      const quoted = v?.kind === 'string' && v.value.trim() !== '' && Number.isFinite(Number(v.value));
      this.report(
        'badDefault',
        span,
        `default of input '${name}' must be ${what}, got ${got.length > 40 ? `${got.slice(0, 37)}...` : got}`,
        quoted && (t.kind === 'num' || t.kind === 'vector')
          ? `numbers are written without quotes: default ${v.value.trim()}`
          : undefined,
      );
      return null;
    };
    const inRange = (x: number, at: ast.Span): boolean => {
      if (range === null || (x >= range.lo && x <= range.hi)) return true;
      this.report(
        'defaultOutOfRange',
        at,
        `default ${x} of input '${name}' is outside its range [${range.lo}, ${range.hi}]`,
      );
      return false;
    };
    if (t.kind === 'bag' || t.kind === 'entity') {
      this.constant(m.value);
      const why =
        t.kind === 'bag' ? 'an absent bag is the empty bag' : 'an absent entity is the unknown entity';
      this.report(
        'defaultNeverMissing',
        m.span,
        `input '${name}' is ${formatType(t)} and never missing (${why})`,
        "remove 'default'",
      );
      return null;
    }
    if (t.kind === 'vector' && v?.kind === 'list') {
      const items = Array.isArray(v.items) ? v.items : [];
      const values: number[] = [];
      this.types.set(v, { kind: 'list', elem: num('f32'), length: items.length });
      for (const item of items) {
        const c = this.constant(item);
        if (c?.kind !== 'number') return bad(`a list of ${t.size} numbers`);
        if (!inRange(c.value, spanOf(item, span))) return null;
        values.push(c.value);
      }
      if (values.length !== t.size) return bad(`a list of ${t.size} numbers`, `${values.length} numbers`);
      return { kind: 'vector', values };
    }
    const c = this.constant(m.value);
    switch (t.kind) {
      case 'num':
        if (c?.kind !== 'number') return bad(`an ${t.num} constant`);
        if (t.num === 'int' && !Number.isInteger(c.value)) return bad('an integer');
        if (!inRange(c.value, span)) return null;
        return { kind: 'number', value: c.value };
      case 'vector':
        if (c?.kind !== 'number') return bad(`a number (for every element) or a list of ${t.size} numbers`);
        if (!inRange(c.value, span)) return null;
        return { kind: 'vector', values: new Array<number>(t.size).fill(c.value) };
      case 'bool':
        return c?.kind === 'bool' ? { kind: 'bool', value: c.value } : bad('true or false');
      case 'string':
        return c?.kind === 'string' ? { kind: 'string', value: c.value } : bad('a string constant');
      case 'category': {
        const labels = t.labels ?? [];
        if (c?.kind !== 'string')
          return bad(`one of its labels (${labels.map((l) => JSON.stringify(l)).join(', ')})`);
        const index = labels.indexOf(c.value);
        if (index < 0) {
          this.report(
            'defaultNotLabel',
            span,
            `default "${c.value}" is not a label of input '${name}'`,
            didYouMeanLabel(c.value, labels) ?? `labels: ${labelList(labels)}`,
          );
          return null;
        }
        return { kind: 'label', label: c.value, index };
      }
      default:
        return bad('a constant');
    }
  }

  private checkUnknown(name: string, t: Type, m: ast.UnknownModifier | undefined): UnknownRule | null {
    if (m === undefined) return t.kind === 'category' ? { kind: 'oov' } : null;
    const v = unwrap(m.value);
    if (v?.kind === 'name') {
      this.types.set(v, WORD);
      this.symbols.set(v, { kind: 'word', word: v.name });
    } else if (isObj(m.value)) this.constant(m.value);
    if (t.kind === 'error') return null;
    if (t.kind !== 'category') {
      this.report(
        'unknownOnNonCategory',
        m.span,
        `input '${name}' is ${formatType(t)}; 'unknown' applies to category inputs only`,
        "remove 'unknown'",
      );
      return null;
    }
    const labels = t.labels ?? [];
    if (v?.kind === 'name' && v.name === 'error') return { kind: 'error' };
    if (v?.kind === 'string') {
      const index = labels.indexOf(v.value);
      if (index >= 0) return { kind: 'label', label: v.value, index };
      this.report(
        'badUnknown',
        v.span,
        `"${v.value}" is not a label of input '${name}'`,
        didYouMeanLabel(v.value, labels) ??
          `labels: ${labelList(labels)}; leave 'unknown' out to give unknown values a slot of their own`,
      );
      return null;
    }
    this.report(
      'badUnknown',
      spanOf(m.value, m.span),
      `'unknown' of input '${name}' must be one of its labels or 'error'`,
      'write unknown "other" or unknown error',
    );
    return { kind: 'oov' };
  }

  /** Folds a constant expression, recording literal types; null when it is not a constant. */
  private constant(e: ast.Expr | null | undefined): Const | null {
    if (!isObj(e)) return null;
    const c = this.fold(e);
    return c;
  }

  private fold(e: ast.Expr): Const | null {
    const set = (c: Const | null): Const | null => {
      this.types.set(
        e,
        c === null
          ? ERROR
          : c.kind === 'number'
            ? num(c.isInt ? 'int' : 'f32')
            : c.kind === 'string'
              ? str()
              : bool(),
      );
      return c;
    };
    switch (e.kind) {
      case 'number':
        return set({ kind: 'number', value: e.value, isInt: e.isInt });
      case 'string':
        return set({ kind: 'string', value: e.value });
      case 'bool':
        return set({ kind: 'bool', value: e.value });
      case 'paren':
        return set(isObj(e.inner) ? this.fold(e.inner) : null);
      case 'unary': {
        const c = isObj(e.operand) ? this.fold(e.operand) : null;
        if (e.op === '-' && c?.kind === 'number')
          return set({ kind: 'number', value: -c.value, isInt: c.isInt });
        if (e.op === 'not' && c?.kind === 'bool') return set({ kind: 'bool', value: !c.value });
        return set(null);
      }
      case 'binary': {
        const a = isObj(e.left) ? this.fold(e.left) : null;
        const b = isObj(e.right) ? this.fold(e.right) : null;
        if (a?.kind !== 'number' || b?.kind !== 'number') return set(null);
        switch (e.op) {
          case '+':
            return set({ kind: 'number', value: a.value + b.value, isInt: a.isInt && b.isInt });
          case '-':
            return set({ kind: 'number', value: a.value - b.value, isInt: a.isInt && b.isInt });
          case '*':
            return set({ kind: 'number', value: a.value * b.value, isInt: a.isInt && b.isInt });
          case '/':
            return b.value === 0
              ? set(null)
              : set({ kind: 'number', value: a.value / b.value, isInt: false });
          default:
            return set(null);
        }
      }
      case 'list':
      case 'name':
      case 'if':
      case 'call':
        return null;
      default:
        return null;
    }
  }

  // ---- features ----

  private inferFeature(entry: Entry | undefined, f: CheckedFeature, ref: ast.NameRef | null): Type {
    if (entry?.kind !== 'feature') return ERROR;
    if (entry.state === 'done') return f.type;
    if (entry.state === 'active') {
      const i = this.stack.indexOf(f.name);
      const path = [...this.stack.slice(i), f.name].join(' -> ');
      this.report(
        'featureCycle',
        spanOf(ref, spanOf(f.decl.name)),
        `feature '${f.name}' depends on itself: ${path}`,
      );
      return ERROR;
    }
    entry.state = 'active';
    this.stack.push(f.name);
    const ctx = this.ctx('feature');
    f.type = this.expr(f.expr, ctx);
    f.reads = [...ctx.reads];
    this.stack.pop();
    entry.state = 'done';
    this.featureOrder.push(f);
    return f.type;
  }

  // ---- expressions ----

  private ctx(where: Where): Ctx {
    return { where, reads: new Set(), components: [] };
  }

  /** Infers the type of `e`, recording it; reports what is wrong inside. */
  private expr(e: ast.Expr | null | undefined, ctx: Ctx): Type {
    if (!isObj(e)) return ERROR;
    const t = this.infer(e, ctx);
    this.types.set(e, t);
    return t;
  }

  private infer(e: ast.Expr, ctx: Ctx): Type {
    switch (e.kind) {
      case 'number':
        return num(e.isInt ? 'int' : 'f32');
      case 'string':
        return str();
      case 'bool':
        return bool();
      case 'name':
        return this.name(e, ctx);
      case 'paren':
        return this.expr(e.inner, ctx);
      case 'list':
        for (const it of Array.isArray(e.items) ? e.items : []) this.expr(it, ctx);
        this.report(
          'listNotAllowed',
          e.span,
          'a list is not a value here',
          'lists are written only as constant arguments: bucketize boundaries, lookup labels, mlp hidden sizes',
        );
        return ERROR;
      case 'unary':
        return this.unary(e, ctx);
      case 'binary':
        return this.binary(e, ctx);
      case 'if':
        return this.ifExpr(e, ctx);
      case 'call':
        return this.call(e, ctx);
      default:
        return ERROR;
    }
  }

  private name(e: ast.NameRef, ctx: Ctx): Type {
    const entry = this.entries.get(e.name);
    if (entry === undefined) {
      const visible =
        ctx.where === 'output'
          ? this.namesOf('input', 'feature', 'component')
          : this.namesOf('input', 'feature');
      const guess = suggestion(e.name, visible);
      // The misspelt name was meant to use `guess`: do not also warn that it is unused.
      if (guess !== undefined) this.used.add(guess);
      this.report(
        'unknownName',
        e.span,
        `unknown name '${e.name}'`,
        guess === undefined ? undefined : `did you mean '${guess}'?`,
      );
      return ERROR;
    }
    this.used.add(e.name);
    switch (entry.kind) {
      case 'input': {
        this.symbols.set(e, { kind: 'input', input: entry.input });
        ctx.reads.add(e.name);
        if (entry.input.type.kind === 'entity') {
          this.report(
            'entityAsValue',
            e.span,
            `'${e.name}' is an entity; it can only be used after 'per'`,
            `write component c = linear(...) per ${e.name}`,
          );
          return ERROR;
        }
        return entry.input.type;
      }
      case 'feature':
        this.symbols.set(e, { kind: 'feature', feature: entry.feature });
        ctx.reads.add(e.name);
        return this.inferFeature(entry, entry.feature, e);
      case 'component': {
        if (entry.component !== null) this.symbols.set(e, { kind: 'component', component: entry.component });
        if (ctx.where !== 'output') {
          this.report(
            'componentOutsideOutput',
            e.span,
            `component '${e.name}' can only be used in an output, not in a ${ctx.where}`,
            ctx.where === 'feature'
              ? `features are computed before components; use '${e.name}' in an output, e.g. output score = sigmoid(${e.name})`
              : 'components combine only in outputs: add both to one output, e.g. sigmoid(a + b)',
          );
          return ERROR;
        }
        if (!ctx.components.includes(e.name)) ctx.components.push(e.name);
        if (entry.component === null || this.shapeless.has(e.name)) return ERROR;
        const k = entry.component.options.classes;
        return k === null ? num('f32') : vector('f32', k);
      }
      case 'output':
        this.symbols.set(e, { kind: 'output', output: entry.output });
        if (ctx.where !== 'output') {
          this.report(
            'outputReference',
            e.span,
            `output '${e.name}' cannot be used in a ${ctx.where}`,
            'features and components read inputs and features; move the shared part into a feature',
          );
          return ERROR;
        }
        ctx.reads.add(e.name);
        return this.inferOutput(entry, e);
    }
  }

  /** `'emb'` for a name, or the source text (shortened) for anything else. */
  private desc(e: ast.Expr | null | undefined): string {
    if (!isObj(e)) return "''";
    const u = unwrap(e) ?? e;
    if (u.kind === 'name') return `'${u.name}'`;
    let text = this.file.text.slice(e.span.start, e.span.end).replace(/\s+/g, ' ').trim();
    if (text.length > 40) text = `${text.slice(0, 37)}...`;
    return `'${text}'`;
  }

  /** Checks that `t` may be used as a plain value (not sparse, list or word); reports otherwise. */
  private plainValue(e: ast.Expr, t: Type): boolean {
    if (t.kind === 'sparse') {
      this.report(
        'sparseAsValue',
        e.span,
        `${this.desc(e)} is ${formatType(t)}; sparse values can only be component features`,
        `pass it directly to a component: linear(..., ${this.desc(e).slice(1, -1)})`,
      );
      return false;
    }
    return t.kind !== 'error';
  }

  /** Reports why `t` is not a number/vector operand of `what`; returns whether it is one. */
  private numericOperand(e: ast.Expr, t: Type, what: string): boolean {
    if (!this.plainValue(e, t)) return false;
    if (isNumeric(t)) return true;
    const hints: Partial<Record<Type['kind'], string>> = {
      bool: `write if ${this.desc(e).slice(1, -1)} then 1 else 0`,
      category: 'use onehot(...) as a component feature, or compare it with == "label"',
      string: 'use length(s), or hash/lookup/vocab to make it categorical',
      bag: 'use count(bag) or overlap(a, b)',
    };
    this.report(
      'operandType',
      e.span,
      `${what} needs numbers, but ${this.desc(e)} is ${formatType(t)}`,
      hints[t.kind],
    );
    return false;
  }

  /** Shapes of two numeric operands combined elementwise (broadcasting scalars); null on mismatch. */
  private combine(a: ast.Expr, at: Type, b: ast.Expr, bt: Type, float: boolean): Type | null {
    if (!isNumeric(at) || !isNumeric(bt)) return null;
    let k: NumKind = promote(elemOf(at), elemOf(bt));
    if (float) k = toFloat(k);
    const optional = isOptional(at) || isOptional(bt);
    if (at.kind === 'vector' && bt.kind === 'vector' && at.size !== bt.size) {
      // Two multiclass margins: say it in terms of the components' classes.
      if (this.componentRefs(a).length > 0 && this.componentRefs(b).length > 0) {
        this.report(
          'linkClasses',
          b.span,
          `components combined in one output need the same classes: ${this.desc(a)} has ${at.size} classes but ${this.desc(b)} has ${bt.size}`,
          'give every component in the sum the same classes = k',
        );
        return null;
      }
      this.report(
        'vectorLength',
        b.span,
        `vector lengths differ: ${this.desc(a)} is ${formatType(at)} but ${this.desc(b)} is ${formatType(bt)}`,
      );
      return null;
    }
    if (at.kind === 'vector') return vector(toFloat(k), at.size, optional);
    if (bt.kind === 'vector') return vector(toFloat(k), bt.size, optional);
    return num(k, optional);
  }

  private unary(e: ast.UnaryExpr, ctx: Ctx): Type {
    const t = this.expr(e.operand, ctx);
    if (t.kind === 'error' || !isObj(e.operand)) return ERROR;
    if (e.op === 'not') {
      if (!this.plainValue(e.operand, t)) return ERROR;
      if (t.kind === 'bool') return t;
      this.report(
        'operandType',
        e.operand.span,
        `'not' needs a bool, but ${this.desc(e.operand)} is ${formatType(t)}`,
      );
      return ERROR;
    }
    if (!this.numericOperand(e.operand, t, "'-'")) return ERROR;
    return t;
  }

  private binary(e: ast.BinaryExpr, ctx: Ctx): Type {
    const lt = this.expr(e.left, ctx);
    const rt = this.expr(e.right, ctx);
    if (lt.kind === 'error' || rt.kind === 'error' || !isObj(e.left) || !isObj(e.right)) return ERROR;
    const { left, right, op } = e;
    switch (op) {
      case '+':
      case '-':
      case '*':
      case '/': {
        const okL = this.numericOperand(left, lt, `'${op}'`);
        const okR = this.numericOperand(right, rt, `'${op}'`);
        if (!okL || !okR) return ERROR;
        return this.combine(left, lt, right, rt, op === '/') ?? ERROR;
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        let ok = true;
        for (const [x, t] of [
          [left, lt],
          [right, rt],
        ] as const) {
          if (!this.plainValue(x, t)) ok = false;
          else if (t.kind === 'vector') {
            this.report(
              'vectorAsScalar',
              x.span,
              `${this.desc(x)} is ${formatType(t)} but '${op}' compares scalars`,
              'compare one element, or reduce it with sum(v) / dot(a, b)',
            );
            ok = false;
          } else if (t.kind !== 'num') {
            this.report(
              'operandType',
              x.span,
              `'${op}' needs numbers, but ${this.desc(x)} is ${formatType(t)}`,
            );
            ok = false;
          }
        }
        return ok ? bool(isOptional(lt) || isOptional(rt)) : ERROR;
      }
      case '==':
      case '!=':
        return this.equality(e, lt, rt);
      case 'and':
      case 'or': {
        let ok = true;
        for (const [x, t] of [
          [left, lt],
          [right, rt],
        ] as const) {
          if (!this.plainValue(x, t)) ok = false;
          else if (t.kind !== 'bool') {
            this.report(
              'operandType',
              x.span,
              `'${op}' needs bools, but ${this.desc(x)} is ${formatType(t)}`,
            );
            ok = false;
          }
        }
        return ok ? bool(isOptional(lt) || isOptional(rt)) : ERROR;
      }
      default:
        return ERROR;
    }
  }

  private equality(e: ast.BinaryExpr, lt: Type, rt: Type): Type {
    const { left, right, op } = e;
    if (!this.plainValue(left, lt) || !this.plainValue(right, rt)) return ERROR;
    const optional = isOptional(lt) || isOptional(rt);
    for (const [x, t] of [
      [left, lt],
      [right, rt],
    ] as const) {
      if (t.kind === 'vector') {
        this.report(
          'vectorAsScalar',
          x.span,
          `${this.desc(x)} is ${formatType(t)} but '${op}' compares scalars`,
        );
        return ERROR;
      }
    }
    // category == "label": the label must belong to the vocabulary.
    const cat =
      lt.kind === 'category'
        ? { t: lt, other: right, ot: rt }
        : rt.kind === 'category'
          ? { t: rt, other: left, ot: lt }
          : null;
    if (cat !== null && cat.t.kind === 'category') {
      const lit = unwrap(cat.other);
      if (lit?.kind === 'string') {
        if (cat.t.labels !== null && !cat.t.labels.includes(lit.value)) {
          const catExpr = cat.other === right ? left : right;
          this.report(
            'notALabel',
            lit.span,
            `"${lit.value}" is not a label of ${this.desc(catExpr)}`,
            didYouMeanLabel(lit.value, cat.t.labels) ?? `labels: ${labelList(cat.t.labels)}`,
          );
          return ERROR;
        }
        return bool(optional);
      }
      if (cat.ot.kind === 'category' && sameType(lt, rt, true)) return bool(optional);
    }
    const ok =
      (lt.kind === 'num' && rt.kind === 'num') ||
      (lt.kind === 'bool' && rt.kind === 'bool') ||
      (lt.kind === 'string' && rt.kind === 'string');
    if (ok) return bool(optional);
    this.report(
      'operandType',
      e.span,
      `cannot compare ${this.desc(left)} (${formatType(lt)}) with ${this.desc(right)} (${formatType(rt)})`,
      lt.kind === 'category' || rt.kind === 'category'
        ? 'compare a category with one of its labels: x == "label"'
        : undefined,
    );
    return ERROR;
  }

  private ifExpr(e: ast.IfExpr, ctx: Ctx): Type {
    const ct = this.expr(e.cond, ctx);
    const at = this.expr(e.then, ctx);
    const bt = this.expr(e.else, ctx);
    let ok = true;
    if (isObj(e.cond) && ct.kind !== 'error') {
      if (!this.plainValue(e.cond, ct)) ok = false;
      else if (ct.kind === 'vector') {
        this.report(
          'vectorAsScalar',
          e.cond.span,
          `${this.desc(e.cond)} is ${formatType(ct)} but a condition must be a scalar bool`,
        );
        ok = false;
      } else if (ct.kind !== 'bool') {
        this.report(
          'operandType',
          e.cond.span,
          `condition must be a bool, but ${this.desc(e.cond)} is ${formatType(ct)}`,
        );
        ok = false;
      }
    } else ok = false;
    if (!isObj(e.then) || !isObj(e.else) || at.kind === 'error' || bt.kind === 'error') return ERROR;
    const u = this.unify(e.then, at, e.else, bt, 'if');
    if (!ok || u === null) return ERROR;
    return withOptional(u, isOptional(u) || isOptional(ct));
  }

  /** The common type of two alternatives (`if` branches, `coalesce` arguments); null after a report. */
  private unify(a: ast.Expr, at: Type, b: ast.Expr, bt: Type, what: 'if' | 'coalesce'): Type | null {
    if (!this.plainValue(a, at) || !this.plainValue(b, bt)) return null;
    const optional = isOptional(at) || isOptional(bt);
    if (isNumeric(at) && isNumeric(bt)) {
      // coalesce(v, 0) fills a vector with a scalar; `if` branches must have one shape.
      const fill = what === 'coalesce' && at.kind === 'vector' && bt.kind === 'num';
      if (at.kind !== bt.kind && !fill) {
        this.report(
          'branchMismatch',
          b.span,
          `${what === 'if' ? "'if' branches" : "coalesce's arguments"} differ: ${this.desc(a)} is ${formatType(at)} but ${this.desc(b)} is ${formatType(bt)}`,
        );
        return null;
      }
      return this.combine(a, at, b, bt, false);
    }
    if (at.kind === 'category') {
      const lit = unwrap(b);
      if (lit?.kind === 'string') {
        if (at.labels !== null && !at.labels.includes(lit.value)) {
          this.report(
            'notALabel',
            lit.span,
            `"${lit.value}" is not a label of ${this.desc(a)}`,
            didYouMeanLabel(lit.value, at.labels) ?? `labels: ${labelList(at.labels)}`,
          );
          return null;
        }
        return withOptional(at, optional);
      }
    }
    if (at.kind === bt.kind && sameType(at, bt, true)) return withOptional(at, optional);
    this.report(
      'branchMismatch',
      b.span,
      `${what === 'if' ? "'if' branches" : "coalesce's arguments"} differ: ${this.desc(a)} is ${formatType(at)} but ${this.desc(b)} is ${formatType(bt)}`,
    );
    return null;
  }

  // ---- calls ----

  private call(e: ast.CallExpr, ctx: Ctx): Type {
    const fname = e.callee?.name ?? '';
    const args = Array.isArray(e.args) ? e.args.filter(isObj) : [];
    const spec: FunctionSpec | undefined = has(FUNCTIONS, fname) ? FUNCTIONS[fname] : undefined;
    if (spec === undefined) {
      for (const a of args) this.looseArg(a.value, ctx);
      const at = spanOf(e.callee, e.span);
      if (has(COMPONENT_KINDS, fname))
        this.report(
          'kindAsFunction',
          at,
          `'${fname}' is a component kind, not a function`,
          `declare it as 'component NAME = ${fname}(...)' and use NAME in an output`,
        );
      else
        this.report(
          'unknownFunction',
          at,
          `unknown function '${fname}'`,
          didYouMean(fname, Object.keys(FUNCTIONS)),
        );
      return ERROR;
    }
    if (spec.outputsOnly === true && ctx.where !== 'output') {
      this.report(
        'calibrationOutsideOutput',
        spanOf(e.callee, e.span),
        `'${fname}' calibrates an output's probability; it can only be used in an output`,
        `write output NAME = ${fname}(p), where p is an output trained with objective logistic`,
      );
      for (const a of args) this.looseArg(a.value, ctx);
      return ERROR;
    }

    // Bind arguments to parameters: positional first, then by name.
    const bound = new Map<ParamSpec, ast.Expr>();
    const rest: ast.Expr[] = [];
    const positional = spec.params.filter((p) => p.named !== true);
    let extra = false;
    let pos = 0;
    for (const a of args) {
      if (a.name !== null && a.name !== undefined) {
        const p = spec.params.find((q) => q.name === a.name?.name);
        if (p === undefined) {
          this.report(
            'badNamedArg',
            a.name.span,
            `${fname} has no parameter '${a.name.name}'`,
            didYouMean(
              a.name.name,
              spec.params.map((q) => q.name),
            ) ?? `parameters: ${spec.params.map((q) => q.name).join(', ')}`,
          );
          this.looseArg(a.value, ctx);
          extra = true;
        } else if (bound.has(p)) {
          this.report('badNamedArg', a.name.span, `'${p.name}' of ${fname} is given twice`);
          this.looseArg(a.value, ctx);
          extra = true;
        } else bound.set(p, a.value);
        continue;
      }
      const p = positional[pos++];
      if (p !== undefined) bound.set(p, a.value);
      else if (spec.rest !== undefined) rest.push(a.value);
      else {
        this.looseArg(a.value, ctx);
        if (!extra)
          this.report(
            'arity',
            a.span,
            `${fname} takes ${this.arityText(spec)}, got ${args.length}`,
            `${fname}(${spec.params.map((q) => (q.named === true ? `${q.name} = ...` : q.name)).join(', ')})`,
          );
        extra = true;
      }
    }
    const missing = spec.params.filter((p) => p.optional !== true && !bound.has(p));
    // clip takes x, or x with both bounds.
    const clipHalf = spec.clipToRange === true && bound.size === 2;
    if ((missing.length > 0 || clipHalf) && !extra) {
      this.report(
        'arity',
        spanOf(e.callee, e.span),
        `${fname} takes ${this.arityText(spec)}, got ${args.length}`,
        `${fname}(${spec.params
          .filter((q) => q.named !== true)
          .map((q) => q.name)
          .join(', ')}${spec.rest ? ', ...' : ''})`,
      );
    }

    // Check each argument against its parameter.
    let ok = missing.length === 0 && !extra && !clipHalf;
    const types: (Type | undefined)[] = [];
    const consts: (number | string[] | number[] | undefined)[] = [];
    spec.params.forEach((p, i) => {
      const a = bound.get(p);
      if (a === undefined) return;
      const r = this.arg(fname, p, a, ctx);
      if (r === null) ok = false;
      else {
        types[i] = r.t;
        consts[i] = r.c;
      }
    });
    const restTypes: Type[] = [];
    for (const a of rest) {
      const r = spec.rest === undefined ? null : this.arg(fname, spec.rest, a, ctx);
      if (r === null) ok = false;
      else restTypes.push(r.t);
    }
    if (!ok) return ERROR;
    if (spec.clipToRange === true && bound.size === 1 && !this.clipRange(bound.get(spec.params[0]!)!))
      return ERROR;
    if (spec.outputsOnly === true) this.recordCalibration(fname, e, bound.get(spec.params[0]!)!);
    return this.result(fname, spec, e, types, consts, restTypes, bound) ?? ERROR;
  }

  /** `platt(p)`: p must name an output; that it is trained with logistic is checked after training. */
  private recordCalibration(fname: string, call: ast.CallExpr, a: ast.Expr): void {
    const u = unwrap(a);
    const sym = u?.kind === 'name' ? this.symbols.get(u) : undefined;
    if (sym?.kind !== 'output') {
      this.report(
        'calibrationTarget',
        a.span,
        `${fname} calibrates a trained output; ${this.desc(a)} is not the name of an output`,
        `write ${fname}(p) where p is an output trained with objective logistic`,
      );
      return;
    }
    const inOutput = this.outputStack[this.outputStack.length - 1] ?? '';
    this.calibrations.push({ method: fname as Calibration, of: sym.output.name, in: inOutput, call });
  }

  /** After training is resolved: each calibrated output must be trained with objective logistic. */
  private checkCalibrations(): void {
    for (const c of this.calibrations) {
      const t = this.trains.find((x) => x.output === c.of);
      if (t !== undefined && t.objective.name === 'logistic') continue;
      const arg = c.call.args?.[0]?.value ?? c.call;
      this.report(
        'calibrationTarget',
        arg.span,
        t === undefined
          ? `${c.method} needs a trained output, but no train block trains '${c.of}'`
          : `${c.method} calibrates probabilities, but '${c.of}' is trained with objective ${t.objective.name}`,
        t === undefined
          ? `add train ${c.of} { label ...  objective logistic }`
          : `${c.method} maps probabilities to probabilities; calibrate an output trained with objective logistic`,
      );
    }
  }

  private arityText(spec: FunctionSpec): string {
    const req = spec.params.filter((p) => p.optional !== true && p.named !== true).length;
    const all = spec.params.filter((p) => p.named !== true).length;
    const n = (k: number): string => `${k} argument${k === 1 ? '' : 's'}`;
    if (spec.rest !== undefined) return `at least ${n(req)}`;
    if (spec.clipToRange === true) return `1 or ${n(all)}`;
    return req === all ? n(req) : `${req} to ${n(all)}`;
  }

  /** Types an argument that will not be used (unknown function, extra argument). */
  private looseArg(e: ast.Expr | null | undefined, ctx: Ctx): void {
    const u = unwrap(e);
    if (u?.kind === 'list') {
      for (const it of Array.isArray(u.items) ? u.items : []) this.expr(it, ctx);
      this.types.set(u, ERROR);
      if (e !== u && isObj(e)) this.types.set(e, ERROR);
    } else this.expr(e, ctx);
  }

  /** Checks one argument; returns its type (and constant value for constant parameters) or null. */
  private arg(
    fname: string,
    p: ParamSpec,
    a: ast.Expr,
    ctx: Ctx,
  ): { t: Type; c?: number | string[] | number[] } | null {
    const what = `${fname}'s '${p.name}'`;
    switch (p.kind) {
      case 'intConst': {
        const c = this.constant(a);
        if (c?.kind !== 'number' || !c.isInt || !Number.isInteger(c.value)) {
          if (c === null && unwrap(a)?.kind !== 'list') this.expr(a, ctx);
          const whole = c?.kind === 'number' && Number.isInteger(c.value) && Number.isSafeInteger(c.value);
          this.report(
            'badConstArg',
            a.span,
            `${what} must be an integer constant, got ${this.desc(a)}`,
            whole
              ? `${this.desc(a)} is a float literal; write the integer ${groupDigits(c.value)}`
              : undefined,
          );
          return null;
        }
        if ((p.min !== undefined && c.value < p.min) || (p.max !== undefined && c.value > p.max)) {
          const range = p.max === undefined ? `≥ ${p.min}` : `in ${p.min ?? '-∞'}..${p.max}`;
          this.report('badConstArg', a.span, `${what} must be ${range}, got ${c.value}`);
          return null;
        }
        return { t: num('int'), c: c.value };
      }
      case 'increasingList':
      case 'labelList': {
        const list = unwrap(a);
        if (list?.kind !== 'list') {
          this.expr(a, ctx);
          this.report(
            'badConstArg',
            a.span,
            `${what} must be ${ARG_KINDS[p.kind]}`,
            p.kind === 'labelList' ? `write ${fname}(x, ["a", "b"])` : `write ${fname}(x, [0, 10, 100])`,
          );
          return null;
        }
        const items = Array.isArray(list.items) ? list.items.filter(isObj) : [];
        const elem = p.kind === 'labelList' ? str() : num('f32');
        const lt: Type = { kind: 'list', elem, length: items.length };
        this.types.set(list, lt);
        if (a !== list) this.types.set(a, lt);
        if (items.length === 0) {
          this.report('badConstArg', list.span, `${what} must not be empty`);
          return null;
        }
        if (p.kind === 'labelList') {
          const labels: string[] = [];
          for (const it of items) {
            const c = this.constant(it);
            if (c?.kind !== 'string') {
              this.report('badConstArg', it.span, `${what} must list string constants`);
              return null;
            }
            if (labels.includes(c.value)) {
              this.report(
                'duplicateLabel',
                it.span,
                `label ${JSON.stringify(c.value)} is listed twice`,
                'keep one',
              );
              return null;
            }
            labels.push(c.value);
          }
          return { t: lt, c: labels };
        }
        const values: number[] = [];
        for (const it of items) {
          const c = this.constant(it);
          if (c?.kind !== 'number') {
            this.report('badConstArg', it.span, `${what} must list number constants`);
            return null;
          }
          const prev = values[values.length - 1];
          if (prev !== undefined && c.value <= prev) {
            this.report(
              'badConstArg',
              it.span,
              `${what} must be strictly increasing: ${c.value} after ${prev}`,
            );
            return null;
          }
          values.push(c.value);
        }
        return { t: lt, c: values };
      }
      default:
        break;
    }
    if (unwrap(a)?.kind === 'list') {
      this.expr(a, ctx); // reports listNotAllowed
      return null;
    }
    const t = this.expr(a, ctx);
    if (t.kind === 'error') return null;
    if (!this.plainValue(a, t)) return null;
    const fail = (code: CheckCode, hint?: string): null => {
      this.report(
        code,
        a.span,
        `${what} must be ${ARG_KINDS[p.kind]}, but ${this.desc(a)} is ${formatType(t)}`,
        hint,
      );
      return null;
    };
    switch (p.kind) {
      case 'numeric':
        return this.numericOperand(a, t, `${fname}`) ? { t } : null;
      case 'scalar':
        if (t.kind === 'num') return { t };
        if (t.kind === 'vector')
          return fail('vectorAsScalar', 'reduce the vector first, e.g. sum(v) or dot(a, b)');
        return fail('argType');
      case 'vector':
        if (t.kind === 'vector') return { t };
        return fail(
          'argType',
          fname === 'softmax' ? "components give a vector margin with 'classes = k'" : undefined,
        );
      case 'value':
        return t.kind === 'list' || t.kind === 'word' ? fail('argType') : { t };
      case 'string':
        return t.kind === 'string' ? { t } : fail('argType');
      case 'bag':
        return t.kind === 'bag'
          ? { t }
          : fail(
              'argType',
              t.kind === 'string'
                ? `use tokens(${this.desc(a).slice(1, -1)}) to split text into a bag`
                : undefined,
            );
      case 'category':
        if (t.kind === 'category') return { t };
        if (t.kind === 'string')
          return fail('argType', 'make it a category first: lookup(s, ["a", "b"]) or vocab(s, max)');
        if (t.kind === 'num')
          return fail('argType', 'make it a category first: bucketize(x, [...]) or quantiles(x, n)');
        return fail('argType');
      case 'hashable':
        if (
          t.kind === 'string' ||
          t.kind === 'bag' ||
          t.kind === 'category' ||
          (t.kind === 'num' && t.num === 'int')
        )
          return { t };
        if (t.kind === 'num')
          return fail('argType', 'bucket floats first: bucketize(x, [...]) or quantiles(x, n)');
        return fail('argType');
      case 'crossable':
        return t.kind === 'string' || t.kind === 'bag' || t.kind === 'category' ? { t } : fail('argType');
    }
  }

  /** `clip(x)`: x must name an input with a declared range. */
  private clipRange(a: ast.Expr): boolean {
    const u = unwrap(a);
    const sym = u?.kind === 'name' ? this.symbols.get(u) : undefined;
    if (sym?.kind === 'input' && sym.input.range !== null) return true;
    const hint =
      sym?.kind === 'input'
        ? `add 'in [lo, hi]' to input '${sym.input.name}', or write clip(x, lo, hi)`
        : 'clip(x) with one argument needs an input name directly; write clip(x, lo, hi)';
    this.report('clipWithoutRange', a.span, `${this.desc(a)} has no declared range to clip to`, hint);
    return false;
  }

  private result(
    fname: string,
    spec: FunctionSpec,
    e: ast.CallExpr,
    types: (Type | undefined)[],
    consts: (number | string[] | number[] | undefined)[],
    restTypes: Type[],
    bound: Map<ParamSpec, ast.Expr>,
  ): Type | null {
    const t0 = types[0] ?? ERROR;
    const r = spec.result;
    const anyOptional = types.some((t) => t !== undefined && isOptional(t)) || restTypes.some(isOptional);
    switch (r.rule) {
      case 'elementwise': {
        if (!isNumeric(t0)) return null;
        const k = r.float ? toFloat(elemOf(t0)) : elemOf(t0);
        const optional = anyOptional && fname !== 'clip' ? true : isOptional(t0) || anyOptional;
        return t0.kind === 'vector' ? vector(toFloat(k), t0.size, optional) : num(k, optional);
      }
      case 'combine': {
        const a = bound.get(spec.params[0]!)!;
        const b = bound.get(spec.params[1]!)!;
        return this.combine(a, t0, b, types[1] ?? ERROR, false);
      }
      case 'fixed': {
        const optional = r.keepOptional && isOptional(t0);
        switch (r.type) {
          case 'string':
            return str(optional);
          case 'bagString':
            return { kind: 'bag', elem: 'string' };
          case 'int':
            return num('int', optional);
          case 'f32':
            return num('f32', optional);
          case 'bool':
            if (fname === 'is_missing' && !isOptional(t0))
              this.warnNeverMissing(bound.get(spec.params[0]!)!, t0, fname);
            return bool(optional);
        }
        return null;
      }
      case 'coalesce': {
        const a = bound.get(spec.params[0]!)!;
        const b = bound.get(spec.params[1]!)!;
        if (!isOptional(t0)) this.warnNeverMissing(a, t0, fname);
        const u = this.unify(a, withOptional(t0, false), b, types[1] ?? ERROR, 'coalesce');
        return u;
      }
      case 'onehot':
        return t0.kind === 'category' ? sparse(t0.size) : null;
      case 'sparseOfConst': {
        const n = consts[r.arg];
        return typeof n === 'number' ? sparse(n) : null;
      }
      case 'categoryOfConst': {
        const c = consts[r.arg];
        const n = typeof c === 'number' ? c : Array.isArray(c) ? c.length : null;
        if (n === null) return null;
        const labels = r.named && Array.isArray(c) ? (c as string[]) : null;
        // Encoders never return an optional: a missing argument lands in the OOV slot.
        return category(n + r.plus, labels);
      }
      case 'concat': {
        const all = [t0, ...restTypes];
        let k: NumKind = 'int';
        let size = 0;
        for (const t of all) {
          if (!isNumeric(t)) return null;
          k = promote(k, elemOf(t));
          size += featureWidth(t);
        }
        return vector(toFloat(k), size, all.some(isOptional));
      }
      case 'reduce': {
        if (t0.kind !== 'vector') return null;
        const t1 = types[1];
        if (t1 !== undefined) {
          if (t1.kind !== 'vector') return null;
          if (t1.size !== t0.size) {
            const a = bound.get(spec.params[0]!)!;
            const b = bound.get(spec.params[1]!)!;
            this.report(
              'vectorLength',
              b.span,
              `vector lengths differ: ${this.desc(a)} is ${formatType(t0)} but ${this.desc(b)} is ${formatType(t1)}`,
            );
            return null;
          }
          return num(toFloat(promote(t0.elem, t1.elem)), isOptional(t0) || isOptional(t1));
        }
        return num(t0.elem, isOptional(t0));
      }
    }
    void e;
    return null;
  }

  private warnNeverMissing(a: ast.Expr, t: Type, fname: string): void {
    if (t.kind === 'error') return;
    const u = unwrap(a);
    const sym = u?.kind === 'name' ? this.symbols.get(u) : undefined;
    const input = sym?.kind === 'input' ? sym.input : null;
    const d = this.desc(a);
    const why =
      t.kind === 'bag'
        ? `${d} is a bag, and an absent bag is the empty bag`
        : input !== null
          ? `input '${input.name}' ${input.required ? "is 'required'" : "has a 'default'"}`
          : `${d} is computed only from values that are never missing`;
    const effect =
      fname === 'is_missing' ? `is_missing(${d.slice(1, -1)}) is always false` : `${fname} has no effect`;
    const hint =
      fname === 'coalesce'
        ? `write ${d.slice(1, -1)} directly`
        : input === null
          ? undefined
          : input.required
            ? `rows without '${input.name}' are rejected before is_missing could see them`
            : `the default fills a missing value before is_missing sees it; remove 'default' from '${input.name}' to detect missing values`;
    this.report('neverMissing', a.span, `${effect}: ${why}`, hint);
  }

  // ---- components ----

  private checkComponent(d: ast.ComponentDecl): void {
    const name = d.name?.name ?? '';
    const entry = this.entries.get(name);
    const call = isObj(d.value) ? d.value : null;
    const kindName = call?.callee?.name ?? '';
    const args = Array.isArray(call?.args) ? call.args.filter(isObj) : [];
    const ctx = this.ctx('component');
    const kindSpan = spanOf(call?.callee, spanOf(call, d.span));
    if (!has(COMPONENT_KINDS, kindName)) {
      const kinds = Object.keys(COMPONENT_KINDS);
      if (has(FUNCTIONS, kindName))
        this.report(
          'unknownKind',
          kindSpan,
          `'${kindName}' is a function, not a component kind`,
          `component kinds: ${kinds.join(', ')}; functions belong in features`,
        );
      else
        this.report(
          'unknownKind',
          kindSpan,
          `unknown component kind '${kindName}'`,
          didYouMean(kindName, kinds) ?? `component kinds: ${kinds.join(', ')}`,
        );
      for (const a of args) if (a.name === null || a.name === undefined) this.looseArg(a.value, ctx);
      this.usePer(d);
      return;
    }
    const kind: ComponentKind = kindName;
    if (name === 'search' || has(TRAIN_SETTINGS, name))
      this.report(
        'componentNamedLikeSetting',
        spanOf(d.name),
        `component '${name}' is named like the train setting '${name}', so no train block could configure it`,
        'rename the component',
      );
    const spec = COMPONENT_KINDS[kind];

    // features
    const features: ComponentFeature[] = [];
    let offset = 0;
    for (const a of args) {
      if (a.name !== null && a.name !== undefined) continue;
      const t = this.expr(a.value, ctx);
      if (!isObj(a.value)) continue;
      this.componentFeature(kind, a.value, t);
      const width = featureWidth(t);
      const text = this.file.text.slice(a.value.span.start, a.value.span.end).replace(/\s+/g, ' ').trim();
      features.push({ expr: a.value, text, type: t, width, offset });
      offset += width;
    }

    // options
    const options: ComponentOptions = {
      classes: null,
      intercept: kind === 'linear',
      hidden: [],
      activation: kind === 'mlp' ? 'relu' : null,
    };
    const given = new Set<string>();
    for (const a of args) {
      if (a.name === null || a.name === undefined) continue;
      const opt = a.name.name;
      if (!has(spec.options, opt)) {
        const other = Object.entries(COMPONENT_KINDS).find(([, s]) => has(s.options, opt));
        this.report(
          'unknownOption',
          a.name.span,
          `unknown option '${opt}' for ${kind}`,
          didYouMean(opt, Object.keys(spec.options)) ??
            (other !== undefined
              ? `'${opt}' is an option of ${other[0]}`
              : `options of ${kind}: ${Object.keys(spec.options).join(', ')}`),
        );
        this.constant(a.value);
        continue;
      }
      if (given.has(opt)) {
        this.report('duplicateOption', a.name.span, `option '${opt}' is given twice`, 'keep one');
        continue;
      }
      given.add(opt);
      const lit = unwrap(a.value);
      if (opt === 'classes' && lit?.kind === 'number' && lit.value === 1) {
        // classes = 1 is the default single margin, not a one-class model.
        this.constant(a.value);
        this.report(
          'badOption',
          a.value.span,
          `option 'classes' of ${kind} must be an integer ≥ 2, got 1`,
          "a single margin is the default: remove 'classes = 1'",
        );
        this.shapeless.add(name);
        continue;
      }
      const v = this.value(spec.options[opt]!.spec, a.value, `option '${opt}' of ${kind}`, 'badOption');
      if (v === undefined) {
        // The margin's shape is unknown: outputs using the component get `error`, not a cascade.
        if (opt === 'classes') this.shapeless.add(name);
        continue;
      }
      if (opt === 'classes' && typeof v === 'number') options.classes = v;
      else if (opt === 'intercept' && typeof v === 'boolean') options.intercept = v;
      else if (opt === 'hidden' && Array.isArray(v)) options.hidden = v;
      else if (opt === 'activation' && typeof v === 'string') options.activation = v as Activation;
    }
    for (const [opt, o] of Object.entries(spec.options)) {
      if (o.required === true && !given.has(opt))
        this.report(
          'missingOption',
          kindSpan,
          `${kind} component '${name}' needs option '${opt}'`,
          opt === 'hidden' ? 'e.g. hidden = [64, 32]' : undefined,
        );
    }

    // A linear component without features is a learned constant (per entity with 'per').
    if (features.length === 0 && !(kind === 'linear' && options.intercept))
      this.report(
        'noFeatures',
        kindSpan,
        `component '${name}' has no features`,
        `write ${kind}(feature1, feature2, ...)`,
      );

    // per
    let per: string | null = null;
    if (isObj(d.per)) {
      if (!spec.per)
        this.report(
          'perNotAllowed',
          d.per.span,
          `only linear components can have 'per' (random effects); '${name}' is ${kind}`,
          `random effects are linear: add linear(...) per ${d.per.name} as its own component, and keep '${name}' global`,
        );
      per = this.usePer(d);
      if (!spec.per) per = null;
    }
    const component: CheckedComponent = {
      name,
      decl: d,
      kind,
      features,
      inputWidth: offset,
      options,
      outputWidth: options.classes ?? 1,
      per,
    };
    this.components.push(component);
    if (entry?.kind === 'component' && entry.decl === d) entry.component = component;
  }

  /** Resolves `per ENTITY`; returns the entity input's name or null after a report. */
  private usePer(d: ast.ComponentDecl): string | null {
    if (!isObj(d.per)) return null;
    const n = d.per.name;
    const entry = this.entries.get(n);
    if (entry === undefined) {
      const entities = this.inputs.filter((i) => i.declared.kind === 'entity').map((i) => i.name);
      const guess = suggestion(n, entities);
      if (guess !== undefined) this.used.add(guess);
      this.report(
        'unknownName',
        d.per.span,
        `unknown name '${n}'`,
        guess !== undefined
          ? `did you mean '${guess}'?`
          : entities.length === 0
            ? 'declare it: input NAME: entity'
            : undefined,
      );
      return null;
    }
    this.used.add(n);
    if (entry.kind !== 'input' || entry.input.declared.kind !== 'entity') {
      const what =
        entry.kind === 'input' ? `an input of type ${formatType(entry.input.declared)}` : `a ${entry.kind}`;
      this.report(
        'perNotEntity',
        d.per.span,
        `'per' needs an entity input, but '${n}' is ${what}`,
        entry.kind === 'input' && entry.input.declared.kind === 'category'
          ? `'per' takes an id such as input member_id: entity; for one weight per ${n} value, add onehot(${n}) as a feature`
          : 'declare it: input NAME: entity',
      );
      return null;
    }
    return n;
  }

  private componentFeature(kind: ComponentKind, e: ast.Expr, t: Type): void {
    if (t.kind === 'error') return;
    const spec = COMPONENT_KINDS[kind];
    const d = this.desc(e);
    switch (t.kind) {
      case 'string':
        this.report(
          'badFeature',
          e.span,
          `${d} is string; text is not a component feature`,
          `use hash(${d.slice(1, -1)}, buckets), lookup(${d.slice(1, -1)}, [...]) or vocab(${d.slice(1, -1)}, max)`,
        );
        return;
      case 'bag':
        this.report(
          'badFeature',
          e.span,
          `${d} is ${formatType(t)}; bags are not component features`,
          `use hash(${d.slice(1, -1)}, buckets) or count(${d.slice(1, -1)})`,
        );
        return;
      case 'list':
      case 'word':
      case 'entity':
        this.report('badFeature', e.span, `${d} is not a component feature`);
        return;
      case 'category':
        if (!spec.accepts.category)
          this.report(
            'badFeature',
            e.span,
            `${kind} does not take categories directly; ${d} is ${formatType(withOptional(t, false))}`,
            `use onehot(${d.slice(1, -1)})`,
          );
        return;
      case 'sparse':
        if (!spec.accepts.sparse) {
          // onehot(c): the category itself is what trees want.
          const u = unwrap(e);
          const inner = u?.kind === 'call' && u.callee?.name === 'onehot' ? u.args?.[0]?.value : undefined;
          this.report(
            'badFeature',
            e.span,
            `${kind} does not take sparse features; ${d} is ${formatType(t)}`,
            isObj(inner)
              ? `pass ${this.desc(inner)} itself: ${kind} splits on categories directly`
              : `${kind} splits on categories directly: pass the category itself`,
          );
        }
        return;
      default:
        break;
    }
    if (isOptional(t) && !spec.accepts.optional) {
      const u = unwrap(e);
      const sym = u?.kind === 'name' ? this.symbols.get(u) : undefined;
      const hint =
        sym?.kind === 'input'
          ? `add 'default' (or 'required') to input '${sym.input.name}', or use coalesce(${sym.input.name}, 0)`
          : `use coalesce(${d.slice(1, -1)}, 0), or give the inputs it reads a 'default'`;
      this.report(
        'optionalFeature',
        e.span,
        `${kind} does not accept optional features: ${d} (${formatType(t)}) may be missing`,
        hint,
      );
    }
  }

  // ---- option, setting and hyperparameter values ----

  /**
   * Reads a constant against a schema; records types/symbols of the value expression. Returns
   * undefined after reporting `code`.
   */
  private value(
    spec: ValueSpec,
    e: ast.Expr | null | undefined,
    what: string,
    code: CheckCode,
  ): HyperValue | number[] | Objective | undefined {
    if (!isObj(e)) return undefined;
    const u = unwrap(e) ?? e;
    const fail = (got?: string): undefined => {
      this.report(
        code,
        e.span,
        `${what} must be ${describeSpec(spec)}${got === undefined ? '' : `, got ${got}`}`,
      );
      return undefined;
    };
    const word = (): string | null => {
      if (u.kind !== 'name') return null;
      this.types.set(u, WORD);
      if (u !== e) this.types.set(e, WORD);
      this.symbols.set(u, { kind: 'word', word: u.name });
      return u.name;
    };
    switch (spec.type) {
      case 'int':
      case 'number': {
        const c = this.constant(e);
        if (c?.kind !== 'number') {
          if (c === null) this.markLoose(e);
          return fail(this.desc(e));
        }
        if (spec.type === 'int' && !(c.isInt && Number.isInteger(c.value))) return fail(String(c.value));
        if (!inSpec(spec, c.value)) return fail(String(c.value));
        return c.value;
      }
      case 'bool': {
        const c = this.constant(e);
        if (c?.kind !== 'bool') {
          if (c === null) this.markLoose(e);
          return fail(this.desc(e));
        }
        return c.value;
      }
      case 'enum': {
        const w = word();
        if (w === null) {
          this.markLoose(e);
          return fail(this.desc(e));
        }
        if (!spec.values.includes(w)) {
          this.report(
            code,
            e.span,
            `${what} must be ${describeSpec(spec)}, got '${w}'`,
            didYouMean(w, spec.values),
          );
          return undefined;
        }
        return w;
      }
      case 'intList': {
        if (u.kind !== 'list') {
          this.markLoose(e);
          return fail(this.desc(e));
        }
        const items = Array.isArray(u.items) ? u.items.filter(isObj) : [];
        this.types.set(u, { kind: 'list', elem: num('int'), length: items.length });
        if (u !== e) this.types.set(e, { kind: 'list', elem: num('int'), length: items.length });
        const out: number[] = [];
        for (const it of items) {
          const c = this.constant(it);
          if (c?.kind !== 'number' || !c.isInt || c.value < spec.min) {
            this.report(code, it.span, `${what} must be ${describeSpec(spec)}, got ${this.desc(it)}`);
            return undefined;
          }
          out.push(c.value);
        }
        if (out.length === 0) return fail('[]');
        return out;
      }
      case 'column': {
        if (u.kind === 'string') {
          this.constant(u);
          return u.value;
        }
        if (u.kind !== 'name') {
          this.markLoose(e);
          return fail(this.desc(e));
        }
        this.types.set(u, WORD);
        if (u !== e) this.types.set(e, WORD);
        this.symbols.set(u, { kind: 'column', column: u.name });
        return u.name;
      }
      case 'objective': {
        const names = Object.keys(OBJECTIVES);
        if (u.kind === 'call') {
          const fn = u.callee?.name ?? '';
          const args = Array.isArray(u.args) ? u.args.filter(isObj) : [];
          this.types.set(u, WORD);
          if (u !== e) this.types.set(e, WORD);
          if (!has(OBJECTIVES, fn)) {
            for (const a of args) this.constant(a.value);
            this.report(
              code,
              spanOf(u.callee, u.span),
              `unknown objective '${fn}'`,
              didYouMean(fn, names) ?? describeSpec(spec),
            );
            return undefined;
          }
          if (!OBJECTIVES[fn].alpha) {
            for (const a of args) this.constant(a.value);
            this.report(code, u.span, `objective '${fn}' takes no arguments`, `write objective ${fn}`);
            return undefined;
          }
          if (args.length !== 1) {
            for (const a of args) this.constant(a.value);
            this.report(
              code,
              u.span,
              `objective '${fn}' takes one argument, alpha`,
              `write objective ${fn}(0.5)`,
            );
            return undefined;
          }
          const alpha = this.value(QUANTILE_ALPHA, args[0]!.value, `alpha of ${fn}`, code);
          return typeof alpha === 'number' ? { name: fn, alpha } : undefined;
        }
        const w = word();
        if (w === null) {
          this.markLoose(e);
          return fail(this.desc(e));
        }
        if (!has(OBJECTIVES, w)) {
          this.report(code, e.span, `unknown objective '${w}'`, didYouMean(w, names) ?? describeSpec(spec));
          return undefined;
        }
        if (OBJECTIVES[w].alpha) {
          this.report(code, e.span, `objective '${w}' needs alpha`, `write objective ${w}(0.5)`);
          return undefined;
        }
        return { name: w, alpha: null };
      }
    }
  }

  /** Records `error` types for a value that is not the constant a schema expected. */
  private markLoose(e: ast.Expr): void {
    const visit = (x: ast.Expr | null | undefined): void => {
      if (!isObj(x)) return;
      this.types.set(x, ERROR);
      for (const c of ast.childExprs(x)) visit(c);
    };
    visit(e);
  }

  // ---- outputs ----

  /** Infers an output on demand (outputs may read other outputs); reports cycles like features. */
  private inferOutput(entry: Entry | undefined, ref: ast.NameRef | null): Type {
    if (entry?.kind !== 'output') return ERROR;
    const o = entry.output;
    if (entry.state === 'done') return o.type;
    if (entry.state === 'active') {
      const i = this.outputStack.indexOf(o.name);
      const path = [...this.outputStack.slice(i), o.name].join(' -> ');
      this.report(
        'outputCycle',
        spanOf(ref, spanOf(o.decl.name)),
        `output '${o.name}' depends on itself: ${path}`,
      );
      return ERROR;
    }
    entry.state = 'active';
    this.outputStack.push(o.name);
    this.checkOutput(o);
    this.outputStack.pop();
    entry.state = 'done';
    this.outputOrder.push(o);
    return o.type;
  }

  private checkOutput(o: CheckedOutput): void {
    const d = o.decl;
    const declared = isObj(d.type) ? this.outputTypeRef(d.type) : null;
    const ctx = this.ctx('output');
    const t = this.expr(d.value, ctx);
    o.components = ctx.components;
    o.reads = [...ctx.reads];
    o.declared = declared;
    if (t.kind === 'error' || !isObj(d.value)) {
      o.type = declared ?? ERROR;
      return;
    }
    if (t.kind !== 'num' && t.kind !== 'bool' && t.kind !== 'vector') {
      const hint =
        t.kind === 'category'
          ? 'compare it with a label (x == "a") or output a score instead'
          : t.kind === 'sparse'
            ? 'sparse values are component features; put it in a component'
            : undefined;
      this.report(
        'badOutputValue',
        d.value.span,
        `output '${o.name}' is ${formatType(t)}; outputs must be numbers, bools or vectors`,
        hint,
      );
      o.type = declared ?? ERROR;
      return;
    }
    if (declared === null || declared.kind === 'error') {
      o.type = declared ?? t;
      return;
    }
    // An annotation changes a number's precision (f32/f64, also of vector elements) or restates
    // bool/int; it never converts between kinds.
    let fitted: Type | null = null;
    if (declared.kind === 'bool') fitted = t.kind === 'bool' ? t : null;
    else if (declared.kind === 'num' && declared.num === 'int')
      fitted = t.kind === 'num' && t.num === 'int' ? t : null;
    else if (declared.kind === 'num' && declared.num !== 'int') {
      if (t.kind === 'num') fitted = num(declared.num, t.optional);
      else if (t.kind === 'vector') fitted = vector(declared.num, t.size, t.optional);
    }
    if (fitted === null) {
      const isInt = declared.kind === 'num' && declared.num === 'int';
      const hint =
        isInt && t.kind === 'num'
          ? 'use floor(x), or declare the output f32'
          : isInt && t.kind === 'bool'
            ? "declare the output ': bool', or write if ... then 1 else 0"
            : declared.kind === 'bool' && t.kind === 'num'
              ? 'compare it with a threshold, e.g. x >= 0.5'
              : undefined;
      this.report(
        'outputTypeMismatch',
        d.value.span,
        `output '${o.name}' is declared ${formatType(declared)} but its value is ${formatType(t)}`,
        hint,
      );
      o.type = declared;
      return;
    }
    o.type = fitted;
  }

  private outputTypeRef(r: ast.TypeRef): Type {
    const name = r.name?.name ?? '';
    const params = Array.isArray(r.params) ? r.params : [];
    if (!(OUTPUT_TYPES as readonly string[]).includes(name) || r.style !== 'none' || params.length > 0) {
      this.report(
        'badOutputType',
        r.span,
        `output type must be one of ${OUTPUT_TYPES.join(', ')}; got '${this.file.text.slice(r.span.start, r.span.end)}'`,
        didYouMean(name, OUTPUT_TYPES),
      );
      return ERROR;
    }
    return name === 'bool' ? bool() : num(name as NumKind);
  }

  /** Splits a trained output into `LINK(c1 + ... ± offsets)`; null after a report. */
  private decompose(o: CheckedOutput): TrainedForm | null {
    const e = unwrap(o.expr);
    if (e === null) return null;
    const single = (c: ast.CallExpr): ast.Expr | null => {
      const args = Array.isArray(c.args) ? c.args.filter(isObj) : [];
      return args.length === 1 && (args[0]!.name === null || args[0]!.name === undefined)
        ? unwrap(args[0]!.value)
        : null;
    };
    let link: Link = 'identity';
    let sum: ast.Expr = e;
    if (e.kind === 'call' && ['sigmoid', 'softmax', 'exp'].includes(e.callee?.name ?? '')) {
      const inner = single(e);
      if (inner !== null) {
        link = e.callee.name as Link;
        sum = inner;
      }
    }
    const terms: { expr: ast.Expr; sign: 1 | -1 }[] = [];
    const flatten = (x: ast.Expr | null, sign: 1 | -1): void => {
      if (x === null) return;
      if (x.kind === 'binary' && (x.op === '+' || x.op === '-')) {
        flatten(unwrap(x.left), sign);
        flatten(unwrap(x.right), x.op === '-' ? (-sign as 1 | -1) : sign);
      } else terms.push({ expr: x, sign });
    };
    flatten(unwrap(sum), 1);
    const components: string[] = [];
    const offsets: { expr: ast.Expr; sign: 1 | -1 }[] = [];
    let ok = true;
    for (const { expr: term, sign } of terms) {
      const refs = this.componentRefs(term);
      if (refs.length === 0) {
        const t = this.types.get(term) ?? ERROR;
        if (isOptional(t)) {
          this.report(
            'notDecomposable',
            term.span,
            `offset ${this.desc(term)} of trained output '${o.name}' may be missing (${formatType(t)})`,
            `use coalesce(${this.desc(term).slice(1, -1)}, 0), or give its inputs a 'default'`,
          );
          ok = false;
        }
        offsets.push({ expr: term, sign });
        continue;
      }
      if (term.kind === 'name' && sign === -1) {
        this.report(
          'notDecomposable',
          term.span,
          `component '${term.name}' is subtracted in trained output '${o.name}'; components are added with coefficient 1`,
        );
        ok = false;
        continue;
      }
      if (term.kind === 'name') {
        if (components.includes(term.name)) {
          this.report(
            'componentTwice',
            term.span,
            `component '${term.name}' is added twice in output '${o.name}'`,
            `remove the second '${term.name}'`,
          );
          ok = false;
        } else components.push(term.name);
        continue;
      }
      this.report(
        'notDecomposable',
        term.span,
        `output '${o.name}' is trained, so components must be plain summands inside its link; ${this.desc(term)} mixes ${quoteList(refs)} with other operations`,
        'write LINK(c1 + c2 + offset) with LINK one of sigmoid, softmax, exp, or none',
      );
      ok = false;
    }
    if (!ok) return null;
    // Classes must fit the link: softmax needs vector margins of one width, the others scalars.
    const comps = components
      .map((c) => this.entries.get(c))
      .map((en) => (en?.kind === 'component' ? en.component : null));
    const widths = new Set<number>();
    comps.forEach((c, i) => {
      if (c === null) return;
      const span =
        terms.find((t) => t.expr.kind === 'name' && t.expr.name === components[i])?.expr.span ?? o.decl.span;
      if (link === 'softmax' && c.options.classes === null) {
        this.report(
          'linkClasses',
          span,
          `output '${o.name}' uses softmax, but component '${c.name}' has no 'classes'`,
          `add classes = k to '${c.name}'`,
        );
        ok = false;
      } else if (link !== 'softmax' && c.options.classes !== null) {
        this.report(
          'linkClasses',
          span,
          `component '${c.name}' has classes = ${c.options.classes}, so output '${o.name}' needs a softmax link`,
          `write softmax(${components.join(' + ')})`,
        );
        ok = false;
      } else if (c.options.classes !== null) widths.add(c.options.classes);
    });
    if (ok && widths.size > 1) {
      this.report(
        'linkClasses',
        unwrap(sum)?.span ?? o.decl.span,
        `components of output '${o.name}' have different classes: ${[...widths].join(', ')}`,
      );
      ok = false;
    }
    return ok ? { link, sum, components, offsets } : null;
  }

  private componentRefs(e: ast.Expr): string[] {
    const out: string[] = [];
    const visit = (x: ast.Expr | null | undefined): void => {
      if (!isObj(x)) return;
      if (x.kind === 'name' && this.entries.get(x.name)?.kind === 'component' && !out.includes(x.name))
        out.push(x.name);
      for (const c of ast.childExprs(x)) visit(c);
    };
    visit(e);
    return out;
  }

  // ---- training ----

  private checkTrain(b: ast.TrainBlock): void {
    const settings = Array.isArray(b.settings) ? b.settings.filter(isObj) : [];
    this.hyperSpans = new Map();
    const headSpan: ast.Span = { start: b.span.start, end: b.span.start + 'train'.length };
    let output: CheckedOutput | null = null;
    if (isObj(b.target)) {
      const entry = this.entries.get(b.target.name);
      if (entry?.kind !== 'output') this.unresolvedTrain = true;
      if (entry?.kind === 'output') output = entry.output;
      else if (entry === undefined)
        this.report(
          'badTrainTarget',
          b.target.span,
          `unknown output '${b.target.name}'`,
          didYouMean(
            b.target.name,
            this.outputs.map((o) => o.name),
          ),
        );
      else
        this.report(
          'badTrainTarget',
          b.target.span,
          `'${b.target.name}' is ${entry.kind === 'input' ? 'an' : 'a'} ${entry.kind}; 'train' names an output`,
        );
    } else {
      const candidates = this.outputs.filter((o) => o.components.length > 0);
      if (candidates.length !== 1) this.unresolvedTrain = true;
      if (candidates.length === 1) output = candidates[0]!;
      else if (candidates.length === 0)
        this.report(
          'badTrainTarget',
          headSpan,
          'no output references a component, so there is nothing to train',
        );
      else
        this.report(
          'badTrainTarget',
          headSpan,
          `several outputs reference components (${quoteList(candidates.map((o) => o.name))}); name the one this block trains`,
          `write train ${candidates[0]!.name} { ... }`,
        );
    }
    if (output !== null && output.components.length === 0 && output.type.kind !== 'error') {
      this.report(
        'badTrainTarget',
        spanOf(b.target, headSpan),
        `output '${output.name}' references no component; there is nothing to train`,
      );
      output = null;
    }
    if (output !== null) {
      const prev = this.trains.find((t) => t.output === output!.name);
      if (prev !== undefined || output.trained !== null) {
        this.report(
          'outputTrainedTwice',
          spanOf(b.target, headSpan),
          `output '${output.name}' is already trained by another train block`,
          prev === undefined
            ? undefined
            : `merge this block into the one on line ${this.file.position(prev.decl.span.start).line + 1}`,
        );
        output = null;
      }
    }
    let form: TrainedForm | null = null;
    if (output !== null && output.type.kind !== 'error') {
      form = this.decompose(output);
      if (form !== null) {
        for (const c of form.components) {
          const other = this.trains.find((t) =>
            this.outputs.find((o) => o.name === t.output)?.trained?.components.includes(c),
          );
          if (other !== undefined)
            this.report(
              'componentTrainedTwice',
              spanOf(b.target, headSpan),
              `component '${c}' is already trained by the train block of output '${other.output}'`,
              'give each trained output its own components',
            );
        }
        output.trained = form;
      }
    }
    const ownComponents = form?.components ?? output?.components ?? [];

    const train: CheckedTrain = {
      decl: b,
      output: output?.name ?? '',
      label: '',
      weight: null,
      objective: { name: 'squared_error', alpha: null },
      seed: null,
      validation: null,
      folds: null,
      iterations: null,
      metric: null,
      hyperparameters: new Map(),
      search: null,
    };
    const seen = new Map<string, ast.Setting>();
    let objectiveSpan: ast.Span | null = null;
    let objective: Objective | null = null;
    let label: string | null = null;
    let searchBlock: ast.Setting | null = null;
    for (const s of settings) {
      const path = Array.isArray(s.path) ? s.path.filter(isObj) : [];
      const key = path[0]?.name;
      if (key === undefined) continue;
      const keyText = path.map((p) => p.name).join('.');
      const entry = this.entries.get(key);
      const reserved = path.length === 1 && (key === 'search' || has(TRAIN_SETTINGS, key));
      // A component's settings may be split over blocks and dotted keys; duplicates are per parameter.
      if (entry?.kind === 'component' && !reserved) {
        this.componentSettings(train, entry, s, path, ownComponents, output?.name ?? null);
        continue;
      }
      const earlier = seen.get(keyText);
      if (earlier !== undefined) {
        this.looseSetting(s);
        this.report(
          'duplicateSetting',
          spanOf(path[0], s.span),
          `'${keyText}' is set twice in this train block`,
          `keep one (the first is on line ${this.file.position(earlier.span.start).line + 1})`,
        );
        continue;
      }
      seen.set(keyText, s);
      if (path.length === 1 && key === 'search') {
        searchBlock = s;
        continue;
      }
      if (path.length === 1 && has(TRAIN_SETTINGS, key)) {
        const v = this.settingValue(s);
        if (v === null) continue;
        const res = this.value(TRAIN_SETTINGS[key]!.spec, v, `'${key}'`, 'badSetting');
        if (res === undefined) {
          if (key === 'label') label = '';
          if (key === 'objective') objectiveSpan = v.span;
          continue;
        }
        switch (key) {
          case 'label':
            label = this.checkColumn(v, String(res), 'label');
            break;
          case 'weight':
            train.weight = this.checkColumn(v, String(res), 'weight');
            break;
          case 'objective':
            objective = res as Objective;
            objectiveSpan = v.span;
            break;
          case 'seed':
            train.seed = res as number;
            break;
          case 'validation':
            train.validation = res as number;
            break;
          case 'folds':
            train.folds = res as number;
            break;
          case 'iterations':
            train.iterations = res as number;
            break;
          case 'metric':
            train.metric = res as string;
            break;
        }
        continue;
      }
      const keys = [...Object.keys(TRAIN_SETTINGS), 'search', ...ownComponents];
      this.looseSetting(s);
      const guess = path.length === 1 ? suggestion(key, keys) : undefined;
      // `lable clicked`: the misspelt key is the label; do not also report it missing.
      if (guess === 'label' && label === null) label = '';
      if (guess === 'objective' && objectiveSpan === null) objectiveSpan = spanOf(path[0], s.span);
      // `learning_rate 0.1` at the top: a hyperparameter of one of the block's components.
      const owner =
        path.length === 1
          ? ownComponents.find((c) => {
              const en = this.entries.get(c);
              return (
                en?.kind === 'component' &&
                en.component !== null &&
                has(COMPONENT_KINDS[en.component.kind].hyperparameters, key)
              );
            })
          : undefined;
      const valueText =
        isObj(s.value) && s.value.kind !== 'block' && s.value.kind !== 'space'
          ? this.file.text.slice(s.value.span.start, s.value.span.end)
          : '...';
      this.report(
        'unknownSetting',
        spanOf(path[0], s.span),
        `unknown train setting '${keyText}'`,
        guess !== undefined
          ? `did you mean '${guess}'?`
          : owner !== undefined
            ? `'${key}' is a hyperparameter of component '${owner}': write ${owner}.${key} ${valueText}`
            : `settings: ${keys.join(', ')}`,
      );
    }
    if (label === null)
      this.report(
        'missingSetting',
        spanOf(b.target, headSpan),
        "train block has no 'label'",
        'add e.g. label clicked',
      );
    if (objective === null && objectiveSpan === null) {
      const fits = form === null ? [] : Object.entries(OBJECTIVES).filter(([, o]) => o.link === form!.link);
      const example = fits[0]?.[0] ?? 'logistic';
      this.report(
        'missingSetting',
        spanOf(b.target, headSpan),
        "train block has no 'objective'",
        `add e.g. objective ${has(OBJECTIVES, example) && OBJECTIVES[example].alpha ? `${example}(0.5)` : example}`,
      );
    }
    if (objective !== null && form !== null && objectiveSpan !== null) {
      const need = OBJECTIVES[objective.name].link;
      if (need !== form.link) {
        const fits = Object.entries(OBJECTIVES)
          .filter(([, o]) => o.link === form!.link)
          .map(([n]) => n);
        this.report(
          'objectiveLink',
          objectiveSpan,
          `objective ${objective.name} needs ${need === 'identity' ? 'no link' : `a ${need} link`}, but output '${form === null ? '' : train.output}' ${form.link === 'identity' ? 'has no link' : `uses ${form.link}`}`,
          `use objective ${fits.join(' or ')}`,
        );
      }
    }
    const folds = seen.get('folds');
    if (seen.has('validation') && folds !== undefined)
      this.report(
        'validationAndFolds',
        spanOf(folds.path?.[0], folds.span),
        "'validation' and 'folds' cannot both be set",
        'folds replaces the hold-out: keep one of them',
      );
    if (objective !== null && train.metric !== null)
      this.checkMetric(objective, train.metric, seen.get('metric'));
    this.warnLeaves(train);
    if (searchBlock !== null) train.search = this.checkSearch(train, searchBlock, ownComponents, objective);
    train.label = label ?? '';
    if (objective !== null) train.objective = objective;
    if (output !== null) this.trains.push(train);
  }

  /** The value of a setting that takes a plain value; null (after a report) for blocks and spaces. */
  private settingValue(s: ast.Setting): ast.Expr | null {
    const v = s.value;
    if (!isObj(v)) return null;
    if (v.kind === 'block') {
      this.looseSetting(s);
      this.report(
        'badSetting',
        v.span,
        `'${s.path?.map((p) => p?.name).join('.')}' takes a value, not a block`,
      );
      return null;
    }
    if (v.kind === 'space') {
      this.looseSetting(s);
      this.report(
        'spaceOutsideSearch',
        v.span,
        'search spaces belong in the search block',
        `move it into the search block: search { budget 20  ${(s.path ?? []).map((p) => p?.name).join('.')} in ${this.file.text.slice(v.span.start, v.span.end)} }`,
      );
      return null;
    }
    return v;
  }

  /** Marks the values inside an unusable setting as `error`, so every expression has a type. */
  private looseSetting(s: ast.Setting): void {
    const v = s.value;
    if (!isObj(v)) return;
    if (v.kind === 'block')
      for (const inner of Array.isArray(v.settings) ? v.settings.filter(isObj) : []) this.looseSetting(inner);
    else if (v.kind === 'space') for (const x of Array.isArray(v.values) ? v.values : []) this.markLoose(x);
    else if (!this.types.has(v)) this.markLoose(v);
  }

  private checkColumn(e: ast.Expr, column: string, what: 'label' | 'weight'): string {
    const entry = this.entries.get(column);
    if (entry?.kind === 'input') {
      this.report(
        'labelIsInput',
        e.span,
        what === 'label'
          ? `label '${column}' is an input: the model would read its own answer (leakage)`
          : `weight '${column}' is an input; row weights are a training-only data column`,
        `name a data column that is not declared as an input`,
      );
    } else if (entry !== undefined) {
      this.report(
        'labelNotColumn',
        e.span,
        `${what} '${column}' is a ${entry.kind}; ${what} must name a data column`,
      );
    }
    return column;
  }

  /** `COMPONENT { param value ... }` or `COMPONENT.param value` (the same thing). */
  private componentSettings(
    train: CheckedTrain,
    entry: Extract<Entry, { kind: 'component' }>,
    s: ast.Setting,
    path: ast.Ident[],
    own: string[],
    output: string | null,
  ): void {
    const name = path[0]!.name;
    if (!own.includes(name)) {
      this.looseSetting(s);
      if (output !== null)
        this.report(
          'componentNotInOutput',
          path[0]!.span,
          `component '${name}' is not part of output '${output}', so this block does not train it`,
          this.whereTrained(name, output),
        );
      return;
    }
    const comp = entry.component;
    if (comp === null) {
      this.looseSetting(s);
      return;
    }
    const params = train.hyperparameters.get(name) ?? new Map<string, HyperValue>();
    train.hyperparameters.set(name, params);
    if (path.length === 2) {
      this.fixedHyperparam(comp, path[1]!, s, params);
      return;
    }
    const v = s.value;
    if (path.length > 2 || !isObj(v) || v.kind !== 'block') {
      this.looseSetting(s);
      const first = Object.keys(COMPONENT_KINDS[comp.kind].hyperparameters)[0] ?? 'l2';
      this.report(
        'badSetting',
        spanOf(path.length > 2 ? path[2] : v, s.span),
        path.length > 2
          ? `'${path.map((p) => p.name).join('.')}' is too deep: write ${name}.PARAM`
          : `'${name}' takes a block of hyperparameters`,
        `write ${name} { ${first} ... }`,
      );
      return;
    }
    for (const inner of Array.isArray(v.settings) ? v.settings.filter(isObj) : []) {
      const ip = Array.isArray(inner.path) ? inner.path.filter(isObj) : [];
      if (ip.length !== 1) {
        this.looseSetting(inner);
        this.report(
          'unknownHyperparam',
          spanOf(ip[0], inner.span),
          `unknown hyperparameter '${ip.map((p) => p.name).join('.')}' for ${comp.kind}`,
        );
        continue;
      }
      this.fixedHyperparam(comp, ip[0]!, inner, params);
    }
  }

  /** Hint for settings of a component that another output uses: where they belong. */
  private whereTrained(component: string, output: string): string {
    const other = this.outputs.find((o) => o.name !== output && o.components.includes(component));
    return other === undefined
      ? `add '${component}' to output '${output}', or remove these settings`
      : `configure it in the train block of output '${other.name}'`;
  }

  /** One fixed hyperparameter `param value` of a component, with the duplicate check. */
  private fixedHyperparam(
    comp: CheckedComponent,
    param: ast.Ident,
    s: ast.Setting,
    params: Map<string, HyperValue>,
  ): void {
    const key = `${comp.name}.${param.name}`;
    if (this.hyperSpans.has(key)) {
      this.looseSetting(s);
      this.report('duplicateSetting', param.span, `'${key}' is set twice`);
      return;
    }
    this.hyperSpans.set(key, param.span);
    const v = this.settingValue(s);
    if (v !== null) this.hyperparam(comp, param, v, params);
  }

  private checkMetric(objective: Objective, metric: string, s: ast.Setting | undefined): void {
    const ok: readonly string[] = OBJECTIVES[objective.name].metrics;
    if (ok.includes(metric)) return;
    const v =
      s !== undefined && isObj(s.value) && s.value.kind !== 'block' && s.value.kind !== 'space'
        ? s.value
        : null;
    this.report(
      'metricObjective',
      spanOf(v, spanOf(s)),
      `metric ${metric} does not suit objective ${objective.name}`,
      `use one of ${ok.join(', ')}`,
    );
  }

  /** gbdt `leaves` above 2^`depth` can never be reached: warn. */
  private warnLeaves(train: CheckedTrain): void {
    for (const [name, params] of train.hyperparameters) {
      const leaves = params.get('leaves');
      const depth = params.get('depth');
      if (typeof leaves !== 'number' || typeof depth !== 'number' || leaves <= 2 ** depth) continue;
      this.report(
        'leavesUnreachable',
        this.hyperSpans.get(`${name}.leaves`) ?? train.decl.span,
        `'${name}.leaves' ${leaves} is more than a depth-${depth} tree can have (${2 ** depth})`,
        `lower leaves to ${2 ** depth}, or raise depth`,
      );
    }
  }

  private hyperSpec(comp: CheckedComponent, param: ast.Ident): { spec: ValueSpec } | null {
    const table = COMPONENT_KINDS[comp.kind].hyperparameters;
    if (!has(table, param.name)) {
      const other = Object.entries(COMPONENT_KINDS).find(([, s]) => has(s.hyperparameters, param.name));
      this.report(
        'unknownHyperparam',
        param.span,
        `unknown hyperparameter '${param.name}' for ${comp.kind} component '${comp.name}'`,
        didYouMean(param.name, Object.keys(table)) ??
          (other !== undefined
            ? `'${param.name}' is a hyperparameter of ${Object.entries(COMPONENT_KINDS)
                .filter(([, s]) => has(s.hyperparameters, param.name))
                .map(([k]) => k)
                .join(' and ')}; ${comp.kind} has ${Object.keys(table).join(', ')}`
            : `hyperparameters of ${comp.kind}: ${Object.keys(table).join(', ')}`),
      );
      return null;
    }
    const h = table[param.name]!;
    if (h.perOnly === true && comp.per === null) {
      this.report(
        'perOnlyHyperparam',
        param.span,
        `'${param.name}' applies only to components with 'per' (random effects); '${comp.name}' has none`,
        `remove '${param.name}'`,
      );
      return null;
    }
    return h;
  }

  private hyperparam(
    comp: CheckedComponent,
    param: ast.Ident,
    v: ast.Expr,
    into: Map<string, HyperValue>,
  ): void {
    const h = this.hyperSpec(comp, param);
    if (h === null) {
      this.markLoose(v);
      return;
    }
    const r = this.value(h.spec, v, `'${comp.name}.${param.name}'`, 'badHyperparam');
    if (typeof r === 'number' || typeof r === 'boolean' || typeof r === 'string') into.set(param.name, r);
  }

  private checkSearch(
    train: CheckedTrain,
    s: ast.Setting,
    own: string[],
    objective: Objective | null,
  ): CheckedSearch | null {
    const v = s.value;
    if (!isObj(v) || v.kind !== 'block') {
      this.looseSetting(s);
      this.report(
        'badSetting',
        spanOf(v, s.span),
        "'search' takes a block",
        'write search { budget 20  COMPONENT.PARAM in [lo, hi] }',
      );
      return null;
    }
    const out: CheckedSearch = { budget: null, method: null, parallel: null, metric: null, dimensions: [] };
    const seen = new Map<string, ast.Setting>();
    const searched = new Set<string>();
    const dimension = (comp: CheckedComponent | null, param: ast.Ident, inner: ast.Setting): void => {
      if (comp === null) {
        this.looseSetting(inner);
        return;
      }
      const key = `${comp.name}.${param.name}`;
      if (searched.has(key)) {
        this.looseSetting(inner);
        this.report('duplicateSetting', param.span, `'${key}' is searched twice`);
        return;
      }
      searched.add(key);
      const dim = this.searchDimension(comp, param, inner);
      if (dim !== null) out.dimensions.push(dim);
    };
    for (const inner of Array.isArray(v.settings) ? v.settings.filter(isObj) : []) {
      const path = Array.isArray(inner.path) ? inner.path.filter(isObj) : [];
      if (path.length === 0) continue;
      const key = path.map((p) => p.name).join('.');
      const head = path[0]!;
      if (path.length === 1 && has(SEARCH_SETTINGS, key)) {
        if (seen.has(key)) {
          this.looseSetting(inner);
          this.report('duplicateSetting', head.span, `'${key}' is set twice in the search block`);
          continue;
        }
        seen.set(key, inner);
        const e = this.settingValue(inner);
        if (e === null) continue;
        const r = this.value(SEARCH_SETTINGS[key]!.spec, e, `search '${key}'`, 'badSetting');
        if (r === undefined) continue;
        if (key === 'budget') out.budget = r as number;
        else if (key === 'parallel') out.parallel = r as number;
        else if (key === 'method') out.method = r as string;
        else if (key === 'metric') out.metric = r as string;
        continue;
      }
      const entry = this.entries.get(head.name);
      if (entry?.kind === 'component' && path.length <= 2) {
        if (!own.includes(head.name)) {
          this.looseSetting(inner);
          this.report(
            'componentNotInOutput',
            head.span,
            `component '${head.name}' is not part of output '${train.output}', so this block does not train it`,
            this.whereTrained(head.name, train.output),
          );
          continue;
        }
        if (path.length === 2) {
          dimension(entry.component, path[1]!, inner);
          continue;
        }
        const block = inner.value;
        if (!isObj(block) || block.kind !== 'block') {
          this.looseSetting(inner);
          this.report(
            'badSearchSpace',
            spanOf(block, inner.span),
            `search entries are ${head.name}.PARAM in SPACE or ${head.name} { PARAM in SPACE }`,
          );
          continue;
        }
        for (const leaf of Array.isArray(block.settings) ? block.settings.filter(isObj) : []) {
          const lp = Array.isArray(leaf.path) ? leaf.path.filter(isObj) : [];
          if (lp.length !== 1) {
            this.looseSetting(leaf);
            this.report(
              'unknownHyperparam',
              spanOf(lp[0], leaf.span),
              `unknown hyperparameter '${lp.map((p) => p.name).join('.')}' for component '${head.name}'`,
            );
            continue;
          }
          dimension(entry.component, lp[0]!, leaf);
        }
        continue;
      }
      this.looseSetting(inner);
      const keys = [...Object.keys(SEARCH_SETTINGS), ...own.map((c) => `${c}.PARAM`)];
      this.report(
        'unknownSetting',
        head.span,
        `unknown search setting '${key}'`,
        didYouMean(key, Object.keys(SEARCH_SETTINGS)) ?? `search settings: ${keys.join(', ')}`,
      );
    }
    if (out.budget === null && !seen.has('budget'))
      this.report(
        'missingSetting',
        spanOf(s.path?.[0], s.span),
        "search block has no 'budget'",
        'add e.g. budget 20',
      );
    if (objective !== null && out.metric !== null)
      this.checkMetric(objective, out.metric, seen.get('metric'));
    return out;
  }

  private searchDimension(comp: CheckedComponent, param: ast.Ident, s: ast.Setting): SearchDimension | null {
    const v = s.value;
    const h = this.hyperSpec(comp, param);
    if (!isObj(v) || v.kind !== 'space') {
      this.looseSetting(s);
      if (h !== null)
        this.report(
          'badSearchSpace',
          spanOf(v, s.span),
          `search entry '${comp.name}.${param.name}' needs a space`,
          `write ${comp.name}.${param.name} in [lo, hi], in log [lo, hi] or in {a, b}`,
        );
      return null;
    }
    if (h === null) {
      this.looseSetting(s);
      return null;
    }
    const what = `'${comp.name}.${param.name}'`;
    if (this.hyperSpans.has(`${comp.name}.${param.name}`)) {
      this.looseSetting(s);
      this.report(
        'fixedAndSearched',
        param.span,
        `${what} is both fixed in the train block and searched`,
        'remove one of them',
      );
      return null;
    }
    const values = Array.isArray(v.values) ? v.values.filter(isObj) : [];
    const spec = h.spec;
    const integer = spec.type === 'int';
    const vals: HyperValue[] = [];
    let ok = true;
    for (const x of values) {
      const r = this.value(spec, x, `bound of ${what}`, 'badSearchSpace');
      if (typeof r === 'number' || typeof r === 'boolean' || typeof r === 'string') vals.push(r);
      else ok = false;
    }
    if (!ok) return null;
    if (v.scale === 'choice') {
      if (vals.length === 0) {
        this.report('badSearchSpace', v.span, `search space of ${what} is empty`);
        return null;
      }
      const dup = vals.find((x, i) => vals.indexOf(x) !== i);
      if (dup !== undefined) {
        this.report('badSearchSpace', v.span, `search space of ${what} lists ${String(dup)} twice`);
        return null;
      }
      return { component: comp.name, param: param.name, scale: 'choice', values: vals, integer };
    }
    if (spec.type !== 'int' && spec.type !== 'number') {
      this.report(
        'badSearchSpace',
        v.span,
        `${what} is not numeric; search it with a choice`,
        `write ${comp.name}.${param.name} in {a, b}`,
      );
      return null;
    }
    if (vals.length !== 2) {
      this.report(
        'badSearchSpace',
        v.span,
        `a range search space needs exactly two bounds, got ${vals.length}`,
        `write ${comp.name}.${param.name} in [lo, hi]`,
      );
      return null;
    }
    const [lo, hi] = vals as number[];
    if (!(lo! < hi!)) {
      this.report('badSearchSpace', v.span, `search space of ${what} is empty: ${lo} is not below ${hi}`);
      return null;
    }
    if (v.scale === 'log' && !(lo! > 0)) {
      this.report(
        'badSearchSpace',
        v.span,
        `log search space of ${what} needs lo > 0, got ${lo}`,
        'use a linear space, or a positive lower bound',
      );
      return null;
    }
    return { component: comp.name, param: param.name, scale: v.scale, values: vals, integer };
  }

  // ---- warnings ----

  private warnUntrained(): void {
    // A block whose target could not be resolved was meant for some output: which one is unknown.
    if (this.unresolvedTrain) return;
    // Components of an output that has a block count as trained even if its form had errors.
    const trained = new Set(
      this.outputs.flatMap((o) =>
        o.trained !== null
          ? o.trained.components
          : this.trains.some((t) => t.output === o.name)
            ? o.components
            : [],
      ),
    );
    const reported = new Set<string>();
    for (const o of this.outputs) {
      if (o.trained !== null || this.trains.some((t) => t.output === o.name)) continue;
      for (const c of o.components) {
        if (trained.has(c) || reported.has(c)) continue;
        const en = this.entries.get(c);
        if (en?.kind !== 'component' || en.component === null) continue;
        reported.add(c);
        this.report(
          'untrainedComponent',
          spanOf(en.decl.name),
          `component '${c}' is used by output '${o.name}' but no train block trains it`,
          `add train ${o.name} { label ...  objective ... }`,
        );
      }
    }
  }

  private warnUnused(): void {
    for (const [name, e] of this.entries) {
      if (e.kind === 'input' && !this.used.has(name))
        this.report('unusedInput', spanOf(e.input.decl.name), `input '${name}' is never used`);
      else if (e.kind === 'feature' && !this.used.has(name))
        this.report('unusedFeature', spanOf(e.feature.decl.name), `feature '${name}' is never used`);
      else if (e.kind === 'component' && !this.used.has(name) && e.component !== null)
        this.report('unusedComponent', spanOf(e.decl.name), `component '${name}' is never used by an output`);
    }
  }
}

function unwrap(e: ast.Expr | null | undefined): ast.Expr | null {
  if (!isObj(e)) return null;
  let x: ast.Expr | null | undefined = e;
  while (isObj(x) && x.kind === 'paren') x = x.inner;
  return isObj(x) ? x : null;
}

function inSpec(spec: Extract<ValueSpec, { type: 'int' | 'number' }>, v: number): boolean {
  if (!Number.isFinite(v)) return false;
  if (spec.min !== undefined) {
    const exclusive = spec.type === 'number' && spec.minExclusive === true;
    if (exclusive ? v <= spec.min : v < spec.min) return false;
  }
  if (spec.max !== undefined) {
    const exclusive = spec.type === 'number' && spec.maxExclusive === true;
    if (exclusive ? v >= spec.max : v > spec.max) return false;
  }
  return true;
}

// ---- JSON view ----

/**
 * A plain-JSON view of a checked model for `proml ast`: names instead of object links, types as
 * strings, expressions as typed trees; positions as "line:col" when a file is given. Key order is
 * fixed by construction.
 */
export function checkedModelToJSON(m: CheckedModel, file?: SourceFile): unknown {
  const at = (s: ast.Span | undefined): Record<string, string> => {
    if (file === undefined || s === undefined) return {};
    const p = file.position(s.start);
    return { at: `${p.line + 1}:${p.column + 1}` };
  };
  const ty = (e: ast.Expr | null | undefined): string =>
    isObj(e) ? formatType(m.types.get(e) ?? ERROR) : 'error';
  const expr = (e: ast.Expr | null | undefined): unknown => {
    if (!isObj(e)) return null;
    switch (e.kind) {
      case 'number':
        return { expr: 'number', value: e.value, type: ty(e) };
      case 'string':
        return { expr: 'string', value: e.value, type: ty(e) };
      case 'bool':
        return { expr: 'bool', value: e.value, type: ty(e) };
      case 'name': {
        const s = m.symbols.get(e);
        return { expr: 'name', name: e.name, ref: s?.kind ?? null, type: ty(e) };
      }
      case 'list':
        return { expr: 'list', items: (e.items ?? []).map(expr), type: ty(e) };
      case 'unary':
        return { expr: 'unary', op: e.op, operand: expr(e.operand), type: ty(e) };
      case 'binary':
        return { expr: 'binary', op: e.op, left: expr(e.left), right: expr(e.right), type: ty(e) };
      case 'if':
        return { expr: 'if', cond: expr(e.cond), then: expr(e.then), else: expr(e.else), type: ty(e) };
      case 'call': {
        const args = (e.args ?? []).filter(isObj);
        const named: Record<string, unknown> = {};
        for (const a of args) if (isObj(a.name)) named[a.name.name] = expr(a.value);
        return {
          expr: 'call',
          fn: e.callee?.name ?? '',
          args: args.filter((a) => !isObj(a.name)).map((a) => expr(a.value)),
          ...(Object.keys(named).length > 0 ? { named } : {}),
          type: ty(e),
        };
      }
      case 'paren':
        return expr(e.inner);
      default:
        return null;
    }
  };
  const constJSON = (c: ConstValue | null): unknown => {
    if (c === null) return null;
    switch (c.kind) {
      case 'label':
        return { label: c.label, index: c.index };
      case 'vector':
        return c.values;
      default:
        return c.value;
    }
  };
  const mapJSON = (mp: Map<string, HyperValue>): Record<string, HyperValue> => Object.fromEntries(mp);
  return {
    name: m.name,
    meta: {
      version: m.meta.version,
      owner: m.meta.owner,
      purpose: m.meta.purpose,
      description: m.meta.description,
    },
    inputs: m.inputs.map((i) => ({
      name: i.name,
      ...at(i.decl.name?.span),
      type: formatType(i.type),
      ...(i.declared.kind === 'category' && i.declared.labels !== null ? { labels: i.declared.labels } : {}),
      optional: i.optional,
      required: i.required,
      default: constJSON(i.default),
      range: i.range === null ? null : [i.range.lo, i.range.hi],
      unknown:
        i.unknown === null
          ? null
          : i.unknown.kind === 'label'
            ? { label: i.unknown.label, index: i.unknown.index }
            : i.unknown.kind,
      pii: i.pii,
    })),
    features: m.features.map((f) => ({
      name: f.name,
      ...at(f.decl.name?.span),
      type: formatType(f.type),
      reads: f.reads,
      expr: expr(f.expr),
    })),
    components: m.components.map((c) => ({
      name: c.name,
      ...at(c.decl.name?.span),
      kind: c.kind,
      per: c.per,
      options: {
        classes: c.options.classes,
        intercept: c.options.intercept,
        hidden: c.options.hidden,
        activation: c.options.activation,
      },
      inputWidth: c.inputWidth,
      outputWidth: c.outputWidth,
      features: c.features.map((f) => ({
        text: f.text,
        type: formatType(f.type),
        width: f.width,
        offset: f.offset,
        expr: expr(f.expr),
      })),
    })),
    outputs: m.outputs.map((o) => ({
      name: o.name,
      ...at(o.decl.name?.span),
      type: formatType(o.type),
      components: o.components,
      trained:
        o.trained === null
          ? null
          : {
              link: o.trained.link,
              components: o.trained.components,
              offsets: o.trained.offsets.map((x) => ({ sign: x.sign, expr: expr(x.expr) })),
            },
      expr: expr(o.expr),
    })),
    trains: m.trains.map((t) => ({
      output: t.output,
      ...at(t.decl.span),
      label: t.label,
      weight: t.weight,
      objective:
        t.objective.alpha === null ? t.objective.name : { name: t.objective.name, alpha: t.objective.alpha },
      seed: t.seed,
      validation: t.validation,
      folds: t.folds,
      iterations: t.iterations,
      metric: t.metric,
      hyperparameters: Object.fromEntries([...t.hyperparameters].map(([c, p]) => [c, mapJSON(p)])),
      search:
        t.search === null
          ? null
          : {
              budget: t.search.budget,
              method: t.search.method,
              parallel: t.search.parallel,
              metric: t.search.metric,
              dimensions: t.search.dimensions.map((d) => ({
                component: d.component,
                param: d.param,
                scale: d.scale,
                values: d.values,
                integer: d.integer,
              })),
            },
    })),
  };
}
