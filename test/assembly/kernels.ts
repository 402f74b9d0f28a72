// Test and bench harness for the kernel module: instantiates it (no imports) and runs the buffer
// maps over Float32Array/Float64Array inputs and the text kernels over UTF-8 bytes. Input: module
// bytes (compiler/kernels.ts) and values; output: result arrays copied out of the module's memory.

import {
  KERNEL_OPS,
  lowerUtf8Capacity,
  ngramsUtf8Count,
  tokensUtf8Capacity,
  type KernelOp,
} from '../../compiler/kernels.js';

export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  mapF32(op: number, src: number, dst: number, n: number): void;
  mapF32x4(op: number, src: number, dst: number, n: number): void;
  mapF64(op: number, src: number, dst: number, n: number): void;
  mapPowF32(src: number, dst: number, n: number, y: number): void;
  mapPowF64(src: number, dst: number, n: number, y: number): void;
  lowerUtf8(src: number, len: number, dst: number): number;
  tokensUtf8(src: number, len: number, out: number): number;
  ngramsUtf8(src: number, len: number, n: number, out: number): number;
  [name: string]: unknown;
}

export class Kernels {
  readonly ex: KernelExports;
  private readonly base: number;

  constructor(bytes: Uint8Array) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    this.ex = instance.exports as unknown as KernelExports;
    this.base = this.ex.heapBase();
  }

  /** Byte offsets of an input and an output area of `bytes` each, growing memory as needed. */
  private areas(bytes: number): [number, number] {
    const need = this.base + 2 * bytes + 64;
    const have = this.ex.memory.buffer.byteLength;
    if (need > have) this.ex.memory.grow(Math.ceil((need - have) / 65536));
    const out = this.base + ((bytes + 15) & ~15);
    return [this.base, out];
  }

  f32(op: KernelOp, xs: Float32Array, simd = false): Float32Array {
    const [src, dst] = this.areas(xs.byteLength);
    new Float32Array(this.ex.memory.buffer, src, xs.length).set(xs);
    (simd ? this.ex.mapF32x4 : this.ex.mapF32)(KERNEL_OPS[op], src, dst, xs.length);
    return new Float32Array(this.ex.memory.buffer, dst, xs.length).slice();
  }

  f64(op: KernelOp, xs: Float64Array): Float64Array {
    const [src, dst] = this.areas(xs.byteLength);
    new Float64Array(this.ex.memory.buffer, src, xs.length).set(xs);
    this.ex.mapF64(KERNEL_OPS[op], src, dst, xs.length);
    return new Float64Array(this.ex.memory.buffer, dst, xs.length).slice();
  }

  powF32(xs: Float32Array, y: number): Float32Array {
    const [src, dst] = this.areas(xs.byteLength);
    new Float32Array(this.ex.memory.buffer, src, xs.length).set(xs);
    this.ex.mapPowF32(src, dst, xs.length, y);
    return new Float32Array(this.ex.memory.buffer, dst, xs.length).slice();
  }

  powF64(xs: Float64Array, y: number): Float64Array {
    const [src, dst] = this.areas(xs.byteLength);
    new Float64Array(this.ex.memory.buffer, src, xs.length).set(xs);
    this.ex.mapPowF64(src, dst, xs.length, y);
    return new Float64Array(this.ex.memory.buffer, dst, xs.length).slice();
  }

  // ── text kernels: the output area has exactly the documented capacity, then a guard ──────────

  /** Copies `text` to the input area and fills an output area of `capacity` bytes plus a guard
   *  with GUARD_BYTE; returns [src, out]. */
  private textAreas(text: Uint8Array, capacity: number): [number, number] {
    const [src, out] = this.areas(Math.max(text.length, capacity + GUARD));
    new Uint8Array(this.ex.memory.buffer, src, text.length).set(text);
    new Uint8Array(this.ex.memory.buffer, out, capacity + GUARD).fill(GUARD_BYTE);
    return [src, out];
  }

  /** Throws when a kernel wrote past the `capacity` bytes at `out`. */
  private checkGuard(kernel: string, out: number, capacity: number): void {
    const guard = new Uint8Array(this.ex.memory.buffer, out + capacity, GUARD);
    if (!guard.every((b) => b === GUARD_BYTE)) throw new Error(`${kernel} wrote past its capacity`);
  }

  /** lowerUtf8 of valid UTF-8 `text`: the bytes it writes (into exactly lowerUtf8Capacity bytes). */
  lowerUtf8(text: Uint8Array): Uint8Array {
    const capacity = lowerUtf8Capacity(text.length);
    const [src, dst] = this.textAreas(text, capacity);
    const n = this.ex.lowerUtf8(src, text.length, dst);
    this.checkGuard('lowerUtf8', dst, capacity);
    if (n < 0 || n > capacity) throw new Error(`lowerUtf8 returned ${n} for capacity ${capacity}`);
    return new Uint8Array(this.ex.memory.buffer, dst, n).slice();
  }

  /** tokensUtf8 of valid UTF-8 `text`: its (start, end) byte-offset pairs. */
  tokensUtf8(text: Uint8Array): [number, number][] {
    const capacity = tokensUtf8Capacity(codePointCount(text));
    const [src, out] = this.textAreas(text, capacity * 8);
    const n = this.ex.tokensUtf8(src, text.length, out);
    return this.pairs('tokensUtf8', out, n, capacity);
  }

  /** ngramsUtf8 of valid UTF-8 `text`: its (start, end) byte-offset pairs. */
  ngramsUtf8(text: Uint8Array, n: number): [number, number][] {
    const capacity = ngramsUtf8Count(codePointCount(text), n);
    const [src, out] = this.textAreas(text, capacity * 8);
    const count = this.ex.ngramsUtf8(src, text.length, n, out);
    return this.pairs('ngramsUtf8', out, count, capacity);
  }

  private pairs(kernel: string, out: number, count: number, capacity: number): [number, number][] {
    this.checkGuard(kernel, out, capacity * 8);
    if (count < 0 || count > capacity)
      throw new Error(`${kernel} returned ${count} for capacity ${capacity}`);
    const xs = new Int32Array(this.ex.memory.buffer, out, 2 * count);
    const res: [number, number][] = [];
    for (let i = 0; i < count; i++) res.push([xs[2 * i]!, xs[2 * i + 1]!]);
    return res;
  }
}

const GUARD = 64;
const GUARD_BYTE = 0xa5;

/** Code points of valid UTF-8: the bytes that are not continuation bytes. */
export function codePointCount(text: Uint8Array): number {
  let n = 0;
  for (const b of text) if ((b & 0xc0) !== 0x80) n++;
  return n;
}
