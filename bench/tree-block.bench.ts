// The row-blocked tree walk (EmitOptions.treeBlock) against the row-at-a-time walk (treeBlock 1, eight
// trees side by side): rows/s of proml_score alone (benchmark.js, then interleaved rounds), on the
// peer suite's two forests (500 trees of depth 8 over 100 features; 1,000 leaf-wise trees of 31
// leaves over 15 features, the lleaves shape: bench/peers/models.ts), at 1, 100 and 10,000 rows per
// call, for blocks of 32, 128 (the default) and 512 rows.
// Input: the peer models (seeded). Output: the table (bench/results/tree-block.md via bench/index.ts).
// Every build's output and status bytes must equal the row-at-a-time build's before timing.
// Run: npm run bench -- tree-block

import Benchmark from 'benchmark';
import { DEFAULT_TREE_BLOCK, emitScoringModule } from '../compiler/emit/index.js';
import { lowerModel } from '../compiler/index.js';
import { kernelModuleBytes } from '../compiler/kernels.js';
import { instantiate } from '../test/emit/host.js';
import { sameBytes, stage } from './host-batch.js';
import { trees, type TreeShape } from './peers/models.js';

const SHAPES: TreeShape[] = [
  { name: 'trees_500x8', trees: 500, depth: 8, features: 100 },
  { name: 'trees_1000x31', trees: 1000, leaves: 31, features: 15 },
];
const BATCHES = [1, 100, 10_000];
const BLOCKS = [1, 32, DEFAULT_TREE_BLOCK, 512];
const ROUNDS = 7;

function hz(call: () => number): Promise<{ hz: number; rme: number }> {
  return new Promise((resolve) => {
    const b = new Benchmark('x', call, { maxTime: 0.4, minSamples: 5 });
    b.on('complete', () => resolve({ hz: b.hz, rme: b.stats.rme }));
    b.run();
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(): Promise<string> {
  const kernelBytes = await kernelModuleBytes();
  const lines = [
    'proml_score rows/s with the trees walked row by row (treeBlock 1: eight trees side by side) and in',
    'blocks of rows (each tree walked by the block, eight rows side by side). "÷ row-at-a-time":',
    'benchmark.js ratio, and in brackets the median of 7 interleaved rounds (every build in turn, ~50 ms each).',
    '',
    '| forest | rows/call | treeBlock | rows/s | ± | ÷ row-at-a-time | paired |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const shape of SHAPES) {
    const m = trees({ quick: false, poolRows: Math.max(...BATCHES) }, shape);
    const builds: ({ treeBlock: number; strategy: string } & ReturnType<typeof instantiate>)[] = [];
    for (const treeBlock of BLOCKS) {
      const { bytes, manifest } = await emitScoringModule(m.checked, lowerModel(m.checked), m.bundle, {
        sourceText: m.source,
        kernelBytes,
        treeBlock,
      });
      builds.push({
        treeBlock,
        strategy: manifest.strategies['trees.block'] ?? 'off',
        ...instantiate(bytes),
      });
    }
    for (const n of BATCHES) {
      const rows = m.rows.slice(0, n);
      const staged = builds.map((b) => stage(b.exports, b.manifest, rows, m.bundle));
      for (const [i, s] of staged.entries())
        if (!sameBytes(s.outputBytes(), staged[0]!.outputBytes()))
          throw new Error(`${shape.name} ×${n}: treeBlock ${builds[i]!.treeBlock} changed the outputs`);
      const rates: { hz: number; rme: number }[] = [];
      for (const s of staged) rates.push(await hz(s.call));
      const rounds: number[][] = staged.map(() => []);
      for (let r = 0; r < ROUNDS; r++)
        staged.forEach((s, i) => {
          const t = performance.now();
          let calls = 0;
          while (performance.now() - t < 50) {
            s.call();
            calls++;
          }
          rounds[i]!.push(calls / (performance.now() - t));
        });
      staged.forEach((_, i) => {
        const paired = median(rounds[i]!.map((x, r) => x / rounds[0]![r]!));
        lines.push(
          `| ${shape.name} | ${n.toLocaleString('en-US')} | ${builds[i]!.strategy} | ${((rates[i]!.hz * n) / 1000).toFixed(1)} k | ${rates[i]!.rme.toFixed(1)}% | ${(rates[i]!.hz / rates[0]!.hz).toFixed(2)}× | ${paired.toFixed(2)}× |`,
        );
      });
      console.log(`${shape.name} ×${n} done`);
    }
  }
  return lines.join('\n');
}
