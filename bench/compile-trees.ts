// Compile time and peak memory of tree ensembles (compiler/emit/trees.ts) in both layouts: full
// trees of depth 8 (511 nodes) over 100 features (10 of them categorical), 100 to 5,000 trees,
// built into the test harness module (test/emit/trees-harness.ts) + binaryen validate + optimize
// (level 2, like compiler/emit/scoring.ts) + emitBinary, then compiled by V8 and spot-checked
// against the reference walk. Each case runs in its own child process (peak RSS = its maxRSS).
// Run: `node --import ./scripts/preload-binaryen.mjs bench/compile-trees.ts [--sizes 100,500]
// [--layouts flat] [--chunk N] [--level N]`; writes bench/results/compile-trees.md (full runs only).

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { TreeLayout } from '../compiler/emit/trees.js';
import {
  buildTreeModule,
  oracle,
  randomEnsemble,
  randomRows,
  writeRow,
  type EnsembleSpec,
  type TreeExports,
} from '../test/emit/trees-harness.js';

const SIZES = [0, 10, 100, 500, 1000, 5000];
const LAYOUTS: TreeLayout[] = ['branchy', 'flat'];
const TIMEOUT_S = 60;
const ROWS = 1000;

interface CaseResult {
  trees: number;
  layout: TreeLayout;
  nodes: number;
  /** Seconds. */
  emit: number;
  validate: number;
  optimize: number;
  binary: number;
  total: number;
  v8compile: number;
  wasmBytes: number;
  /** Microseconds per row (one row per call). */
  perRow: number;
  baseRssMb: number;
  maxRssMb: number;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function spec(trees: number): EnsembleSpec {
  return { trees, depth: 8, features: 100, classes: 1, categorical: 10, catSize: 30, full: true };
}

function child(trees: number, layout: TreeLayout): CaseResult {
  const baseRssMb = process.resourceUsage().maxRSS / 1024;
  const s = spec(trees);
  const coef = randomEnsemble(s, trees);
  const nodes = coef.trees.reduce((a, t) => a + t.nodes.length, 0);
  const chunk = flag('chunk');
  const t0 = performance.now();
  const built = buildTreeModule(coef, layout, {
    optimize: true,
    rows: ROWS,
    optimizeLevel: Number(flag('level') ?? 2),
    ...(chunk === undefined ? {} : { chunkNodes: Number(chunk) }),
  });
  const total = (performance.now() - t0) / 1000;
  if (!built.valid || built.validOptimized !== true) throw new Error('binaryen validation failed');
  const t1 = performance.now();
  const ex = new WebAssembly.Instance(new WebAssembly.Module(built.bytes), {})
    .exports as unknown as TreeExports;
  const v8compile = (performance.now() - t1) / 1000;
  const rows = randomRows(coef, s, ROWS, 99);
  rows.forEach((row, r) => writeRow(ex, built, coef, row, r));
  const { x, miss, out } = built.scratch;
  const d = built.stride;
  // warm-up (V8 compiles lazily and tiers up), then the check against the reference, then timing
  for (let r = 0; r < ROWS; r++) ex.run(x + r * d, miss + r * d, out + r * d);
  rows.forEach((row, r) => writeRow(ex, built, coef, row, r));
  for (let r = 0; r < ROWS; r++) ex.run(x + r * d, miss + r * d, out + r * d);
  const outs = new Float64Array(ex.memory.buffer);
  rows.forEach((row, r) => {
    const got = outs[(out + r * d) >> 3]!;
    const want = oracle(coef, row)[0]!;
    if (!Object.is(got, want)) throw new Error(`row ${r}: wasm ${got}, reference ${want}`);
  });
  const t2 = performance.now();
  for (let r = 0; r < ROWS; r++) ex.run(x + r * d, miss + r * d, out + r * d);
  const perRow = ((performance.now() - t2) * 1000) / ROWS;
  return {
    trees,
    layout,
    nodes,
    ...built.times,
    total,
    v8compile,
    wasmBytes: built.bytes.length,
    perRow,
    baseRssMb,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

const fmt = (x: number, d = 2): string => x.toFixed(d);

function parent(): void {
  const sizes = (flag('sizes') ?? SIZES.join(',')).split(',').map(Number);
  const layouts = (flag('layouts') ?? LAYOUTS.join(',')).split(',') as TreeLayout[];
  const passThrough = ['chunk', 'level'].flatMap((f) => {
    const v = flag(f);
    return v === undefined ? [] : [`--${f}`, v];
  });
  const lines = [
    '| trees | nodes | layout | emit s | validate s | optimize s | binary s | **total s** | V8 compile s | wasm MB | µs/row | peak RSS MB |',
    '| ----: | ----: | ------ | -----: | ---------: | ---------: | -------: | ----------: | -----------: | ------: | -----: | ----------: |',
  ];
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
  let base = 0;
  for (const trees of sizes) {
    for (const layout of layouts) {
      const r = spawnSync(
        process.execPath,
        [
          ...process.execArgv,
          new URL(import.meta.url).pathname,
          '--child',
          String(trees),
          layout,
          ...passThrough,
        ],
        { encoding: 'utf8', timeout: TIMEOUT_S * 1000, maxBuffer: 1 << 24 },
      );
      const json = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (r.status !== 0 || json === undefined) {
        const why = r.signal === 'SIGTERM' ? `> ${TIMEOUT_S} s (killed)` : `failed: ${r.stderr.slice(-300)}`;
        console.log(`${trees} ${layout}: ${why}`);
        lines.push(`| ${trees} | ${trees * 511} | ${layout} | ${why} | | | | | | | | |`);
        continue;
      }
      const c = JSON.parse(json) as CaseResult;
      base = c.baseRssMb;
      const row = `| ${c.trees} | ${c.nodes} | ${c.layout} | ${fmt(c.emit)} | ${fmt(c.validate)} | ${fmt(c.optimize)} | ${fmt(c.binary)} | **${fmt(c.total)}** | ${fmt(c.v8compile)} | ${fmt(c.wasmBytes / 2 ** 20, 1)} | ${fmt(c.perRow, 1)} | ${fmt(c.maxRssMb, 0)} |`;
      console.log(row);
      lines.push(row);
    }
  }
  const machine = `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
  const md = [
    '# compile-trees',
    '',
    `Machine: ${machine}`,
    `Date: ${new Date().toISOString().slice(0, 10)}`,
    `Load average at start (1, 5, 15 min): ${load} — other processes share the cores when it exceeds the core count`,
    `Options: chunkNodes ${flag('chunk') ?? 'default'}, optimize level ${flag('level') ?? 2}`,
    '',
    'Full trees of depth 8 (511 nodes) over 100 features (10 categorical), one class; emitTrees into',
    'the harness module (test/emit/trees-harness.ts), binaryen validate + optimize + emitBinary',
    '(total = their sum; 0 trees = the harness module alone),',
    'V8 compile = `new WebAssembly.Module` + instantiate, µs/row = `run` on 1,000 rows in memory (after',
    `a warm-up and a bit-for-bit check against the reference walk). Peak RSS = the case's child process maxRSS (after loading binaryen: ${fmt(base, 0)} MB).`,
    'Targets: 500 trees < 2 s; 5,000 trees < 20 s and < 2 GB.',
    '',
    ...lines,
    '',
  ].join('\n');
  if (flag('sizes') === undefined && flag('layouts') === undefined) {
    const dir = join(new URL('.', import.meta.url).pathname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'compile-trees.md'), md);
  } else console.log(md);
}

const at = process.argv.indexOf('--child');
if (at >= 0)
  console.log(JSON.stringify(child(Number(process.argv[at + 1]), process.argv[at + 2] as TreeLayout)));
else parent();
