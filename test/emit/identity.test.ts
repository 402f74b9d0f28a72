// Byte identity across processes and threads: the same module, instantiated twice in separate Node
// processes and in a worker thread, gives byte-identical outputs on the same inputs.
// Input: every fixture model the back end compiles today (fixtures/models/<name>; the ones that
// raise PML3101–PML3103, "not supported yet", are skipped), its bundle, and 10,007 rows from the
// reference's seeded randomRows (missing values, unknown categories and entities, empty bags).
// Output: assertions that the SHA-256 of every model's raw output bytes (validity bitmaps, values,
// status words, proml_score's result) is the same here, in two child processes and in a worker, and
// that one model's raw bytes are equal byte for byte. Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { entityKey, type Bundle, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { CompileError, emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { randomRows } from '../../compiler/reference/index.js';
import { MODELS_DIR, ROOT } from '../helpers.js';
import {
  entityBlocksOnly,
  runIdentityJobs,
  type IdentityJob,
  type IdentityJobFile,
  type IdentityReport,
} from './raw.js';

/** Not a multiple of 8 or 4: the last validity byte and the SIMD tail are both partial. */
const ROWS = 10_007;
const SEED = 20_240_611;
/** Compiled today; the test fails if one of these stops compiling. */
const KNOWN: string[] = ['job_apply', 'lexical_forms', 'skill_endorsements', 'tiny_linear'];
/** "Not supported yet" codes: a fixture raising one of these is skipped, anything else fails. */
const NOT_YET = new Set(['PML3101', 'PML3102', 'PML3103']);
/** The model whose raw bytes are compared whole (entities, categories, several outputs). */
const FULL = 'job_apply';

interface Compiled {
  name: string;
  checked: CheckedModel;
  bundle: Bundle;
  rows: Row[];
}

/** Child process: `node --import tsx identity-child.ts <job file>`; resolves to its report. */
function inChildProcess(jobFile: string): Promise<IdentityReport> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env['NODE_TEST_CONTEXT'];
    delete env['NODE_OPTIONS'];
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test', 'emit', 'identity-child.ts'), jobFile],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`identity-child exited with ${String(code)}: ${err}`));
      else resolve(JSON.parse(out) as IdentityReport);
    });
  });
}

/** Worker thread: identity-worker.mjs registers tsx, then runs identity-child.ts. */
function inWorker(jobFile: string): Promise<IdentityReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./identity-worker.mjs', import.meta.url), {
      workerData: { jobFile },
      // not the parent's `--import ./scripts/preload-binaryen.mjs`: the scorer needs no binaryen
      execArgv: [],
    });
    let report: IdentityReport | null = null;
    worker.once('message', (m: IdentityReport) => (report = m));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0 || report === null) reject(new Error(`worker exited with ${code} and no report`));
      else resolve(report);
    });
  });
}

describe('identity: one module, byte-identical outputs in every process and thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proml-identity-'));
  const jobFile = join(dir, 'jobs.bin');
  const compiled: Compiled[] = [];
  const skipped: string[] = [];
  let job: IdentityJobFile | null = null;

  before(async () => {
    const jobs: IdentityJob[] = [];
    for (const name of readdirSync(MODELS_DIR).sort()) {
      const at = join(MODELS_DIR, name);
      const source = readFileSync(join(at, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked;
      assert.ok(checked !== null, `${name}: does not check`);
      const bundle = readBundle(join(at, 'bundle'));
      let bytes: Uint8Array;
      try {
        ({ bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
          sourceText: source,
          bundleJsonText: readFileSync(join(at, 'bundle', 'bundle.json'), 'utf8'),
        }));
      } catch (e) {
        if (e instanceof CompileError && NOT_YET.has(e.code)) {
          skipped.push(name);
          continue;
        }
        throw e;
      }
      const wasmFile = join(dir, `${name}.wasm`);
      writeFileSync(wasmFile, bytes);
      const rows = randomRows(checked, bundle, { seed: SEED, count: ROWS });
      compiled.push({ name, checked, bundle, rows });
      jobs.push({ name, wasmFile, rows, bundle: entityBlocksOnly(bundle) });
    }
    job = { jobs, fullName: FULL };
    writeFileSync(jobFile, serialize(job));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the fixtures that compile include the known four; the others are "not supported yet"', () => {
    const names = compiled.map((c) => c.name);
    for (const k of KNOWN) assert.ok(names.includes(k), `${k} no longer compiles`);
    assert.equal(names.length + skipped.length, readdirSync(MODELS_DIR).length);
  });

  it('the rows include missing values, unknown categories and entities, and empty bags', () => {
    const seen = { missing: 0, unknownCategory: 0, unknownEntity: 0, emptyBag: 0 };
    const want = { unknownCategory: false, unknownEntity: false, emptyBag: false };
    for (const { checked, bundle, rows } of compiled) {
      assert.equal(rows.length, ROWS);
      const known = new Set<string>();
      for (const c of bundle.components.values())
        if (c.kind === 'random_effect') for (const id of c.blocks.keys()) known.add(id);
      for (const input of checked.inputs) {
        const t = input.declared;
        if (t.kind === 'category') want.unknownCategory = true;
        if (t.kind === 'entity') want.unknownEntity = true;
        if (t.kind === 'bag') want.emptyBag = true;
        for (const row of rows) {
          const v = row[input.name];
          if (v === null || v === undefined) seen.missing++;
          else if (t.kind === 'category' && typeof v === 'string' && !(t.labels ?? []).includes(v))
            seen.unknownCategory++;
          else if (t.kind === 'entity' && !known.has(entityKey(v as string | number))) seen.unknownEntity++;
          else if (t.kind === 'bag' && Array.isArray(v) && v.length === 0) seen.emptyBag++;
        }
      }
    }
    assert.ok(seen.missing > 0, 'no missing values');
    for (const k of ['unknownCategory', 'unknownEntity', 'emptyBag'] as const)
      if (want[k]) assert.ok(seen[k] > 0, `no ${k} rows`);
    // the four known models have categories, entities and bags between them
    assert.deepEqual(want, { unknownCategory: true, unknownEntity: true, emptyBag: true });
  });

  it('here, in two child processes and in a worker thread: identical digests and raw bytes', async () => {
    // start the others first: they score while this thread does
    const others = Promise.all([inChildProcess(jobFile), inChildProcess(jobFile), inWorker(jobFile)]);
    // this thread scores the jobs it wrote (the same rows, bundle and .wasm files)
    assert.ok(job !== null);
    const here = runIdentityJobs(job);
    const [childA, childB, worker] = await others;
    assert.deepEqual(Object.keys(here.digests), compiled.map((c) => c.name).sort());
    for (const [who, r] of [
      ['child process 1', childA],
      ['child process 2', childB],
      ['worker thread', worker],
    ] as const) {
      assert.deepEqual(r.digests, here.digests, `${who}: digests differ`);
      assert.ok(r.full !== null && here.full !== null, `${who}: no raw bytes for ${FULL}`);
      const a = Buffer.from(here.full.bytes, 'base64');
      const b = Buffer.from(r.full.bytes, 'base64');
      assert.ok(a.length > 4 * ROWS, `${FULL}: ${a.length} raw bytes`);
      assert.ok(a.equals(b), `${who}: raw bytes of ${FULL} differ`);
    }
  });
});
