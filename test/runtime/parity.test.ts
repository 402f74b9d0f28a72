// Parity across the ways a compiled module runs: for every fixture model, one row set (rows.csv and
// 10,000 generated rows with missing values, unknown categories and entities) is scored (a) in
// process by the runtime core, (b) by the worker pool, (c) by the batch scorer from a CSV file, and
// (d) by the HTTP service (POST /score); every output value and status word must be identical to
// (a) — the pool compares the raw bytes. Headless Chromium (e) is checked against (a) on every
// fixture by chromium.test.ts. Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatRowsCsv, type Row } from '../../abi/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { randomRows } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MemoryEntityStore, Model, type OutputValue, type ScoreResult } from '../../runtime/index.js';
import { scoreBatches } from '../../runtime/node/batch.js';
import { ScoringPool } from '../../runtime/node/pool.js';
import { ModelServer } from '../../runtime/node/server.js';
import { MODELS_DIR } from '../helpers.js';
import { compileFixture } from './server-helpers.js';

let kernels: Uint8Array;
let dir: string;

/** The JSON service's encoding of non-finite numbers and −0, decoded. */
function decode(v: unknown): unknown {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  if (Array.isArray(v)) return v.map(decode);
  return v;
}

function same(a: unknown, b: OutputValue): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  return Object.is(a, b);
}

function post(port: number, path: string, body: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON has no NaN/±Infinity/−0: the service accepts them as strings (docs/serving.md). */
function jsonRow(row: Row): Record<string, unknown> {
  const enc = (v: unknown): unknown =>
    typeof v === 'number'
      ? Number.isFinite(v)
        ? Object.is(v, -0)
          ? '-0'
          : v
        : String(v)
      : Array.isArray(v)
        ? v.map(enc)
        : v;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, enc(v)]));
}

describe('parity: in process, worker pool, batch scorer, HTTP service', () => {
  before(async () => {
    kernels = await kernelModuleBytes();
    dir = mkdtempSync(join(tmpdir(), 'proml-parity-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of readdirSync(MODELS_DIR).sort()) {
    it(`${name}: identical outputs everywhere`, async () => {
      const f = await compileFixture(name, kernels);
      const rows = [...f.csv, ...randomRows(f.checked, f.bundle, { seed: 4242, count: 10_000 })];
      const store = new MemoryEntityStore(f.bundle);
      const model = await Model.load(f.bytes);
      const a: ScoreResult = model.score(rows, store);
      const outputs = model.manifest.outputs.map((o) => o.name);
      const agree = (
        what: string,
        value: (name: string, r: number) => unknown,
        status: (r: number) => number,
      ): void => {
        for (let r = 0; r < rows.length; r++) {
          assert.equal(status(r), a.status[r], `${what}: row ${r} status`);
          for (const o of outputs)
            assert.ok(
              same(value(o, r), a.value(o, r)),
              `${what}: row ${r} '${o}' = ${String(value(o, r))}, in process ${String(a.value(o, r))}`,
            );
        }
      };

      // (b) worker pool: the same bytes
      const pool = await ScoringPool.create(f.bytes, { threads: 2, entities: store });
      try {
        const b = await pool.score(rows);
        assert.deepEqual(b.bytes(), a.bytes(), 'worker pool');
      } finally {
        await pool.close();
      }

      // (c) batch scorer from a CSV file (rows format); -0 does not survive CSV text, so compare the rest
      const csv = join(dir, `${name}.csv`);
      writeFileSync(csv, formatRowsCsv(rows, csvColumns(f.checked)));
      const got = new Map<number, ScoreResult>();
      for await (const batch of scoreBatches(model, csv, { threads: 1, entities: store, batchRows: 4096 }))
        got.set(batch.rowBase, batch.result);
      const at = (r: number): [ScoreResult, number] => {
        for (const [base, res] of got) if (r >= base && r < base + res.n) return [res, r - base];
        throw new Error(`row ${r} not scored`);
      };
      agree(
        'batch scorer',
        (o, r) => {
          const [res, k] = at(r);
          return res.value(o, k);
        },
        (r) => {
          const [res, k] = at(r);
          return res.status[k]!;
        },
      );

      // (d) HTTP service, POST /score in chunks
      const server = await ModelServer.create(f.bytes, { entities: store, maxBodyBytes: 64 * 1024 * 1024 });
      try {
        const { port } = await server.listen(0);
        const results: { outputs: Record<string, unknown> | null; rejected: { code: string } | null }[] = [];
        for (let i = 0; i < rows.length; i += 2_000) {
          const res = await post(port, '/score', JSON.stringify(rows.slice(i, i + 2_000).map(jsonRow)));
          assert.equal(res.status, 200, JSON.stringify(res.json).slice(0, 300));
          const body = res.json as { results: typeof results };
          results.push(...body.results);
        }
        assert.equal(results.length, rows.length);
        results.forEach((res, r) => {
          const rej = a.rejection(r);
          if (rej !== null) {
            assert.equal(res.rejected?.code, rej.code, `service: row ${r}`);
            return;
          }
          for (const o of outputs)
            assert.ok(same(decode(res.outputs![o]), a.value(o, r)), `service: row ${r} '${o}'`);
        });
      } finally {
        await server.close();
      }
    });
  }
});
