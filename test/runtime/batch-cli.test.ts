// `proml score` end to end (cli/bin.mjs in a child process, as a user runs it: worker threads, progress
// lines on a non-terminal stderr, the summary) and bounded memory: the peak RSS of a child scoring a
// 10× larger file stays within a fixed margin of the 1× run. The library and in-process CLI parity
// matrix is test/runtime/batch.test.ts.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles fixtures).

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { MODELS_DIR } from '../helpers.js';
import { assertSameScores, prepare, run, type Case } from './batch-helpers.js';

let dir: string;
const cases = new Map<string, Case>();

describe('proml score end to end', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'proml-batch-cli-'));
    const kernels = await kernelModuleBytes();
    for (const name of ['spam_message', 'all_types']) cases.set(name, await prepare(dir, name, kernels));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the CLI: a real `node cli/bin.mjs score`, worker threads, progress lines and summary on stderr', async () => {
    const c = cases.get('all_types')!;
    const out = join(dir, 'all_types.bin.parquet');
    const r = await run(process.execPath, [
      'cli/bin.mjs',
      'score',
      c.wasm,
      '--in',
      c.inputs.csv,
      '--out',
      out,
      '--entities',
      join(MODELS_DIR, 'all_types', 'bundle'),
      '--threads',
      '2',
      '--batch-rows',
      '2048',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // stderr is not a terminal here: periodic lines, no bar (no carriage returns)
    assert.doesNotMatch(r.stderr, /\r/);
    assert.match(
      r.stderr,
      /scored 10,200 rows in [\d.]+ s \([\d,]+ rows\/s, 2 threads\) → .*all_types\.bin\.parquet/,
    );
    assert.match(r.stderr, /rejected [\d,]+ rows: PML4101 [\d,]+, PML4102 [\d,]+, PML4103 [\d,]+/);
    assertSameScores(c, out, null);
  });

  it('memory is bounded: a 10× larger input does not raise peak RSS with it', async () => {
    const c = cases.get('spam_message')!;
    // 1×: 30,600 rows; 10×: the same rows ten times (CSV, the format a whole-file reader would blow up most)
    const one = join(dir, 'mem1.csv');
    const text = readFileSync(c.inputs.csv, 'utf8');
    const [head, ...body] = text.trimEnd().split('\n');
    const block = body.join('\n') + '\n';
    writeFileSync(one, head + '\n');
    for (let k = 0; k < 3; k++) appendFileSync(one, block);
    const ten = join(dir, 'mem10.csv');
    writeFileSync(ten, head + '\n');
    for (let k = 0; k < 30; k++) appendFileSync(ten, block);
    const child = (input: string, out: string): Promise<{ rows: number; maxRssBytes: number }> =>
      // a capped JS heap: a reader that held the file (or its rows) would die here, not just grow
      run(process.execPath, [
        '--max-old-space-size=96',
        '--import',
        'tsx',
        'test/runtime/batch-child.ts',
        c.wasm,
        input,
        out,
        '2',
        '4096',
      ]).then((r) => {
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as { rows: number; maxRssBytes: number };
      });
    const small = await child(one, join(dir, 'mem1.parquet'));
    const large = await child(ten, join(dir, 'mem10.parquet'));
    assert.equal(large.rows, 10 * small.rows);
    const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
    const sizeMb = readFileSync(ten).length / 2 ** 20;
    console.log(
      `# peak RSS: ${mb(small.maxRssBytes)} for ${small.rows} rows, ${mb(large.maxRssBytes)} for ${large.rows} rows (${sizeMb.toFixed(0)} MB CSV)`,
    );
    // holding the 10× file's rows would take hundreds of MB; streaming keeps the peak where it was
    assert.ok(
      large.maxRssBytes < small.maxRssBytes + 40 * 2 ** 20,
      `peak RSS grew from ${mb(small.maxRssBytes)} to ${mb(large.maxRssBytes)}`,
    );
  });
});
