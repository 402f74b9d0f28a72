// What every importer shares (trainer/import/xgboost.ts, trainer/import/lightgbm.ts; docs/import.md):
// the error codes (PML52xx), the format-neutral `ImportedModel` an importer produces, and the writer
// that turns one into a DSL skeleton (model.pml) and a coefficient bundle (bundle/).
// Input: an ImportedModel (features, trees in proml's GbdtNode form, base margins, link).
// Output: outdir/model.pml + outdir/bundle/ (abi/node.ts writeBundle), checked with the compiler's
// checker and bundle checker before anything is reported as done.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, GbdtTree } from '../../abi/bundle.js';
import { sha256Hex, writeBundle } from '../../abi/node.js';
import { checkBundle, checkSource, formatSource } from '../../compiler/index.js';
import { KEYWORDS } from '../../compiler/lexer.js';

/** Codes of `proml import` (docs/errors.md, PML52xx). All are errors. */
export const IMPORT_CODES = {
  unreadable: { code: 'PML5201', severity: 'error', meaning: 'the model file cannot be read' },
  notAModel: {
    code: 'PML5202',
    severity: 'error',
    meaning:
      'not a model file of that format (not JSON / not LightGBM text, or a field is missing or malformed)',
  },
  objective: { code: 'PML5203', severity: 'error', meaning: 'the model’s objective is not supported' },
  unsupported: {
    code: 'PML5204',
    severity: 'error',
    meaning:
      'a model feature proml cannot reproduce exactly (booster, linear or vector leaves, RF averaging)',
  },
  categorical: {
    code: 'PML5205',
    severity: 'error',
    meaning: 'a categorical split proml cannot reproduce (LightGBM categorical splits)',
  },
  featureNames: {
    code: 'PML5206',
    severity: 'error',
    meaning: '--feature-names does not match the model (count), or a name is empty or repeated',
  },
  output: {
    code: 'PML5207',
    severity: 'error',
    meaning: 'the output directory cannot be written, or the written model does not check',
  },
} as const;

export type ImportCodeName = keyof typeof IMPORT_CODES;

export class ImportError extends Error {
  readonly code: string;
  constructor(
    name: ImportCodeName,
    message: string,
    readonly hint?: string,
  ) {
    super(`${IMPORT_CODES[name].code}: ${message}`);
    this.code = IMPORT_CODES[name].code;
  }
}

export interface ImportedFeature {
  /** The name in the source model (may not be a valid proml identifier). */
  source: string;
  /** numeric: an f32/f64 input; categorical: a category input with labels "0".."size-1". */
  kind: 'numeric' | 'categorical';
  /** categorical only: how many codes are declared (max code used by any split + 1). */
  size?: number;
}

/** How the margin becomes the prediction. */
export type Link = 'sigmoid' | 'identity' | 'exp' | 'softmax';

export interface ImportedModel {
  /** `xgboost 1.7.4`, `lightgbm v4`. */
  source: string;
  /** The source's objective as written (`binary:logistic`, `multiclass num_class:3`). */
  objective: string;
  /** The proml model name (an identifier). */
  name: string;
  features: ImportedFeature[];
  /** f32 for XGBoost (it compares in float32), f64 for LightGBM (double). */
  inputType: 'f32' | 'f64';
  classes: number;
  link: Link;
  /** sigmoid only: the prediction is sigmoid(scale · margin) (LightGBM `sigmoid:k`); default 1. */
  scale?: number;
  /** multiclass: also return the arg-max class (XGBoost multi:softmax). */
  argmax?: boolean;
  trees: GbdtTree[];
  /** One base margin per class. */
  base: number[];
  /** Remarks for bundle.json `notes` and the .pml header. */
  notes: string[];
  /** Store floating columns as float32 (every value is float32-exact: XGBoost). */
  float32: boolean;
}

export interface ImportOptions {
  /** The proml model name; default: from the file name. */
  name?: string;
  /** Replace the model's feature names (one per feature, in column order). */
  featureNames?: string[];
}

const RESERVED = new Set<string>(KEYWORDS);

