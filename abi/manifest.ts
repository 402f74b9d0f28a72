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
