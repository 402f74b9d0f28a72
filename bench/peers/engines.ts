// The engines of the peer suite, one adapter each: set up once per model (compile / create the
// session), then per batch size prepare the inputs once (outside timing) and return the timed call
// plus a reader of the last call's outputs (for the agreement check). Input: a PeerModel. Output:
// Engine descriptors; `measures` is the sentence RESULTS.md prints for what each timed call includes.
//
//   proml          proml_score on a batch staged in module memory (bench/host-batch.ts)
//   proml-scalar   the same, module built with EmitOptions.simd = false
//   proml-runtime  Model.score(rows): rows → ABI columns, copy in, proml_score, copy out (runtime/model.ts)
//   reference      the plain TypeScript reference evaluator on row objects (compiler/reference)
//   ort-node       onnxruntime-node session.run, CPU EP, 1 intra-op thread, prebuilt input tensors
//   ort-web        onnxruntime-web session.run, wasm EP (SIMD), numThreads 1, in Node
//   tfjs-wasm      @tensorflow/tfjs-backend-wasm fused matMul + bias + relu, sigmoid, dataSync (MLP only)
//   native         the optional C lower bound (bench/native/, see native.ts)
// At batch 1 every engine cycles through EngineContext.rotate different rows, one per call (a repeated
// row lets branch predictors and caches learn its tree paths, which flatters every engine).

import type { Tensor } from '@tensorflow/tfjs-core';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import type { Manifest, Row } from '../../abi/index.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { lowerModel } from '../../compiler/index.js';
import { ReferenceEvaluator } from '../../compiler/reference/index.js';
import { MemoryEntityStore, Model, type ScoreResult } from '../../runtime/index.js';
import { instantiate, type ModuleExports } from '../../test/emit/host.js';
import { assertNoGrowth, sameBytes, stage } from '../host-batch.js';
import { slice, type PeerModel } from './models.js';
import { loadNative, type NativeApi } from './native.js';

export interface EngineBatch {
  /** One scored batch: the timed operation. */
  call: () => unknown;
  async: boolean;
  /** The outputs of the (first) batch, one number per row (NaN for a missing output). */
  read: () => Float64Array | Promise<Float64Array>;
  /** Throws if the timed calls changed anything they should not have (checked after timing). */
  verify?: () => void;
  /** Rows/s measured by the engine itself (native: its own timing loop); replaces our timing. */
  selfTimed?: { rowsPerSec: number; rme: number };
}

export interface EngineSetup {
  batch: (n: number) => Promise<EngineBatch>;
  /** Facts for RESULTS.md (strategies, build time, thread settings). */
  info: string;
  /** The compiled proml module (default build), for the batch job. */
  bytes?: Uint8Array;
  dispose?: () => Promise<void>;
}

export interface Engine {
  id: string;
  label: string;
  measures: string;
  applies: (m: PeerModel) => boolean;
  /** Largest batch timed (the reference evaluator is slow); undefined = every batch. */
  maxBatch?: number;
  setup: (m: PeerModel) => Promise<EngineSetup>;
}

export interface EngineContext {
  kernelBytes: Uint8Array;
  /** Largest batch the reference evaluator is timed at. */
  referenceMaxBatch: number;
  /** The native bound's timed time per case, ms. */
  nativeMs: number;
  /** At batch 1, the engines cycle through this many different rows (one per call). */
  rotate: number;
}

function fromNullable(xs: ArrayLike<number | boolean | number[] | null | undefined>): Float64Array {
  return Float64Array.from({ length: xs.length }, (_, i) => {
    const v = xs[i];
    return typeof v === 'number' ? v : NaN;
  });
}

const builds = new WeakMap<PeerModel, Map<string, Promise<{ bytes: Uint8Array; seconds: number }>>>();

