// SIMD vs scalar builds of the same model: rows/s of proml_score alone (benchmark.js), for the MLP
// fixtures pymk (131→256→128→64→1, relu) and notification_send (tanh) and an inline dense logistic
// model (vector<f32, 1000> → linear → sigmoid), at 1, 100 and 10,000 rows per call.
// Input: the fixtures (model.pml + bundle), randomBundle for the inline model, seeded randomRows
// (accepted rows only: rejected rows skip the model and would flatter neither build).
// Output: the table (returned to bench/index.ts → bench/results/simd.md) and bench/results/simd.json.
// Each build is instantiated once; each batch is copied into its memory once (bench/host-batch.ts),
// both builds' output + status bytes must be identical and proml_score must not allocate, else abort.
// Run: npm run bench -- simd

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Benchmark from 'benchmark';
import type { Bundle, Row } from '../abi/index.js';
import { readBundle } from '../abi/node.js';
import { emitScoringModule } from '../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../compiler/index.js';
import { kernelModuleBytes } from '../compiler/kernels.js';
import { randomBundle, randomRows } from '../compiler/reference/index.js';
import { instantiate, score, type ModuleExports } from '../test/emit/host.js';
import { MODELS_DIR } from '../test/helpers.js';
import { machine, RESULTS_DIR, today } from './env.js';
import { assertNoGrowth, sameBytes, stage } from './host-batch.js';

const BATCHES = [1, 100, 10_000];
/** benchmark.js seconds per build and batch (30 cases: keeps the suite near two minutes). */
const MAX_TIME = 1;

/** The inline dense logistic model; `decl` completes `input x : vector<f32, 1000> …`. */
function denseSource(decl: string): string {
  return `model dense_logistic {
  version "1"
  owner "bench"
  purpose "benchmark"
  input x : vector<f32, 1000> ${decl}
  component lin = linear(x)
  output p = sigmoid(lin)
}
`;
}

interface ModelCase {
  name: string;
  describe: string;
  checked: CheckedModel;
  source: string;
  bundle: Bundle;
  /** mlpUnroll for both builds (undefined: the emitter's default). */
  mlpUnroll?: number;
}

interface Build {
  exports: ModuleExports;
  manifest: ReturnType<typeof instantiate>['manifest'];
  strategy: string;
}

export interface SimdResult {
  model: string;
  rows: number;
  simd: { hz: number; rowsPerSec: number; rme: number; samples: number; strategy: string };
  scalar: { hz: number; rowsPerSec: number; rme: number; samples: number; strategy: string };
  /** SIMD rows/s ÷ scalar rows/s. */
  ratio: number;
  /** Relative margin of error of the ratio, % (the two rmes added in quadrature). */
  ratioRme: number;
  /** Interleaved cross-check: median (and quartiles) of per-round scalar time ÷ SIMD time. */
  paired: { median: number; q1: number; q3: number };
}

