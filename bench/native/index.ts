// The native C lower bound of the peer benchmarks (issue 6): the same coefficients proml compiles,
// scored by a C program built with the system gcc, single-threaded, to show the distance to the
// physical limit. Input: a NativeModel (nativeFromBundle reads one off a CheckedModel + Bundle) and a
// row-major f32 matrix. Output: rows/s (median of timed rounds), their spread, and the outputs.
// Binaries are cached in os.tmpdir()/proml-native-<uid>/, keyed by the SHA-256 of source + flags;
// each run's input/output files live in a fresh temp directory removed afterwards.
// Without gcc, gccAvailable() is false and nativeBound throws: callers skip the row and say so.

import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Bundle, Row } from '../../abi/index.js';
import type { CheckedModel } from '../../compiler/index.js';
import { emitC } from './c.js';
import { nativeFeatures, nativeFromBundle, nativeRows, type NativeModel } from './model.js';

export { emitC, thresholdF32 } from './c.js';
export {
  nativeFeatures,
  nativeFromBundle,
  nativeRows,
  NATIVE_MISSING,
  NativeUnsupported,
  type DotOrder,
  type MlpActivation,
  type NativeColumns,
  type NativeMlpLayer,
  type NativeModel,
  type NativeTrees,
} from './model.js';

const run = promisify(execFile);

/**
 * gcc flags: fast code for this CPU, but IEEE arithmetic exactly as written (no -ffast-math: it
 * reorders sums; -ffp-contract=off: gcc fuses a·b + c into one FMA by default in GNU C, which proml,
 * without FMA in SIMD128, does not), so the outputs agree with proml. On x86-64, 512-bit vectors
 * where the CPU has them (gcc prefers 256 by default): the MLP's 8 × 8 accumulator block is then
 * 8 registers, ~1.5× faster on this machine's AVX-512 cores (measured 2026-11-26).
 */
export const GCC_FLAGS: readonly string[] = [
  '-std=c11',
  '-O3',
  '-march=native',
  ...(process.arch === 'x64' ? ['-mprefer-vector-width=512'] : []),
  '-ffp-contract=off',
];

/**
 * GCC_FLAGS with vectors of at most 128 bits, the width of WebAssembly SIMD128 (same ISA, same
 * IEEE rules): the native C row at wasm's vector width, to tell how much of proml's distance to the
 * bound is vector width and how much is code. (ARM's NEON is 128-bit already.)
 */
export const GCC_FLAGS_128: readonly string[] = [
  ...GCC_FLAGS.filter((f) => !f.startsWith('-mprefer-vector-width=')),
  ...(process.arch === 'x64' ? ['-mprefer-vector-width=128'] : []),
];

export interface NativeOptions {
  /** Vector width: the CPU's widest (default, GCC_FLAGS) or 128 bits (GCC_FLAGS_128). */
  vectorBits?: 'native' | 128;
  /** Total timed time, ms (default 1,000). */
  minTimeMs?: number;
  /** At least this many timed rounds (default 11). */
  minRounds?: number;
}

export interface NativeResult {
  /** Median over rounds of rows/s (one thread). */
  rowsPerSec: number;
  /** The fastest round's rows/s: on a shared machine, load only ever slows a round down. */
  bestRowsPerSec: number;
  /** One f64 per row: sigmoid(margin) as proml's f32 output. */
  outputs: Float64Array;
  rounds: number;
  /** Passes over all rows in each round. */
  passes: number;
  /** Interquartile range of the per-round rows/s ÷ the median (0.02 = 2%). */
  spread: number;
  /** gcc wall time, ms; 0 when the binary came from the cache. */
  compileMs: number;
  cached: boolean;
  /** `gcc (Debian 12.2.0-14) 12.2.0` */
  compiler: string;
  flags: string;
}

let gccVersion: string | null | undefined;

/** The first line of `gcc --version`, or null when there is no working gcc. */
export function gccDescription(): string | null {
  if (gccVersion === undefined) {
    const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
    gccVersion = r.status === 0 ? (r.stdout.split('\n')[0] ?? 'gcc') : null;
  }
  return gccVersion;
}

export function gccAvailable(): boolean {
  return gccDescription() !== null;
}