/** The proml builds timed: the default, the scalar one, and the inexact f32 MLP (MLP models only). */
type PromlBuild = 'proml' | 'proml-scalar' | 'proml-f32';
const BUILD_OPTIONS: Record<PromlBuild, { simd: boolean; mlpPrecision?: 'f32' }> = {
  proml: { simd: true },
  'proml-scalar': { simd: false },
  'proml-f32': { simd: true, mlpPrecision: 'f32' },
};

/** The model's module for one build, compiled once per model and build. */
function compile(
  m: PeerModel,
  build: PromlBuild,
  kernelBytes: Uint8Array,
): Promise<{ bytes: Uint8Array; seconds: number }> {
  let per = builds.get(m);
  if (per === undefined) builds.set(m, (per = new Map()));
  let p = per.get(build);
  if (p === undefined) {
    p = (async () => {
      const t = performance.now();
      const { bytes } = await emitScoringModule(m.checked, lowerModel(m.checked), m.bundle, {
        sourceText: m.source,
        kernelBytes,
        ...BUILD_OPTIONS[build],
      });
      return { bytes, seconds: (performance.now() - t) / 1000 };
    })();
    per.set(build, p);
  }
  return p;
}

function strategies(manifest: { strategies: Record<string, unknown> }): string {
  return Object.entries(manifest.strategies)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** Models whose proml_score allocates per call, so the timed call rewinds the allocator first. */
export const rewinds = new Set<string>();

const BUILD_TEXT: Record<PromlBuild, { label: string; measures: string }> = {
  proml: {
    label: 'proml (proml_score)',
    measures:
      'proml_score alone on a batch already copied into module memory (default build, SIMD128); entity blocks (GAME) staged by the host before the call',
  },
  'proml-scalar': {
    label: 'proml scalar build',
    measures: 'as proml, module compiled with EmitOptions.simd = false (no v128 code)',
  },
  'proml-f32': {
    label: 'proml f32 MLP (inexact)',
    measures:
      'as proml, module compiled with --mlp-precision f32: the MLP in f32 (f32x4), the one inexact strategy (within f32 rounding of the reference; MLP models only)',
  },
};

function promlEngine(id: PromlBuild, ctx: EngineContext): Engine {
  return {
    id,
    ...BUILD_TEXT[id],
    applies: (m) => id !== 'proml-f32' || m.kind === 'mlp',
    setup: async (m) => {
      const { bytes, seconds } = await compile(m, id, ctx.kernelBytes);
      const { exports, manifest } = instantiate(bytes);
      return {
        info: `compiled in ${seconds.toFixed(2)} s, ${(bytes.length / 1024).toFixed(0)} KiB; ${strategies(manifest)}`,
        bytes,
        batch: async (n) => {
          // batch 1: `rotate` single-row batches staged side by side in the one instance, called in turn
          const batches = rotation(m, n, ctx).map((at) => m.rows.slice(at, at + n));
          const staged = stageBatches(m, exports, manifest, batches, n);
          const calls = staged.calls;
          const k = calls.length;
          let i = 0;
          return {
            call: k === 1 ? calls[0]! : () => calls[i++ % k]!(),
            async: false,
            read: () => staged.out,
            verify: staged.verify,
          };
        },
      };
    },
  };
}

/**
 * Batches copied into one instance's memory once, one after another (the test host's proml_reset is
 * skipped after the first, so each stays in place); the timed calls and their checks.
 */
function stageBatches(
  m: PeerModel,
  exports: ModuleExports,
  manifest: Manifest,
  batches: Row[][],
  n: number,
): { calls: (() => number)[]; out: Float64Array; verify: () => void } {
  const keep: ModuleExports = { ...exports, proml_reset: () => undefined };
  const staged = batches.map((rows, i) => stage(i === 0 ? exports : keep, manifest, rows, m.bundle));
  for (const s of staged)
    if (s.first.result !== 0) throw new Error(`${m.name} ×${n}: proml rejected ${s.first.result} rows`);
  const before = staged.map((s) => s.outputBytes());
  const checks = Math.max(2, Math.min(50, Math.floor(5_000 / n)));
  let calls = staged.map((s) => s.call);
  try {
    for (const s of staged.slice(0, 4)) assertNoGrowth(exports, s, checks);
  } catch {
    // hash/cross of bags take a per-call scratch list from the bump allocator (architecture.md):
    // repeated calls would grow memory without end. Rewind the allocator to the end of the staged
    // batches before each call (two trivial exports, a few ns), as a host's reset-and-restage would,
    // without re-copying the batch.
    exports.proml_reset();
    const heapBase = exports.proml_alloc(0);
    const last = staged[staged.length - 1]!;
    const top = last.status + ((Math.max(1, 4 * last.n) + 15) & ~15);
    calls = staged.map((s) => () => {
      exports.proml_reset();
      exports.proml_alloc(top - heapBase);
      return s.call();
    });
    const mem = exports.memory.buffer.byteLength;
    for (let i = 0; i < checks; i++) for (const c of calls) c();
    if (exports.memory.buffer.byteLength !== mem) throw new Error(`${m.name}: memory grows across calls`);
    rewinds.add(m.name);
  }
  return {
    calls,
    out: fromNullable(staged[0]!.first.outputs[m.output]! as (number | null)[]),
    verify: () =>
      staged.forEach((s, i) => {
        if (!sameBytes(s.outputBytes(), before[i]!))
          throw new Error(`${m.name} ×${n}: proml outputs changed across repeated calls`);
      }),
  };
}

function runtimeEngine(ctx: EngineContext): Engine {
  return {
    id: 'proml-runtime',
    label: 'proml Model.score',
    measures:
      'runtime Model.score(rows): row objects → ABI columns, copy into module memory, proml_score, copy the outputs out (GAME: + the entity-store lookup, MemoryEntityStore)',
    applies: () => true,
    setup: async (m) => {
      const { bytes } = await compile(m, 'proml', ctx.kernelBytes); // the proml engine's build
      const model = await Model.load(bytes);
      const store = model.manifest.entityBlocks.length > 0 ? new MemoryEntityStore(m.bundle) : undefined;
      return {
        info: 'default build, loaded with Model.load',
        batch: async (n) => {
          const batches = rotation(m, n, ctx).map((at) => m.rows.slice(at, at + n));
          let last: ScoreResult | null = null;
          let i = 0;
          return {
            call: () => {
              last = model.score(batches[i++ % batches.length]!, store);
            },
            async: false,
            read: () => {
              last = model.score(batches[0]!, store);
              const r = last;
              if (r.rejected > 0) throw new Error(`${m.name}: Model.score rejected ${r.rejected} rows`);
              return Float64Array.from({ length: n }, (_, i) => {
                const v = r.value(m.output, i);
                return typeof v === 'number' ? v : NaN;
              });
            },
          };
        },
      };
    },
  };
}

function referenceEngine(ctx: EngineContext): Engine {
  return {
    id: 'reference',
    label: 'reference evaluator (TS)',
    measures: 'compiler/reference ReferenceEvaluator.evaluate(rows) on row objects (plain TypeScript, f64)',
    applies: () => true,
    maxBatch: ctx.referenceMaxBatch,
    setup: async (m) => {
      const ev = new ReferenceEvaluator(m.checked, m.bundle);
      return {
        info: '',
        batch: async (n) => {
          const batches = rotation(m, n, ctx).map((at) => m.rows.slice(at, at + n));
          let i = 0;
          return {
            call: () => ev.evaluate(batches[i++ % batches.length]!),
            async: false,
            read: () => fromNullable(ev.evaluate(batches[0]!).map((r) => r.outputs?.[m.output] ?? null)),
          };
        },
      };
    },
  };
}

type Ort = typeof ortNode;

/** An ONNX Runtime session (node: CPU EP; web: wasm EP). `threads` = intra-op threads (node). */
export async function ortSession(
  which: 'node' | 'web',
  m: PeerModel,
  threads = 1,
): Promise<{ ort: Ort; session: ortNode.InferenceSession }> {
  const ort = (which === 'node' ? ortNode : ortWeb) as unknown as Ort;
  if (which === 'web') {
    ortWeb.env.wasm.numThreads = 1;
    ortWeb.env.wasm.proxy = false;
  }
  const session = await ort.InferenceSession.create(m.onnx, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(which === 'web' ? { executionProviders: ['wasm'] } : {}),
  });
  return { ort, session };
}

