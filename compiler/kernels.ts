// The kernel module: assembly/ (AssemblyScript, asconfig.json) built by scripts/build-kernels.mjs into
// one SIMD128 wasm module with no imports, for the emitter to link against. Output: the module bytes.
// Decision: built on demand, not committed. The .wasm is cached in node_modules/.cache/proml/ under a
// SHA-256 of assembly/, asconfig.json, the builder and the asc version: a hit costs one hash, a miss
// a child `node` process (~2–6 s; plain Node because importing asc under tsx takes ~25 s).

import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Op codes of the buffer maps `mapF32`, `mapF32x4`, `mapF64` (mirrors the OP_* constants in assembly/index.ts). */
export const KERNEL_OPS = {
  exp: 0,
  expm1: 1,
  log: 2,
  log1p: 3,
  tanh: 4,
  sigmoid: 5,
  sin: 6,
  cos: 7,
} as const;
export type KernelOp = keyof typeof KERNEL_OPS;
/** Ops that have an f32x4 kernel (the others run scalar only). */
export const SIMD_OPS: readonly KernelOp[] = ['exp', 'expm1', 'log', 'log1p', 'tanh', 'sigmoid'];

/**
 * Output capacity of the text kernels (assembly/text.ts, docs/abi.md 5.2), for callers that allocate
 * their buffers. `lowerUtf8` writes at most len + (len >> 1) bytes for `len` input bytes: no simple
 * lowercase mapping lengthens a code point's UTF-8 by more than half (2 bytes -> 3, e.g. U+023A ->
 * U+2C65; test/assembly/text.test.ts checks every code point).
 */
export function lowerUtf8Capacity(len: number): number {
  return len + (len >> 1);
}
/** Most (start, end) pairs `tokensUtf8` writes for text of `codePoints` code points (≤ its bytes). */
export function tokensUtf8Capacity(codePoints: number): number {
  return (codePoints + 1) >> 1;
}
/** The number of (start, end) pairs `ngramsUtf8` writes for text of `codePoints` code points. */
export function ngramsUtf8Count(codePoints: number, n: number): number {
  return n < 1 ? 0 : Math.max(0, codePoints - n + 1);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ASSEMBLY_DIR = join(ROOT, 'assembly');
const CONFIG = 'asconfig.json';
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'proml');
const BUILDER = join(ROOT, 'scripts', 'build-kernels.mjs');

/** SHA-256 (hex) over everything that determines the built bytes. */
export function kernelSourceHash(): string {
  const h = createHash('sha256');
  const ascPkg = JSON.parse(
    readFileSync(join(ROOT, 'node_modules', 'assemblyscript', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  h.update(`asc ${ascPkg.version}\0`);
  h.update(readFileSync(BUILDER));
  h.update(readFileSync(join(ROOT, CONFIG)));
  for (const name of readdirSync(ASSEMBLY_DIR).sort()) {
    if (!name.endsWith('.ts') && !name.endsWith('.json')) continue;
    h.update(`\0${name}\0`);
    h.update(readFileSync(join(ASSEMBLY_DIR, name)));
  }
  return h.digest('hex');
}

/** Compiles assembly/ now, in a child Node process (no cache), writing the module to `file`. */
export function buildKernelsTo(file: string, watFile?: string): Promise<void> {
  const args = [BUILDER, '--out', file, ...(watFile === undefined ? [] : ['--wat', watFile])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`kernel build failed (${BUILDER}):\n${stderr || err.message}`));
    });
  });
}

let pending: Promise<Uint8Array> | null = null;

/** The kernel module bytes: from this process's memory, else the disk cache, else a fresh build. */
export function kernelModuleBytes(): Promise<Uint8Array> {
  pending ??= load().catch((err: unknown) => {
    pending = null;
    throw err;
  });
  return pending;
}

async function load(): Promise<Uint8Array> {
  const file = join(CACHE_DIR, `kernels-${kernelSourceHash()}.wasm`);
  try {
    return new Uint8Array(readFileSync(file));
  } catch {
    // not cached yet
  }
  // the builder writes to a temporary name and renames, so a concurrent reader never sees half a file
  await buildKernelsTo(file);
  return new Uint8Array(readFileSync(file));
}
