// Batch scoring of files (runtime/node/batch.ts, `proml score`): for five fixtures, ≥10,000 generated
// rows written as CSV, Arrow IPC (file and stream) and Parquet are scored by the library and by the
// CLI (in process) into every output format, and the scores read back from each output are
// identical (bit for bit: -0, NaN and f32 values included) to Model.score in process, row order
// kept, the pass-through column intact; worker threads and chunked calls (every reader's columns
// sliced by rows) give the same bytes; bad inputs fail with
// their codes (missing column, wrong type, unreadable file) and leave no output behind. The real
// `node cli/bin.mjs score` and the bounded-memory check are in batch-cli.test.ts.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles fixtures).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as A from 'apache-arrow';
import { main } from '../../cli/main.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { Model, RuntimeError } from '../../runtime/index.js';
import { scoreBatches, scoreFile } from '../../runtime/node/batch.js';
import { MODELS_DIR } from '../helpers.js';
import {
  FIXTURES,
  IN_FORMATS,
  OUT_FORMATS,
  assertNothingWritten,
  assertSameScores,
  capture,
  prepare,
  type Case,
} from './batch-helpers.js';

let dir: string;
const cases = new Map<string, Case>();

describe('batch scoring of files', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'proml-batch-'));
    const kernels = await kernelModuleBytes();
    for (const name of FIXTURES) cases.set(name, await prepare(dir, name, kernels));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of FIXTURES)
    it(`${name}: every input format → every output format equals Model.score bit for bit`, async () => {
      const c = cases.get(name)!;
      const entities = c.model.manifest.entityBlocks.length > 0 ? c.store : undefined;
      for (const [i, inFormat] of IN_FORMATS.entries())
        for (const [j, outFormat] of OUT_FORMATS.entries()) {
          const out = join(dir, `${name}.${inFormat}.out.${outFormat}`);
          const keep = (i + j) % 2 === 0 ? 'row_id' : undefined;
          // batch sizes that do and do not divide the file's 3,000-row batches and 4,000-row groups
          const batchRows = [8192, 1000, 2500][(i + j) % 3]!;
          const s = await scoreFile(c.model, c.inputs[inFormat], out, {
            threads: 1,
            batchRows,
            entities,
            keep,
          });
          assert.equal(s.rows, c.rows.length);
          assert.equal(s.rejected, c.expected.rejected);
          assertSameScores(c, out, keep ?? null);
        }
    });

  it('worker threads: all_types (entities, bags, vectors) with 2 threads scores the same bytes, in order', async () => {
    for (const name of ['all_types']) {
      const c = cases.get(name)!;
      const entities = c.model.manifest.entityBlocks.length > 0 ? c.store : undefined;
      const out = join(dir, `${name}.threads.arrow`);
      const s = await scoreFile(c.model, c.inputs.parquet, out, { threads: 2, batchRows: 700, entities });
      assert.equal(s.threads, 2);
      assertSameScores(c, out, null);
    }
  });

  it('chunked calls (chunkBytes 512) over Arrow, Parquet and CSV columns score the same bytes', async () => {
    for (const name of ['all_types', 'spam_message']) {
      const c = cases.get(name)!;
      // the same compiled module, loaded to score every batch in chunks of a few rows
      const chunked = Model.fromModule(c.model.module, { chunkBytes: 512 });
      const entities = chunked.manifest.entityBlocks.length > 0 ? c.store : undefined;
      for (const inFormat of IN_FORMATS) {
        const out = join(dir, `${name}.${inFormat}.chunked.arrow`);
        await scoreFile(chunked, c.inputs[inFormat], out, { threads: 1, batchRows: 2500, entities });
        assertSameScores(c, out, null);
      }
    }
  });

  it('scoreBatches: an async iterator of scored batches in file order', async () => {
    const c = cases.get('spam_message')!;
    const want = c.expected.bytes();
    const parts: Uint32Array[] = [];
    let next = 0;
    for await (const b of scoreBatches(c.model, c.inputs.arrows, { threads: 1, batchRows: 1500 })) {
      assert.equal(b.rowBase, next);
      assert.equal(b.arrow.numRows, b.n);
      next += b.n;
      parts.push(b.result.status.slice());
    }
    assert.equal(next, c.rows.length);
    const status = new Uint32Array(parts.reduce<number[]>((a, p) => a.concat(Array.from(p)), []));
    assert.deepEqual(new Uint8Array(status.buffer), want.subarray(0, status.byteLength));
  });

  it('the CLI (in process): proml score for each fixture, with --keep and --entities', async () => {
    for (const [k, name] of FIXTURES.entries()) {
      const c = cases.get(name)!;
      const inFormat = IN_FORMATS[k % IN_FORMATS.length]!;
      const outFormat = OUT_FORMATS[(k + 1) % OUT_FORMATS.length]!;
      const out = join(dir, `${name}.cli.${outFormat}`);
      const ent =
        c.model.manifest.entityBlocks.length > 0 ? ['--entities', join(MODELS_DIR, name, 'bundle')] : [];
      const cap = capture();
      const code = await main(
        [
          'score',
          c.wasm,
          '--in',
          c.inputs[inFormat],
          '--out',
          out,
          '--keep',
          'row_id',
          '--threads',
          '1',
          ...ent,
        ],
        cap.io,
      );
      assert.equal(code, 0, cap.text());
      assert.match(
        cap.text(),
        new RegExp(`scored ${c.rows.length.toLocaleString('en-US')} rows in .* rows/s`),
      );
      assertSameScores(c, out, 'row_id');
    }
  });

  it('errors: missing column, wrong type, unreadable or unknown files; nothing written', async () => {
    const c = cases.get('all_types')!;
    const entities = c.store;
    const out = join(dir, 'err.arrow');
    const rejectsWith = async (input: string, code: string, pattern: RegExp, output = out): Promise<void> => {
      await assert.rejects(scoreFile(c.model, input, output, { threads: 1, entities }), (e: unknown) => {
        assert.ok(e instanceof RuntimeError, String(e));
        assert.equal(e.code, code, e.message);
        assert.match(e.message, pattern);
        return true;
      });
      assertNothingWritten(dir, output);
    };
    // a CSV without a_f64
    const csv = readFileSync(c.inputs.csv, 'utf8').split('\n');
    const header = csv[0]!.split(',');
    const drop = header.indexOf('a_f64');
    const cut = csv.map((l) => (l === '' ? l : parseRowsCsvLineDrop(l, drop)));
    writeFileSync(join(dir, 'missing.csv'), cut.join('\n'));
    await rejectsWith(join(dir, 'missing.csv'), 'PML4601', /no column 'a_f64' \(f64\)/);
    // an Arrow file without vec_required
    const t = A.tableFromIPC(readFileSync(c.inputs.arrow));
    const fields = t.schema.fields.filter((f) => f.name !== 'vec_required').map((f) => f.name);
    writeFileSync(join(dir, 'missing.arrow'), A.tableToIPC(t.select(fields), 'file'));
    await rejectsWith(join(dir, 'missing.arrow'), 'PML4601', /no column 'vec_required'/);
    // a type mismatch: an_int_plain as utf8
    const bad = new A.Table({
      ...Object.fromEntries(fields.map((f) => [f, t.getChild(f)!])),
      vec_required: t.getChild('vec_required')!,
      an_int_plain: A.vectorFromArray(
        Array.from({ length: t.numRows }, () => 'x'),
        new A.Utf8(),
      ),
    });
    writeFileSync(join(dir, 'badtype.arrow'), A.tableToIPC(bad, 'file'));
    await rejectsWith(join(dir, 'badtype.arrow'), 'PML4202', /column 'an_int_plain' has Arrow type Utf8/);
    // a CSV cell of the wrong type, late in the file (after batches were written: still no output)
    const lines = readFileSync(c.inputs.csv, 'utf8').split('\n');
    const col = lines[0]!.split(',').indexOf('row_id');
    assert.equal(col, 0);
    const an = lines[0]!.split(',').indexOf('a_f64');
    lines[9_000] = parseRowsCsvLineSet(lines[9_000]!, an, 'seven');
    writeFileSync(join(dir, 'badcell.csv'), lines.join('\n'));
    await rejectsWith(
      join(dir, 'badcell.csv'),
      'PML4202',
      /line 9001, column 'a_f64': 'seven' is not a number/,
    );
    // unreadable: missing, not a data file, truncated Arrow
    await rejectsWith(join(dir, 'nope.parquet'), 'PML4602', /cannot read it \(ENOENT\)/);
    writeFileSync(join(dir, 'junk.parquet'), 'PAR1 this is not parquet');
    await rejectsWith(join(dir, 'junk.parquet'), 'PML4602', /not a readable Parquet file/);
    const arrowBytes = readFileSync(c.inputs.arrows);
    writeFileSync(join(dir, 'cut.arrows'), arrowBytes.subarray(0, Math.floor(arrowBytes.length * 0.6)));
    await rejectsWith(join(dir, 'cut.arrows'), 'PML4602', /cut\.arrows/);
    // an unknown output format
    await rejectsWith(c.inputs.arrow, 'PML4603', /unknown output format '\.xlsx'/, join(dir, 'out.xlsx'));
    // the CLI prints the code and says nothing was written
    const cap = capture();
    const code = await main(
      [
        'score',
        c.wasm,
        '--in',
        join(dir, 'missing.csv'),
        '--out',
        out,
        '--entities',
        join(MODELS_DIR, 'all_types', 'bundle'),
      ],
      cap.io,
    );
    assert.equal(code, 1);
    assert.match(cap.text(), /error PML4601: .*missing\.csv: no column 'a_f64'/);
    assert.match(cap.text(), /nothing was written/);
    assertNothingWritten(dir, out);
    const cap2 = capture();
    assert.equal(await main(['score', c.wasm, '--in', c.inputs.csv], cap2.io), 2);
    assert.match(cap2.text(), /--out <file> is required/);
  });
});

/** CSV line helpers for the error cases (fixture cells never hold quoted commas in these columns). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let q = false;
  for (const ch of line) {
    if (ch === '"') q = !q;
    if (ch === ',' && !q) {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

function parseRowsCsvLineDrop(line: string, i: number): string {
  const cells = splitCsvLine(line);
  cells.splice(i, 1);
  return cells.join(',');
}

function parseRowsCsvLineSet(line: string, i: number, v: string): string {
  const cells = splitCsvLine(line);
  cells[i] = v;
  return cells.join(',');
}
