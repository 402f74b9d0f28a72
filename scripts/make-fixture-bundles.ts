// Writes a random but well-formed coefficient bundle (`bundle/`) and 200 sample rows (`rows.csv`) for
// every fixtures/models/<name>/, until trained bundles exist. Deterministic: the seed is a hash of the
// model's name, so rerunning rewrites identical bytes. Input: model.pml files. Output: bundle/ (Arrow
// IPC, float32, capped sizes noted in bundle.json) and rows.csv; each is read back and checked.
// Usage: node --import tsx scripts/make-fixture-bundles.ts [name...]

import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatRowsCsv, hashString, parseRowsCsv } from '../abi/index.js';
import { readBundle, sha256Hex, writeBundle } from '../abi/node.js';
import { checkBundle } from '../compiler/bundle-check.js';
import { checkSource } from '../compiler/index.js';
import { evaluate, randomBundle, randomRows } from '../compiler/reference/index.js';
import { csvColumns } from '../compiler/schema.js';

const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;
const ROWS = 200;

const only = process.argv.slice(2);
let failed = false;
for (const name of readdirSync(MODELS).sort()) {
  const dir = join(MODELS, name);
  if (!existsSync(join(dir, 'model.pml')) || (only.length > 0 && !only.includes(name))) continue;
  const source = readFileSync(join(dir, 'model.pml'));
  const r = checkSource(`${name}/model.pml`, source.toString('utf8'));
  if (r.checked === null) {
    console.error(`${name}: does not check; skipped`);
    failed = true;
    continue;
  }
  const model = r.checked;
  const seed = hashString(name);
  const sourceSha256 = sha256Hex(source);
  const draft = randomBundle(model, { seed, sourceSha256 });
  const rows = randomRows(model, draft, { seed, count: ROWS });
  const bundle = randomBundle(model, { seed, sourceSha256, sample: rows });
  writeBundle(join(dir, 'bundle'), bundle, { float32: true });
  const columns = csvColumns(model);
  writeFileSync(join(dir, 'rows.csv'), formatRowsCsv(rows, columns));

  // Read both back the way tests and the compiler will.
  const back = readBundle(join(dir, 'bundle'));
  const issues = checkBundle(model, back, sourceSha256);
  const results = evaluate(model, back, parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), columns));
  const rejected = results.filter((x) => x.rejected !== null).length;
  const bytes = readdirSync(join(dir, 'bundle')).reduce(
    (n, f) => n + readFileSync(join(dir, 'bundle', f)).length,
    0,
  );
  console.log(`${name}: ${bytes} bytes of bundle, ${ROWS} rows (${rejected} rejected)`);
  for (const i of issues) {
    console.error(`  ${i.severity} ${i.code}: ${i.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
