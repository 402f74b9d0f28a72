// The deterministic math kernels (assembly/math.ts) as a user of the kernel module sees them:
// error bounds in ULPs against references over the whole float range, special values bit for bit,
// SIMD lanes identical to the scalar kernels, no imports, and identical bytes in a fresh instance and
// in a worker thread. The bounds asserted here are the ones documented in docs/math.md.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import {
  KERNEL_OPS,
  SIMD_OPS,
  kernelModuleBytes,
  kernelSourceHash,
  type KernelOp,
} from '../../compiler/kernels.js';
import { Kernels } from './kernels.js';

// ── references and error measures ──────────────────────────────────────────────────────────────

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const REF: Record<KernelOp, (x: number) => number> = {
  exp: Math.exp,
  expm1: Math.expm1,
  log: Math.log,
  log1p: Math.log1p,
  tanh: Math.tanh,
  sigmoid,
  sin: Math.sin,
  cos: Math.cos,
};
/** Documented bounds (docs/math.md). f32: max |y − ref|/ulp with ref the f64 result (near-exact);
 *  f64: max |y − ref|/ulp with ref = V8's Math.* (itself within 1 ulp; sigmoid: its formula in Math.exp). */
const BOUND_F32: Record<KernelOp | 'pow', number> = {
  exp: 1.1,
  expm1: 2,
  log: 1,
  log1p: 1,
  tanh: 2,
  sigmoid: 2.5,
  sin: 0.501,
  cos: 0.501,
  pow: 0.501,
};
const BOUND_F64: Record<KernelOp | 'pow', number> = {
  exp: 1,
  expm1: 2,
  log: 1,
  log1p: 1,
  tanh: 4,
  sigmoid: 2,
  sin: 1,
  cos: 1,
  pow: 2,
};

const scratch = new DataView(new ArrayBuffer(8));
/** The spacing of f32 values at the magnitude of r (r finite, given in f64). */
function ulp32(r: number): number {
  scratch.setFloat32(0, Math.abs(r));
  const e = (scratch.getUint32(0) >>> 23) - 127;
  return e === -127 ? 2 ** -149 : 2 ** (Math.min(e, 127) - 23);
}
function ulp64(r: number): number {
  scratch.setFloat64(0, Math.abs(r));
  const e = (scratch.getUint32(0) >>> 20) - 1023;
  return e === -1023 ? 2 ** -1074 : 2 ** (Math.min(e, 1023) - 52);
}
/** Error of y in ulps of the reference r; 0 when both are the same special value; Infinity when one
 *  is special and the other is not. `round` maps r into the output format. */
function ulpError(y: number, r: number, round: (v: number) => number, ulp: (v: number) => number): number {
  if (Number.isNaN(r) || Number.isNaN(y)) return Number.isNaN(r) && Number.isNaN(y) ? 0 : Infinity;
  if (!Number.isFinite(round(r)) || !Number.isFinite(y)) {
    if (y === round(r)) return 0;
    // r overflows the format by less than half an ulp of the largest value: y may be that value
    return Number.isFinite(y) && Number.isFinite(r) ? Math.abs(y - r) / ulp(y) : Infinity;
  }
  return Math.abs(y - r) / ulp(r);
}

// ── inputs: whole range (strided bit patterns, both signs), dense core, seeded random, specials ──

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  1,
  -1,
  2 ** -149,
  -(2 ** -149),
  2 ** -126,
  3.4028234663852886e38,
];
const CORE: Record<KernelOp, [number, number]> = {
  exp: [-104, 89],
  expm1: [-20, 89],
  log: [0, 4],
  log1p: [-1, 4],
  tanh: [-10, 10],
  sigmoid: [-110, 30],
  sin: [-20, 20],
  cos: [-20, 20],
};

