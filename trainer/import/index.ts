// `proml import`: existing tree models → a proml model (DSL skeleton + coefficient bundle), so they
// compile to the same self-contained WebAssembly module as models trained by proml (docs/import.md).
// Input: a model file (XGBoost JSON, LightGBM text), an output directory, options (model name,
// feature names). Output: outdir/model.pml and outdir/bundle/, checked with the compiler; errors are
// ImportError with a PML52xx code (IMPORT_CODES).

import { readFileSync, statSync } from 'node:fs';
import {
  ImportError,
  writeImport,
  type ImportedModel,
  type ImportOptions,
  type ImportResult,
} from './common.js';
import { importLightgbm } from './lightgbm.js';
import { importXgboost } from './xgboost.js';

export {
  IMPORT_CODES,
  ImportError,
  renderPml,
  type ImportedModel,
  type ImportOptions,
  type ImportResult,
} from './common.js';
export { importLightgbm, nextUp } from './lightgbm.js';
export { importXgboost } from './xgboost.js';

export const IMPORT_FORMATS = ['xgboost', 'lightgbm'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Reads and converts a model file without writing anything. */
export function readImport(format: ImportFormat, path: string, options: ImportOptions = {}): ImportedModel {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new Error('it is a directory');
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImportError(
      'unreadable',
      `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e)}`,
    );
  }
  return format === 'xgboost' ? importXgboost(text, path, options) : importLightgbm(text, path, options);
}

/** Converts `path` and writes outDir/model.pml and outDir/bundle/. */
export function importModel(
  format: ImportFormat,
  path: string,
  outDir: string,
  options: ImportOptions = {},
): ImportResult {
  return writeImport(readImport(format, path, options), outDir, options.featureNames);
}