function cacheDir(): string {
  let uid: string;
  try {
    uid = String(userInfo().uid);
  } catch {
    uid = 'user';
  }
  const dir = join(tmpdir(), `proml-native-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The cached binary for `source` (compiled now if missing). */
export async function compileNative(
  source: string,
  flags: readonly string[] = GCC_FLAGS,
): Promise<{ path: string; compileMs: number; cached: boolean }> {
  if (!gccAvailable()) throw new Error('native bound: gcc is not available');
  const key = createHash('sha256').update(flags.join(' ')).update('\0').update(source).digest('hex');
  const dir = cacheDir();
  const path = join(dir, `${key.slice(0, 24)}.bin`);
  if (existsSync(path)) return { path, compileMs: 0, cached: true };
  const work = mkdtempSync(join(dir, 'build-'));
  try {
    const c = join(work, 'model.c');
    writeFileSync(c, source);
    const t0 = performance.now();
    await run('gcc', [...flags, '-o', join(work, 'model.bin'), c, '-lm'], { maxBuffer: 1 << 24 });
    const compileMs = performance.now() - t0;
    // atomic publish: a concurrent build of the same source renames an identical file
    renameSync(join(work, 'model.bin'), path);
    return { path, compileMs, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function quantile(sorted: number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Scores `rows` rows of `input` (rows × nativeFeatures(model) f32, row-major; a missing tree input
 * is NATIVE_MISSING) with the model compiled to C, timing rounds of full passes for at least `minTimeMs`.
 */
export async function nativeBound(
  model: NativeModel,
  input: Float32Array,
  rows: number,
  options: NativeOptions = {},
): Promise<NativeResult> {
  const features = nativeFeatures(model);
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`native bound: rows must be a positive integer, not ${rows}`);
  if (input.length !== rows * features)
    throw new Error(`native bound: input has ${input.length} values, expected ${rows} × ${features}`);
  const minTimeMs = options.minTimeMs ?? 1000;
  const minRounds = options.minRounds ?? 11;
  const flags = options.vectorBits === 128 ? GCC_FLAGS_128 : GCC_FLAGS;
  const bin = await compileNative(emitC(model), flags);
  const work = mkdtempSync(join(tmpdir(), 'proml-native-run-'));
  try {
    const inPath = join(work, 'x.f32');
    const outPath = join(work, 'out.f64');
    writeFileSync(inPath, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    const { stdout } = await run(
      bin.path,
      [inPath, String(rows), outPath, String(Math.round(minTimeMs * 1e6)), String(minRounds)],
      { maxBuffer: 1 << 24 },
    );
    const per: number[] = [];
    let passes = 0;
    for (const line of stdout.split('\n')) {
      const m = /^round (\d+) (\d+)$/.exec(line);
      if (m === null) continue;
      passes = Number(m[2]);
      per.push((rows * passes) / (Math.max(1, Number(m[1])) / 1e9));
    }
    if (per.length === 0) throw new Error(`native bound: no timing from ${bin.path}`);
    per.sort((a, b) => a - b);
    const median = quantile(per, 0.5);
    const bytes = readFileSync(outPath);
    const outputs = new Float64Array(rows);
    new Uint8Array(outputs.buffer).set(bytes.subarray(0, rows * 8));
    return {
      rowsPerSec: median,
      bestRowsPerSec: per[per.length - 1]!,
      outputs,
      rounds: per.length,
      passes,
      spread: (quantile(per, 0.75) - quantile(per, 0.25)) / median,
      compileMs: bin.compileMs,
      cached: bin.cached,
      compiler: gccDescription() ?? 'gcc',
      flags: flags.join(' '),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * nativeFromBundle + nativeRows + nativeBound: the native bound of `output` (default: the only one)
 * of a proml model on proml rows (all accepted by the model, else outputs differ from proml's).
 */
export async function nativeBoundOf(
  checked: CheckedModel,
  bundle: Bundle,
  rows: Row[],
  options: NativeOptions & { output?: string } = {},
): Promise<NativeResult> {
  const { model, columns } = nativeFromBundle(checked, bundle, options.output);
  return nativeBound(model, nativeRows(columns, rows), rows.length, options);
}
