// One-off measurement: proml_score vs the native C lower bound on the same coefficients and rows,
// single thread, 10,000 rows per pass: a dense logistic model over vector<f32, 1000>, an MLP
// 131→256→128→64→1 (relu), and 500 full trees of depth 8 over 100 features.
// Input: inline models, randomBundle / randomEnsemble coefficients, seeded randomRows (accepted rows).
// Output: a markdown table on stdout. Both engines are timed the same way: rounds of whole passes
// over the batch (≥ MIN_ROUNDS rounds, ≥ MIN_MS in all), median rows/s and interquartile spread,
// alternated REPEATS times (a busy machine slows both alike); the fastest round is reported too.
// proml is timed on a batch already in module memory (bench/host-batch.ts), so neither side pays
// for marshalling. Outputs must agree within 1e-6 before anything is printed.
// Run: node --import ./scripts/preload-binaryen.mjs bench/native/measure.ts [--ms 2000]

import { loadavg } from 'node:os';
import type { Bundle, Row } from '../../abi/index.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { randomBundle, randomRows } from '../../compiler/reference/index.js';
import { randomEnsemble } from '../../test/emit/trees-harness.js';
import { instantiate } from '../../test/emit/host.js';
import { machine } from '../env.js';
import { stage } from '../host-batch.js';
import {
  gccDescription,
  GCC_FLAGS,
  nativeBound,
  nativeFromBundle,
  nativeRows,
  type NativeResult,
} from './index.js';

const ROWS = 10_000;
const MIN_ROUNDS = 11;
const REPEATS = 3;
const msFlag = process.argv.indexOf('--ms');
const MIN_MS = msFlag < 0 ? 2000 : Number(process.argv[msFlag + 1]);

interface Case {
  name: string;
  checked: CheckedModel;
  source: string;
  bundle: Bundle;
}

function check(body: string): { checked: CheckedModel; source: string } {
  const source = `model native_measure {\n  version "1"\n  owner "bench"\n  purpose "benchmark"\n${body}\n}\n`;
  const r = checkSource('native_measure.pml', source);
  if (r.checked === null) throw new Error(r.sink.items.map((d) => `${d.code} ${d.message}`).join('; '));
  return { checked: r.checked, source };
}

function cases(): Case[] {
  const dense = check(`  input x : vector<f32, 1000> required
  component lin = linear(x)
  output p = sigmoid(lin)`);
  const mlp = check(`  input x : vector<f32, 131> required
  component net = mlp(x, hidden = [256, 128, 64], activation = relu)
  output p = sigmoid(net)`);
  const trees = check(`  input x : vector<f32, 100> required
  component trees = gbdt(x)
  output p = sigmoid(trees)`);
  const treeBundle = randomBundle(trees.checked, { seed: 7, maxTrees: 1, maxDepth: 1 });
  treeBundle.components.set(
    'trees',
    randomEnsemble(
      { trees: 500, depth: 8, features: 100, classes: 1, categorical: 0, catSize: 0, full: true },
      7,
    ),
  );
  return [
    { name: 'logistic, vector<f32, 1000>', ...dense, bundle: randomBundle(dense.checked, { seed: 7 }) },
    { name: 'MLP 131→256→128→64→1, relu', ...mlp, bundle: randomBundle(mlp.checked, { seed: 7 }) },
    { name: '500 trees, depth 8, 100 features', ...trees, bundle: treeBundle },
  ];
}

/** Median rows/s and interquartile spread of rounds of whole passes (the native harness's method). */
function timeRounds(
  pass: () => void,
  rows: number,
): { rowsPerSec: number; bestRowsPerSec: number; spread: number; rounds: number } {
  pass();
  pass();
  const t0 = performance.now();
  pass();
  const one = Math.max(performance.now() - t0, 1e-3);
  const passes = Math.max(1, Math.ceil(MIN_MS / MIN_ROUNDS / one));
  const per: number[] = [];
  const start = performance.now();
  while (per.length < MIN_ROUNDS || performance.now() - start < MIN_MS) {
    const a = performance.now();
    for (let p = 0; p < passes; p++) pass();
    per.push((rows * passes) / ((performance.now() - a) / 1000));
  }
  per.sort((x, y) => x - y);
  const q = (f: number): number => per[Math.round(f * (per.length - 1))]!;
  return {
    rowsPerSec: q(0.5),
    bestRowsPerSec: q(1),
    spread: (q(0.75) - q(0.25)) / q(0.5),
    rounds: per.length,
  };
}

