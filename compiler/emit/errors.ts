// Errors of the wasm back end (PML31xx, docs/errors.md): a model the front end accepts but this
// back end cannot compile yet, or a bundle it cannot embed. Never a silent wrong result: anything
// the emitter does not implement raises a CompileError with one of these codes.

export const EMIT_CODES = {
  unsupportedOp: 'PML3101',
  unsupportedInput: 'PML3102',
  unsupportedComponent: 'PML3103',
  unsupportedOutput: 'PML3104',
  missingCoefficients: 'PML3105',
  invalidModule: 'PML3106',
} as const;
export type EmitCodeName = keyof typeof EMIT_CODES;

export class CompileError extends Error {
  readonly code: string;
  constructor(name: EmitCodeName, message: string) {
    super(`${EMIT_CODES[name]}: ${message}`);
    this.name = 'CompileError';
    this.code = EMIT_CODES[name];
  }
}
