// The wasm back end's public surface: compile a checked model, its IR and a coefficient bundle into
// one self-contained scoring module (docs/abi.md). Input: CheckedModel, ir.Module, Bundle, options.
// Output: module bytes plus the manifest embedded in them; unsupported constructs raise CompileError.

export { CompileError, EMIT_CODES, type EmitCodeName } from './errors.js';
export {
  DEFAULT_TREE_BLOCK,
  emitScoringModule,
  emitTransformModule,
  MAX_TREE_BLOCK,
  type EmitOptions,
  type EmitResult,
} from './scoring.js';
export { defaultTreeLayout, type TreeLayout } from './trees.js';
export { buildManifest, type ManifestParts } from './manifest.js';
export { replaceCustomSection } from './wasm-data.js';
