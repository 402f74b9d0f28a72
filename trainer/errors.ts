// The trainer's error codes (PML50xx; docs/errors.md lists them, test/compiler/codes.test.ts checks).
// Input: nothing. Output: TRAIN_CODES and TrainError (message prefixed with its code). No heavy imports,
// so the codes test can load it without the compiler back end.

export const TRAIN_CODES = {
  model: { code: 'PML5001', summary: 'the model does not check (fix the errors `proml check` shows)' },
  data: { code: 'PML5002', summary: 'the data file cannot be read or lacks a column the model needs' },
  unsupported: { code: 'PML5003', summary: 'not supported yet by the trainer' },
  label: { code: 'PML5004', summary: 'a label value does not suit the objective' },
  noRows: { code: 'PML5005', summary: 'no training rows left (all rejected, or an empty file)' },
} as const;

export class TrainError extends Error {
  readonly code: string;
  constructor(kind: keyof typeof TRAIN_CODES, message: string) {
    super(`${TRAIN_CODES[kind].code}: ${message}`);
    this.code = TRAIN_CODES[kind].code;
  }
}