/** Input tensors for rows [at, at + n) (views of the model's tensors: no copy). */
export function ortFeeds(ort: Ort, m: PeerModel, n: number, at = 0): Record<string, ortNode.Tensor> {
  const feeds: Record<string, ortNode.Tensor> = {};
  for (const t of m.tensors) {
    const { data, dims } = slice(t, n, at);
    feeds[t.name] = new ort.Tensor(t.type, data, dims);
  }
  return feeds;
}

function ortEngine(which: 'node' | 'web', ctx: EngineContext): Engine {
  return {
    id: `ort-${which}`,
    label: which === 'node' ? 'onnxruntime-node 1.30' : 'onnxruntime-web 1.30 (wasm)',
    measures:
      which === 'node'
        ? 'await session.run(feeds) with prebuilt input tensors: the public API (its setImmediate hop, output tensor allocation) + the native kernels; CPU EP, intraOpNumThreads 1, interOpNumThreads 1, sequential, graph optimisation all'
        : 'await session.run(feeds) with prebuilt input tensors (copied into the wasm heap by each run, as the API does); wasm EP (SIMD build), env.wasm.numThreads 1, in Node',
    applies: () => true,
    setup: async (m) => {
      const { ort, session } = await ortSession(which, m);
      const info =
        which === 'web'
          ? `env.wasm ${JSON.stringify({ numThreads: ortWeb.env.wasm.numThreads, simd: ortWeb.env.wasm.simd ?? 'default' })}`
          : 'intraOpNumThreads 1';
      return {
        info,
        dispose: () => session.release(),
        batch: async (n) => {
          const feeds = rotation(m, n, ctx).map((at) => ortFeeds(ort, m, n, at));
          let i = 0;
          return {
            call: async () => {
              await session.run(feeds[i++ % feeds.length]!);
            },
            async: true,
            read: async () => Float64Array.from((await session.run(feeds[0]!))['p']!.data as Float32Array),
          };
        },
      };
    },
  };
}

