// Shared by the batch-scoring tests (batch.test.ts, batch-cli.test.ts): fixtures compiled and their
// generated rows written as CSV, Arrow IPC (file, stream) and Parquet with a `row_id` column; score
// files read back as plain columns and compared with Model.score in process, bit for bit.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import * as P from 'parquet-wasm/node';
import { formatRowsCsv, parseRowsCsv, type Bundle, type CsvColumn, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel } from '../../compiler/index.js';
import { randomRows } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MemoryEntityStore, Model, rowsToColumns, type ScoreResult } from '../../runtime/index.js';
import { columnsToArrow } from '../../runtime/node/arrow-columns.js';
import { MODELS_DIR, ROOT } from '../helpers.js';

export const FIXTURES = ['tiny_linear', 'spam_message', 'all_types', 'pymk', 'intent_multiclass'];
export const ROWS = 10_000;
export const IN_FORMATS = ['csv', 'arrow', 'parquet'] as const;
export const OUT_FORMATS = ['csv', 'arrow', 'parquet'] as const;

export interface Case {
  name: string;
  wasm: string;
  model: Model;
  bundle: Bundle;
  store: MemoryEntityStore;
  rows: Row[];
  expected: ScoreResult;
  inputs: Record<(typeof IN_FORMATS)[number] | 'arrows', string>;
}

/** The input rows as an Arrow table: the model's columns (ABI layout) plus `row_id` (int32), in batches of 3,000. */
export function rowsToTable(model: Model, rows: Row[]): A.Table {
  const batches: A.RecordBatch[] = [];
  for (let at = 0; at < rows.length; at += 3_000) {
    const part = rows.slice(at, at + 3_000);
    const b = columnsToArrow(model.manifest.inputs, part.length, rowsToColumns(model.manifest.inputs, part));
    const ids = A.makeData({
      type: new A.Int32(),
      length: part.length,
      data: Int32Array.from(part, (_, i) => at + i),
    });
    const fields = [new A.Field('row_id', new A.Int32(), false), ...b.schema.fields];
    const children = [ids, ...b.data.children];
    const schema = new A.Schema(fields);
    batches.push(
      new A.RecordBatch(schema, A.makeData({ type: new A.Struct(fields), length: part.length, children })),
    );
  }
  return new A.Table(batches);
}

export async function prepare(dir: string, name: string, kernels: Uint8Array): Promise<Case> {
  const src = join(MODELS_DIR, name);
  const source = readFileSync(join(src, 'model.pml'), 'utf8');
  const checked = checkSource('model.pml', source).checked!;
  const bundle = readBundle(join(src, 'bundle'));
  const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes: kernels,
  });
  const wasm = join(dir, `${name}.wasm`);
  writeFileSync(wasm, bytes);
  const model = await Model.load(bytes);
  const store = new MemoryEntityStore(bundle);
  const sample = parseRowsCsv(readFileSync(join(src, 'rows.csv'), 'utf8'), csvColumns(checked));
  const rows = [...sample, ...randomRows(checked, bundle, { seed: 11, count: ROWS })];
  const expected = model.score(rows, store);
  const base = join(dir, name);
  const cols: CsvColumn[] = [{ name: 'row_id', kind: 'number' }, ...csvColumns(checked)];
  writeFileSync(
    `${base}.csv`,
    formatRowsCsv(
      rows.map((r, i) => ({ row_id: i, ...r })),
      cols,
    ),
  );
  const table = rowsToTable(model, rows);
  writeFileSync(`${base}.arrow`, A.tableToIPC(table, 'file'));
  writeFileSync(`${base}.arrows`, A.tableToIPC(table, 'stream'));
  const props = new P.WriterPropertiesBuilder().setMaxRowGroupSize(4_000).build();
  writeFileSync(
    `${base}.parquet`,
    P.writeParquet(P.Table.fromIPCStream(A.tableToIPC(table, 'stream')), props),
  );
  return {
    name,
    wasm,
    model,
    bundle,
    store,
    rows,
    expected,
    inputs: {
      csv: `${base}.csv`,
      arrow: `${base}.arrow`,
      arrows: `${base}.arrows`,
      parquet: `${base}.parquet`,
    },
  };
}

