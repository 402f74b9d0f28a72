// The coefficient bundle (docs/coefficients.md): what the trainer writes and the compiler reads.
// Input: nothing (types and small helpers). Output: `BundleJson` (the bundle.json file, structure and
// table hashes) and `Bundle` (decoded, in memory: every number as f64). abi/node.ts reads and writes
// bundles; compiler/bundle-check.ts checks one against a model.

export const BUNDLE_FORMAT = 'proml-coefficients';
export const BUNDLE_FORMAT_VERSION = 1;
export const BUNDLE_JSON = 'bundle.json';

export type HyperValue = number | boolean | string;

/** One Arrow IPC file of the bundle and the SHA-256 (hex) of its bytes. */
export interface TableRef {
  file: string;
  sha256: string;
  rows: number;
}

interface ComponentBase {
  /** 1 for a scalar margin, k for `classes = k`. */
  classes: number;
  /** Columns of the component's input (CheckedComponent.inputWidth). */
  inputWidth: number;
  /** The hyperparameters the fit used (fixed, searched or defaulted), for reports. */
  hyperparameters: Record<string, HyperValue>;
}

export type ComponentJson =
  | (ComponentBase & { kind: 'linear'; intercept: boolean; tables: { weights: TableRef } })
  | (ComponentBase & {
      kind: 'random_effect';
      intercept: boolean;
      /** The entity input (`per member_id`). */
      entity: string;
      /** classes × (intercept + inputWidth). */
      blockWidth: number;
      tables: { entities: TableRef };
    })
  | (ComponentBase & { kind: 'gbdt'; trees: number; tables: { nodes: TableRef; base: TableRef } })
  | (ComponentBase & {
      kind: 'mlp';
      /** Layer widths from input to output: [inputWidth, hidden..., classes]. */
      layers: number[];
      activation: 'relu' | 'tanh' | 'sigmoid' | 'linear';
      tables: { layers: TableRef };
    });

export type TransformJson =
  | { kind: 'standardize'; width: number; table: TableRef }
  | { kind: 'quantiles'; n: number; table: TableRef }
  | { kind: 'vocab'; max: number; minCount: number; size: number; table: TableRef };

export type CalibrationJson =
  | { kind: 'platt'; of: string; table: TableRef }
  | { kind: 'isotonic'; of: string; points: number; table: TableRef };

/** bundle.json */
export interface BundleJson {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  model: { name: string; version: string };
  /** SHA-256 (hex) of the .pml source bytes the bundle was trained from. */
  sourceSha256: string;
  /** Who wrote it: `proml-trainer 0.3.0`, `make-fixture-bundles (random, seed 17)`. */
  producer: string;
  /** Free text: caps applied by generators, importer remarks. */
  notes: string[];
  components: Record<string, ComponentJson>;
  /** Fitted transforms by site key (`feature.x_std.0`, see compiler/fitted.ts). */
  transforms: Record<string, TransformJson>;
  /** Calibration maps by key `METHOD.OUTPUT` (`isotonic.p_click`). */
  calibrations: Record<string, CalibrationJson>;
}

// ---- decoded, in memory ----

export interface GbdtNode {
  split: 'leaf' | 'numeric' | 'categorical';
  /** Column of the component input tested (leaves: -1). */
  feature: number;
  /** numeric: `x < threshold` goes left. */
  threshold: number;
  /** categorical: category indices (OOV = size) that go left; every other index goes right. */
  categories: number[];
  /** Where a missing value goes. */
  defaultLeft: boolean;
  left: number;
  right: number;
  /** Leaf value (learning rate already applied); 0 for splits. */
  value: number;
}

/** A leaf node (the fields a split uses hold their neutral values). */
export function gbdtLeaf(value: number): GbdtNode {
  return {
    split: 'leaf',
    feature: -1,
    threshold: 0,
    categories: [],
    defaultLeft: false,
    left: -1,
    right: -1,
    value,
  };
}

export interface GbdtTree {
  /** The class whose margin this tree adds to (0 for a scalar model). */
  class: number;
  /** nodes[0] is the root. */
  nodes: GbdtNode[];
}

export interface MlpLayer {
  inputs: number;
  outputs: number;
  /** Row-major [outputs][inputs]. */
  weights: Float64Array;
  bias: Float64Array;
}

export type ComponentCoefficients =
  | {
      kind: 'linear';
      classes: number;
      inputWidth: number;
      intercept: boolean;
      hyperparameters: Record<string, HyperValue>;
      /** classes × inputWidth, row-major by class. */
      weights: Float64Array;
      /** One per class (zeros when intercept is false). */
      intercepts: Float64Array;
    }
  | {
      kind: 'random_effect';
      classes: number;
      inputWidth: number;
      intercept: boolean;
      entity: string;
      hyperparameters: Record<string, HyperValue>;
      blockWidth: number;
      /** Entity id (ints as decimal text) → block: per class, [intercept?] then inputWidth weights. */
      blocks: Map<string, Float64Array>;
    }
  | {
      kind: 'gbdt';
      classes: number;
      inputWidth: number;
      hyperparameters: Record<string, HyperValue>;
      trees: GbdtTree[];
      /** Constant added to each class margin before the trees (XGBoost base_score, as a margin). */
      base: Float64Array;
    }
  | {
      kind: 'mlp';
      classes: number;
      inputWidth: number;
      hyperparameters: Record<string, HyperValue>;
      activation: 'relu' | 'tanh' | 'sigmoid' | 'linear';
      layers: MlpLayer[];
    };

export type TransformParams =
  | { kind: 'standardize'; mean: Float64Array; std: Float64Array }
  | { kind: 'quantiles'; n: number; boundaries: Float64Array }
  | { kind: 'vocab'; max: number; minCount: number; labels: string[]; counts: Float64Array };

export type CalibrationParams =
  | { kind: 'platt'; of: string; a: number; b: number }
  | { kind: 'isotonic'; of: string; x: Float64Array; y: Float64Array };

export interface Bundle {
  model: { name: string; version: string };
  sourceSha256: string;
  producer: string;
  notes: string[];
  components: Map<string, ComponentCoefficients>;
  transforms: Map<string, TransformParams>;
  calibrations: Map<string, CalibrationParams>;
}

/** The key of a calibration map in a bundle: `isotonic.p_click`. */
export function calibrationKey(method: 'platt' | 'isotonic', of: string): string {
  return `${method}.${of}`;
}

/** Entity ids are matched as text: ints by their decimal form. */
export function entityKey(id: string | number): string {
  return typeof id === 'number' ? String(id) : id;
}
