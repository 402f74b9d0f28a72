// The transform module (docs/abi.md 3.4): for every fixture model, inputs → each component's input
// columns, compared with the reference evaluator's componentInput() on rows.csv and generated rows:
// gbdt cells (null = missing) and linear/mlp (column, value) entries, columns ascending, zeros left
// out, values within the reference tolerance; rejected rows have no entries and the same status.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EXPORTS, parseRowsCsv, type Bundle, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitTransformModule } from '../../compiler/emit/index.js';
import { checkSource, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { ReferenceEvaluator, randomRows, withinTolerance } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MODELS_DIR } from '../helpers.js';
import { instantiate, transformRows } from './host.js';

let kernels: Uint8Array;

/** Disagreements between the module's columns and the reference's (at most 10). */
function differences(checked: CheckedModel, bundle: Bundle, bytes: Uint8Array, rows: Row[]): string[] {
  const { exports, manifest } = instantiate(bytes);
  const got = transformRows(exports, manifest, rows);
  const ref = new ReferenceEvaluator(checked, bundle);
  const bad: string[] = [];
  const note = (s: string): void => {
    if (bad.length < 10) bad.push(s);
  };
  rows.forEach((row, r) => {
    for (const c of checked.components) {
      const want = ref.componentInput(row, c.name);
      const have = got.columns![c.name]![r]!;
      const at = `row ${r} ${JSON.stringify(row)} component '${c.name}'`;
      if (want === null) {
        if (got.status[r] === 0) note(`${at}: accepted, the reference rejects it`);
        if (c.kind !== 'gbdt' && have.length !== 0) note(`${at}: rejected row has entries`);
        continue;
      }
      if (got.status[r] !== 0) {
        note(`${at}: status ${got.status[r]}, the reference accepts it`);
        continue;
      }
      if (c.kind === 'gbdt') {
        const w = want as (number | null)[];
        const h = have as (number | null)[];
        w.forEach((x, j) => {
          const y = h[j] ?? null;
          if (x === null || y === null ? x !== y : !withinTolerance(y, x))
            note(`${at} column ${j}: ${String(y)}, want ${String(x)}`);
        });
        continue;
      }
      const w = want as [number, number][];
      const h = have as [number, number][];
      if (w.map((p) => p[0]).join() !== h.map((p) => p[0]).join())
        note(`${at}: columns ${JSON.stringify(h)}, want ${JSON.stringify(w)}`);
      else
        w.forEach(
          ([j, x], q) => withinTolerance(h[q]![1], x) || note(`${at} column ${j}: ${h[q]![1]}, want ${x}`),
        );
    }
  });
  return bad;
}

describe('emit: transform module', () => {
  before(async () => {
    kernels = await kernelModuleBytes();
  });

  for (const name of readdirSync(MODELS_DIR).sort()) {
    it(`${name}: the component columns match the reference on rows.csv and 2,000 generated rows`, async () => {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      const { bytes, manifest } = await emitTransformModule(checked, bundle, {
        sourceText: source,
        kernelBytes: kernels,
      });
      assert.equal(manifest.product, 'transform');
      assert.deepEqual(manifest.outputs, []);
      assert.deepEqual(
        manifest.components.map((c) => c.name),
        checked.components.map((c) => c.name),
      );
      const module = new WebAssembly.Module(bytes);
      assert.deepEqual(WebAssembly.Module.imports(module), []);
      assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === EXPORTS.transform));
      assert.ok(!WebAssembly.Module.exports(module).some((e) => e.name === EXPORTS.score));
      const csv = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(checked));
      assert.deepEqual(differences(checked, bundle, bytes, csv), [], 'rows.csv');
      const rows = randomRows(checked, bundle, { seed: 77, count: 2_000 });
      assert.deepEqual(differences(checked, bundle, bytes, rows), [], 'generated rows');
    });
  }
});