function tfjsEngine(ctx: EngineContext): Engine {
  return {
    id: 'tfjs-wasm',
    label: 'tfjs-backend-wasm 4.22',
    measures:
      'tf.tidy(fused.matMul(+bias, relu) per layer, sigmoid) + dataSync() on a prebuilt input tensor; wasm backend (SIMD, XNNPACK), 1 thread',
    applies: (m) => m.kind === 'mlp',
    setup: async (m) => {
      const tf = await import('@tensorflow/tfjs-core');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (tf.getBackend() !== 'wasm') {
        wasm.setThreadsCount(1);
        if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
        await tf.ready();
      }
      const c = m.bundle.components.get('net');
      if (c?.kind !== 'mlp') throw new Error('tfjs: no mlp component');
      // weights as [inputs, outputs] (transposed once here, outside timing)
      const layers = c.layers.map((l) => {
        const wt = new Float32Array(l.inputs * l.outputs);
        for (let o = 0; o < l.outputs; o++)
          for (let i = 0; i < l.inputs; i++) wt[i * l.outputs + o] = l.weights[o * l.inputs + i]!;
        return { w: tf.tensor2d(wt, [l.inputs, l.outputs]), b: tf.tensor1d(Float32Array.from(l.bias)) };
      });
      const x = m.tensors[0]!;
      return {
        info: `backend ${tf.getBackend()}, threads ${wasm.getThreadsCount()}`,
        dispose: async () => layers.forEach((l) => (l.w.dispose(), l.b.dispose())),
        batch: async (n) => {
          const inputs = rotation(m, n, ctx).map((at) => {
            const { data, dims } = slice(x, n, at);
            return tf.tensor2d(data as Float32Array, dims as [number, number]);
          });
          let last: ArrayLike<number> = new Float32Array(0);
          let turn = 0;
          const forward = (input: Tensor): void => {
            const y = tf.tidy(() => {
              let h: Tensor = input;
              layers.forEach((l, i) => {
                const act = i < layers.length - 1 ? 'relu' : 'linear';
                h = tf.fused.matMul({ a: h, b: l.w, bias: l.b, activation: act });
              });
              return tf.sigmoid(h);
            });
            last = y.dataSync();
            y.dispose();
          };
          return {
            call: () => forward(inputs[turn++ % inputs.length]!),
            async: false,
            read: () => {
              forward(inputs[0]!);
              return Float64Array.from(last);
            },
            verify: () => inputs.forEach((t) => t.dispose()),
          };
        },
      };
    },
  };
}