function f32Inputs(op: KernelOp): Float32Array {
  const out: number[] = [...SPECIAL];
  const bits = new Uint32Array(1);
  const asF = new Float32Array(bits.buffer);
  for (let b = 0; b < 0x7f800000; b += 2039) {
    bits[0] = b;
    out.push(asF[0]!, -asF[0]!);
  }
  const [lo, hi] = CORE[op];
  for (let i = 0; i <= 200_000; i++) out.push(lo + ((hi - lo) * i) / 200_000);
  const rnd = mulberry32(0x5eed + KERNEL_OPS[op]);
  for (let i = 0; i < 200_000; i++) out.push(lo + (hi - lo) * rnd());
  for (let i = 0; i < 100_000; i++) out.push((rnd() * 2 - 1) * 2 ** (rnd() * 40 - 30));
  return Float32Array.from(out);
}

function f64Inputs(op: KernelOp): Float64Array {
  const out: number[] = [...SPECIAL, 2 ** -1074, 2 ** -1022, Number.MAX_VALUE];
  const words = new Uint32Array(2);
  const asF = new Float64Array(words.buffer);
  const rnd = mulberry32(0xd0b1e + KERNEL_OPS[op]);
  for (let h = 0; h < 0x7ff00000; h += 4099) {
    words[1] = h;
    words[0] = (rnd() * 2 ** 32) >>> 0;
    out.push(asF[0]!, -asF[0]!);
  }
  const [lo, hi] = CORE[op];
  for (let i = 0; i < 300_000; i++) out.push(lo + (hi - lo) * rnd());
  for (let i = 0; i < 100_000; i++) out.push((rnd() * 2 - 1) * 2 ** (rnd() * 60 - 50));
  return Float64Array.from(out);
}

function bitsOf32(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}
function bitsOf64(a: Float64Array): BigUint64Array {
  return new BigUint64Array(a.buffer, a.byteOffset, a.length);
}

// ── tests ──────────────────────────────────────────────────────────────────────────────────────

let bytes: Uint8Array;
let k: Kernels;
const ALL_OPS = Object.keys(KERNEL_OPS) as KernelOp[];
const measured: string[] = [];

before(async () => {
  bytes = await kernelModuleBytes();
  k = new Kernels(bytes);
});

describe('kernel module', () => {
  it('validates, imports nothing, and exports the kernels', () => {
    assert.ok(WebAssembly.validate(bytes));
    const mod = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(mod), []);
    const names = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
    for (const op of ALL_OPS) {
      assert.ok(names.has(`${op}F32`) && names.has(`${op}F64`), `${op} scalar exports`);
      if (SIMD_OPS.includes(op)) assert.ok(names.has(`${op}F32x4`), `${op}F32x4 export`);
    }
    for (const n of ['powF32', 'powF64', 'mapF32', 'mapF32x4', 'mapF64', 'memory'])
      assert.ok(names.has(n), n);
  });

  it('is cached under a hash of its sources, and a fresh build gives the same bytes', async () => {
    assert.match(kernelSourceHash(), /^[0-9a-f]{64}$/);
    assert.equal(kernelSourceHash(), kernelSourceHash());
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { buildKernelsTo } = await import('../../compiler/kernels.js');
    const dir = mkdtempSync(join(tmpdir(), 'proml-kernels-'));
    try {
      await buildKernelsTo(join(dir, 'k.wasm'));
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'k.wasm'))), bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('op codes of the maps agree with the scalar exports (KERNEL_OPS mirrors assembly/index.ts)', () => {
    const xs = Float32Array.from([0.25, -1.5, 3, 17]);
    const xs64 = Float64Array.from([0.25, -1.5, 3, 17]);
    for (const op of ALL_OPS) {
      const f32 = k.ex[`${op}F32`] as (x: number) => number;
      const f64 = k.ex[`${op}F64`] as (x: number) => number;
      assert.deepEqual(
        Array.from(k.f32(op, xs)),
        Array.from(xs, (x) => f32(x)),
        `${op} f32`,
      );
      assert.deepEqual(
        Array.from(k.f64(op, xs64)),
        Array.from(xs64, (x) => f64(x)),
        `${op} f64`,
      );
    }
  });
});

