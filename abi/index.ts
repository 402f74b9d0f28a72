// abi/ — definitions the compiler and the runtime share (DESIGN.md: runtime/ imports no compiler
// code). Browser-safe: no node: imports here (bundle files on disk: abi/node.ts).
// Input: nothing. Output: ABI v1 constants, manifest and bundle types, the hash function and text
// semantics (the reference definitions the wasm kernels match), and the rows CSV encoding.

export * from './constants.js';
export * from './manifest.js';
export * from './bundle.js';
export { BUNDLE_CODES, BundleError, BundleErrors, type BundleCodeName } from './errors.js';
export { HASH_SEED, bucketOf, hashInt, hashPair, hashString, murmur3_32, utf8 } from './hash.js';
export { utf8Into, utf8Length } from './utf8.js';
export {
  UNICODE_VERSION,
  codePoints,
  isWordCodePoint,
  length,
  lower,
  lowerCodePoint,
  ngrams,
  tokens,
} from './text.js';
export {
  RowsCsvError,
  decodeCsvValue,
  formatRowsCsv,
  parseRowsCsv,
  type CellKind,
  type CsvColumn,
  type Row,
  type RowValue,
} from './rows-csv.js';
