// proml against its peers on the same models and rows: onnxruntime-node, onnxruntime-web (wasm, in
// Node), tfjs-backend-wasm (MLP), the plain TypeScript reference evaluator, proml's scalar build and
// its runtime path, and optionally a native C lower bound (bench/native/). Models (bench/peers/
// models.ts): dense logistic over 1,000 features, a hashed sparse logistic, GAME with 100,000
// members, two tree ensembles (500 × depth 8; 1,000 × 31 leaves) and an MLP 256-128-64-1; batches
// of 1, 100 and 10,000 rows per call, one thread; then "the batch job on all cores".
// Every engine must agree with proml (max |Δ| ≤ TOLERANCE on the probabilities) before it is timed;
// a peer that does not is reported as "disagrees" with its diff and not timed.
// Output: bench/RESULTS.md and bench/RESULTS.json (full run only); returns null to bench/index.ts
// (which then writes no bench/results/peers.md). `--quick`: small models, two batch sizes, a few
// short rounds instead of benchmark.js; writes nothing (test/bench/peers-quick.test.ts runs it).
// Run: npm run bench -- peers [--quick]

import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { kernelModuleBytes } from '../compiler/kernels.js';
import { machine, today } from './env.js';
import { batchJob, type BatchJobResult } from './peers/batch-job.js';
import {
  EngineSkip,
  engines,
  rewinds,
  type Engine,
  type EngineBatch,
  type EngineSetup,
} from './peers/engines.js';
import { modelFactories, type PeerModel } from './peers/models.js';
import { measure, quantile, type TimedCase, type Timing } from './peers/timing.js';

/**
 * Agreement bound on the output probability, absolute. proml computes in f64 (linear margins, MLP
 * layers) or sums f32 leaves in f64 and rounds the margin and p to f32 once; the peers compute in f32
 * (f32 dot products of up to 1,000 terms, f32 leaf sums of up to 1,000 trees). With inputs and
 * coefficients exactly equal, their margins differ by at most a few hundred ulps of f32 (~1e-5
 * relative on a margin of O(1) for the 1,000-term sums, far less elsewhere), and dp/dz ≤ 1/4, so a
 * correct f32 peer stays well below 1e-5 on p; one wrong tree path or a missing entity moves p
 * by 1e-3 or more. (The reference evaluator, f64, is held to the same bound.)
 */
export const TOLERANCE = 1e-5;

export interface PeersOptions {
  quick: boolean;
  /** Write bench/RESULTS.md/.json (default: !quick). */
  write?: boolean;
  /** Run the all-cores batch job (default: !quick). */
  batchJob?: boolean;
  /** Override profile settings (experiments: e.g. `{ maxTime: 0.1 }` on the quick models). */
  overrides?: Partial<Profile>;
  /** Only these models (default: all). */
  models?: string[];
}

export interface Profile {
  poolRows: number;
  batches: number[];
  maxTime: number;
  rounds: number;
  roundMs: number;
  agreeRows: number;
  referenceMaxBatch: number;
  /** Native bound: timed ms per case. */
  nativeMs: number;
  /** Batch 1: every engine cycles through this many different rows (one per call). */
  rotate: number;
  /** The all-cores batch job: rows per model (the models it runs), batch size, rounds. */
  job: { rows: Record<string, number>; batchRows: number; rounds: number };
}

const FULL: Profile = {
  poolRows: 10_000,
  batches: [1, 100, 10_000],
  maxTime: 0.5,
  rounds: 7,
  roundMs: 20,
  agreeRows: 2_000,
  referenceMaxBatch: 100,
  nativeMs: 300,
  rotate: 256,
  // the 500-tree job gets fewer rows: ~5k rows/s per core would make it most of the suite's time
  job: { rows: { logistic_1000: 200_000, trees_500x8: 50_000, mlp: 200_000 }, batchRows: 8_192, rounds: 3 },
};

const QUICK: Profile = {
  poolRows: 100,
  batches: [1, 100],
  maxTime: 0,
  rounds: 3,
  roundMs: 3,
  agreeRows: 100,
  referenceMaxBatch: 100,
  nativeMs: 20,
  rotate: 8,
  job: { rows: { logistic_1000: 400 }, batchRows: 100, rounds: 1 },
};