describe('error bounds', () => {
  for (const op of ALL_OPS) {
    it(`${op} f32 within ${BOUND_F32[op]} ulp of the exact result`, () => {
      const xs = f32Inputs(op);
      const ys = k.f32(op, xs);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < xs.length; i++) {
        const e = ulpError(ys[i]!, REF[op](xs[i]!), Math.fround, ulp32);
        if (e > worst) [worst, at] = [e, xs[i]!];
      }
      measured.push(`${op} f32: ${worst.toFixed(3)} ulp at ${at} (${xs.length} inputs)`);
      assert.ok(worst <= BOUND_F32[op], `${op} f32: ${worst} ulp at x = ${at}`);
    });
    it(`${op} f64 within ${BOUND_F64[op]} ulp of Math.${op === 'sigmoid' ? 'exp formula' : op}`, () => {
      const xs = f64Inputs(op);
      const ys = k.f64(op, xs);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < xs.length; i++) {
        const e = ulpError(ys[i]!, REF[op](xs[i]!), (v) => v, ulp64);
        if (e > worst) [worst, at] = [e, xs[i]!];
      }
      measured.push(`${op} f64: ${worst.toFixed(3)} ulp at ${at} (${xs.length} inputs)`);
      assert.ok(worst <= BOUND_F64[op], `${op} f64: ${worst} ulp at x = ${at}`);
    });
  }

  const EXPONENTS = [2, 3, 0.5, -1, -2, 1.5, 1 / 3, -0.5, 7, 10.25, -13.5, 40, 0.1];
  it(`pow f32 within ${BOUND_F32.pow} ulp, pow f64 within ${BOUND_F64.pow} ulp of Math.pow`, () => {
    const rnd = mulberry32(0x90f);
    const ys = [...EXPONENTS, ...Array.from({ length: 20 }, () => (rnd() * 2 - 1) * 50)];
    const xs = Float64Array.from({ length: 60_000 }, (_, i) =>
      i % 3 === 0 ? rnd() * 4 : (rnd() * 2 - 1) * 2 ** (rnd() * 80 - 40),
    );
    const xs32 = Float32Array.from(xs);
    let w32 = 0;
    let w64 = 0;
    for (const y of ys) {
      const y32 = Math.fround(y);
      const r32 = k.powF32(xs32, y32);
      const r64 = k.powF64(xs, y);
      for (let i = 0; i < xs.length; i++) {
        w32 = Math.max(w32, ulpError(r32[i]!, Math.pow(xs32[i]!, y32), Math.fround, ulp32));
        w64 = Math.max(
          w64,
          ulpError(r64[i]!, Math.pow(xs[i]!, y), (v) => v, ulp64),
        );
      }
    }
    measured.push(
      `pow f32: ${w32.toFixed(3)} ulp; pow f64: ${w64.toFixed(3)} ulp (${xs.length * ys.length} inputs)`,
    );
    assert.ok(w32 <= BOUND_F32.pow, `pow f32: ${w32}`);
    assert.ok(w64 <= BOUND_F64.pow, `pow f64: ${w64}`);
  });

  it('reports the measured maxima', (t) => {
    for (const line of measured) t.diagnostic(line);
  });
});