/** Thrown by a set-up for a model the engine does not cover: its rows say "skipped" and why. */
export class EngineSkip extends Error {}

/** First rows of the batches an engine cycles through: `rotate` single rows at batch 1, else one batch. */
function rotation(m: PeerModel, n: number, ctx: EngineContext): number[] {
  const k = n === 1 ? Math.min(ctx.rotate, m.rows.length) : 1;
  return Array.from({ length: k }, (_, i) => i);
}

function nativeEngine(api: NativeApi, ctx: EngineContext, bits: 'native' | 128): Engine {
  return {
    id: bits === 128 ? 'native-128' : 'native',
    label: bits === 128 ? 'native C, 128-bit vectors' : 'native C (gcc -O3)',
    measures:
      bits === 128
        ? "as native C, with gcc's vectors held to 128 bits (-mprefer-vector-width=128: SIMD128's width, same ISA otherwise): how much of the distance to the bound is vector width"
        : "the C lower bound of bench/native/: the model's coefficients compiled by gcc -O3 (no fast-math, no FMA contraction), its own timing loop over the same f32 rows in one process (no JS, no call overhead in the timed region); ± is its rounds' interquartile range ÷ median",
    applies: () => true,
    setup: async (m) => {
      let native: { model: unknown; columns: unknown };
      try {
        native = api.nativeFromBundle(m.checked, m.bundle);
      } catch (e) {
        throw new EngineSkip((e as Error).message.split('\n')[0]!);
      }
      return {
        info: '',
        batch: async (n) => {
          const input = api.nativeRows(native.columns, m.rows.slice(0, n));
          const r = await api.nativeBound(native.model, input, n, {
            minTimeMs: ctx.nativeMs,
            minRounds: ctx.nativeMs >= 200 ? 7 : 3,
            vectorBits: bits,
          });
          const out = Float64Array.from(r.outputs);
          return {
            call: () => undefined,
            async: false,
            read: () => out,
            selfTimed: { rowsPerSec: r.rowsPerSec, rme: 100 * (r.spread ?? NaN) },
          };
        },
      };
    },
  };
}

/** Every engine, in report order; `native` only when bench/native/ provides nativeBound. */
export async function engines(ctx: EngineContext): Promise<{ list: Engine[]; nativeNote: string }> {
  const native = await loadNative();
  const list = [
    promlEngine('proml', ctx),
    promlEngine('proml-scalar', ctx),
    promlEngine('proml-f32', ctx),
    runtimeEngine(ctx),
    referenceEngine(ctx),
    ortEngine('node', ctx),
    ortEngine('web', ctx),
    tfjsEngine(ctx),
  ];
  if (native.api !== null)
    list.push(nativeEngine(native.api, ctx, 'native'), nativeEngine(native.api, ctx, 128));
  return { list, nativeNote: native.note };
}
