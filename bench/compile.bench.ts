// Full-compiler compile time and peak memory for big tree ensembles: a model with 100 f32 inputs,
// `component trees = gbdt(f0, …, f99)`, `output p = sigmoid(trees)`, and a bundle of 100 / 500 /
// 1,000 / 5,000 full binary trees of depth 8 (255 numeric splits + 256 leaves each, random features,
// thresholds and leaf values, built here: randomBundle caps trees and stops branches early).
// Timed: emitScoringModule (code generation + binaryen validate/optimize + binary, kernel bytes read
// beforehand) and WebAssembly.validate. Each case runs in a fresh child process (this file with
// --compile-child) so its peak RSS (process.resourceUsage().maxRSS) is its own; the child then
// instantiates the module and checks 200 generated rows against the reference evaluator.
// Layouts: the compiler's default choice, forced 'branchy' (skipped above 1,000 trees once a case
// took, or its time per tree projects for the next size, > 60 s) and forced 'flat'.
// Output: the table (bench/index.ts → bench/results/compile.md) and bench/results/compile.json.
// Run: npm run bench -- compile   (PROML_COMPILE_SIZES=100,500 limits the sizes)

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bundle, ComponentCoefficients, GbdtNode } from '../abi/index.js';
import { gbdtLeaf } from '../abi/index.js';
import { emitScoringModule } from '../compiler/emit/index.js';
import type { TreeLayout } from '../compiler/emit/trees.js';
import { checkSource, lowerModel } from '../compiler/index.js';
import { kernelModuleBytes } from '../compiler/kernels.js';
import { evaluate, randomBundle, randomRows, Rng, withinTolerance } from '../compiler/reference/index.js';
import { instantiate, score } from '../test/emit/host.js';
import { machine, RESULTS_DIR, today } from './env.js';

const SIZES = [100, 500, 1000, 5000];
const LAYOUTS: Layout[] = ['default', 'branchy', 'flat'];
const FEATURES = 100;
const DEPTH = 8;
/** Branchy cases above 1,000 trees are skipped once a branchy case took longer than this (s). */
const BRANCHY_LIMIT_S = 60;
/** A child taking longer than this is killed and reported as a timeout (s). */
const CHILD_TIMEOUT_S = 300;
const CHECK_ROWS = 200;

type Layout = 'default' | TreeLayout;

export interface CompileResult {
  trees: number;
  nodes: number;
  layout: Layout;
  /** The layout the compiler used (manifest strategies). */
  chosen: string;
  /** Seconds. */
  emit: number;
  validate: number;
  total: number;
  wasmBytes: number;
  /** maxRSS before the compile (bundle built, modules loaded) and at its end, MiB. */
  baseRssMb: number;
  peakRssMb: number;
  /** Rows checked against the reference evaluator (all agreed, else the child fails). */
  checkedRows: number;
}

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const PRELOAD = pathToFileURL(join(ROOT, 'scripts', 'preload-binaryen.mjs')).href;

export function modelSource(): string {
  const names = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
  return [
    'model big_trees {',
    '  version "1"',
    '  owner "bench"',
    '  purpose "benchmark"',
    ...names.map((n) => `  input ${n} : f32`),
    `  component trees = gbdt(${names.join(', ')})`,
    '  output p = sigmoid(trees)',
    '}',
    '',
  ].join('\n');
}

/** A full binary tree of `depth` levels of numeric splits, nodes in preorder (children after parents). */
function fullTree(rng: Rng, depth: number): GbdtNode[] {
  const nodes: GbdtNode[] = [];
  const grow = (d: number): number => {
    const i = nodes.length;
    const node: GbdtNode = gbdtLeaf(0);
    nodes.push(node);
    if (d === depth) {
      node.value = rng.weight(0.05);
      return i;
    }
    node.split = 'numeric';
    node.feature = rng.int(0, FEATURES - 1);
    node.threshold = rng.weight(1);
    node.defaultLeft = rng.chance(0.5);
    node.left = grow(d + 1);
    node.right = grow(d + 1);
    return i;
  };
  grow(0);
  return nodes;
}

/** randomBundle's skeleton for the model, its gbdt replaced by `count` full trees of depth DEPTH. */
export function treeBundle(checked: Parameters<typeof randomBundle>[0], count: number): Bundle {
  const bundle = randomBundle(checked, { seed: 1, maxTrees: 1, maxDepth: 1 });
  const coef = bundle.components.get('trees');
  if (coef?.kind !== 'gbdt') throw new Error('compile bench: no gbdt skeleton');
  const rng = new Rng(count, 'compile-bench');
  const trees = Array.from({ length: count }, () => ({ class: 0, nodes: fullTree(rng, DEPTH) }));
  const full: ComponentCoefficients = {
    ...coef,
    hyperparameters: { ...coef.hyperparameters, count, depth: DEPTH },
    trees,
  };
  bundle.components.set('trees', full);
  return bundle;
}