describe('special values', () => {
  const NAN32 = 0x7fc00000;
  const NAN64 = 0x7ff8000000000000n;
  const inf = Infinity;
  // [op, x, expected]; NaN expected means the canonical quiet NaN exactly
  const CASES: [KernelOp, number, number][] = [
    ['exp', NaN, NaN],
    ['exp', inf, inf],
    ['exp', -inf, 0],
    ['exp', 0, 1],
    ['exp', -0, 1],
    ['exp', 1000, inf],
    ['exp', -1000, 0],
    ['expm1', 0, 0],
    ['expm1', -0, -0],
    ['expm1', inf, inf],
    ['expm1', -inf, -1],
    ['expm1', NaN, NaN],
    ['log', 0, -inf],
    ['log', -0, -inf],
    ['log', -1, NaN],
    ['log', -inf, NaN],
    ['log', inf, inf],
    ['log', 1, 0],
    ['log', NaN, NaN],
    ['log1p', 0, 0],
    ['log1p', -0, -0],
    ['log1p', -1, -inf],
    ['log1p', -2, NaN],
    ['log1p', inf, inf],
    ['log1p', NaN, NaN],
    ['tanh', 0, 0],
    ['tanh', -0, -0],
    ['tanh', inf, 1],
    ['tanh', -inf, -1],
    ['tanh', 50, 1],
    ['tanh', NaN, NaN],
    ['sigmoid', 0, 0.5],
    ['sigmoid', -0, 0.5],
    ['sigmoid', inf, 1],
    ['sigmoid', -inf, 0],
    ['sigmoid', 1000, 1],
    ['sigmoid', -1000, 0],
    ['sigmoid', NaN, NaN],
    ['sin', 0, 0],
    ['sin', -0, -0],
    ['sin', inf, NaN],
    ['sin', -inf, NaN],
    ['sin', NaN, NaN],
    ['cos', 0, 1],
    ['cos', inf, NaN],
    ['cos', NaN, NaN],
  ];
  const NANS32 = [NaN, -NaN, new Float32Array(new Uint32Array([0xffc00001]).buffer)[0]!];

  it('f32, f32x4 and f64 kernels give the documented values, bit for bit', () => {
    for (const [op, x, want] of CASES) {
      const inputs = Number.isNaN(x) ? NANS32 : [x];
      const xs32 = Float32Array.from([...inputs, ...inputs, ...inputs, ...inputs]);
      const got32 = bitsOf32(k.f32(op, xs32));
      const gotV = bitsOf32(k.f32(op, xs32, SIMD_OPS.includes(op)));
      const got64 = bitsOf64(k.f64(op, Float64Array.from(xs32)));
      const want32 = Number.isNaN(want) ? NAN32 : bitsOf32(Float32Array.of(want))[0]!;
      const want64 = Number.isNaN(want) ? NAN64 : bitsOf64(Float64Array.of(want))[0]!;
      for (let i = 0; i < xs32.length; i++) {
        assert.equal(got32[i], want32, `${op}F32(${x}) = 0x${got32[i]!.toString(16)}`);
        assert.equal(gotV[i], want32, `${op} f32x4(${x}) = 0x${gotV[i]!.toString(16)}`);
        assert.equal(got64[i], want64, `${op}F64(${x}) = 0x${got64[i]!.toString(16)}`);
      }
    }
  });

  it('pow follows the C99 special cases', () => {
    const pow = k.ex['powF64'] as (x: number, y: number) => number;
    const pow32 = k.ex['powF32'] as (x: number, y: number) => number;
    const cases: [number, number, number][] = [
      [NaN, 0, 1],
      [NaN, -0, 1],
      [1, NaN, 1],
      [1, inf, 1],
      [-1, inf, 1],
      [-1, -inf, 1],
      [2, NaN, NaN],
      [NaN, 2, NaN],
      [0, -3, inf],
      [-0, -3, -inf],
      [-0, -2, inf],
      [-0, -0.5, inf],
      [0, 3, 0],
      [-0, 3, -0],
      [-0, 2, 0],
      [0.5, inf, 0],
      [0.5, -inf, inf],
      [2, inf, inf],
      [2, -inf, 0],
      [-inf, 3, -inf],
      [-inf, 2, inf],
      [-inf, -3, -0],
      [-inf, -2, 0],
      [inf, 0.5, inf],
      [inf, -0.5, 0],
      [-8, 1 / 3, NaN],
      [-2, 3, -8],
      [-2, 2, 4],
      [2, 10, 1024],
      [10, -1, 0.1],
      [4, 0.5, 2],
      [2, 1024, inf],
      [2, -1075, 0],
    ];
    for (const [x, y, want] of cases) {
      assert.ok(Object.is(pow(x, y), want), `powF64(${x}, ${y}) = ${pow(x, y)}, want ${want}`);
      assert.ok(Object.is(pow32(x, y), Math.fround(want)), `powF32(${x}, ${y}) = ${pow32(x, y)}`);
    }
    const nan = bitsOf64(k.powF64(Float64Array.of(-8, NaN), 1 / 3));
    assert.deepEqual(Array.from(nan), [NAN64, NAN64]);
    assert.deepEqual(Array.from(bitsOf32(k.powF32(Float32Array.of(-8, NaN), 0.3))), [NAN32, NAN32]);
  });
});

