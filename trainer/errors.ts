// The trainer's error codes (PML50xx; docs/errors.md lists them, test/compiler/codes.test.ts checks).
// Input: nothing. Output: TRAIN_CODES and TrainError (message prefixed with its code). No heavy imports,
// so the codes test can load it without the compiler back end.

export const TRAIN_CODES = {
  model: { code: 'PML5001', summary: 'the model does not check (fix the errors `proml check` shows)' },
  data: {
    code: 'PML5002',
    summary:
      'the data cannot be read, lacks a column or has one of the wrong type, an entity column is all null, or a weight is bad',
  },
  unsupported: { code: 'PML5003', summary: 'not supported yet by the trainer' },
  label: {
    code: 'PML5004',
    summary: 'a label value does not suit the objective (or a logistic label has one class only)',
  },
  noRows: { code: 'PML5005', summary: 'no training rows left (all rejected, or an empty file)' },
  diverged: {
    code: 'PML5006',
    summary: 'the fit diverged (non-finite loss or weights): lower the learning rate',
  },
  search: {
    code: 'PML5007',
    summary: 'bad cross-validation or search settings (folds, budget, parallel; nothing to score trials on)',
  },
  retrain: {
    code: 'PML5008',
    summary: '--retrain / --from: an unknown component, or a bundle that does not fit the model',
  },
} as const;

export class TrainError extends Error {
  readonly code: string;
  constructor(kind: keyof typeof TRAIN_CODES, message: string) {
    super(`${TRAIN_CODES[kind].code}: ${message}`);
    this.code = TRAIN_CODES[kind].code;
  }
}
