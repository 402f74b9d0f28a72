// Shared check of the trainer tests: a module compiled from a trained bundle, scoring the held-out
// rows, gives exactly the trainer's validation-predictions.csv (values bit for bit, status words).
// Input: the model file, the held-out CSV (label column `label` dropped before scoring), the .wasm,
// the bundle directory and the output name. Output: assertions.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRowsCsv } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { checkSource } from '../../compiler/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MemoryEntityStore, Model } from '../../runtime/index.js';

export async function assertReproducesPredictions(
  modelPath: string,
  heldOutCsv: string,
  wasm: string,
  bundle: string,
  output = 'p',
  label = 'y',
): Promise<void> {
  const checked = checkSource(modelPath, readFileSync(modelPath, 'utf8')).checked!;
  const rows = parseRowsCsv(readFileSync(heldOutCsv, 'utf8'), [
    ...csvColumns(checked),
    { name: label, kind: 'number' },
  ]).map((r) => {
    delete r[label];
    return r;
  });
  const scorer = await Model.load(readFileSync(wasm));
  const res = scorer.score(rows, new MemoryEntityStore(readBundle(bundle)));
  const lines = readFileSync(join(bundle, 'validation-predictions.csv'), 'utf8').trim().split('\n').slice(1);
  assert.equal(lines.length, rows.length);
  lines.forEach((line, i) => {
    const [, p, status] = line.split(',');
    assert.ok(
      Object.is(JSON.parse(p!), res.value(output, i)),
      `row ${i}: ${p} vs ${String(res.value(output, i))}`,
    );
    assert.equal(Number(status), res.status[i]);
  });
}
