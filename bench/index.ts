// Benchmark runner: `npm run bench [-- name...]` runs the named suites (all by default) and writes
// their tables with the machine description to bench/results/<suite>.md. Suites are imported only
// when run. The npm script starts Node with scripts/preload-binaryen.mjs (the simd and compile
// suites use the compiler, i.e. binaryen, which takes ~25 s to load under plain `--import tsx`).

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machine, RESULTS_DIR, today } from './env.js';

// a suite that writes its own files (peers: bench/RESULTS.md) returns null
const suites: Record<string, () => Promise<{ run: () => Promise<string | null> }>> = {
  parse: () => import('./parse.bench.js'),
  math: () => import('./math.bench.js'),
  simd: () => import('./simd.bench.js'),
  compile: () => import('./compile.bench.js'),
  entities: () => import('./entities.bench.js'),
  pool: () => import('./pool.bench.js'),
  'gbdt-train': () => import('./gbdt-train.bench.js'),
  'mlp-train': () => import('./mlp-train.bench.js'),
  tune: () => import('./tune.bench.js'),
  'tree-block': () => import('./tree-block.bench.js'),
  peers: () => import('./peers.bench.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(suites);
for (const name of names)
  if (suites[name] === undefined) {
    console.error(`unknown suite '${name}'; known: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
mkdirSync(RESULTS_DIR, { recursive: true });
for (const name of names) {
  console.log(`# ${name}`);
  const load0 = loadavg()[0]!;
  const table = await (await suites[name]!()).run();
  if (table === null) continue;
  // other processes on the machine skew the timings: the 1-minute load average before and after
  const load = `Load average (1 min): ${load0.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`;
  const md = `# ${name}\n\nMachine: ${machine()}\nDate: ${today()}\n${load}\n\n${table}\n`;
  writeFileSync(join(RESULTS_DIR, `${name}.md`), md);
}
