// Entry of the kernel module: re-exports the math kernels (assembly/math.ts) and adds buffer-wide
// maps over linear memory, used by tests, benchmarks and generated code. Input: op code, source and
// destination byte offsets, element count; output: results written to memory. Op codes are mirrored
// in compiler/kernels.ts (KERNEL_OPS); a test checks the two tables agree.

import {
  cosF32,
  cosF64,
  expF32,
  expF32x4,
  expF64,
  expm1F32,
  expm1F32x4,
  expm1F64,
  log1pF32,
  log1pF32x4,
  log1pF64,
  logF32,
  logF32x4,
  logF64,
  powF32,
  powF64,
  sigmoidF32,
  sigmoidF32x4,
  sigmoidF64,
  sinF32,
  sinF64,
  tanhF32,
  tanhF32x4,
  tanhF64,
} from './math';
export { bytesEqual, codePointCount, lowerUtf8, murmur3, ngramsUtf8, tokensUtf8, utf8Valid } from './text';

export {
  cosF32,
  cosF64,
  expF32,
  expF32x4,
  expF64,
  expm1F32,
  expm1F32x4,
  expm1F64,
  log1pF32,
  log1pF32x4,
  log1pF64,
  logF32,
  logF32x4,
  logF64,
  powF32,
  powF64,
  sigmoidF32,
  sigmoidF32x4,
  sigmoidF64,
  sinF32,
  sinF64,
  tanhF32,
  tanhF32x4,
  tanhF64,
};

const OP_EXP: i32 = 0;
const OP_EXPM1: i32 = 1;
const OP_LOG: i32 = 2;
const OP_LOG1P: i32 = 3;
const OP_TANH: i32 = 4;
const OP_SIGMOID: i32 = 5;
const OP_SIN: i32 = 6;
const OP_COS: i32 = 7;

/** First 16-byte-aligned byte after the module's static data: callers may use memory from here. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** dst[i] = op(src[i]) over n f32 values, one element at a time (scalar kernels). */
export function mapF32(op: i32, src: usize, dst: usize, n: i32): void {
  const end = src + ((<usize>n) << 2);
  switch (op) {
    case OP_EXP:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, expF32(load<f32>(src)));
      break;
    case OP_EXPM1:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, expm1F32(load<f32>(src)));
      break;
    case OP_LOG:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, logF32(load<f32>(src)));
      break;
    case OP_LOG1P:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, log1pF32(load<f32>(src)));
      break;
    case OP_TANH:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, tanhF32(load<f32>(src)));
      break;
    case OP_SIGMOID:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, sigmoidF32(load<f32>(src)));
      break;
    case OP_SIN:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, sinF32(load<f32>(src)));
      break;
    case OP_COS:
      for (; src < end; src += 4, dst += 4) store<f32>(dst, cosF32(load<f32>(src)));
      break;
    default:
      unreachable();
  }
}

/** dst[i] = op(src[i]) over n f32 values: SIMD on whole blocks of 4, scalar kernels on the tail.
 *  Only ops with an f32x4 kernel (exp, expm1, log, log1p, tanh, sigmoid). */
export function mapF32x4(op: i32, src: usize, dst: usize, n: i32): void {
  const end = src + ((<usize>n) << 2);
  const blockEnd = src + ((<usize>(n & ~3)) << 2);
  switch (op) {
    case OP_EXP:
      for (; src < blockEnd; src += 16, dst += 16) v128.store(dst, expF32x4(v128.load(src)));
      break;
    case OP_EXPM1:
      for (; src < blockEnd; src += 16, dst += 16) v128.store(dst, expm1F32x4(v128.load(src)));
      break;
    case OP_LOG:
      for (; src < blockEnd; src += 16, dst += 16) v128.store(dst, logF32x4(v128.load(src)));
      break;
    case OP_LOG1P:
      for (; src < blockEnd; src += 16, dst += 16) v128.store(dst, log1pF32x4(v128.load(src)));
      break;
    case OP_TANH:
      for (; src < blockEnd; src += 16, dst += 16) v128.store(dst, tanhF32x4(v128.load(src)));
      break;
    case OP_SIGMOID:
      for (; src < blockEnd; src += 16, dst += 16) v128.store(dst, sigmoidF32x4(v128.load(src)));
      break;
    default:
      unreachable();
  }
  mapF32(op, src, dst, <i32>((end - src) >> 2));
}

/** dst[i] = op(src[i]) over n f64 values. */
export function mapF64(op: i32, src: usize, dst: usize, n: i32): void {
  const end = src + ((<usize>n) << 3);
  switch (op) {
    case OP_EXP:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, expF64(load<f64>(src)));
      break;
    case OP_EXPM1:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, expm1F64(load<f64>(src)));
      break;
    case OP_LOG:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, logF64(load<f64>(src)));
      break;
    case OP_LOG1P:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, log1pF64(load<f64>(src)));
      break;
    case OP_TANH:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, tanhF64(load<f64>(src)));
      break;
    case OP_SIGMOID:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, sigmoidF64(load<f64>(src)));
      break;
    case OP_SIN:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, sinF64(load<f64>(src)));
      break;
    case OP_COS:
      for (; src < end; src += 8, dst += 8) store<f64>(dst, cosF64(load<f64>(src)));
      break;
    default:
      unreachable();
  }
}

/** dst[i] = src[i]^y over n f32 values. */
export function mapPowF32(src: usize, dst: usize, n: i32, y: f32): void {
  const end = src + ((<usize>n) << 2);
  for (; src < end; src += 4, dst += 4) store<f32>(dst, powF32(load<f32>(src), y));
}

/** dst[i] = src[i]^y over n f64 values. */
export function mapPowF64(src: usize, dst: usize, n: i32, y: f64): void {
  const end = src + ((<usize>n) << 3);
  for (; src < end; src += 8, dst += 8) store<f64>(dst, powF64(load<f64>(src), y));
}
