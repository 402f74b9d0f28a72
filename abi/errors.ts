// Errors of reading and checking coefficient bundles (PML30xx), as a table of factories with codes
// (piscina's Errors style). Input: details of what went wrong. Output: BundleError values (thrown by
// abi/node.ts readBundle) and the code table compiler/bundle-check.ts reports issues with.

export class BundleError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'BundleError';
  }
}

/** Every bundle code, its severity and what it means (docs/coefficients.md lists the same). */
export const BUNDLE_CODES = {
  notFound: {
    code: 'PML3001',
    severity: 'error',
    summary: 'no bundle (directory or bundle.json missing or unreadable)',
  },
  malformed: {
    code: 'PML3002',
    severity: 'error',
    summary: 'bundle.json is not valid JSON or has a wrong shape',
  },
  version: { code: 'PML3003', severity: 'error', summary: 'unsupported bundle format or version' },
  tableMissing: {
    code: 'PML3004',
    severity: 'error',
    summary: 'a table file named in bundle.json is missing or unreadable',
  },
  hashMismatch: {
    code: 'PML3005',
    severity: 'error',
    summary: "a table's SHA-256 differs from bundle.json (corrupt)",
  },
  tableCorrupt: {
    code: 'PML3006',
    severity: 'error',
    summary: 'a table is not Arrow IPC or has wrong columns',
  },
  modelName: { code: 'PML3010', severity: 'error', summary: 'the bundle was trained for another model' },
  sourceChanged: { code: 'PML3011', severity: 'warning', summary: 'the model source changed since training' },
  componentMissing: {
    code: 'PML3012',
    severity: 'error',
    summary: 'a component of the model has no coefficients',
  },
  componentUnknown: {
    code: 'PML3013',
    severity: 'error',
    summary: 'the bundle has a component the model lacks',
  },
  componentKind: { code: 'PML3014', severity: 'error', summary: "a component's kind differs from the model" },
  shape: { code: 'PML3015', severity: 'error', summary: 'shape mismatch between bundle and model' },
  invalid: {
    code: 'PML3016',
    severity: 'error',
    summary: 'invalid coefficients (bad tree links, non-finite values)',
  },
  transformMissing: { code: 'PML3017', severity: 'error', summary: 'a fitted transform has no statistics' },
  transformUnknown: {
    code: 'PML3018',
    severity: 'error',
    summary: 'the bundle has a transform the model lacks',
  },
  calibrationMissing: { code: 'PML3019', severity: 'error', summary: 'a calibration has no fitted map' },
  calibrationUnknown: {
    code: 'PML3020',
    severity: 'error',
    summary: 'the bundle has a calibration the model lacks',
  },
} as const;
export type BundleCodeName = keyof typeof BUNDLE_CODES;

const HINT_RETRAIN =
  'retrain the model, or regenerate the bundle (scripts/make-fixture-bundles.ts for fixtures)';

export const BundleErrors = {
  notFound: (dir: string, reason?: string) =>
    new BundleError(
      BUNDLE_CODES.notFound.code,
      reason === undefined
        ? `no coefficient bundle at '${dir}' (bundle.json not found)`
        : `no coefficient bundle at '${dir}' (bundle.json cannot be read: ${reason})`,
      HINT_RETRAIN,
    ),
  malformed: (what: string) => new BundleError(BUNDLE_CODES.malformed.code, `bundle.json: ${what}`),
  version: (format: unknown, version: unknown) =>
    new BundleError(
      BUNDLE_CODES.version.code,
      `bundle.json has format ${JSON.stringify(format)} version ${JSON.stringify(version)}; this proml reads proml-coefficients version 1`,
    ),
  tableMissing: (file: string, reason?: string) =>
    new BundleError(
      BUNDLE_CODES.tableMissing.code,
      reason === undefined
        ? `table '${file}' named in bundle.json is missing (or not a regular file)`
        : `table '${file}' named in bundle.json cannot be read: ${reason}`,
      HINT_RETRAIN,
    ),
  hashMismatch: (file: string, expected: string, actual: string) =>
    new BundleError(
      BUNDLE_CODES.hashMismatch.code,
      `table '${file}' is corrupt: SHA-256 ${actual.slice(0, 12)}… but bundle.json says ${expected.slice(0, 12)}…`,
      HINT_RETRAIN,
    ),
  tableCorrupt: (file: string, what: string) =>
    new BundleError(BUNDLE_CODES.tableCorrupt.code, `table '${file}': ${what}`),
};
