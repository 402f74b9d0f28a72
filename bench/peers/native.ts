// The hook for the native C lower bound (bench/native/, written separately): when bench/native/
// index.ts loads and exports the three functions below, the peer suite adds the engine row
// "native C (gcc -O3)". Input: the checked model, its bundle and proml rows. Output: the C program's
// own rows/s for a batch (its timing loop: no JS in the timed region) and its outputs, checked against
// proml like every peer. Models the C code does not cover (it throws, e.g. NativeUnsupported for the
// sparse and GAME models) get a "skipped" row naming the reason.

import type { Bundle, Row } from '../../abi/index.js';
import type { CheckedModel } from '../../compiler/index.js';

/** What the peer suite expects of bench/native/index.ts (the shape it had when this was written). */
export interface NativeApi {
  /** The C-side model and its input columns; throws for a model the native bound does not cover. */
  nativeFromBundle: (checked: CheckedModel, bundle: Bundle) => { model: unknown; columns: unknown };
  /** Row-major f32 input matrix of proml rows. */
  nativeRows: (columns: unknown, rows: Row[]) => Float32Array;
  /** Scores `rows` rows in a C loop for at least minTimeMs; rows/s = median over rounds. */
  nativeBound: (
    model: unknown,
    input: Float32Array,
    rows: number,
    options?: { minTimeMs?: number; minRounds?: number; vectorBits?: 'native' | 128 },
  ) => Promise<{
    rowsPerSec: number;
    outputs: ArrayLike<number>;
    spread?: number;
    compiler?: string;
    flags?: string;
  }>;
}

export async function loadNative(): Promise<{ api: NativeApi | null; note: string }> {
  try {
    // a computed specifier: bench/native/ is optional, and tsc must not require it
    const path = '../native/index.js';
    const mod = (await import(path)) as Partial<NativeApi> & { gccAvailable?: () => boolean };
    const missing = (['nativeFromBundle', 'nativeRows', 'nativeBound'] as const).filter(
      (k) => typeof mod[k] !== 'function',
    );
    if (missing.length > 0)
      return {
        api: null,
        note: `bench/native/index.ts lacks ${missing.join(', ')}: the native C row is not run`,
      };
    if (mod.gccAvailable?.() === false)
      return { api: null, note: 'no gcc on this machine: the native C row is not run' };
    return { api: mod as NativeApi, note: 'the native C lower bound of bench/native/ (gcc -O3, one thread)' };
  } catch (e) {
    const m = (e as Error).message.split('\n')[0]!;
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && m.includes('native'))
      return { api: null, note: 'bench/native/ is not present: the native C row is not run' };
    return { api: null, note: `bench/native/ failed to load (${m}): the native C row is not run` };
  }
}