function check(name: string, source: string): CheckedModel {
  const r = checkSource(`${name}.pml`, source);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  if (r.checked === null || errors.length > 0)
    throw new Error(`${name}: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  return r.checked;
}

/** `MLP 131→256→128→64→1, relu` from the bundle's first mlp component. */
function describeMlp(bundle: Bundle): string {
  for (const c of bundle.components.values())
    if (c.kind === 'mlp')
      return `MLP ${[c.layers[0]!.inputs, ...c.layers.map((l) => l.outputs)].join('→')}, ${c.activation}`;
  return 'no mlp';
}

function fixture(name: string): ModelCase {
  const dir = join(MODELS_DIR, name);
  const source = readFileSync(join(dir, 'model.pml'), 'utf8');
  const bundle = readBundle(join(dir, 'bundle'));
  return { name, describe: describeMlp(bundle), checked: check(name, source), source, bundle };
}

async function build(c: ModelCase, simd: boolean, kernelBytes: Uint8Array): Promise<Build> {
  const { bytes } = await emitScoringModule(c.checked, lowerModel(c.checked), c.bundle, {
    sourceText: c.source,
    kernelBytes,
    simd,
    ...(c.mlpUnroll === undefined ? {} : { mlpUnroll: c.mlpUnroll }),
  });
  const { exports, manifest } = instantiate(bytes);
  const strategy = Object.entries(manifest.strategies)
    .filter(([k]) => k === 'mlp.simd' || k === 'mlp.unroll' || k === 'linear.dense')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return { exports, manifest, strategy };
}

/** `count` accepted rows (status 0 in the SIMD build), from seeded randomRows batches. */
function acceptedRows(c: ModelCase, b: Build, count: number): { rows: Row[]; generated: number } {
  const rows: Row[] = [];
  let generated = 0;
  for (let seed = 1; rows.length < count; seed++) {
    if (seed > 20) throw new Error(`${c.name}: too few accepted rows (${rows.length} of ${generated})`);
    const batch = randomRows(c.checked, c.bundle, { seed: 1000 + seed, count: 5_000 });
    generated += batch.length;
    const { status } = score(b.exports, b.manifest, batch, c.bundle);
    batch.forEach((row, r) => {
      if (status[r] === 0 && rows.length < count) rows.push(row);
    });
  }
  return { rows, generated };
}

type Stats = Benchmark.Target & { name: string; hz: number; stats: { rme: number; sample: number[] } };

function bench(cases: { name: string; fn: () => void }[]): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite();
    for (const c of cases) suite.add(c.name, c.fn, { maxTime: MAX_TIME });
    suite
      .on('cycle', (ev: Benchmark.Event) => {
        const t = ev.target as Stats;
        out.set(t.name, t);
        console.log(`  ${String(ev.target)}`);
      })
      .on('complete', () => resolve(out))
      .run({ async: false });
  });
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

/**
 * Interleaved cross-check, robust to load from other processes: `rounds` rounds, each timing k calls
 * of one build then k of the other (order alternating), k sized to ~20 ms; the median of the per-round
 * time ratios (scalar ÷ SIMD = SIMD's speed-up) and its interquartile range.
 */
function paired(
  a: () => number,
  b: () => number,
  hz: number,
  rounds = 21,
): { median: number; q1: number; q3: number } {
  const k = Math.max(1, Math.round(hz * 0.02));
  const time = (f: () => number): number => {
    const t = performance.now();
    for (let i = 0; i < k; i++) f();
    return performance.now() - t;
  };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      const ta = time(a);
      ratios.push(time(b) / ta);
    } else {
      const tb = time(b);
      ratios.push(tb / time(a));
    }
  }
  ratios.sort((x, y) => x - y);
  const at = (q: number): number => ratios[Math.round(q * (ratios.length - 1))]!;
  return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
}

export async function run(): Promise<string> {
  const kernelBytes = await kernelModuleBytes();
  const dense = (name: string, decl: string): ModelCase => {
    const source = denseSource(decl);
    const checked = check(name, source);
    const describe = `linear over vector<f32, 1000> ${decl}, sigmoid`;
    return { name, describe, checked, source, bundle: randomBundle(checked, { seed: 7 }) };
  };
  const pymk = fixture('pymk');
  const models: ModelCase[] = [
    pymk,
    { ...pymk, name: 'pymk (mlpUnroll 4)', mlpUnroll: 4 },
    fixture('notification_send'),
    dense('dense_logistic', 'required'),
    // same model, but a defaulted input: this one reaches the emitter's dense dot product (see below)
    dense('dense_logistic (default 0)', 'default 0'),
  ];
  const results: SimdResult[] = [];
  const notes: string[] = [];
  for (const c of models) {
    console.log(`${c.name} (${c.describe})`);
    const simd = await build(c, true, kernelBytes);
    const scalar = await build(c, false, kernelBytes);
    const pool = acceptedRows(c, simd, Math.max(...BATCHES));
    notes.push(
      `${c.name}: ${c.describe}; SIMD build ${simd.strategy}; scalar build ${scalar.strategy}; ${pool.rows.length} accepted rows kept of ${pool.generated} generated`,
    );
    for (const n of BATCHES) {
      const rows = pool.rows.slice(0, n);
      const a = stage(simd.exports, simd.manifest, rows, c.bundle);
      const b = stage(scalar.exports, scalar.manifest, rows, c.bundle);
      if (a.first.result !== 0 || b.first.result !== 0)
        throw new Error(`${c.name} ×${n}: ${a.first.result}/${b.first.result} rows rejected`);
      const bytesA = a.outputBytes();
      if (!sameBytes(bytesA, b.outputBytes()))
        throw new Error(`${c.name} ×${n}: the SIMD and scalar builds' outputs differ`);
      const warm = Math.max(3, Math.min(200, Math.floor(20_000 / n)));
      assertNoGrowth(simd.exports, a, warm);
      assertNoGrowth(scalar.exports, b, warm);
      const s = await bench([
        { name: `${c.name} ×${n} simd`, fn: () => void a.call() },
        { name: `${c.name} ×${n} scalar`, fn: () => void b.call() },
      ]);
      const one = (t: Stats, strategy: string): SimdResult['simd'] => ({
        hz: t.hz,
        rowsPerSec: t.hz * n,
        rme: t.stats.rme,
        samples: t.stats.sample.length,
        strategy,
      });
      const rs = one(s.get(`${c.name} ×${n} simd`)!, simd.strategy);
      const rc = one(s.get(`${c.name} ×${n} scalar`)!, scalar.strategy);
      const p = paired(a.call, b.call, rs.hz);
      // the timed calls rewrote the same outputs
      if (!sameBytes(a.outputBytes(), bytesA) || !sameBytes(b.outputBytes(), bytesA))
        throw new Error(`${c.name} ×${n}: outputs changed across repeated calls`);
      console.log(`  paired speed-up ${p.median.toFixed(2)}× [${p.q1.toFixed(2)}, ${p.q3.toFixed(2)}]`);
      results.push({
        model: c.name,
        rows: n,
        simd: rs,
        scalar: rc,
        ratio: rs.rowsPerSec / rc.rowsPerSec,
        ratioRme: Math.hypot(rs.rme, rc.rme),
        paired: p,
      });
    }
  }
  writeFileSync(
    join(RESULTS_DIR, 'simd.json'),
    `${JSON.stringify({ machine: machine(), node: process.version, date: today(), maxTime: MAX_TIME, notes, results }, null, 2)}\n`,
  );
  return [
    'proml_score on a batch already in module memory (no host marshalling in the timed call); both',
    'builds from the same bundle, outputs checked byte-identical (values, validity, status) before and',
    'after timing; proml_score checked not to allocate or grow memory. ± is benchmark.js relative',
    'margin of error (95% confidence); the ratio ± adds the two in quadrature. "paired" is an',
    'interleaved cross-check (21 rounds alternating the builds, ~20 ms each): median scalar time ÷',
    'SIMD time [interquartile range], less sensitive to other processes on the machine.',
    '',
    ...notes.map((x) => `- ${x}`),
    '',
    'dense_logistic (default 0) is the same model with a defaulted input. When this was written, the',
    "emitter's directVector (compiler/emit/scoring.ts) walked require → input, saw the input node's",
    'optional type and no default, and returned null: a `required` vector then takes the per-element',
    'scalar code in both builds (no v128 in the SIMD module): no SIMD gain is possible there.',
    '',
    '| model | rows/call | SIMD rows/s | ± | scalar rows/s | ± | SIMD ÷ scalar | paired |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.model} | ${r.rows} | ${fmtRate(r.simd.rowsPerSec)} | ${r.simd.rme.toFixed(1)}% | ${fmtRate(r.scalar.rowsPerSec)} | ${r.scalar.rme.toFixed(1)}% | ${r.ratio.toFixed(2)}× ±${r.ratioRme.toFixed(1)}% | ${r.paired.median.toFixed(2)}× [${r.paired.q1.toFixed(2)}, ${r.paired.q3.toFixed(2)}] |`,
    ),
  ].join('\n');
}
