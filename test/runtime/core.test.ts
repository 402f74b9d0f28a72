// The runtime core (runtime/): every fixture compiled and loaded through Model.load, scored from
// plain rows with the embedded entity store, agrees with the emitter's test host byte for byte and
// with the reference evaluator within tolerance; load errors (not wasm, imports, wrong product,
// hash), input errors (unknown field, wrong type, vector length, no entity store) carry their codes;
// memory stays flat over repeated calls and large batches grow it once.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles fixtures).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseRowsCsv, type Bundle, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule, emitTransformModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { evaluate, randomRows, withinTolerance } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MemoryEntityStore, Model, RuntimeError, sha256Hex } from '../../runtime/index.js';
import { instantiate, score } from '../emit/host.js';
import { MODELS_DIR } from '../helpers.js';

let kernels: Uint8Array;

interface Fixture {
  checked: CheckedModel;
  bundle: Bundle;
  source: string;
  bytes: Uint8Array;
  csv: Row[];
}

async function fixture(name: string): Promise<Fixture> {
  const dir = join(MODELS_DIR, name);
  const source = readFileSync(join(dir, 'model.pml'), 'utf8');
  const checked = checkSource('model.pml', source).checked!;
  const bundle = readBundle(join(dir, 'bundle'));
  const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes: kernels,
  });
  const csv = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(checked));
  return { checked, bundle, source, bytes, csv };
}

function rejects(f: () => unknown, code: string, field?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, String(e));
    assert.equal(e.code, code);
    if (field !== undefined) assert.equal(e.field, field);
    return true;
  });
}

async function rejectsAsync(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, String(e));
    assert.equal(e.code, code);
    return true;
  });
}