async function child(count: number, layout: Layout): Promise<CompileResult> {
  const source = modelSource();
  const r = checkSource('big_trees.pml', source);
  if (r.checked === null) throw new Error('compile bench: the model does not check');
  const checked = r.checked;
  const bundle = treeBundle(checked, count);
  const kernelBytes = await kernelModuleBytes();
  const nodes = count * (2 ** (DEPTH + 1) - 1);
  const baseRssMb = process.resourceUsage().maxRSS / 1024;
  const t0 = performance.now();
  const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes,
    ...(layout === 'default' ? {} : { treeLayout: layout }),
  });
  const t1 = performance.now();
  const valid = WebAssembly.validate(bytes);
  const t2 = performance.now();
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  if (!valid) throw new Error('WebAssembly.validate rejected the module');
  // outside the measurement: the module scores like the reference
  const rows = randomRows(checked, bundle, { seed: 3, count: CHECK_ROWS });
  const { exports, manifest: m } = instantiate(bytes);
  const got = score(exports, m, rows, bundle);
  const want = evaluate(checked, bundle, rows);
  want.forEach((w, i) => {
    const g = got.outputs['p']![i];
    const ok = w.rejected
      ? got.status[i] !== 0
      : got.status[i] === 0 &&
        typeof g === 'number' &&
        typeof w.outputs['p'] === 'number' &&
        withinTolerance(g, w.outputs['p']);
    if (!ok) throw new Error(`row ${i}: module ${String(g)}, reference ${JSON.stringify(w)}`);
  });
  return {
    trees: count,
    nodes,
    layout,
    chosen: manifest.strategies['trees.trees'] ?? '?',
    emit: (t1 - t0) / 1000,
    validate: (t2 - t1) / 1000,
    total: (t2 - t0) / 1000,
    wasmBytes: bytes.length,
    baseRssMb,
    peakRssMb,
    checkedRows: rows.length,
  };
}

type Outcome = CompileResult | { trees: number; layout: Layout; skipped: string };

function spawnCase(count: number, layout: Layout): Outcome {
  const t0 = performance.now();
  const p = spawnSync(
    process.execPath,
    ['--import', PRELOAD, SELF, '--compile-child', String(count), layout],
    { cwd: ROOT, encoding: 'utf8', timeout: CHILD_TIMEOUT_S * 1000, maxBuffer: 1 << 24 },
  );
  const wall = (performance.now() - t0) / 1000;
  const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line !== undefined) return JSON.parse(line.slice('RESULT '.length)) as CompileResult;
  const why =
    p.signal !== null
      ? `killed (${p.signal}) after ${wall.toFixed(0)} s`
      : `failed: ${p.stderr.trim().slice(-400)}`;
  return { trees: count, layout, skipped: why };
}

function mb(x: number): string {
  return x >= 1024 ? `${(x / 1024).toFixed(2)} GiB` : `${x.toFixed(0)} MiB`;
}

export async function run(): Promise<string> {
  const sizes = (process.env['PROML_COMPILE_SIZES'] ?? SIZES.join(',')).split(',').map(Number);
  const results: Outcome[] = [];
  let branchySlow = false;
  for (const count of sizes)
    for (const layout of LAYOUTS) {
      if (layout === 'branchy' && branchySlow && count > 1000) {
        results.push({
          trees: count,
          layout,
          skipped: `skipped: a smaller branchy case took, or projects (time per tree × trees), > ${BRANCHY_LIMIT_S} s`,
        });
        console.log(`  ${count} trees, branchy: skipped`);
        continue;
      }
      const r = spawnCase(count, layout);
      results.push(r);
      if ('skipped' in r) {
        console.log(`  ${count} trees, ${layout}: ${r.skipped}`);
        if (layout === 'branchy') branchySlow = true;
        continue;
      }
      // branchy time grows about linearly with the tree count: project the next size from this one
      const next = sizes[sizes.indexOf(count) + 1];
      const projected = next === undefined ? 0 : (r.total / count) * next;
      if (layout === 'branchy' && Math.max(r.total, projected) > BRANCHY_LIMIT_S) branchySlow = true;
      console.log(
        `  ${count} trees, ${layout} (${r.chosen}): ${r.total.toFixed(2)} s, ${(r.wasmBytes / 2 ** 20).toFixed(1)} MiB wasm, peak RSS ${mb(r.peakRssMb)}`,
      );
    }
  writeFileSync(
    join(RESULTS_DIR, 'compile.json'),
    `${JSON.stringify({ machine: machine(), node: process.version, date: today(), results }, null, 2)}\n`,
  );
  const target = (r: CompileResult): string => {
    if (r.trees === 500) return r.total < 2 ? 'met (< 2 s)' : 'MISSED (< 2 s)';
    if (r.trees === 5000)
      return r.total < 20 && r.peakRssMb < 2048 ? 'met (< 20 s, < 2 GB)' : 'MISSED (< 20 s, < 2 GB)';
    return '';
  };
  return [
    `Model: ${FEATURES} f32 inputs → gbdt → sigmoid; full binary trees of depth ${DEPTH} (${2 ** (DEPTH + 1) - 1} nodes each, numeric splits).`,
    'emit = emitScoringModule (codegen + binaryen validate + optimize + emitBinary; kernel module bytes',
    'read from the disk cache beforehand), validate = WebAssembly.validate. One fresh child process per',
    `case; peak RSS = its maxRSS at the end of validate (base = maxRSS just before emit, with Node,`,
    `binaryen and the bundle loaded). Every module then scored ${CHECK_ROWS} generated rows like the reference evaluator.`,
    '',
    '| trees | layout asked | layout used | emit | validate | total | wasm | base RSS | peak RSS | target |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---|',
    ...results.map((r) =>
      'skipped' in r
        ? `| ${r.trees} | ${r.layout} | — | — | — | ${r.skipped} | — | — | — | |`
        : `| ${r.trees} | ${r.layout} | ${r.chosen} | ${r.emit.toFixed(2)} s | ${(r.validate * 1000).toFixed(0)} ms | ${r.total.toFixed(2)} s | ${(r.wasmBytes / 2 ** 20).toFixed(1)} MiB | ${mb(r.baseRssMb)} | ${mb(r.peakRssMb)} | ${target(r)} |`,
    ),
  ].join('\n');
}

const at = process.argv.indexOf('--compile-child');
if (at >= 0) {
  const result = await child(Number(process.argv[at + 1]), process.argv[at + 2] as Layout);
  console.log(`RESULT ${JSON.stringify(result)}`);
}
