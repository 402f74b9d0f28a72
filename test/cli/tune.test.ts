// `proml tune` run as a user runs it (node cli/bin.mjs tune, one process per case, two at a time):
// bad command lines exit 2, bad bundles and samples exit 1 with the PML code and the thing at
// fault, and write nothing; a good run writes a module whose manifest carries the tuning record it
// printed (--json); --allow-inexact puts the f32 MLP in the table, marked. Input:
// fixtures/models/abuse_anomaly (model, bundle, rows.csv) and notification_send; samples written
// to a temp dir. Timing choices are not asserted (noise): compiler/tune.ts's tests check exactness.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MANIFEST_SECTION, parseManifest, type TuningRecord } from '../../abi/index.js';
import { MODELS_DIR, ROOT } from '../helpers.js';

const MODEL = join(MODELS_DIR, 'abuse_anomaly', 'model.pml');
const BUNDLE = join(MODELS_DIR, 'abuse_anomaly', 'bundle');
const ROWS = join(MODELS_DIR, 'abuse_anomaly', 'rows.csv');

function proml(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), 'tune', ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('proml tune (CLI)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'proml-tune-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  /** A fresh empty output directory per case. */
  const outDir = (name: string): string => {
    const d = join(tmp, name);
    mkdirSync(d);
    return d;
  };

  it('bad inputs: exit code, PML code and the thing at fault, nothing written', async () => {
    const notData = join(tmp, 'sample.bin');
    writeFileSync(notData, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const wrongColumns = join(tmp, 'wrong.csv');
    writeFileSync(wrongColumns, 'a,b\n1,2\n');
    // name_entropy is `in [0, 8]`: every row out of range (PML4102), so nothing can be timed
    const rejected = join(tmp, 'rejected.csv');
    writeFileSync(
      rejected,
      'signups_1h_ip_block,signups_24h_ip_block,distinct_devices_24h_ip_block,email_domain,name_entropy,has_profile_photo\n' +
        '1,2,3,a.com,99,true\n4,5,6,b.com,100,false\n',
    );
    const cases: { name: string; args: (out: string) => string[]; code: number; says: RegExp[] }[] = [
      {
        name: 'no --coefficients',
        args: (o) => [MODEL, '-o', join(o, 'm.wasm')],
        code: 2,
        says: [/tune: --coefficients <bundle dir> is required/],
      },
      {
        name: 'a bundle directory that does not exist',
        args: (o) => [MODEL, '-c', join(tmp, 'nope'), '-o', join(o, 'm.wasm')],
        code: 1,
        says: [/error PML3001/, /nope/],
      },
      {
        name: 'a sample that is not Arrow, Parquet or CSV',
        args: (o) => [MODEL, '-c', BUNDLE, '--sample', notData, '-o', join(o, 'm.wasm')],
        code: 1,
        says: [/sample\.bin: error PML4602: .*not an Arrow IPC, Parquet or CSV file/],
      },
      {
        name: 'a sample without the model inputs',
        args: (o) => [MODEL, '-c', BUNDLE, '--sample', wrongColumns, '-o', join(o, 'm.wasm')],
        code: 1,
        says: [/wrong\.csv: error PML4601/],
      },
      {
        name: 'a sample whose every row is rejected',
        args: (o) => [MODEL, '-c', BUNDLE, '--sample', rejected, '-o', join(o, 'm.wasm')],
        code: 1,
        says: [/error PML3201: all 2 sample rows are rejected/, /nothing was written/],
      },
      {
        name: 'a bad --budget',
        args: (o) => [MODEL, '-c', BUNDLE, '--budget', 'soon', '-o', join(o, 'm.wasm')],
        code: 2,
        says: [/--budget wants seconds/],
      },
      {
        name: 'a bad --allow-inexact',
        args: (o) => [MODEL, '-c', BUNDLE, '--allow-inexact', '0.5', '-o', join(o, 'm.wasm')],
        code: 2,
        says: [/--allow-inexact wants the largest accepted difference, a number in \(0, 0.01\]/],
      },
    ];
    const outcomes: { name: string; dir: string; code: number | null; err: string }[] = [];
    for (let i = 0; i < cases.length; i += 2) {
      const batch = cases.slice(i, i + 2).map(async (c) => {
        const dir = outDir(c.name.replace(/\W+/g, '-'));
        const r = await proml(c.args(dir));
        return { name: c.name, dir, code: r.code, err: r.err };
      });
      outcomes.push(...(await Promise.all(batch)));
    }
    cases.forEach((c, i) => {
      const o = outcomes[i]!;
      assert.equal(o.code, c.code, `${c.name}: exit ${o.code}\n${o.err}`);
      for (const re of c.says) assert.match(o.err, re, `${c.name}: stderr lacks ${re}\n${o.err}`);
      assert.doesNotMatch(o.err, /internal error|\n\s+at /, `${c.name}: an internal error or stack trace`);
      assert.deepEqual(readdirSync(o.dir), [], `${c.name}: left files behind`);
    });
  });

  it('a CSV sample: the module is written and its manifest carries the printed record', async () => {
    const dir = outDir('ok');
    const out = join(dir, 'tuned.wasm');
    const r = await proml([MODEL, '-c', BUNDLE, '--sample', ROWS, '--budget', '0.5', '-o', out, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(out));
    const record = JSON.parse(r.out) as TuningRecord;
    assert.equal(record.sample.source, 'file');
    assert.equal(record.sample.name, 'rows.csv');
    assert.equal(record.sample.rows, readFileSync(ROWS, 'utf8').trim().split('\n').length - 1);
    assert.match(record.sample.sha256, /^[0-9a-f]{64}$/);
    const module = new WebAssembly.Module(readFileSync(out));
    const M = WebAssembly.Module as unknown as {
      customSections(m: WebAssembly.Module, n: string): ArrayBuffer[];
    };
    const manifest = parseManifest(new TextDecoder().decode(M.customSections(module, MANIFEST_SECTION)[0]!));
    assert.deepEqual(manifest.tuning, record);
    assert.deepEqual(readdirSync(dir), ['tuned.wasm']);
  });

  it('--allow-inexact on an MLP model: the f32 MLP is in the table, marked INEXACT with its max |Δ|', async () => {
    const dir = outDir('inexact');
    const out = join(dir, 'tuned.wasm');
    const mlp = join(MODELS_DIR, 'notification_send');
    const r = await proml([
      join(mlp, 'model.pml'),
      '-c',
      join(mlp, 'bundle'),
      '--sample-rows',
      '300',
      '--budget',
      '0.5',
      '--allow-inexact',
      '1e-4',
      '-o',
      out,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /simd=true mlpPrecision=f32 .*INEXACT, max \|Δ\| \d\.\de-\d+/);
    assert.match(r.err, /^chosen: /m);
    const module = new WebAssembly.Module(readFileSync(out));
    const M = WebAssembly.Module as unknown as {
      customSections(m: WebAssembly.Module, n: string): ArrayBuffer[];
    };
    const manifest = parseManifest(new TextDecoder().decode(M.customSections(module, MANIFEST_SECTION)[0]!));
    assert.equal(manifest.tuning?.tolerance, 1e-4);
    const chosen = manifest.tuning!.candidates[manifest.tuning!.chosen]!;
    // whichever won, the module says what it is: an inexact choice is named in strategies and reason
    if (!chosen.exact) {
      assert.match(manifest.strategies['mlp.precision'] ?? '', /inexact/);
      assert.match(manifest.tuning!.reason, /INEXACT/);
    } else assert.equal(manifest.strategies['mlp.precision'], undefined);
  });
});