describe('runtime core', () => {
  before(async () => {
    kernels = await kernelModuleBytes();
  });

  for (const name of readdirSync(MODELS_DIR).sort()) {
    it(`${name}: Model.score agrees with the test host byte for byte and with the reference`, async () => {
      const f = await fixture(name);
      const model = await Model.load(f.bytes, { sha256: await sha256Hex(f.bytes) });
      const store = new MemoryEntityStore(f.bundle);
      const rows = [...f.csv, ...randomRows(f.checked, f.bundle, { seed: 5, count: 3_000 })];
      const got = model.score(rows, store);
      const { exports, manifest } = instantiate(f.bytes);
      const host = score(exports, manifest, rows, f.bundle);
      assert.deepEqual(Array.from(got.status), host.status);
      for (const o of manifest.outputs)
        for (let r = 0; r < rows.length; r++)
          assert.deepEqual(got.value(o.name, r), host.outputs[o.name]![r]);
      const want = evaluate(f.checked, f.bundle, rows);
      got.rows().forEach((g, r) => {
        const w = want[r]!;
        if (w.rejected !== null) {
          assert.equal(g.rejected?.code, w.rejected.code, `row ${r}`);
          assert.equal(g.rejected?.input, w.rejected.input, `row ${r}`);
          return;
        }
        assert.equal(g.rejected, null, `row ${r}: ${JSON.stringify(g.rejected)}`);
        for (const [k, x] of Object.entries(w.outputs!)) {
          const y: unknown = g.outputs![k];
          if (typeof x === 'number')
            assert.ok(withinTolerance(y as number, x), `row ${r} ${k}: ${String(y)} vs ${x}`);
          else if (Array.isArray(x))
            (x as number[]).forEach((v, q) =>
              assert.ok(withinTolerance((y as number[])[q]!, v), `row ${r} ${k}`),
            );
          else assert.equal(y, x, `row ${r} ${k}`);
        }
      });
    });
  }

  it('load errors: not wasm, imports, a transform module, a wrong hash', async () => {
    await rejectsAsync(Model.load(new TextEncoder().encode('{"not": "wasm"}')), 'PML4005');
    // (module (import "env" "f" (func)))
    const withImport = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0,
    ]);
    await rejectsAsync(Model.load(withImport), 'PML4003');
    // a plain module without the manifest
    await rejectsAsync(Model.load(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])), 'PML4005');
    const f = await fixture('tiny_linear');
    await rejectsAsync(Model.load(f.bytes, { sha256: '00'.repeat(32) }), 'PML4006');
    const t = await emitTransformModule(f.checked, f.bundle, { sourceText: f.source, kernelBytes: kernels });
    await rejectsAsync(Model.load(t.bytes), 'PML4007');
    assert.equal((await Model.load(t.bytes, { product: 'transform' })).manifest.product, 'transform');
  });

  it('input errors name the field and the row', async () => {
    const f = await fixture('all_types');
    const model = await Model.load(f.bytes);
    const store = new MemoryEntityStore(f.bundle);
    const ok = f.csv[0]!;
    rejects(() => model.score([ok, { ...ok, nope: 1 }], store), 'PML4201', 'nope');
    const num = model.manifest.inputs.find((i) => i.type.kind === 'f32')!.name;
    rejects(() => model.score([{ ...ok, [num]: 'seven' }], store), 'PML4202', num);
    const vec = model.manifest.inputs.find((i) => i.type.kind === 'vector')!.name;
    rejects(() => model.score([{ ...ok, [vec]: [1, 2] }], store), 'PML4203', vec);
    rejects(() => model.score([ok]), 'PML4204');
  });

  it('vectors as Float32Array/Float64Array score like lists; batches of any size reuse the column arena', async () => {
    const f = await fixture('all_types');
    const model = await Model.load(f.bytes);
    const store = new MemoryEntityStore(f.bundle);
    const rows = [...f.csv, ...randomRows(f.checked, f.bundle, { seed: 12, count: 500 })];
    const vecs = model.manifest.inputs.filter((i) => i.type.kind === 'vector').map((i) => i.name);
    assert.ok(vecs.length >= 2);
    // every other row's vectors as typed arrays (f32 and f64 views of the same numbers)
    const typed: Row[] = rows.map((row, r) => {
      const out: Row = { ...row };
      for (const [k, name] of vecs.entries()) {
        const v = row[name];
        if (r % 2 === 0 && Array.isArray(v))
          out[name] = k % 2 === 0 ? Float32Array.from(v as number[]) : Float64Array.from(v as number[]);
      }
      return out;
    });
    const want = model.score(rows, store).bytes();
    assert.deepEqual(model.score(typed, store).bytes(), want);
    assert.deepEqual(evaluate(f.checked, f.bundle, typed), evaluate(f.checked, f.bundle, rows));
    rejects(() => model.score([{ ...rows[0]!, [vecs[0]!]: new Float32Array(1) }], store), 'PML4203', vecs[0]);
    // a big batch, then single rows, then the big batch again: no row sees another call's numbers
    const one = rows.slice(0, 1);
    const oneBytes = model.score(one, store).bytes();
    for (let k = 0; k < 3; k++) {
      assert.deepEqual(model.score(rows, store).bytes(), want);
      assert.deepEqual(model.score(one, store).bytes(), oneBytes);
    }
  });

  it('chunked batches (LoadOptions.chunkBytes) score byte for byte like one call, on every fixture', async () => {
    for (const name of readdirSync(MODELS_DIR).sort()) {
      const f = await fixture(name);
      const store = new MemoryEntityStore(f.bundle);
      // 3,001 rows: chunks of 8 rows (chunkBytes 1), of a few hundred, and one call (chunkBytes 0)
      const rows = [...f.csv, ...randomRows(f.checked, f.bundle, { seed: 21, count: 3_001 - f.csv.length })];
      const one = await Model.load(f.bytes, { chunkBytes: 0 });
      const want = one.score(rows, store);
      for (const chunkBytes of [1, 4_096, 65_536]) {
        const chunked = await Model.load(f.bytes, { chunkBytes });
        const got = chunked.score(rows, store);
        assert.equal(got.n, rows.length);
        assert.deepEqual(got.bytes(), want.bytes(), `${name}: chunkBytes ${chunkBytes}`);
        assert.deepEqual(Array.from(got.status), Array.from(want.status), `${name}: status`);
        assert.deepEqual(got.rows().slice(0, 50), want.rows().slice(0, 50));
      }
    }
    const f = await fixture('tiny_linear');
    await assert.rejects(Model.load(f.bytes, { chunkBytes: -1 }), /chunkBytes must be a whole number/);
    // score() converts rows a chunk at a time: a bad value still names its row in the whole batch
    const rows = randomRows(f.checked, f.bundle, { seed: 5, count: 3_000 });
    rows[2_500] = { x: 'oops' };
    for (const chunkBytes of [0, 1, 4_096]) {
      const model = await Model.load(f.bytes, { chunkBytes });
      assert.throws(
        () => model.score(rows),
        (e: unknown) =>
          e instanceof RuntimeError &&
          e.row === 2_500 &&
          e.field === 'x' &&
          /input 'x' row 2500: expected/.test(e.message),
        `chunkBytes ${chunkBytes}`,
      );
    }
  });

  it('memory: flat over repeated calls; a batch larger than memory grows it once, or not at all in chunks', async () => {
    const f = await fixture('spam_message');
    const rows = randomRows(f.checked, f.bundle, { seed: 9, count: 2_000 });
    const big = Array.from({ length: 40 }, () => rows).flat();
    const grown: number[] = [];
    for (const chunkBytes of [0, 1 << 16]) {
      const model = await Model.load(f.bytes, { chunkBytes });
      const first = model.score(rows).bytes();
      const mem = model.memoryBytes;
      for (let k = 0; k < 20; k++) assert.deepEqual(model.score(rows).bytes(), first);
      assert.equal(model.memoryBytes, mem);
      const r = model.score(big);
      assert.equal(r.n, 80_000);
      assert.deepEqual(r.bytes().subarray(0, 8_000), first.subarray(0, 8_000));
      grown.push(model.memoryBytes / mem);
      model.score(big);
      assert.equal(model.memoryBytes, grown.at(-1)! * mem, 'the second big batch does not grow it again');
    }
    assert.ok(grown[0]! > 1, 'one call for 80,000 rows needs more memory');
    assert.equal(grown[1], 1, 'chunks of 64 KiB of input fit the memory 2,000 rows needed');
  });
});