/** A valid proml identifier close to `raw` (invalid characters → `_`, leading digit → `f_`). */
export function identifier(raw: string): string {
  let s = raw.replace(/[^A-Za-z0-9_]/g, '_');
  if (s === '' || !/^[A-Za-z_]/.test(s)) s = `f_${s}`;
  return s;
}

/** The default model name from a file name: `models/churn-v2.json` → `churn_v2`. */
export function modelNameFromPath(path: string): string {
  const base = (path.split(/[\\/]/).pop() ?? 'model').replace(/\.[^.]*$/, '');
  const s = identifier(base);
  return RESERVED.has(s) ? `imported_${s}` : s;
}

/** Names the generated model uses itself: features are renamed away from them. */
const TAKEN = ['trees', 'prediction', 'margin', 'class'];

/**
 * The proml input names for the features: `featureNames` (checked) or the model's own names,
 * made valid and unique. Returns them and notes about every rename.
 */
export function inputNames(
  source: string[],
  override: string[] | undefined,
): { names: string[]; notes: string[] } {
  let raw = source;
  if (override !== undefined) {
    if (override.length !== source.length)
      throw new ImportError(
        'featureNames',
        `--feature-names gives ${override.length} names but the model has ${source.length} features`,
      );
    const empty = override.findIndex((n) => n.trim() === '');
    if (empty >= 0) throw new ImportError('featureNames', `--feature-names: name ${empty + 1} is empty`);
    raw = override.map((n) => n.trim());
  }
  const seen = new Set<string>(TAKEN);
  const notes: string[] = [];
  const names = raw.map((r) => {
    let n = identifier(r);
    while (RESERVED.has(n) || seen.has(n)) n = `${n}_`;
    seen.add(n);
    if (n !== r) notes.push(`feature '${r}' is input '${n}'`);
    return n;
  });
  if (override !== undefined && new Set(raw).size !== raw.length)
    throw new ImportError('featureNames', '--feature-names: a name is repeated');
  return { names, notes };
}

/** `x` as a proml constant that reads back as exactly the same double. */
function constant(x: number): string {
  const s = String(x);
  return s.includes('e') || s.includes('.') ? s.replace('e+', 'e') : `${s}.0`;
}