export interface Agreement {
  rows: number;
  /** max |Δ| vs proml on the agreement rows (Infinity when an output is missing or NaN). */
  maxAbsDiff: number;
  ok: boolean;
  error?: string;
}

export interface CaseResult {
  model: string;
  rows: number;
  engine: string;
  status: 'ok' | 'disagrees' | 'failed' | 'skipped';
  reason?: string;
  hz?: number;
  rowsPerSec?: number;
  /** benchmark.js relative margin of error, % (NaN in quick mode). */
  rme?: number;
  samples?: number;
  /** rows/s per interleaved round. */
  rounds?: number[];
  /** proml (proml_score) rows/s ÷ this engine's rows/s. */
  ratio?: number;
  /** % (the two rmes in quadrature). */
  ratioRme?: number;
  /** Per-round proml ÷ engine: median and interquartile range. */
  paired?: { median: number; q1: number; q3: number };
  /** proml Model.score rows/s ÷ this engine's rows/s. */
  runtimeRatio?: number;
  maxAbsDiff?: number;
}

export interface ModelResult {
  name: string;
  describe: string;
  notes: string[];
  source: string;
  /** Per engine: set-up facts (build strategies, compile time, threads) or the set-up error. */
  setup: Record<string, string>;
  agreement: Record<string, Agreement>;
  cases: CaseResult[];
}

export interface PeerResults {
  quick: boolean;
  machine: string;
  node: string;
  date: string;
  load: { before: number; after: number };
  seconds: number;
  tolerance: number;
  timing: { maxTime: number; rounds: number; roundMs: number };
  /** Batch 1: rows cycled through (absent in results written before rotation existed). */
  rotate?: number;
  engines: { id: string; label: string; measures: string }[];
  nativeNote: string;
  models: ModelResult[];
  batchJob: (BatchJobResult | { model: string; build: string; error: string })[];
}

