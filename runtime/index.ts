// runtime/ — run a compiled proml module anywhere (DESIGN.md: imports abi/, never compiler/).
// Browser-safe: no node: imports in this entry. Input: module bytes, rows or columns, an entity store.
// Output: scores (ScoreResult) with per-row rejections; errors with PML40xx/42xx/43xx codes.

export {
  Model,
  ScoreResult,
  sha256Hex,
  type EntityStore,
  type LoadOptions,
  type OutputBuffer,
  type OutputValue,
  type Rejection,
  type StagedBatch,
  type TransformResult,
} from './model.js';
export { rowsToColumns, type HostColumn } from './columns.js';
export { MemoryEntityStore } from './entities.js';
export { RUNTIME_CODES, RuntimeError, type RuntimeCodeName } from './errors.js';