function rate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

const kernelBytes = await kernelModuleBytes();
const lines: string[] = [];
for (const c of cases()) {
  const { bytes } = await emitScoringModule(c.checked, lowerModel(c.checked), c.bundle, {
    sourceText: c.source,
    kernelBytes,
  });
  const { exports, manifest } = instantiate(bytes);
  const rows: Row[] = [];
  for (let seed = 1; rows.length < ROWS; seed++) {
    const batch = randomRows(c.checked, c.bundle, { seed: 1000 + seed, count: ROWS });
    const probe = stage(exports, manifest, batch, c.bundle);
    batch.forEach((row, r) => {
      if (probe.first.status[r] === 0 && rows.length < ROWS) rows.push(row);
    });
  }
  const batch = stage(exports, manifest, rows, c.bundle);
  const proml = batch.first.outputs['p']!.map((v) => (v === null ? NaN : (v as number)));
  const { model, columns } = nativeFromBundle(c.checked, c.bundle);
  const x = nativeRows(columns, rows);
  // REPEATS alternations of the two engines, so both see the same share of a busy machine
  const nat: NativeResult[] = [];
  const pro: ReturnType<typeof timeRounds>[] = [];
  for (let k = 0; k < REPEATS; k++) {
    nat.push(await nativeBound(model, x, rows.length, { minTimeMs: MIN_MS, minRounds: MIN_ROUNDS }));
    pro.push(timeRounds(() => void batch.call(), rows.length));
  }
  let diff = 0;
  proml.forEach((p, i) => {
    const n = nat[0]!.outputs[i]!;
    diff =
      Number.isNaN(p) !== Number.isNaN(n)
        ? Infinity
        : Number.isNaN(p)
          ? diff
          : Math.max(diff, Math.abs(p - n));
  });
  if (!(diff <= 1e-6)) throw new Error(`${c.name}: native and proml differ by ${diff}`);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pm = median(pro.map((r) => r.rowsPerSec));
  const nm = median(nat.map((r) => r.rowsPerSec));
  const pb = Math.max(...pro.map((r) => r.bestRowsPerSec));
  const nb = Math.max(...nat.map((r) => r.bestRowsPerSec));
  const spread = (rs: { spread: number }[]): string =>
    `${(median(rs.map((r) => r.spread)) * 100).toFixed(0)}%`;
  const strategies = Object.entries(manifest.strategies)
    .filter(
      ([k]) =>
        k.startsWith('mlp.') || k.startsWith('trees.') || k === 'linear.dense' || k === 'linear.weights',
    )
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  console.log(
    `${c.name}: proml ${rate(pm)} (best ${rate(pb)}), native ${rate(nm)} (best ${rate(nb)}) rows/s`,
  );
  lines.push(
    `| ${c.name} | ${rate(pm)} | ${spread(pro)} | ${rate(pb)} | ${rate(nm)} | ${spread(nat)} | ${rate(nb)} | ${(nm / pm).toFixed(2)}× | ${(nb / pb).toFixed(2)}× | ${diff.toExponential(1)} | ${(nat[0]!.compileMs / 1000).toFixed(1)} s | ${strategies} |`,
  );
}
console.log(
  [
    '',
    `Machine: ${machine()}; ${gccDescription() ?? 'no gcc'} ${GCC_FLAGS.join(' ')}`,
    `Load average (1 min) at the end: ${loadavg()[0]!.toFixed(1)}`,
    `${ROWS} rows per pass, one thread; ${REPEATS} alternations of native then proml, each ≥ ${MIN_ROUNDS} rounds and ≥ ${MIN_MS} ms;`,
    "rows/s = median of the alternations' medians, best = fastest round overall, ± = median interquartile range ÷ median",
    '',
    '| model | proml rows/s | ± | proml best | native C rows/s | ± | native best | native ÷ proml | best ÷ best | max diff | gcc | proml strategies |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...lines,
  ].join('\n'),
);