describe('SIMD lanes equal the scalar kernels bit for bit', () => {
  for (const op of SIMD_OPS) {
    it(`${op}: f32x4 = f32 on the whole input set (and a scalar tail)`, () => {
      const xs = f32Inputs(op);
      const n = xs.length - (xs.length % 4) + 3 <= xs.length ? xs.length : xs.length - 1; // odd tail
      const input = xs.subarray(0, n);
      assert.ok(input.length >= 100_000);
      const a = bitsOf32(k.f32(op, input));
      const b = bitsOf32(k.f32(op, input, true));
      for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i])
          assert.fail(`${op}(${input[i]}): scalar 0x${a[i]!.toString(16)}, lane 0x${b[i]!.toString(16)}`);
      }
    });
  }

  it('property: any f32 values, any length (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SIMD_OPS),
        fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 0, maxLength: 67 }),
        (op, values) => {
          const xs = Float32Array.from(values);
          assert.deepEqual(bitsOf32(k.f32(op, xs, true)), bitsOf32(k.f32(op, xs)));
        },
      ),
      { numRuns: 3000, seed: 0x5151 },
    );
  });
});

describe('determinism', () => {
  function runAll(kk: Kernels, xs32: Float32Array, xs64: Float64Array): Uint8Array[] {
    const outs: Uint8Array[] = [];
    for (const op of ALL_OPS) {
      outs.push(new Uint8Array(kk.f32(op, xs32).buffer), new Uint8Array(kk.f64(op, xs64).buffer));
      if (SIMD_OPS.includes(op)) outs.push(new Uint8Array(kk.f32(op, xs32, true).buffer));
    }
    outs.push(new Uint8Array(kk.powF32(xs32, 1.5).buffer), new Uint8Array(kk.powF64(xs64, -2.25).buffer));
    return outs;
  }
  const rnd = mulberry32(0xdef);
  const xs64 = Float64Array.from({ length: 50_000 }, (_, i) =>
    i < SPECIAL.length ? SPECIAL[i]! : (rnd() * 2 - 1) * 2 ** (rnd() * 60 - 30),
  );
  const xs32 = Float32Array.from(xs64);

  it('a fresh instance gives byte-identical outputs', () => {
    const a = runAll(k, xs32, xs64);
    const b = runAll(new Kernels(bytes), xs32, xs64);
    assert.deepEqual(b, a);
  });

  it('a worker thread gives byte-identical outputs', async () => {
    const here = runAll(k, xs32, xs64);
    // the worker is plain JS: it instantiates the same bytes and runs the same maps
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { bytes, xs32, xs64, ops, simdOps } = workerData;
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
      const base = ex.heapBase();
      ex.memory.grow(Math.ceil((base + 2 * xs64.byteLength + 64) / 65536));
      const dst = base + xs64.byteLength;
      function run(arr, fn) {
        new arr.constructor(ex.memory.buffer, base, arr.length).set(arr);
        fn(dst);
        return new Uint8Array(ex.memory.buffer.slice(dst, dst + arr.byteLength));
      }
      const outs = [];
      for (const [name, op] of ops) {
        outs.push(run(xs32, (d) => ex.mapF32(op, base, d, xs32.length)));
        outs.push(run(xs64, (d) => ex.mapF64(op, base, d, xs64.length)));
        if (simdOps.includes(name)) outs.push(run(xs32, (d) => ex.mapF32x4(op, base, d, xs32.length)));
      }
      outs.push(run(xs32, (d) => ex.mapPowF32(base, d, xs32.length, 1.5)));
      outs.push(run(xs64, (d) => ex.mapPowF64(base, d, xs64.length, -2.25)));
      parentPort.postMessage(outs);
    `;
    const there = await new Promise<Uint8Array[]>((resolve, reject) => {
      const w = new Worker(source, {
        eval: true,
        workerData: { bytes, xs32, xs64, ops: Object.entries(KERNEL_OPS), simdOps: SIMD_OPS },
      });
      w.once('message', (m: Uint8Array[]) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    assert.equal(there.length, here.length);
    for (let i = 0; i < here.length; i++) assert.deepEqual(new Uint8Array(there[i]!), here[i], `output ${i}`);
  });
});
