// The worker pool (runtime/node/pool.ts): what micro-batching buys single-row callers, and what
// threads buy batch callers. Input: fixtures spam_message (hashing, a linear model) and pymk (an
// MLP), seeded randomRows. Output: a markdown table (bench/index.ts writes bench/results/pool.md).
// Single rows: CLIENTS closed-loop clients (each sends its next row when the last one returns)
// through pool.scoreRow, with micro-batching (1 ms window, ≤ 256 rows) and with one task per row
// (maxBatchRows 1); rows/s, per-call latency p50/p99 and tasks sent. Batches: BATCH_ROWS rows in
// calls of CHUNK rows, all submitted at once, on 1 thread and on all threads, against Model.score in
// process. Each figure is the best of REPEATS runs after a warm-up; every pool result is checked
// against Model.score byte for byte before timing. Timings on a shared machine: compare ratios.
// Run: npm run bench -- pool

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Row } from '../abi/index.js';
import { readBundle } from '../abi/node.js';
import { emitScoringModule } from '../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../compiler/index.js';
import { kernelModuleBytes } from '../compiler/kernels.js';
import { randomRows } from '../compiler/reference/index.js';
import { MemoryEntityStore, Model } from '../runtime/index.js';
import { ScoringPool, type PoolOptions } from '../runtime/node/pool.js';
import { MODELS_DIR } from '../test/helpers.js';

const MODELS = ['spam_message', 'pymk'];
const CLIENTS = 64;
const SINGLE_ROWS = 20_000;
const BATCH_ROWS = 100_000;
const CHUNK = 5_000;
const REPEATS = 3;

interface Case {
  name: string;
  checked: CheckedModel;
  bundle: Bundle;
  bytes: Uint8Array;
  model: Model;
  store: MemoryEntityStore;
}

async function load(name: string, kernels: Uint8Array): Promise<Case> {
  const dir = join(MODELS_DIR, name);
  const source = readFileSync(join(dir, 'model.pml'), 'utf8');
  const checked = checkSource('model.pml', source).checked!;
  const bundle = readBundle(join(dir, 'bundle'));
  const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes: kernels,
  });
  return {
    name,
    checked,
    bundle,
    bytes,
    model: await Model.load(bytes),
    store: new MemoryEntityStore(bundle),
  };
}

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error(`pool bench: ${what} differs`);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface SingleFigures {
  rowsPerSec: number;
  p50: number;
  p99: number;
  tasks: number;
}

/** CLIENTS closed-loop clients score `rows` one call each. */
async function singleRows(pool: ScoringPool, rows: Row[]): Promise<SingleFigures> {
  const lat: number[] = [];
  let next = 0;
  const tasks0 = pool.stats().tasks;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        const s = performance.now();
        await pool.scoreRow(row);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    rowsPerSec: rows.length / secs,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    tasks: pool.stats().tasks - tasks0,
  };
}

async function best<T>(f: () => Promise<T>, key: (t: T) => number): Promise<T> {
  let top: T | null = null;
  for (let k = 0; k < REPEATS; k++) {
    const t = await f();
    if (top === null || key(t) > key(top)) top = t;
  }
  return top!;
}

/** rows/s of BATCH_ROWS rows in CHUNK-row calls submitted together. */
async function batchRate(score: (rows: Row[]) => Promise<unknown>, chunks: Row[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(chunks.map((c) => score(c)));
  return (chunks.length * CHUNK) / ((performance.now() - t0) / 1000);
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number): string => x.toFixed(2);

export async function run(): Promise<string> {
  const kernels = await kernelModuleBytes();
  const all = availableParallelism();
  const single: string[] = [
    `| model | mode | rows/s | p50 ms | p99 ms | tasks for ${fmt(SINGLE_ROWS)} calls |`,
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  const batch: string[] = [`| model | host | rows/s | vs in process |`, '| --- | --- | ---: | ---: |'];
  for (const name of MODELS) {
    const c = await load(name, kernels);
    const rows = randomRows(c.checked, c.bundle, { seed: 21, count: SINGLE_ROWS });
    const want = c.model.score(rows, c.store).rows();
    const modes: [string, PoolOptions][] = [
      ['micro-batching (1 ms, ≤ 256)', {}],
      ['one task per row', { maxBatchRows: 1 }],
    ];
    for (const [mode, options] of modes) {
      const pool = await ScoringPool.create(c.bytes, { entities: c.store, ...options });
      try {
        const got = await Promise.all(rows.slice(0, 500).map((r) => pool.scoreRow(r)));
        assert.deepStrictEqual(got, want.slice(0, 500), `${name} ${mode}: rows differ from Model.score`);
        const f = await best(
          () => singleRows(pool, rows),
          (x) => x.rowsPerSec,
        );
        single.push(
          `| ${name} | ${mode} | ${fmt(f.rowsPerSec)} | ${ms(f.p50)} | ${ms(f.p99)} | ${fmt(f.tasks)} |`,
        );
        console.log(single[single.length - 1]);
      } finally {
        await pool.close();
      }
    }
    // in-process reference for single rows: one Model.score call per row, same thread
    {
      const t0 = performance.now();
      for (const r of rows) c.model.score([r], c.store);
      const rate = rows.length / ((performance.now() - t0) / 1000);
      single.push(`| ${name} | in process, Model.score per row (reference) | ${fmt(rate)} | | | |`);
    }

    const big = randomRows(c.checked, c.bundle, { seed: 22, count: BATCH_ROWS });
    const chunks = Array.from({ length: BATCH_ROWS / CHUNK }, (_, k) =>
      big.slice(k * CHUNK, (k + 1) * CHUNK),
    );
    const inProcess = await best(
      () => batchRate(async (r) => c.model.score(r, c.store), chunks),
      (x) => x,
    );
    batch.push(`| ${name} | in process, Model.score | ${fmt(inProcess)} | 1.00 |`);
    for (const threads of [...new Set([1, all])]) {
      const pool = await ScoringPool.create(c.bytes, { threads, entities: c.store });
      try {
        same(
          (await pool.score(chunks[0]!)).bytes(),
          c.model.score(chunks[0]!, c.store).bytes(),
          `${name} batch`,
        );
        const rate = await best(
          () => batchRate((r) => pool.score(r), chunks),
          (x) => x,
        );
        batch.push(
          `| ${name} | pool, ${threads} thread${threads > 1 ? 's' : ''} | ${fmt(rate)} | ${(rate / inProcess).toFixed(2)} |`,
        );
        console.log(batch[batch.length - 1]);
      } finally {
        await pool.close();
      }
    }
  }
  return [
    `Single-row calls: ${CLIENTS} closed-loop clients, ${fmt(SINGLE_ROWS)} rows, ${all} threads; best of ${REPEATS}.`,
    '',
    ...single,
    '',
    `Batches: ${fmt(BATCH_ROWS)} rows in calls of ${fmt(CHUNK)} rows submitted together; best of ${REPEATS}.`,
    '',
    ...batch,
  ].join('\n');
}
