// ABI v1 constants (docs/abi.md): export names, the custom section, the column-descriptor and
// status layouts the host and the module agree on, and the row-rejection codes.
// Input: nothing. Output: numbers and names shared by the compiler (emit) and the runtime (load/score).
//
//   input descriptor i, at inputs + 32*i          output descriptor j, at outputs + 16*j
//   +0  validity  (bitmap, 0 = all present)        +0  validity (bitmap, written by the module)
//   +4  offsets   (int32[n+1] or 0)                 +4  values   (written by the module)
//   +8  values                                      +8  reserved (0)
//   +12 data      (bag<string> bytes, or 0)         +12 reserved (0)
//   +16 child validity (bag items, or 0)
//   +20 .. +31 reserved (0)

export const ABI_VERSION = 1;

/** The custom section holding the manifest (UTF-8 JSON). */
export const MANIFEST_SECTION = 'proml.manifest';

/** Every export of a module; nothing else is exported and nothing at all is imported. */
export const EXPORTS = {
  memory: 'memory',
  abiVersion: 'proml_abi_version',
  alloc: 'proml_alloc',
  reset: 'proml_reset',
  score: 'proml_score',
  transform: 'proml_transform',
} as const;

export const INPUT_DESCRIPTOR = {
  size: 32,
  validity: 0,
  offsets: 4,
  values: 8,
  data: 12,
  childValidity: 16,
} as const;

export const OUTPUT_DESCRIPTOR = {
  size: 16,
  validity: 0,
  values: 4,
} as const;

/** Alignment of every proml_alloc result, in bytes. */
export const ALLOC_ALIGN = 16;
export const WASM_PAGE = 65536;

/** Negative results of proml_score / proml_transform: the whole call failed, no output written. */
export const FATAL = {
  badRowCount: -1,
  outOfMemory: -2,
  badDescriptor: -3,
} as const;

/**
 * Why a row was rejected. The status word of a rejected row is `(input << 16) | code`, where
 * `input` is the index of the offending input column and `code` the number of the PML4xxx code.
 */
export const ROW_ERRORS = {
  requiredMissing: { code: 4101, message: 'required input is missing' },
  outOfRange: { code: 4102, message: 'value outside the declared range' },
  unknownCategory: { code: 4103, message: 'value not in the category (unknown error)' },
  invalidUtf8: { code: 4104, message: 'text is not valid UTF-8' },
} as const;
export type RowErrorName = keyof typeof ROW_ERRORS;

export function statusWord(input: number, error: RowErrorName): number {
  return ((input << 16) | ROW_ERRORS[error].code) >>> 0;
}

export function decodeStatus(word: number): { input: number; code: number } | null {
  if (word === 0) return null;
  return { input: word >>> 16, code: word & 0xffff };
}