/** A score file read back as plain columns: name → values (numbers, booleans, number arrays, strings, null). */
export function readBack(path: string, model: Model, keep: string | null): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  if (path.endsWith('.csv')) {
    const cols: CsvColumn[] = [
      ...(keep === null ? [] : [{ name: keep, kind: 'string' as const }]),
      ...model.manifest.outputs.map((o) => ({
        name: o.name,
        kind: o.size > 1 ? ('numbers' as const) : o.type === 'bool' ? ('bool' as const) : ('number' as const),
      })),
      { name: '_status', kind: 'number' },
      { name: '_rejection', kind: 'string' },
    ];
    const text = readFileSync(path, 'utf8');
    assert.equal(text.split('\n', 1)[0], cols.map((c) => c.name).join(','), 'CSV header');
    const rows = parseRowsCsv(text, cols);
    for (const c of cols)
      out.set(
        c.name,
        rows.map((r) => (c.name === keep ? Number(r[c.name]) : r[c.name]) ?? null),
      );
    return out;
  }
  const table = path.endsWith('.parquet')
    ? A.tableFromIPC(P.readParquet(readFileSync(path)).intoIPCStream())
    : A.tableFromIPC(readFileSync(path));
  const names = table.schema.fields.map((f) => f.name);
  assert.deepEqual(names, [
    ...(keep === null ? [] : [keep]),
    ...model.manifest.outputs.map((o) => o.name),
    '_status',
    '_rejection',
  ]);
  for (const f of table.schema.fields) {
    const v = table.getChild(f.name)!;
    const vals: unknown[] = [];
    for (let r = 0; r < table.numRows; r++) {
      const x: unknown = v.get(r);
      vals.push(x instanceof A.Vector ? Array.from(x.toArray() as Float32Array) : (x ?? null));
    }
    out.set(f.name, vals);
  }
  const o = model.manifest.outputs.find((x) => x.size > 1);
  if (o !== undefined)
    assert.equal(
      String(table.schema.fields.find((f) => f.name === o.name)!.type),
      `FixedSizeList[${o.size}]<Float32>`,
    );
  assert.equal(String(table.schema.fields.find((f) => f.name === '_status')!.type), 'Uint32');
  return out;
}

/** The same columns from the in-process result. */
export function expectedColumns(c: Case): Map<string, unknown[]> {
  const r = c.expected;
  const out = new Map<string, unknown[]>();
  for (const o of c.model.manifest.outputs)
    out.set(
      o.name,
      Array.from({ length: r.n }, (_, i) => r.value(o.name, i)),
    );
  out.set('_status', Array.from(r.status));
  out.set(
    '_rejection',
    Array.from({ length: r.n }, (_, i) => {
      const rej = r.rejection(i);
      return rej === null ? null : `${rej.code}:${rej.input}`;
    }),
  );
  return out;
}

export function assertSameScores(c: Case, path: string, keep: string | null): void {
  const got = readBack(path, c.model, keep);
  const want = expectedColumns(c);
  for (const [name, values] of want) {
    const g = got.get(name)!;
    assert.equal(g.length, values.length, `${path}: ${name}: row count`);
    for (let r = 0; r < values.length; r++)
      if (!Object.is(g[r], values[r])) assert.deepStrictEqual(g[r], values[r], `${path}: ${name} row ${r}`);
  }
  if (keep !== null)
    assert.deepEqual(
      got.get(keep)!.map(Number),
      Array.from({ length: c.rows.length }, (_, i) => i),
      `${path}: ${keep}`,
    );
}

export function capture(): {
  io: { out: (s: string) => void; err: (s: string) => void; color: boolean };
  text: () => string;
} {
  const lines: string[] = [];
  return {
    io: { out: (s) => lines.push(s), err: (s) => lines.push(s), color: false },
    text: () => lines.join('\n'),
  };
}

export function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** No output and no temporary file left in the directory. */
export function assertNothingWritten(dir: string, out: string): void {
  assert.equal(existsSync(out), false, `${out} exists`);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
}
