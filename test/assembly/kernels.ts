// Test and bench harness for the kernel module: instantiates it (no imports) and runs the buffer
// maps over Float32Array/Float64Array inputs. Input: module bytes (compiler/kernels.ts) and values;
// output: result arrays copied out of the module's memory.

import { KERNEL_OPS, type KernelOp } from '../../compiler/kernels.js';

export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  mapF32(op: number, src: number, dst: number, n: number): void;
  mapF32x4(op: number, src: number, dst: number, n: number): void;
  mapF64(op: number, src: number, dst: number, n: number): void;
  mapPowF32(src: number, dst: number, n: number, y: number): void;
  mapPowF64(src: number, dst: number, n: number, y: number): void;
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
}
