// Errors of loading a module and of scoring with it (PML40xx load, PML42xx input, PML43xx call,
// PML45xx the HTTP service, PML46xx batch scoring of files),
// as a table of codes (docs/errors.md lists every one; a test keeps the two in sync).
// Input: nothing. Output: RUNTIME_CODES and RuntimeError, which names the code, and where it helps
// the input field and the row at fault. Browser-safe.

export const RUNTIME_CODES = {
  notWasm: {
    code: 'PML4005',
    severity: 'error',
    summary: 'not a WebAssembly module (or it fails to compile)',
  },
  imports: {
    code: 'PML4003',
    severity: 'error',
    summary: 'the module imports something (proml modules import nothing)',
  },
  exports: {
    code: 'PML4004',
    severity: 'error',
    summary: 'the module lacks an ABI export or exports something else',
  },
  hash: {
    code: 'PML4006',
    severity: 'error',
    summary: 'the module is not the one expected (content hash differs)',
  },
  product: {
    code: 'PML4007',
    severity: 'error',
    summary: 'a transform module where a scoring module is needed, or the reverse',
  },
  unknownField: {
    code: 'PML4201',
    severity: 'error',
    summary: 'a row has a field the model has no input for',
  },
  wrongType: { code: 'PML4202', severity: 'error', summary: "a value does not have its input's type" },
  wrongShape: {
    code: 'PML4203',
    severity: 'error',
    summary: 'a vector has the wrong length, or columns differ in length',
  },
  noEntityStore: {
    code: 'PML4204',
    severity: 'error',
    summary: 'the model has per-entity components but no entity store was given',
  },
  badBody: {
    code: 'PML4205',
    severity: 'error',
    summary: 'the request body is not valid JSON (or Arrow), or not the shape the route expects',
  },
  // batch scoring of files (runtime/node/batch.ts, docs/batch.md)
  missingColumn: {
    code: 'PML4601',
    severity: 'error',
    summary: 'an input file (batch scoring) has no column for a model input',
  },
  unreadableInput: {
    code: 'PML4602',
    severity: 'error',
    summary: 'an input file (batch scoring) cannot be read: missing, not Arrow/Parquet/CSV, or corrupt',
  },
  unwritableOutput: {
    code: 'PML4603',
    severity: 'error',
    summary: 'the output file (batch scoring) cannot be written, or its format is unknown',
  },
  outOfMemory: { code: 'PML4301', severity: 'error', summary: 'the module ran out of memory for this batch' },
  badCall: {
    code: 'PML4302',
    severity: 'error',
    summary: 'internal: the module refused the call (bad descriptor or row count)',
  },
  overloaded: {
    code: 'PML4303',
    severity: 'error',
    summary: 'the worker pool is overloaded: its task queue is full (retry later)',
  },
  workerDied: {
    code: 'PML4304',
    severity: 'error',
    summary: 'the worker thread scoring this call died; the pool replaced it (retry)',
  },
  // entity stores (runtime/node/sqlite-store.ts, redis-store.ts, docs/entities.md)
  entityStore: {
    code: 'PML4305',
    severity: 'error',
    summary: 'the entity store cannot be opened, read or reached (SQLite file, Redis server)',
  },
  entityStoreMismatch: {
    code: 'PML4306',
    severity: 'error',
    summary: 'the entity store lacks a component the model needs, or its block width differs',
  },
  // the HTTP service (runtime/node/server.ts, docs/serving.md)
  bodyTooLarge: { code: 'PML4501', severity: 'error', summary: 'the request body is larger than --max-body' },
  timedOut: { code: 'PML4502', severity: 'error', summary: 'the request took longer than --timeout-ms' },
  unknownModel: { code: 'PML4503', severity: 'error', summary: 'no model (or model version) by that name' },
  noRoute: { code: 'PML4504', severity: 'error', summary: 'no such route' },
  badMethod: { code: 'PML4505', severity: 'error', summary: 'the route does not accept this HTTP method' },
  mediaType: { code: 'PML4506', severity: 'error', summary: 'unsupported content type for this route' },
  shuttingDown: { code: 'PML4507', severity: 'error', summary: 'the server is shutting down' },
  noRollback: { code: 'PML4508', severity: 'error', summary: 'no previous model version to roll back to' },
  internal: { code: 'PML4509', severity: 'error', summary: 'internal error in the server (a bug)' },
} as const;

export type RuntimeCodeName = keyof typeof RUNTIME_CODES;

export class RuntimeError extends Error {
  readonly code: string;
  constructor(
    readonly kind: RuntimeCodeName,
    message: string,
    /** The input field at fault, when there is one. */
    readonly field: string | null = null,
    /** The row at fault (0-based), when there is one. */
    readonly row: number | null = null,
  ) {
    super(`${RUNTIME_CODES[kind].code}: ${message}`);
    this.code = RUNTIME_CODES[kind].code;
    this.name = 'RuntimeError';
  }
}

/**
 * A batch-relative RuntimeError (`row r` of a batch) restated for the whole input: its row becomes
 * rowBase + r and `row r` in the message becomes where(rowBase + r) (default `row N`). Any other
 * error is returned as it is.
 */
export function rebaseRow(
  e: unknown,
  rowBase: number,
  where: (row: number) => string = (row) => `row ${row}`,
): unknown {
  if (!(e instanceof RuntimeError) || e.row === null) return e;
  const row = rowBase + e.row;
  return new RuntimeError(
    e.kind,
    e.message.replace(/^PML\d{4}: /, '').replace(`row ${e.row}`, where(row)),
    e.field,
    row,
  );
}