function quote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/** The DSL skeleton: inputs (one per feature, optional), one gbdt component, the outputs. */
export function renderPml(m: ImportedModel, names: string[]): string {
  const lines: string[] = [];
  lines.push(`// Imported by \`proml import\` from ${m.source} (objective ${m.objective}).`);
  lines.push('// The coefficients are in bundle/ next to this file; compile with');
  lines.push('//   proml compile model.pml --coefficients bundle -o model.wasm');
  lines.push(`model ${m.name} {`);
  lines.push('  version "1.0.0"');
  lines.push('  owner   "unknown" // set the owning team');
  lines.push('  purpose "unspecified" // set the purpose (privacy checks)');
  lines.push(`  description ${quote(`Imported from ${m.source}: ${m.objective}, ${m.trees.length} trees.`)}`);
  lines.push('');
  lines.push('  // A missing input is what the source model calls missing (NaN): each split sends it its');
  lines.push(
    `  // default direction. ${m.inputType === 'f32' ? 'Values are compared as float32, like XGBoost.' : 'Values are compared as float64, like LightGBM.'}`,
  );
  m.features.forEach((f, j) => {
    const name = names[j]!;
    const remarks = name !== f.source ? [`source name ${JSON.stringify(f.source)}`] : [];
    if (f.kind === 'categorical') {
      remarks.push('category codes as text ("0", "1", ...)');
      const labels = Array.from({ length: f.size ?? 1 }, (_, k) => `"${k}"`).join(', ');
      lines.push(`  input ${name} : category(${labels}) // ${remarks.join('; ')}`);
    } else
      lines.push(`  input ${name} : ${m.inputType}${remarks.length > 0 ? ` // ${remarks.join('; ')}` : ''}`);
  });
  lines.push('');
  const classes = m.classes > 1 ? `, classes = ${m.classes}` : '';
  lines.push(`  component trees = gbdt(${names.join(', ')}${classes})`);
  lines.push('');
  const scaled = m.scale !== undefined && m.scale !== 1 ? `${constant(m.scale)} * trees` : 'trees';
  switch (m.link) {
    case 'sigmoid':
      lines.push(`  output prediction = sigmoid(${scaled})`);
      break;
    case 'exp':
      lines.push('  output prediction = exp(trees)');
      break;
    case 'softmax':
      lines.push('  output prediction = softmax(trees)');
      break;
    case 'identity':
      lines.push('  output prediction = trees');
      break;
  }
  lines.push('  output margin     = trees // the raw score (XGBoost output_margin, LightGBM raw_score)');
  if (m.argmax === true) lines.push('  output class : int = argmax(prediction)');
  lines.push('');
  const objective = { sigmoid: 'logistic', identity: 'squared_error', exp: 'poisson', softmax: 'multiclass' }[
    m.link
  ];
  lines.push('  // Not trained by proml: the coefficients come from the source model. To retrain with');
  lines.push('  // proml instead, add a train block, for example:');
  lines.push(`  //   train prediction { label <column> objective ${objective} }`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export interface ImportResult {
  pmlPath: string;
  bundleDir: string;
  /** Diagnostics of the written model (warnings only: errors throw). */
  warnings: string[];
  trees: number;
  features: number;
}

/** Writes outdir/model.pml and outdir/bundle/, then checks both with the compiler. */
export function writeImport(m: ImportedModel, outDir: string, featureNames?: string[]): ImportResult {
  const { names, notes } = inputNames(
    m.features.map((f) => f.source),
    featureNames,
  );
  const pmlPath = join(outDir, 'model.pml');
  const raw = renderPml(m, names);
  // canonical layout, so `proml fmt --check` passes on the written file
  const pml = formatSource(pmlPath, raw).output ?? raw;
  const bundleDir = join(outDir, 'bundle');
  const bundle: Bundle = {
    model: { name: m.name, version: '1.0.0' },
    sourceSha256: sha256Hex(pml),
    producer: `proml import (${m.source})`,
    notes: [`imported from ${m.source}, objective ${m.objective}`, ...m.notes, ...notes],
    components: new Map([
      [
        'trees',
        {
          kind: 'gbdt',
          classes: m.classes,
          inputWidth: m.features.length,
          hyperparameters: { source: m.source, objective: m.objective, trees: m.trees.length },
          trees: m.trees,
          base: Float64Array.from(m.base),
        },
      ],
    ]),
    transforms: new Map(),
    calibrations: new Map(),
  };
  const r = checkSource(pmlPath, pml);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  if (r.checked === null || errors.length > 0)
    throw new ImportError(
      'output',
      `internal: the generated model does not check: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`,
    );
  const issues = checkBundle(r.checked, bundle, bundle.sourceSha256).filter((d) => d.severity === 'error');
  if (issues.length > 0)
    throw new ImportError(
      'output',
      `internal: the generated bundle does not fit the model: ${issues.map((d) => `${d.code} ${d.message}`).join('; ')}`,
    );
  try {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(pmlPath, pml);
    writeBundle(bundleDir, bundle, { float32: m.float32 });
  } catch (e) {
    throw new ImportError('output', `cannot write ${outDir}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    pmlPath,
    bundleDir,
    warnings: r.sink.items.map((d) => `${d.severity} ${d.code}: ${d.message}`),
    trees: m.trees.length,
    features: m.features.length,
  };
}

/**
 * Renumbers a tree's nodes in preorder from the root (children after parents; unreachable nodes
 * dropped). `where` names the tree in errors: a child outside the tree or reached twice (a loop).
 */
export function preorder(tree: GbdtTree, where: string): GbdtTree {
  const order: number[] = [];
  const index = new Map<number, number>();
  const stack = [0];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (index.has(i) || tree.nodes[i] === undefined)
      throw new ImportError(
        'notAModel',
        `${where}: node ${i} is ${index.has(i) ? 'reached twice' : 'missing'}`,
      );
    index.set(i, order.length);
    order.push(i);
    const n = tree.nodes[i]!;
    if (n.split !== 'leaf') stack.push(n.right, n.left);
  }
  return {
    class: tree.class,
    nodes: order.map((i) => {
      const n = tree.nodes[i]!;
      return n.split === 'leaf' ? n : { ...n, left: index.get(n.left)!, right: index.get(n.right)! };
    }),
  };
}
