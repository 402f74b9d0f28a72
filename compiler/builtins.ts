// The language's built-in vocabulary as data: type names, functions with their parameter and result
// rules, component kinds with their options and feature rules, train settings, objectives, and the
// hyperparameter schemas (with valid ranges) per component kind.
// Input: nothing. Output: tables read by check.ts (which interprets them) and by docs and tooling.
// Keeping these as tables (not code paths) means a new function or hyperparameter is one row.

// ---- value schemas (options, settings, hyperparameters) ----

/** The shape and valid range of a constant value written in an option, setting or search space. */
export type ValueSpec =
  | { type: 'int'; min?: number; max?: number }
  | { type: 'number'; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[] }
  /** A non-empty constant list of integers, each ≥ min (`hidden = [256, 128]`). */
  | { type: 'intList'; min: number }
  /** A data column name (`label clicked`). */
  | { type: 'column' }
  /** `logistic`, `quantile(0.9)`, ... (see OBJECTIVES). */
  | { type: 'objective' };

/** `≥ 0`, `(0, 1]`, `1..16`, `adam|sgd`: the valid range of a value, for messages and docs. */
export function describeSpec(s: ValueSpec): string {
  switch (s.type) {
    case 'int':
      if (s.min !== undefined && s.max !== undefined) return `an integer in ${s.min}..${s.max}`;
      if (s.min !== undefined) return `an integer ≥ ${s.min}`;
      return 'an integer';
    case 'number': {
      if (s.min !== undefined && s.max !== undefined)
        return `a number in ${s.minExclusive ? '(' : '['}${s.min}, ${s.max}${s.maxExclusive ? ')' : ']'}`;
      if (s.min !== undefined) return `a number ${s.minExclusive ? '>' : '≥'} ${s.min}`;
      return 'a number';
    }
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${s.values.join(', ')}`;
    case 'intList':
      return `a non-empty list of integers ≥ ${s.min}`;
    case 'column':
      return 'a data column name';
    case 'objective':
      return `one of ${Object.keys(OBJECTIVES)
        .map((o) => (OBJECTIVES[o as ObjectiveName].alpha ? `${o}(alpha)` : o))
        .join(', ')}`;
  }
}

// ---- type names ----

/** Names a written input type may use; `param` says what goes in `<...>` / `(...)`. */
export const INPUT_TYPES = {
  f32: { params: 'none' },
  f64: { params: 'none' },
  int: { params: 'none' },
  bool: { params: 'none' },
  string: { params: 'none' },
  entity: { params: 'none' },
  category: { params: 'labels' },
  bag: { params: 'elem' },
  vector: { params: 'elemAndSize' },
} as const;
export type InputTypeName = keyof typeof INPUT_TYPES;

/** Types an output may declare: `output p: f32 = ...`. */
export const OUTPUT_TYPES = ['f32', 'f64', 'int', 'bool'] as const;
export type OutputTypeName = (typeof OUTPUT_TYPES)[number];

export const MAX_HASH_BUCKETS = 1 << 24;

// ---- functions ----

/** What an argument must be. check.ts holds one acceptance test per kind. */
export type ArgKind =
  /** a numeric scalar or vector */
  | 'numeric'
  /** a numeric scalar */
  | 'scalar'
  /** a numeric vector */
  | 'vector'
  /** any value (not sparse, not entity) */
  | 'value'
  | 'string'
  | 'bag'
  | 'category'
  /** string, bag, category or int: something that can be hashed into buckets */
  | 'hashable'
  /** string, bag or category: one side of a hashed cross */
  | 'crossable'
  /** an integer constant within [min, max] */
  | 'intConst'
  /** a constant list of numbers, strictly increasing */
  | 'increasingList'
  /** a constant list of distinct strings */
  | 'labelList';

export interface ParamSpec {
  name: string;
  kind: ArgKind;
  /** For `intConst`. */
  min?: number;
  max?: number;
  /** May be left out (trailing positional, or named). */
  optional?: boolean;
  /** Only passed by name (`min_count = 5`). */
  named?: boolean;
}

/** How a call's type follows from its arguments' types. */
export type ResultRule =
  /** same shape as argument 0; `float` turns int into f32 (`log`), otherwise the element kind stays */
  | { rule: 'elementwise'; float: boolean }
  /** arguments 0 and 1 combined like `+` (broadcast, promotion): `min`, `max` */
  | { rule: 'combine' }
  /** a fixed type; optional when argument 0 is (if `keepOptional`) */
  | { rule: 'fixed'; type: 'string' | 'bagString' | 'int' | 'bool' | 'f32'; keepOptional: boolean }
  /** argument 0 with the optional flag cleared */
  | { rule: 'coalesce' }
  /** sparse<n> where n is argument 0's category size (`onehot`) */
  | { rule: 'onehot' }
  /** sparse<n> where n is the integer constant argument `arg` (`hash`, `cross`) */
  | { rule: 'sparseOfConst'; arg: number }
  /** category(n + plus), n = the constant (or list length) of argument `arg` */
  | { rule: 'categoryOfConst'; arg: number; plus: number; named: boolean }
  /** vector whose length is the sum of the arguments' widths (`concat`) */
  | { rule: 'concat' }
  /** a scalar of the arguments' promoted float kind (`dot`, `sum`) */
  | { rule: 'reduce' };

export type FunctionGroup =
  'math' | 'missing' | 'text' | 'sparse' | 'vector' | 'fitted' | 'calibration' | 'link';

export interface FunctionSpec {
  group: FunctionGroup;
  params: readonly ParamSpec[];
  /** Further positional arguments of this kind (`concat(a, b, ...)`). */
  rest?: ParamSpec;
  result: ResultRule;
  /** Only allowed in outputs (`platt`, `isotonic`). */
  outputsOnly?: boolean;
  /** `clip(x)`: the one-argument form clips to x's declared range. */
  clipToRange?: boolean;
  summary: string;
}

const x = (kind: ArgKind): ParamSpec => ({ name: 'x', kind });
const elementwise = (summary: string): FunctionSpec => ({
  group: 'math',
  params: [x('numeric')],
  result: { rule: 'elementwise', float: true },
  summary,
});

export const FUNCTIONS: Record<string, FunctionSpec> = {
  log: elementwise('natural logarithm'),
  log1p: elementwise('log(1 + x)'),
  exp: elementwise('e^x (also the link of poisson outputs)'),
  sqrt: elementwise('square root'),
  abs: {
    group: 'math',
    params: [x('numeric')],
    result: { rule: 'elementwise', float: false },
    summary: '|x|',
  },
  sigmoid: elementwise('1 / (1 + e^-x) (also the link of logistic outputs)'),
  tanh: elementwise('hyperbolic tangent'),
  sin: elementwise('sine'),
  cos: elementwise('cosine'),
  floor: {
    group: 'math',
    params: [x('numeric')],
    result: { rule: 'elementwise', float: false },
    summary: 'round down',
  },
  pow: {
    group: 'math',
    params: [x('numeric'), { name: 'y', kind: 'scalar' }],
    result: { rule: 'elementwise', float: true },
    summary: 'x^y (y scalar)',
  },
  min: {
    group: 'math',
    params: [
      { name: 'a', kind: 'numeric' },
      { name: 'b', kind: 'numeric' },
    ],
    result: { rule: 'combine' },
    summary: 'smaller of a and b',
  },
  max: {
    group: 'math',
    params: [
      { name: 'a', kind: 'numeric' },
      { name: 'b', kind: 'numeric' },
    ],
    result: { rule: 'combine' },
    summary: 'larger of a and b',
  },
  clip: {
    group: 'math',
    params: [
      x('numeric'),
      { name: 'lo', kind: 'scalar', optional: true },
      { name: 'hi', kind: 'scalar', optional: true },
    ],
    result: { rule: 'elementwise', float: false },
    clipToRange: true,
    summary: 'clamp x to [lo, hi], or to its declared range with one argument',
  },
  is_missing: {
    group: 'missing',
    params: [x('value')],
    result: { rule: 'fixed', type: 'bool', keepOptional: false },
    summary: 'true when x is absent',
  },
  coalesce: {
    group: 'missing',
    params: [x('value'), { name: 'v', kind: 'value' }],
    result: { rule: 'coalesce' },
    summary: 'x, or v when x is absent',
  },
  lower: {
    group: 'text',
    params: [{ name: 's', kind: 'string' }],
    result: { rule: 'fixed', type: 'string', keepOptional: true },
    summary: 'lower-case text',
  },
  tokens: {
    group: 'text',
    params: [{ name: 's', kind: 'string' }],
    result: { rule: 'fixed', type: 'bagString', keepOptional: false },
    summary: 'words split on non-alphanumerics',
  },
  ngrams: {
    group: 'text',
    params: [
      { name: 's', kind: 'string' },
      { name: 'n', kind: 'intConst', min: 1, max: 8 },
    ],
    result: { rule: 'fixed', type: 'bagString', keepOptional: false },
    summary: 'character n-grams',
  },
  length: {
    group: 'text',
    params: [{ name: 's', kind: 'string' }],
    result: { rule: 'fixed', type: 'int', keepOptional: true },
    summary: 'length of the text',
  },
  count: {
    group: 'text',
    params: [{ name: 'bag', kind: 'bag' }],
    result: { rule: 'fixed', type: 'int', keepOptional: false },
    summary: 'number of items in a bag',
  },
  overlap: {
    group: 'text',
    params: [
      { name: 'a', kind: 'bag' },
      { name: 'b', kind: 'bag' },
    ],
    result: { rule: 'fixed', type: 'int', keepOptional: false },
    summary: 'size of the intersection of two bags',
  },
  onehot: {
    group: 'sparse',
    params: [x('category')],
    result: { rule: 'onehot' },
    summary: 'one-hot encoding of a category',
  },
  hash: {
    group: 'sparse',
    params: [x('hashable'), { name: 'buckets', kind: 'intConst', min: 1, max: MAX_HASH_BUCKETS }],
    result: { rule: 'sparseOfConst', arg: 1 },
    summary: 'hashed indicator (counts for bags)',
  },
  cross: {
    group: 'sparse',
    params: [
      { name: 'a', kind: 'crossable' },
      { name: 'b', kind: 'crossable' },
      { name: 'buckets', kind: 'intConst', min: 1, max: MAX_HASH_BUCKETS },
    ],
    result: { rule: 'sparseOfConst', arg: 2 },
    summary: 'hashed cross of two categorical values',
  },
  bucketize: {
    group: 'sparse',
    params: [x('scalar'), { name: 'boundaries', kind: 'increasingList' }],
    result: { rule: 'categoryOfConst', arg: 1, plus: 1, named: false },
    summary: 'bucket index of x between strictly increasing boundaries',
  },
  lookup: {
    group: 'sparse',
    params: [x('string'), { name: 'labels', kind: 'labelList' }],
    result: { rule: 'categoryOfConst', arg: 1, plus: 0, named: true },
    summary: 'category with a fixed vocabulary',
  },
  concat: {
    group: 'vector',
    params: [x('numeric')],
    rest: x('numeric'),
    result: { rule: 'concat' },
    summary: 'scalars and vectors joined into one vector',
  },
  dot: {
    group: 'vector',
    params: [
      { name: 'a', kind: 'vector' },
      { name: 'b', kind: 'vector' },
    ],
    result: { rule: 'reduce' },
    summary: 'dot product',
  },
  sum: { group: 'vector', params: [x('vector')], result: { rule: 'reduce' }, summary: 'sum of the elements' },
  argmax: {
    group: 'vector',
    params: [x('vector')],
    result: { rule: 'fixed', type: 'int', keepOptional: true },
    summary: 'index of the largest element',
  },
  standardize: {
    group: 'fitted',
    params: [x('numeric')],
    result: { rule: 'elementwise', float: true },
    summary: '(x - mean) / std, fitted by the trainer',
  },
  quantiles: {
    group: 'fitted',
    params: [x('scalar'), { name: 'n', kind: 'intConst', min: 2, max: 1024 }],
    result: { rule: 'categoryOfConst', arg: 1, plus: 0, named: false },
    summary: 'quantile bucket, boundaries fitted by the trainer',
  },
  vocab: {
    group: 'fitted',
    params: [
      x('string'),
      { name: 'max', kind: 'intConst', min: 1, max: MAX_HASH_BUCKETS },
      { name: 'min_count', kind: 'intConst', min: 1, optional: true, named: true },
    ],
    result: { rule: 'categoryOfConst', arg: 1, plus: 0, named: false },
    summary: 'category with a vocabulary learned by the trainer',
  },
  platt: {
    group: 'calibration',
    params: [{ name: 'p', kind: 'scalar' }],
    result: { rule: 'fixed', type: 'f32', keepOptional: true },
    outputsOnly: true,
    summary: 'Platt calibration of a probability',
  },
  isotonic: {
    group: 'calibration',
    params: [{ name: 'p', kind: 'scalar' }],
    result: { rule: 'fixed', type: 'f32', keepOptional: true },
    outputsOnly: true,
    summary: 'isotonic calibration of a probability',
  },
  softmax: {
    group: 'link',
    params: [{ name: 'v', kind: 'vector' }],
    result: { rule: 'elementwise', float: true },
    summary: 'normalised exponentials (the link of multiclass outputs)',
  },
};

/** Calibrations that may wrap a trained output's link: `platt(sigmoid(a + b))`. */
export const CALIBRATIONS = ['platt', 'isotonic'] as const;
export type Calibration = (typeof CALIBRATIONS)[number];

// ---- links and objectives ----

export const LINKS = ['sigmoid', 'softmax', 'exp', 'identity'] as const;
export const METRICS = ['auc', 'logloss', 'rmse', 'mae', 'accuracy'] as const;
export type Metric = (typeof METRICS)[number];
export type Link = (typeof LINKS)[number];

/** Objectives: the link they need and the metrics that suit them (the first is the default). */
export const OBJECTIVES = {
  logistic: { link: 'sigmoid', alpha: false, metrics: ['logloss', 'auc', 'accuracy'] },
  squared_error: { link: 'identity', alpha: false, metrics: ['rmse', 'mae'] },
  poisson: { link: 'exp', alpha: false, metrics: ['rmse', 'mae'] },
  multiclass: { link: 'softmax', alpha: false, metrics: ['logloss', 'accuracy'] },
  quantile: { link: 'identity', alpha: true, metrics: ['mae', 'rmse'] },
} as const satisfies Record<string, { link: Link; alpha: boolean; metrics: readonly Metric[] }>;
export type ObjectiveName = keyof typeof OBJECTIVES;

/** `quantile(alpha)`: alpha in (0, 1). */
export const QUANTILE_ALPHA: ValueSpec = {
  type: 'number',
  min: 0,
  max: 1,
  minExclusive: true,
  maxExclusive: true,
};

// ---- components ----

export type ComponentKind = 'linear' | 'gbdt' | 'mlp';
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'linear'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface OptionSpec {
  spec: ValueSpec;
  required?: boolean;
}

export interface HyperparamSpec {
  spec: ValueSpec;
  /** Only for components with `per ENTITY` (random effects). */
  perOnly?: boolean;
  summary: string;
}

export interface ComponentKindSpec {
  summary: string;
  options: Record<string, OptionSpec>;
  /** Which feature types the kind takes. */
  accepts: { category: boolean; sparse: boolean; optional: boolean };
  /** `per ENTITY` allowed (random effects). */
  per: boolean;
  hyperparameters: Record<string, HyperparamSpec>;
}

const CLASSES: OptionSpec = { spec: { type: 'int', min: 2 } };
const nonNegative: ValueSpec = { type: 'number', min: 0 };
const positive: ValueSpec = { type: 'number', min: 0, minExclusive: true };
const atLeastOne: ValueSpec = { type: 'int', min: 1 };
const fraction: ValueSpec = { type: 'number', min: 0, max: 1, minExclusive: true };

export const COMPONENT_KINDS: Record<ComponentKind, ComponentKindSpec> = {
  linear: {
    summary: 'generalised linear model (optionally a random effect with per ENTITY)',
    options: { intercept: { spec: { type: 'bool' } }, classes: CLASSES },
    accepts: { category: false, sparse: true, optional: false },
    per: true,
    hyperparameters: {
      l1: { spec: nonNegative, summary: 'L1 regularisation' },
      l2: { spec: nonNegative, summary: 'L2 regularisation' },
      max_iter: { spec: atLeastOne, summary: 'solver iterations' },
      tolerance: { spec: positive, summary: 'solver convergence tolerance' },
      normalize: { spec: { type: 'bool' }, summary: 'scale features before fitting' },
      min_rows: {
        spec: atLeastOne,
        perOnly: true,
        summary: 'entities with fewer rows keep only global parts',
      },
      max_rows: { spec: atLeastOne, perOnly: true, summary: 'active rows sampled per entity' },
    },
  },
  gbdt: {
    summary: 'gradient-boosted decision trees',
    options: { classes: CLASSES },
    accepts: { category: true, sparse: false, optional: true },
    per: false,
    hyperparameters: {
      count: { spec: atLeastOne, summary: 'number of trees' },
      depth: { spec: { type: 'int', min: 1, max: 16 }, summary: 'maximum tree depth' },
      leaves: { spec: { type: 'int', min: 2 }, summary: 'maximum leaves per tree' },
      learning_rate: { spec: fraction, summary: 'shrinkage' },
      min_child_weight: { spec: nonNegative, summary: 'minimum hessian sum in a leaf' },
      subsample: { spec: fraction, summary: 'row sampling rate' },
      colsample: { spec: fraction, summary: 'feature sampling rate' },
      l1: { spec: nonNegative, summary: 'L1 regularisation of leaf values' },
      l2: { spec: nonNegative, summary: 'L2 regularisation of leaf values' },
      bins: { spec: { type: 'int', min: 2, max: 1024 }, summary: 'histogram bins per feature' },
      early_stopping: { spec: atLeastOne, summary: 'rounds without improvement before stopping' },
    },
  },
  mlp: {
    summary: 'multi-layer perceptron',
    options: {
      hidden: { spec: { type: 'intList', min: 1 }, required: true },
      activation: { spec: { type: 'enum', values: ACTIVATIONS } },
      classes: CLASSES,
    },
    accepts: { category: false, sparse: true, optional: false },
    per: false,
    hyperparameters: {
      epochs: { spec: atLeastOne, summary: 'passes over the data' },
      batch_size: { spec: atLeastOne, summary: 'rows per gradient step' },
      learning_rate: { spec: positive, summary: 'step size' },
      optimizer: { spec: { type: 'enum', values: ['adam', 'sgd'] }, summary: 'optimiser' },
      l2: { spec: nonNegative, summary: 'weight decay' },
      dropout: { spec: { type: 'number', min: 0, max: 1, maxExclusive: true }, summary: 'dropout rate' },
    },
  },
};

// ---- train settings ----

export interface SettingSpec {
  spec: ValueSpec;
  required?: boolean;
  summary: string;
}

/** Top-level keys of a `train { ... }` block (besides component names and `search`). */
export const TRAIN_SETTINGS: Record<string, SettingSpec> = {
  label: { spec: { type: 'column' }, required: true, summary: 'the data column to predict' },
  objective: { spec: { type: 'objective' }, required: true, summary: 'loss to minimise' },
  weight: { spec: { type: 'column' }, summary: 'the data column holding row weights' },
  seed: { spec: { type: 'int', min: 0 }, summary: 'random seed' },
  validation: {
    spec: { type: 'number', min: 0, max: 1, minExclusive: true, maxExclusive: true },
    summary: 'fraction of rows held out',
  },
  folds: { spec: { type: 'int', min: 2 }, summary: 'cross-validation folds' },
  iterations: { spec: atLeastOne, summary: 'coordinate-descent passes over the components' },
  metric: { spec: { type: 'enum', values: METRICS }, summary: 'evaluation metric' },
};

/** Keys of a `search { ... }` block (besides `COMPONENT.PARAM in space`). */
export const SEARCH_SETTINGS: Record<string, SettingSpec> = {
  budget: { spec: atLeastOne, summary: 'number of trials' },
  method: { spec: { type: 'enum', values: ['random', 'tpe'] }, summary: 'search strategy' },
  parallel: { spec: atLeastOne, summary: 'trials run at once' },
  metric: { spec: { type: 'enum', values: METRICS }, summary: 'metric the search optimises' },
};

/** What each argument kind means, for "expected ..." messages. */
export const ARG_KINDS: Record<ArgKind, string> = {
  numeric: 'a number or vector',
  scalar: 'a number',
  vector: 'a vector',
  value: 'a value',
  string: 'a string',
  bag: 'a bag',
  category: 'a category',
  hashable: 'a string, bag, category or int',
  crossable: 'a string, bag or category',
  intConst: 'an integer constant',
  increasingList: 'a list of strictly increasing number constants',
  labelList: 'a list of distinct string constants',
};
