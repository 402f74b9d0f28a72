// The peer benchmark's smoke mode (bench/peers.bench.ts --quick), run in process: small versions of
// every model (1,000-wide logistic, hashed sparse, GAME with 1,000 members, 20-tree ensembles, a
// 16-wide MLP), every engine once per batch size. Asserts that each engine agrees with proml within
// the suite's tolerance, that the results hold a timed row for every engine × model × batch (tfjs
// and proml's inexact f32 MLP build only for the MLP; the optional native C bound may skip models it does not cover, saying why), and
// that quick mode writes no results file. The all-cores batch job is left out: starting worker
// threads costs 5–10 s on a loaded machine (it runs in the full suite).
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles models).

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runPeers, TOLERANCE, type PeerResults } from '../../bench/peers.bench.js';

const BENCH = join(new URL('.', import.meta.url).pathname, '..', '..', 'bench');
const MODELS = ['logistic_1000', 'sparse_hashed', 'game', 'trees_500x8', 'trees_1000x31', 'mlp'];
const ENGINES = [
  'proml',
  'proml-scalar',
  'proml-f32',
  'proml-runtime',
  'reference',
  'ort-node',
  'ort-web',
  'tfjs-wasm',
];
const BATCHES = [1, 100];

function mtime(name: string): number | null {
  const p = join(BENCH, name);
  return existsSync(p) ? statSync(p).mtimeMs : null;
}

describe('peer benchmark, quick mode', () => {
  let r: PeerResults;
  const before = { md: mtime('RESULTS.md'), json: mtime('RESULTS.json') };

  it('runs every model on every engine', { timeout: 120_000 }, async () => {
    r = await runPeers({ quick: true, batchJob: false });
    assert.equal(r.quick, true);
    assert.deepEqual(
      r.models.map((m) => m.name),
      MODELS,
    );
    const ids = r.engines.map((e) => e.id);
    for (const id of ENGINES) assert.ok(ids.includes(id), `engine ${id} missing from ${ids.join(', ')}`);
  });

  it('every engine agrees with proml before timing', () => {
    for (const m of r.models)
      for (const e of r.engines) {
        // MLP-only engines: tfjs, and proml's inexact f32 MLP build
        if ((e.id === 'tfjs-wasm' || e.id === 'proml-f32') && m.name !== 'mlp') continue;
        const a = m.agreement[e.id];
        if (e.id.startsWith('native') && a === undefined) {
          assert.match(m.setup[e.id] ?? '', /^skipped: /, `${m.name}: ${e.id} neither ran nor said why`);
          continue;
        }
        assert.ok(a !== undefined, `${m.name}: no agreement check for ${e.id}`);
        assert.ok(
          a.ok && a.maxAbsDiff <= TOLERANCE,
          `${m.name}: ${e.id} max |Δ| ${a.maxAbsDiff} (${a.error ?? 'no error'})`,
        );
      }
  });

  it('times every engine × model × batch', () => {
    for (const m of r.models)
      for (const e of r.engines) {
        if ((e.id === 'tfjs-wasm' || e.id === 'proml-f32') && m.name !== 'mlp') {
          assert.ok(!m.cases.some((c) => c.engine === e.id), `${e.id} ran on ${m.name}`);
          continue;
        }
        for (const n of BATCHES) {
          const c = m.cases.find((x) => x.engine === e.id && x.rows === n);
          assert.ok(c !== undefined, `${m.name} ×${n}: no row for ${e.id}`);
          if (e.id.startsWith('native') && c.status === 'skipped') {
            assert.ok((c.reason ?? '') !== '', `${m.name}: native skipped without a reason`);
            continue;
          }
          assert.equal(c.status, 'ok', `${m.name} ×${n} ${e.id}: ${c.status} ${c.reason ?? ''}`);
          assert.ok(c.rowsPerSec !== undefined && c.rowsPerSec > 0, `${m.name} ×${n} ${e.id}: no rate`);
          assert.ok(c.ratio !== undefined && Number.isFinite(c.ratio) && c.ratio > 0);
          assert.equal(c.maxAbsDiff, m.agreement[e.id]!.maxAbsDiff);
        }
      }
  });

  it('writes no results file', () => {
    assert.equal(mtime('RESULTS.md'), before.md);
    assert.equal(mtime('RESULTS.json'), before.json);
  });
});
