// The `proml.manifest` custom section (docs/abi.md, "Manifest"): what a module says about itself.
// Input: JSON text from the section. Output: typed Manifest (parseManifest checks the ABI version and
// the shape of the parts a host relies on). Written by the compiler's emit stage, read by the runtime
// loader and `proml inspect`.

import { ABI_VERSION } from './constants.js';

/** How an input column is laid out (Arrow type) and what it means. */
export type InputType =
  | { kind: 'f32' | 'f64' | 'int' | 'bool' | 'string' | 'entity' }
  | { kind: 'category'; labels: string[] }
  | { kind: 'bag'; elem: 'string' | 'int' }
  | { kind: 'vector'; elem: 'f32' | 'f64'; size: number };

export interface InputColumn {
  name: string;
  type: InputType;
  /** May be missing (no default, not required). */
  optional: boolean;
  required: boolean;
  /** Value used when missing, as JSON (number, bool, string, label, number list), or null. */
  default: number | boolean | string | number[] | null;
  range: { lo: number; hi: number } | null;
  /** Category inputs: what a label outside the vocabulary becomes. */
  unknown: 'oov' | 'error' | { label: string } | null;
  pii: boolean;
}

/** The per-entity coefficient block of one `per` component: one more input column. */
export interface EntityBlockColumn {
  component: string;
  /** The entity input whose id selects the block. */
  entity: string;
  /** Numbers per block (classes × (intercept + features)). */
  width: number;
  elem: 'f64';
}

export interface OutputColumn {
  name: string;
  type: 'f32' | 'f64' | 'int' | 'bool';
  /** 1 for a scalar; k for a vector output (fixed-size list of k values). */
  size: number;
}

export interface ManifestComponent {
  name: string;
  kind: 'linear' | 'random_effect' | 'gbdt' | 'mlp';
  classes: number;
  inputWidth: number;
  per: string | null;
  /** componentHash() of the bundle entry the module was compiled with. */
  sha256: string;
}

export interface Manifest {
  abi: number;
  /** `scoring`: inputs → outputs; `transform`: inputs → component feature columns. */
  product: 'scoring' | 'transform';
  model: {
    name: string;
    version: string;
    owner: string | null;
    purpose: string | null;
    description: string | null;
  };
  compiler: { name: 'proml'; version: string };
  /** SHA-256 (hex) of the .pml source bytes. */
  sourceSha256: string;
  /** SHA-256 (hex) of the bundle.json the module was compiled with, or null (transform before fit). */
  bundleSha256: string | null;
  /** Descriptor order: inputs first, then entity blocks. */
  inputs: InputColumn[];
  entityBlocks: EntityBlockColumn[];
  outputs: OutputColumn[];
  components: ManifestComponent[];
  /** Fitted transforms and calibrations embedded, by bundle key, with their table hashes. */
  fitted: { key: string; kind: string; sha256: string }[];
  /** Lowering choices (`trees: "flat"`, `linear.block: "4"`), recorded so a module explains itself. */
  strategies: Record<string, string>;
  /** Pinned semantics: hash seed and Unicode version of the text tables. */
  semantics: { hash: 'murmur3_x86_32'; seed: number; unicode: string };
  memory: { initialPages: number; maxPages: number | null };
  /** How `proml tune` chose the strategies (docs/tuning.md); absent from a plain `proml compile`. */
  tuning?: TuningRecord;
}

/** Quartiles of a measurement over the timing rounds. */
export interface Quartiles {
  median: number;
  q1: number;
  q3: number;
}

/** One strategy candidate `proml tune` compiled and timed (docs/abi.md 4.2). */
export interface TuningCandidate {
  /** The EmitOptions set explicitly (`{}` is the default build). */
  options: Record<string, string | number | boolean>;
  /** The `strategies` entries that differ from the default build's. */
  strategies: Record<string, string>;
  /** Output and status bytes identical to the default build's on the sample. */
  exact: boolean;
  /**
   * An inexact strategy allowed by a tolerance (mlpPrecision f32): the largest |a − b| between its
   * float outputs and the default build's on the sample; null for exact candidates.
   */
  maxAbsDiff: number | null;
  /** Timed in the paired rounds (else its figures are the screening rounds'). */
  finalist: boolean;
  /** Sample rows scored per second over the rounds (null: not timed, e.g. not exact). */
  rowsPerSec: Quartiles | null;
  /** Per round: this candidate's rows/s ÷ the default's (paired rounds: the mean of the two
   *  default slots around it; screening: the default's slot in the same round). */
  speedup: Quartiles | null;
}

export interface TuningRecord {
  /** When the measurements were taken (ISO 8601, UTC). */
  date: string;
  machine: { cpu: string; cores: number; node: string; platform: string };
  /** The rows timed: their source, count, rejections and the SHA-256 of their ABI column buffers. */
  sample: { source: 'file' | 'random'; name: string | null; rows: number; rejected: number; sha256: string };
  /** Screening rounds (every candidate) and paired rounds (the finalists, each beside the default). */
  screenRounds: number;
  rounds: number;
  budgetSeconds: number;
  /**
   * `proml tune --allow-inexact T`: inexact strategies were candidates when every float output
   * stayed within |a − b| ≤ T · max(1, |b|) of the default build's; null: exact strategies only.
   */
  tolerance: number | null;
  /** The decision rule, in words. */
  rule: string;
  /** candidates[0] is the default build. */
  candidates: TuningCandidate[];
  /** Index of the candidate this module was built with. */
  chosen: number;
  reason: string;
}

export class ManifestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses manifest JSON; throws ManifestError (PML4001 unreadable, PML4002 other ABI version). */
export function parseManifest(text: string): Manifest {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(
      'PML4001',
      `the ${'proml.manifest'} section is not JSON: ${(e as Error).message}`,
    );
  }
  if (typeof j !== 'object' || j === null)
    throw new ManifestError('PML4001', 'the manifest is not an object');
  const m = j as Partial<Manifest>;
  if (m.abi !== ABI_VERSION)
    throw new ManifestError(
      'PML4002',
      `module uses ABI ${String(m.abi)}; this runtime speaks ABI ${ABI_VERSION}`,
    );
  for (const key of ['inputs', 'entityBlocks', 'outputs', 'components'] as const)
    if (!Array.isArray(m[key])) throw new ManifestError('PML4001', `the manifest has no '${key}' list`);
  return m as Manifest;
}
