// Benchmark runner: `npm run bench [-- name...]` runs the named suites (all by default) and writes
// their tables with the machine description to bench/results/<suite>.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as math from './math.bench.js';
import * as parse from './parse.bench.js';

const suites: Record<string, { run: () => Promise<string> }> = { parse, math };

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(suites);
const outDir = join(new URL('.', import.meta.url).pathname, 'results');
mkdirSync(outDir, { recursive: true });
const machine = `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
for (const name of names) {
  const suite = suites[name];
  if (suite === undefined) {
    console.error(`unknown suite '${name}'; known: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  console.log(`# ${name}`);
  const table = await suite.run();
  const md = `# ${name}\n\nMachine: ${machine}\nDate: ${new Date().toISOString().slice(0, 10)}\n\n${table}\n`;
  writeFileSync(join(outDir, `${name}.md`), md);
}
