// The trainer's data (trainer/data.ts): `proml train` reads Arrow IPC (file and stream), Parquet and
// rows CSV to the same coefficients, and bad data stops with an error naming the file, the column and
// the CSV line or file row (PML5002 / PML5004 / PML5005), never a crash, in every format.
// Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as A from 'apache-arrow';
import * as P from 'parquet-wasm/node';
import type { Bundle } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { checkSource } from '../../compiler/index.js';
import { checkTrainingRows, readTrainingData } from '../../trainer/data.js';
import { TrainError, trainModel } from '../../trainer/train.js';
import { ROOT } from '../helpers.js';

const GAME = join(ROOT, 'fixtures', 'train', 'game');
const MODEL = join(GAME, 'game.pml');
const checked = checkSource(MODEL, readFileSync(MODEL, 'utf8')).checked!;

const dir = mkdtempSync(join(tmpdir(), 'proml-data-'));
let serial = 0;

/** The first n data lines of the GAME training file, as columns. */
function gameColumns(n: number): { x1: number[]; x2: number[]; member: (string | null)[]; y: number[] } {
  const lines = readFileSync(join(GAME, 'train.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1, n + 1);
  const cols = { x1: [] as number[], x2: [] as number[], member: [] as (string | null)[], y: [] as number[] };
  for (const l of lines) {
    const [a, b, m, y] = l.split(',');
    cols.x1.push(Number(a));
    cols.x2.push(Number(b));
    cols.member.push(m!);
    cols.y.push(Number(y));
  }
  return cols;
}

type Format = 'csv' | 'arrow' | 'arrows' | 'parquet';
const FORMATS: Format[] = ['csv', 'arrow', 'arrows', 'parquet'];

/** Writes an Arrow table in a format (CSV: each column's values as rows-CSV cells). */
function write(table: A.Table, format: Format, name = `t${serial++}`): string {
  const path = join(dir, `${name}.${format}`);
  if (format === 'arrow') writeFileSync(path, A.tableToIPC(table, 'file'));
  else if (format === 'arrows') writeFileSync(path, A.tableToIPC(table, 'stream'));
  else if (format === 'parquet')
    writeFileSync(path, P.writeParquet(P.Table.fromIPCStream(A.tableToIPC(table, 'stream'))));
  else {
    const names = table.schema.fields.map((f) => f.name);
    const cell = (v: unknown): string =>
      v === null || v === undefined
        ? ''
        : typeof v === 'number'
          ? Number.isNaN(v)
            ? 'NaN'
            : String(v)
          : typeof v === 'bigint'
            ? v.toString()
            : String(v);
    const lines = [names.join(',')];
    for (let r = 0; r < table.numRows; r++)
      lines.push(names.map((n) => cell(table.getChild(n)!.get(r))).join(','));
    writeFileSync(path, lines.join('\n') + '\n');
  }
  return path;
}

function table(cols: Record<string, A.Vector>): A.Table {
  return new A.Table(cols);
}

function gameTable(
  n: number,
  edit: (c: ReturnType<typeof gameColumns>) => Record<string, A.Vector>,
): A.Table {
  return table(edit(gameColumns(n)));
}

const f64 = (xs: readonly (number | null)[]): A.Vector => A.vectorFromArray(xs, new A.Float64());
const utf8 = (xs: readonly (string | null)[]): A.Vector => A.vectorFromArray(xs, new A.Utf8());
const i32 = (xs: readonly (number | null)[]): A.Vector => A.vectorFromArray(xs, new A.Int32());

const good = (c: ReturnType<typeof gameColumns>): Record<string, A.Vector> => ({
  x1: f64(c.x1),
  x2: f64(c.x2),
  member: utf8(c.member),
  y: i32(c.y),
});

async function expectError(path: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(readTrainingData(path, checked), (e: unknown) => {
    assert.ok(e instanceof TrainError, `not a TrainError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

describe('trainer data: Arrow, Parquet and CSV', () => {
  it('every format gives the same rows (and the SHA-256 of the file bytes)', async () => {
    const t = gameTable(500, good);
    const got = await Promise.all(FORMATS.map((f) => readTrainingData(write(t, f), checked)));
    for (const d of got) {
      assert.equal(d.rows.length, 500);
      assert.deepEqual(d.rows, got[0]!.rows, d.format);
      assert.equal(d.sha256, createHash('sha256').update(readFileSync(d.path)).digest('hex'));
    }
    assert.deepEqual(got[0]!.rows[0], { x1: t.get(0)!['x1'], x2: t.get(0)!['x2'], member: 'm49', y: 0 });
    assert.deepEqual(
      got.map((d) => d.format),
      ['csv', 'arrow', 'arrow-stream', 'parquet'],
    );
  });

  it('Arrow columns in other accepted types: dictionary ids, integer entities, float32, bool labels', async () => {
    const c = gameColumns(50);
    const t = table({
      x1: A.vectorFromArray(c.x1, new A.Float32()),
      x2: A.vectorFromArray(
        c.x2.map((x) => BigInt(Math.round(x * 10))),
        new A.Int64(),
      ),
      member: A.vectorFromArray(c.member, new A.Dictionary(new A.Utf8(), new A.Int32())),
      y: A.vectorFromArray(
        c.y.map((y) => y === 1),
        new A.Bool(),
      ),
    });
    const d = await readTrainingData(write(t, 'parquet'), checked);
    assert.equal(d.rows[0]!['x1'], Math.fround(c.x1[0]!));
    assert.equal(d.rows[0]!['x2'], Math.round(c.x2[0]! * 10));
    assert.equal(d.rows[0]!['member'], 'm49');
    assert.equal(d.rows[1]!['y'], true);
    const ints = table({ x1: f64(c.x1), x2: f64(c.x2), member: i32(c.x1.map((_, i) => i % 7)), y: i32(c.y) });
    assert.equal((await readTrainingData(write(ints, 'arrow'), checked)).rows[3]!['member'], 3);
  });

  it('proml train fits the same coefficients from CSV, Arrow file, Arrow stream and Parquet', async () => {
    const t = gameTable(1500, good);
    const bundles: Bundle[] = [];
    for (const f of FORMATS) {
      const out = join(dir, `fit-${f}`);
      const report = await trainModel(MODEL, { data: write(t, f), out });
      assert.equal(report.data.rows, 1500);
      bundles.push(readBundle(out));
    }
    for (const b of bundles.slice(1)) {
      const g0 = bundles[0]!.components.get('global')!;
      const g = b.components.get('global')!;
      assert.ok(g.kind === 'linear' && g0.kind === 'linear');
      assert.deepEqual([...g.weights], [...g0.weights]);
      const r0 = bundles[0]!.components.get('member_re')!;
      const r = b.components.get('member_re')!;
      assert.ok(r.kind === 'random_effect' && r0.kind === 'random_effect');
      assert.deepEqual(
        [...r.blocks.entries()].map(([k, v]) => [k, [...v]]),
        [...r0.blocks.entries()].map(([k, v]) => [k, [...v]]),
      );
    }
  });
});

describe('trainer data: errors name the file, the column and the row', () => {
  for (const f of FORMATS) {
    const line = (row: number): string => (f === 'csv' ? `line ${row + 2}` : `row ${row}`);

    it(`${f}: a missing label column, a missing input column`, async () => {
      await expectError(
        write(
          gameTable(20, (c) => ({ x1: f64(c.x1), x2: f64(c.x2), member: utf8(c.member) })),
          f,
        ),
        'PML5002',
        /no column 'y' for the label of output 'p' \(columns: x1, x2, member\)/,
      );
      await expectError(
        write(
          gameTable(20, (c) => ({ x1: f64(c.x1), member: utf8(c.member), y: i32(c.y) })),
          f,
        ),
        'PML5002',
        /no column 'x2' \(f64\) for the model's input/,
      );
    });

    it(`${f}: text in a numeric column, or a label column of the wrong type`, async () => {
      const texts = gameTable(20, (c) => ({
        ...good(c),
        x2: utf8(c.x2.map((x, i) => (i === 5 ? 'abc' : String(x)))),
      }));
      await expectError(
        write(texts, f),
        'PML5002',
        f === 'csv'
          ? /line 7, column 'x2': 'abc' is not a number/
          : /column 'x2' has Arrow type Utf8; input 'x2' \(f64\) needs a float or integer column/,
      );
      const labels = gameTable(20, (c) => ({
        ...good(c),
        y: utf8(c.y.map((y, i) => (i === 3 ? 'yes' : String(y)))),
      }));
      await expectError(
        write(labels, f),
        'PML5002',
        f === 'csv' ? /line 5, column 'y': 'yes' is not a number/ : /column 'y' has Arrow type Utf8/,
      );
    });

    it(`${f}: a NaN label, a missing label, a label outside the objective`, async () => {
      const nan = gameTable(20, (c) => ({ ...good(c), y: f64(c.y.map((y, i) => (i === 11 ? NaN : y))) }));
      await expectError(
        write(nan, f),
        'PML5004',
        new RegExp(`${line(11)}: label 'y' is NaN; objective logistic`),
      );
      const missing = gameTable(20, (c) => ({ ...good(c), y: i32(c.y.map((y, i) => (i === 2 ? null : y))) }));
      await expectError(write(missing, f), 'PML5004', new RegExp(`${line(2)}: label 'y' is missing`));
      const two = gameTable(20, (c) => ({ ...good(c), y: i32(c.y.map((y, i) => (i === 19 ? 2 : y))) }));
      await expectError(
        write(two, f),
        'PML5004',
        new RegExp(`${line(19)}: label 'y' is 2; objective logistic needs 0 or 1`),
      );
    });

    it(`${f}: an empty file, a file without rows`, async () => {
      const empty = join(dir, `empty${serial++}.${f}`);
      writeFileSync(empty, '');
      await expectError(empty, 'PML5005', /is empty \(0 bytes\)/);
      await expectError(write(gameTable(0, good), f), 'PML5005', /no rows in .* \(training data\)/);
    });

    it(`${f}: one label class, an entity column null in every row, no entity with min_rows rows`, async () => {
      const ones = await readTrainingData(
        write(
          gameTable(30, (c) => ({ ...good(c), y: i32(c.y.map(() => 1)) })),
          f,
        ),
        checked,
      );
      assert.throws(
        () => checkTrainingRows(checked, ones.rows, ones.path),
        (e: unknown) =>
          e instanceof TrainError &&
          e.code === 'PML5004' &&
          /label 'y' is 1 in all 30 training rows: objective logistic needs both classes/.test(e.message),
      );
      const nulls = await readTrainingData(
        write(
          gameTable(30, (c) => ({ ...good(c), member: utf8(c.member.map(() => null)) })),
          f,
        ),
        checked,
      );
      assert.throws(
        () => checkTrainingRows(checked, nulls.rows, nulls.path),
        (e: unknown) =>
          e instanceof TrainError &&
          e.code === 'PML5002' &&
          /column 'member' is empty \(null\) in all 30 training rows: component 'member_re'/.test(e.message),
      );
      // 30 rows over 30 distinct members: none reaches min_rows 5
      const sparse = await readTrainingData(
        write(
          gameTable(30, (c) => ({ ...good(c), member: utf8(c.member.map((_, i) => `u${i}`)) })),
          f,
        ),
        checked,
      );
      assert.throws(
        () => checkTrainingRows(checked, sparse.rows, sparse.path),
        (e: unknown) =>
          e instanceof TrainError &&
          e.code === 'PML5002' &&
          /no member has min_rows 5 training rows \(30 member values, the most rows of one: 1\)/.test(
            e.message,
          ),
      );
    });
  }

  it('Arrow: a truncated file, a column of the wrong list type; trainModel reports the same errors', async () => {
    const whole = A.tableToIPC(gameTable(200, good), 'file');
    const cut = join(dir, 'cut.arrow');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expectError(cut, 'PML5002', /cut\.arrow: not a readable Arrow IPC file|corrupt or truncated/);
    const ones = write(
      gameTable(30, (c) => ({ ...good(c), y: i32(c.y.map(() => 0)) })),
      'parquet',
    );
    await assert.rejects(trainModel(MODEL, { data: ones, out: join(dir, 'x') }), (e: unknown) => {
      assert.ok(e instanceof TrainError);
      assert.equal(e.code, 'PML5004');
      return true;
    });
  });
});
