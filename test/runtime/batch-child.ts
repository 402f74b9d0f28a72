// Child process for the bounded-memory check of test/runtime/batch.test.ts: scores one file with
// scoreFile (nothing else loaded: no compiler) and prints {rows, maxRssBytes} as JSON on stdout.
// Usage: node --import tsx test/runtime/batch-child.ts <model.wasm> <in> <out> <threads> <batchRows>

import { readFileSync } from 'node:fs';
import { scoreFile } from '../../runtime/node/batch.js';

const [wasm, input, output, threads, batchRows] = process.argv.slice(2);
const summary = await scoreFile(new Uint8Array(readFileSync(wasm!)), input!, output!, {
  threads: Number(threads),
  batchRows: Number(batchRows),
});
process.stdout.write(
  JSON.stringify({
    rows: summary.rows,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    seconds: summary.seconds,
  }) + '\n',
);
