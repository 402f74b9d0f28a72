// Math kernel throughput: the f32x4 SIMD kernels vs the scalar f32 kernels vs JS Math.exp/Math.tanh
// over 1M f32 values in memory, with benchmark.js. Outputs are checked against Math (within the
// documented ulp bounds) before timing. Run: npm run bench -- math (writes bench/results/math.md).

import Benchmark from 'benchmark';
import { KERNEL_OPS, kernelModuleBytes } from '../compiler/kernels.js';
import { Kernels } from '../test/assembly/kernels.js';

const N = 1_000_000;
const CASES = [
  { op: 'exp', js: Math.exp, bound: 1.5 },
  { op: 'tanh', js: Math.tanh, bound: 2.5 },
] as const;

function ulp32(v: number): number {
  const a = Math.fround(Math.abs(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

export async function run(): Promise<string> {
  const k = new Kernels(await kernelModuleBytes());
  const xs = new Float32Array(N);
  let seed = 12345;
  for (let i = 0; i < N; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    xs[i] = (seed / 2 ** 32) * 20 - 10;
  }
  const ys = new Float32Array(N);
  // inputs stay in wasm memory: the timed loops measure the kernels, not the copies
  k.f32('exp', xs);
  const base = k.ex.heapBase();
  const dst = base + xs.byteLength;

  const rows: string[] = [];
  for (const c of CASES) {
    const simd = k.f32(c.op, xs, true);
    const scalar = k.f32(c.op, xs);
    for (let i = 0; i < N; i++) {
      const r = c.js(xs[i]!);
      const err = Math.abs(simd[i]! - r) / ulp32(r);
      if (err > c.bound || Object.is(simd[i], scalar[i]) === false) {
        throw new Error(`${c.op}(${xs[i]}): simd ${simd[i]}, scalar ${scalar[i]}, Math ${r} (${err} ulp)`);
      }
    }
    const op = KERNEL_OPS[c.op];
    const means: Record<string, number> = {};
    await new Promise<void>((resolve) => {
      new Benchmark.Suite(c.op)
        .add(`${c.op} f32x4 (wasm SIMD)`, () => k.ex.mapF32x4(op, base, dst, N))
        .add(`${c.op} f32 (wasm scalar)`, () => k.ex.mapF32(op, base, dst, N))
        .add(`Math.${c.op} (JS, f64)`, () => {
          for (let i = 0; i < N; i++) ys[i] = c.js(xs[i]!);
        })
        .on('cycle', (ev: Benchmark.Event) => {
          const b = ev.target as Benchmark.Target & { name: string; stats: { mean: number; rme: number } };
          means[b.name] = b.stats.mean;
          console.log(`${b.name}: ${(b.stats.mean * 1000).toFixed(2)} ms ±${b.stats.rme.toFixed(1)}%`);
        })
        .on('complete', () => resolve())
        .run({ async: false });
    });
    const js = means[`Math.${c.op} (JS, f64)`]!;
    for (const [name, mean] of Object.entries(means)) {
      rows.push(
        `| ${name} | ${(mean * 1000).toFixed(2)} ms | ${(N / mean / 1e6).toFixed(0)} M/s | ${(js / mean).toFixed(2)}× |`,
      );
    }
  }
  return [
    `1M f32 values in [-10, 10].`,
    '',
    '| case | per 1M | throughput | vs Math |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}