function maxAbs(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

async function runModel(
  m: PeerModel,
  list: Engine[],
  p: Profile,
): Promise<{ result: ModelResult; bytes?: Uint8Array; f32?: Uint8Array }> {
  const result: ModelResult = {
    name: m.name,
    describe: m.describe,
    notes: [...m.notes],
    source: m.source,
    setup: {},
    agreement: {},
    cases: [],
  };
  const setups = new Map<string, EngineSetup>();
  const skipped = new Set<string>();
  const applicable = list.filter((e) => e.applies(m));
  for (const e of applicable) {
    try {
      const s = await e.setup(m);
      setups.set(e.id, s);
      result.setup[e.id] = s.info;
    } catch (err) {
      const skip = err instanceof EngineSkip;
      result.setup[e.id] = `${skip ? 'skipped' : 'set-up failed'}: ${message(err)}`;
      if (skip) skipped.add(e.id);
      console.log(`  ${e.id}: ${result.setup[e.id]}`);
    }
  }
  if (rewinds.has(m.name))
    result.notes.push(
      'proml_score allocates a per-call hashing scratch list from its bump allocator, so each timed proml call is proml_reset + proml_alloc(size of the staged batch) + proml_score (the batch stays in place; two trivial calls, a few ns)',
    );
  if (!setups.has('proml'))
    throw new Error(`${m.name}: the proml engine failed to set up: ${result.setup['proml']}`);

  // agreement on the same rows, before any timing
  const agreeRows = Math.min(p.agreeRows, m.rows.length);
  let base: Float64Array | null = null;
  for (const e of applicable) {
    const s = setups.get(e.id);
    if (s === undefined) continue;
    const n = e.maxBatch === undefined ? agreeRows : Math.min(agreeRows, Math.max(e.maxBatch, 1_000));
    try {
      const b = await s.batch(n);
      await b.call();
      const out = await b.read();
      if (e.id === 'proml') base = out;
      const d = maxAbs(out, base!.subarray(0, n));
      result.agreement[e.id] = { rows: n, maxAbsDiff: d, ok: d <= TOLERANCE };
    } catch (err) {
      result.agreement[e.id] = { rows: n, maxAbsDiff: Infinity, ok: false, error: message(err) };
    }
    const a = result.agreement[e.id]!;
    console.log(
      `  agree ${e.id}: max |Δ| ${a.maxAbsDiff.toExponential(2)} on ${n} rows${a.ok ? '' : ` DISAGREES${a.error === undefined ? '' : ` (${a.error})`}`}`,
    );
  }

  for (const n of p.batches) {
    if (n > m.rows.length) continue;
    const cases: TimedCase[] = [];
    const batches = new Map<string, EngineBatch>();
    for (const e of applicable) {
      const c: CaseResult = { model: m.name, rows: n, engine: e.id, status: 'ok' };
      const agree = result.agreement[e.id];
      if (agree !== undefined) c.maxAbsDiff = agree.maxAbsDiff;
      result.cases.push(c);
      if (!setups.has(e.id)) {
        c.status = skipped.has(e.id) ? 'skipped' : 'failed';
        c.reason = (result.setup[e.id] ?? '').replace(/^skipped: /, '');
        continue;
      }
      if (agree !== undefined && !agree.ok) {
        c.status = agree.error === undefined ? 'disagrees' : 'failed';
        c.reason = agree.error ?? `max |Δ| ${agree.maxAbsDiff.toExponential(2)} > ${TOLERANCE}`;
        continue;
      }
      if (e.maxBatch !== undefined && n > e.maxBatch) {
        c.status = 'skipped';
        c.reason = `not timed above ${e.maxBatch} rows per call (too slow for the time budget)`;
        continue;
      }
      try {
        const b = await setups.get(e.id)!.batch(n);
        batches.set(e.id, b);
        if (b.selfTimed === undefined) cases.push({ name: e.id, call: b.call, async: b.async });
      } catch (err) {
        c.status = 'failed';
        c.reason = message(err);
      }
    }
    console.log(`  ×${n}: ${cases.map((c) => c.name).join(', ')}`);
    const timed = await measure(cases, { maxTime: p.maxTime, rounds: p.rounds, roundMs: p.roundMs });
    for (const b of batches.values()) b.verify?.();
    const get = (id: string): Timing | undefined => {
      const t = timed.get(id);
      if (t !== undefined) return t;
      const s = batches.get(id)?.selfTimed;
      return s === undefined ? undefined : { hz: s.rowsPerSec / n, rme: s.rme, samples: 0, rounds: [] };
    };
    const base = get('proml')!;
    const runtime = get('proml-runtime');
    for (const c of result.cases.filter((x) => x.rows === n && x.status === 'ok')) {
      const t = get(c.engine);
      if (t === undefined) continue;
      c.hz = t.hz;
      c.rowsPerSec = t.hz * n;
      c.rme = t.rme;
      c.samples = t.samples;
      c.rounds = t.rounds.map((r) => r * n);
      c.ratio = base.hz / t.hz;
      c.ratioRme = Math.hypot(base.rme, t.rme);
      if (runtime !== undefined) c.runtimeRatio = runtime.hz / t.hz;
      if (t.rounds.length === base.rounds.length && t.rounds.length > 0) {
        const r = base.rounds.map((x, i) => x / t.rounds[i]!);
        c.paired = { median: quantile(r, 0.5), q1: quantile(r, 0.25), q3: quantile(r, 0.75) };
      }
    }
  }
  for (const s of setups.values()) await s.dispose?.();
  const bytes = setups.get('proml')?.bytes;
  const f32 = setups.get('proml-f32')?.bytes;
  return { result, ...(bytes === undefined ? {} : { bytes }), ...(f32 === undefined ? {} : { f32 }) };
}

export async function runPeers(o: PeersOptions): Promise<PeerResults> {
  const p = { ...(o.quick ? QUICK : FULL), ...o.overrides };
  const started = performance.now();
  const load0 = loadavg()[0]!;
  const kernelBytes = await kernelModuleBytes();
  const { list, nativeNote } = await engines({
    kernelBytes,
    referenceMaxBatch: p.referenceMaxBatch,
    nativeMs: p.nativeMs,
    rotate: p.rotate,
  });
  console.log(`peers: ${list.map((e) => e.id).join(', ')}; ${nativeNote}`);
  const results: PeerResults = {
    quick: o.quick,
    machine: machine(),
    node: process.version,
    date: today(),
    load: { before: load0, after: NaN },
    seconds: NaN,
    tolerance: TOLERANCE,
    timing: { maxTime: p.maxTime, rounds: p.rounds, roundMs: p.roundMs },
    rotate: p.rotate,
    engines: list.map((e) => ({ id: e.id, label: e.label, measures: e.measures })),
    nativeNote,
    models: [],
    batchJob: [],
  };
  const jobModels: { m: PeerModel; bytes: Uint8Array; build: string }[] = [];
  for (const f of modelFactories({ quick: o.quick, poolRows: p.poolRows })) {
    if (o.models !== undefined && !o.models.includes(f.name)) continue;
    const t = performance.now();
    const m = f.build();
    console.log(`${m.name}: ${m.describe} (built in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    const { result, bytes, f32 } = await runModel(m, list, p);
    results.models.push(result);
    if ((o.batchJob ?? !o.quick) && p.job.rows[m.name] !== undefined && bytes !== undefined) {
      jobModels.push({ m, bytes, build: 'default' });
      // the MLP once more with the inexact f32 build (--mlp-precision f32): what tfjs/ORT compute in
      if (f32 !== undefined) jobModels.push({ m, bytes: f32, build: 'f32 MLP (inexact)' });
    }
  }
  const threads = availableParallelism();
  for (const { m, bytes, build } of jobModels) {
    console.log(`batch job ${m.name} (${build}): ${p.job.rows[m.name]!} rows, ${threads} threads`);
    try {
      const r = await batchJob(m, bytes, build, {
        rows: p.job.rows[m.name]!,
        batchRows: p.job.batchRows,
        threads,
        rounds: p.job.rounds,
      });
      console.log(
        `  proml ${fmtRate(r.proml.rowsPerSec)} rows/s, ORT-node ${fmtRate(r.ortNode.rowsPerSec)} rows/s, ratio ${r.ratio.toFixed(2)}, max |Δ| ${r.maxAbsDiff.toExponential(2)}`,
      );
      results.batchJob.push(r);
    } catch (e) {
      console.log(`  failed: ${message(e)}`);
      results.batchJob.push({ model: m.name, build, error: message(e) });
    }
  }
  results.load.after = loadavg()[0]!;
  results.seconds = (performance.now() - started) / 1000;
  if (o.write ?? !o.quick) {
    const dir = new URL('.', import.meta.url).pathname;
    writeFileSync(join(dir, 'RESULTS.json'), `${JSON.stringify(results, jsonNumbers, 2)}\n`);
    writeFileSync(join(dir, 'RESULTS.md'), markdown(results));
    console.log(`wrote bench/RESULTS.md and bench/RESULTS.json (${results.seconds.toFixed(0)} s)`);
  }
  return results;
}

/** JSON has no Infinity/NaN: write them as strings. */
function jsonNumbers(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

// ---- report ----

function fmtRate(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

function fmtRatio(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  return x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;
}

function fmtDiff(x: number | undefined): string {
  if (x === undefined) return '—';
  if (x === 0) return '0';
  return Number.isFinite(x) ? x.toExponential(1) : '∞';
}

function fmtPct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(1)}%`;
}

function label(r: PeerResults, id: string): string {
  return r.engines.find((e) => e.id === id)?.label ?? id;
}

function find(r: PeerResults, model: string, rows: number, engine: string): CaseResult | undefined {
  return r.models.find((m) => m.name === model)?.cases.find((c) => c.rows === rows && c.engine === engine);
}

interface Target {
  what: string;
  model: string;
  rows: number[];
  engine: string;
  need: number;
}

const TARGETS: Target[] = [
  {
    what: 'trees, batch ≥ 100: proml ≥ 2× ORT-node',
    model: 'trees_500x8',
    rows: [100, 10_000],
    engine: 'ort-node',
    need: 2,
  },
  {
    what: 'trees (lleaves shape), batch ≥ 100: proml ≥ 2× ORT-node',
    model: 'trees_1000x31',
    rows: [100, 10_000],
    engine: 'ort-node',
    need: 2,
  },
  {
    what: 'trees, batch 1: latency ≤ ORT-node',
    model: 'trees_500x8',
    rows: [1],
    engine: 'ort-node',
    need: 1,
  },
  {
    what: 'trees (lleaves shape), batch 1: latency ≤ ORT-node',
    model: 'trees_1000x31',
    rows: [1],
    engine: 'ort-node',
    need: 1,
  },
  {
    what: 'logistic-1000, batch 1: proml ≥ 10× ORT-node',
    model: 'logistic_1000',
    rows: [1],
    engine: 'ort-node',
    need: 10,
  },
  {
    what: 'logistic-1000, batch 10,000: proml within 1.3× of the native C bound',
    model: 'logistic_1000',
    rows: [10_000],
    engine: 'native',
    need: 1 / 1.3,
  },
  {
    what: '(context, not a target: the same against native C held to 128-bit vectors, wasm SIMD width)',
    model: 'logistic_1000',
    rows: [10_000],
    engine: 'native-128',
    need: 1 / 1.3,
  },
  { what: 'MLP, batch 1: proml ≥ 10× tfjs-wasm', model: 'mlp', rows: [1], engine: 'tfjs-wasm', need: 10 },
  { what: 'MLP, batch 1: proml ≥ 10× ORT-web', model: 'mlp', rows: [1], engine: 'ort-web', need: 10 },
  {
    what: 'MLP, batch 10,000: proml ≥ tfjs-wasm',
    model: 'mlp',
    rows: [10_000],
    engine: 'tfjs-wasm',
    need: 1,
  },
];

/** Met when both measures say so, missed when both say so; else the run cannot tell. */
function verdict(ratio: number, paired: number | undefined, need: number, yes: string): string {
  const lo = Math.min(ratio, paired ?? ratio);
  const hi = Math.max(ratio, paired ?? ratio);
  if (lo >= need) return yes;
  if (hi < need) return `**no** (${((100 * hi) / need).toFixed(0)}% of the target at best)`;
  return 'unclear (the two measures disagree)';
}

function targets(r: PeerResults): string[] {
  const lines = [
    '| target | rows/call | proml_score ÷ peer | paired [IQR] | Model.score ÷ peer | met |',
    '|---|---:|---:|---:|---:|:---:|',
  ];
  for (const t of TARGETS)
    for (const n of t.rows) {
      const c = find(r, t.model, n, t.engine);
      if (c?.ratio === undefined) {
        lines.push(`| ${t.what} | ${n} | — | — | — | not measured (${c?.status ?? 'absent'}) |`);
        continue;
      }
      const p = c.paired;
      const paired = p === undefined ? '—' : `${fmtRatio(p.median)} [${fmtRatio(p.q1)}, ${fmtRatio(p.q3)}]`;
      const met = verdict(c.ratio, p?.median, t.need, 'yes');
      lines.push(
        `| ${t.what} | ${n} | ${fmtRatio(c.ratio)} | ${paired} | ${fmtRatio(c.runtimeRatio)} | ${met} |`,
      );
      // the inexact f32 MLP build against the same peer: (proml ÷ peer) ÷ (proml ÷ proml-f32)
      const f = find(r, t.model, n, 'proml-f32');
      if (f?.ratio === undefined) continue;
      const ratio = c.ratio / f.ratio;
      const pm = p !== undefined && f.paired !== undefined ? p.median / f.paired.median : undefined;
      const fmet = verdict(ratio, pm, t.need, 'yes (inexact build)');
      lines.push(
        `| ${t.what}, with the f32 MLP (--mlp-precision f32, inexact) | ${n} | ${fmtRatio(ratio)} | ${pm === undefined ? '—' : fmtRatio(pm)} | — | ${fmet} |`,
      );
    }
  return lines;
}

function modelTable(r: PeerResults, m: ModelResult): string[] {
  const lines = [
    `| rows/call | engine | rows/s | ± | proml ÷ engine | paired [IQR] | Model.score ÷ engine | max \\|Δ\\| vs proml |`,
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of m.cases) {
    const name = label(r, c.engine);
    if (c.status !== 'ok') {
      lines.push(
        `| ${c.rows} | ${name} | ${c.status}: ${c.reason ?? ''} | | | | | ${fmtDiff(c.maxAbsDiff)} |`,
      );
      continue;
    }
    const p = c.paired;
    const paired = p === undefined ? '—' : `${fmtRatio(p.median)} [${fmtRatio(p.q1)}, ${fmtRatio(p.q3)}]`;
    const self = c.engine === 'proml';
    lines.push(
      `| ${c.rows} | ${name} | ${fmtRate(c.rowsPerSec)} | ${fmtPct(c.rme)} | ${self ? '1' : `${fmtRatio(c.ratio)} ±${fmtPct(c.ratioRme)}`} | ${self ? '' : paired} | ${fmtRatio(c.runtimeRatio)} | ${self ? '' : fmtDiff(c.maxAbsDiff)} |`,
    );
  }
  return lines;
}

function summary(r: PeerResults): string[] {
  const peers = ['ort-node', 'ort-web', 'tfjs-wasm', 'reference', 'native', 'native-128'].filter((id) =>
    r.engines.some((e) => e.id === id),
  );
  const lines = [
    `| model | rows/call | proml rows/s | ${peers.map((id) => `÷ ${label(r, id)}`).join(' | ')} | Model.score ÷ ORT-node |`,
    `|---|---:|---:|${peers.map(() => '---:').join('|')}|---:|`,
  ];
  for (const m of r.models) {
    const ns = [...new Set(m.cases.map((c) => c.rows))];
    for (const n of ns) {
      const base = find(r, m.name, n, 'proml');
      const cells = peers.map((id) => {
        const c = find(r, m.name, n, id);
        if (c === undefined) return '';
        if (c.status !== 'ok') return c.status;
        return c.paired === undefined
          ? fmtRatio(c.ratio)
          : `${fmtRatio(c.ratio)} (${fmtRatio(c.paired.median)})`;
      });
      lines.push(
        `| ${m.name} | ${n} | ${fmtRate(base?.rowsPerSec)} | ${cells.join(' | ')} | ${fmtRatio(find(r, m.name, n, 'ort-node')?.runtimeRatio)} |`,
      );
    }
  }
  return lines;
}

export function markdown(r: PeerResults): string {
  const out: string[] = [
    '# proml vs peers',
    '',
    `Machine: ${r.machine}`,
    `Date: ${r.date}`,
    `Load average (1 min): ${r.load.before.toFixed(1)} before, ${r.load.after.toFixed(1)} after; suite took ${r.seconds.toFixed(0)} s`,
    '',
    'Regenerate: `npm run bench -- peers` (`--quick` for a smoke run that writes nothing). The figures are ratios measured',
    'in the same run on a shared machine: read the ratios, not the absolute rates.',
    '',
    '## How to read this',
    '',
    '- Every model is built once (DSL source + a seeded random bundle, bench/peers/models.ts) and exported',
    '  to each engine from the same coefficients (ONNX graphs: bench/peers/onnx.ts). Inputs and coefficients',
    '  are f32-exact, so every engine sees the same numbers. No row has a missing value (peers have no',
    '  missing-value rule to compare), and no row is rejected.',
    `- **Agreement first.** Each engine scores the same rows (up to ${Math.max(...r.models.flatMap((m) => Object.values(m.agreement).map((a) => a.rows)))}) before timing; max |Δ| vs proml's`,
    `  output must be ≤ ${r.tolerance} (absolute, on the probability; the bound is argued in bench/peers.bench.ts).`,
    '  An engine above it is listed as "disagrees" with its diff and is not timed.',
    `- **Timing.** benchmark.js per case (maxTime ${r.timing.maxTime} s; ± is its relative margin of error at 95%),`,
    `  then ${r.timing.rounds} interleaved rounds (every engine of a model × batch in turn, ~${r.timing.roundMs} ms each,`,
    '  order rotated): "paired" is the median of the per-round ratios with its interquartile range, more',
    '  robust to a load spike but not to garbage collection caused by the engine timed just before. The',
    '  two can differ a lot on a loaded machine: the summary shows both, and a target counts as met (or',
    '  missed) only when both say so. Single thread everywhere except the batch job.',
    r.rotate === undefined
      ? '- **Batch 1 in this run repeated the same row on every call** (the run predates row rotation): branch predictors and caches learn that row, which flatters every engine at batch 1, tree ensembles most.'
      : `- Batch 1: every engine cycles through ${r.rotate} different rows, one per call (the native C bound repeats one row in its own loop).`,
    '- **proml ÷ engine** uses proml_score (module memory already holding the batch) as proml;',
    '  **Model.score ÷ engine** uses the full runtime call instead (marshalling row objects in and out),',
    "  the fairer comparison at batch 1, where peers' timings include their per-call overhead too.",
    '',
    'What each engine row times:',
    '',
    ...r.engines.map((e) => `- **${e.label}** (\`${e.id}\`): ${e.measures}.`),
    ...(r.engines.some((e) => e.id === 'native') ? [] : [`- native C (gcc -O3): ${r.nativeNote}.`]),
    '',
    'Fairness caveats:',
    '',
    '- proml_score excludes marshalling: the batch is copied into module memory once, outside timing',
    '  (ORT and tfjs get prebuilt tensors, but ORT-web copies them into its heap inside run()). Compare',
    '  the Model.score column for an end-to-end view.',
    '- ORT-node `session.run` is async (one setImmediate hop per call), a fixed cost of the public API that',
    '  dominates at batch 1; a caller of ORT from Node cannot avoid it.',
    '- Sparse: peers get pre-hashed bucket indices (computed outside timing); proml hashes the strings inside',
    '  its timed call. GAME: ORT does the member lookup in-graph (LabelEncoder), proml_score gets staged',
    '  blocks (the lookup is in the Model.score row). Trees: no missing values are exercised.',
    '- The reference evaluator is not timed above its max batch (slow; it is the oracle, not a contender).',
    '',
    '## Targets',
    '',
    ...targets(r),
    '',
    '## Summary (proml_score rows/s ÷ peer rows/s: benchmark.js (paired median))',
    '',
    ...summary(r),
    '',
  ];
  for (const m of r.models) {
    out.push(`## ${m.name}`, '', `${m.describe}.`, '');
    for (const n of m.notes) out.push(`- ${n}`);
    for (const [id, s] of Object.entries(m.setup)) if (s !== '') out.push(`- ${label(r, id)}: ${s}`);
    out.push('', '```pml', m.source.trimEnd(), '```', '', ...modelTable(r, m), '');
  }
  out.push(
    '## The batch job on all cores',
    '',
    'proml: runtime/node/batch-scorer.ts (the scorer behind `proml score` / scoreBatches) with one worker',
    'thread per core, prebuilt ABI columns per batch (no file I/O), at most 2 × threads batches in',
    'flight. ORT-node: one session with intraOpNumThreads = cores, the same batches as prebuilt tensors,',
    'run one after another. Rows/s is the median of the rounds (worker start-up excluded).',
    '',
    '| model | proml build | rows | batch rows | threads | proml rows/s | ORT-node rows/s | proml ÷ ORT-node | max \\|Δ\\| | worker warm-up |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.batchJob.map((j) =>
      'error' in j
        ? `| ${j.model} | ${j.build} | failed: ${j.error} | | | | | | | |`
        : `| ${j.model} | ${j.build} | ${j.rows} | ${j.batchRows} | ${j.threads} | ${fmtRate(j.proml.rowsPerSec)} | ${fmtRate(j.ortNode.rowsPerSec)} | ${fmtRatio(j.ratio)} | ${fmtDiff(j.maxAbsDiff)} | ${j.warmup.toFixed(1)} s |`,
    ),
    '',
  );
  return out.join('\n');
}

/** bench/index.ts entry: `npm run bench -- peers [--quick]`. Writes its own files; returns null. */
export async function run(): Promise<null> {
  await runPeers({ quick: process.argv.includes('--quick') });
  return null;
}
