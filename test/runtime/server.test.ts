// The HTTP service (runtime/node/server.ts), started in process on port 0: every route answers;
// /score (JSON and Arrow IPC) and /v2 infer give exactly Model.score's numbers (every fixture row
// and random rows of the all-types fixture); bad requests get their 4xx status and PML code;
// hot swap under load (20 clients, v1 → v2 → v3) fails no request and every response names the
// version that scored it and equals that version's in-process scores; a request keeps the version
// it started with; failed loads keep the old version; rollback, reload, timeouts and graceful
// shutdown. The CLI runs `proml serve` once (SIGHUP reload, SIGTERM exit 0).
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles fixtures).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Bool,
  FixedSizeList,
  Field,
  Float32,
  Float64,
  Int32,
  List,
  Table,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import type { InputColumn, Row } from '../../abi/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { randomRows } from '../../compiler/reference/index.js';
import { MemoryEntityStore, Model, type ScoreResult } from '../../runtime/index.js';
import { ModelServer, type ScorerFactory } from '../../runtime/node/server.js';
import { ROOT } from '../helpers.js';
import { client, compileFixture, errorOf, num, toJson, type Compiled, type Reply } from './server-helpers.js';

let kernels: Uint8Array;
let all: Compiled; // all_types: every input type, entities
let v1: Compiled; // tiny_linear and two more versions of it
let v2: Compiled;
let v3: Compiled;

async function started(
  bytes: Uint8Array,
  options: Parameters<typeof ModelServer.create>[1] = {},
): Promise<{ server: ModelServer; http: ReturnType<typeof client>; base: string }> {
  const server = await ModelServer.create(bytes, options);
  const addr = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${addr.port}`;
  return { server, http: client(base), base };
}

async function stop(s: { server: ModelServer; http: ReturnType<typeof client> }): Promise<void> {
  s.http.agent.destroy();
  await s.server.close();
}

/** Output `name` of every row as the in-process model gives it. */
function expected(result: ScoreResult): { outputs: Record<string, unknown> | null; rejected: unknown }[] {
  return result.rows().map((r) => ({ outputs: r.outputs, rejected: r.rejected }));
}

/** Entity ids as text (v2 BYTES), every other value as is. */
function v2Request(inputs: readonly InputColumn[], rows: readonly Row[]): unknown {
  return {
    id: 'parity',
    inputs: inputs.map((c) => {
      const t = c.type;
      const datatype = {
        f32: 'FP32',
        f64: 'FP64',
        int: 'INT32',
        bool: 'BOOL',
        string: 'BYTES',
        category: 'BYTES',
        entity: 'BYTES',
        bag: t.kind === 'bag' && t.elem === 'int' ? 'INT32' : 'BYTES',
        vector: t.kind === 'vector' && t.elem === 'f64' ? 'FP64' : 'FP32',
      }[t.kind];
      const data = rows.map((r) => {
        const v = (r as Record<string, unknown>)[c.name];
        if (v === undefined) return null;
        return t.kind === 'entity' && typeof v === 'number' ? String(v) : v;
      });
      const shape =
        t.kind === 'vector' ? [rows.length, t.size] : t.kind === 'bag' ? [rows.length, -1] : [rows.length];
      return { name: c.name, shape: shape.map((d) => Math.max(d, 0)), datatype, data };
    }),
  };
}

/** An Arrow table with one column per input (every Arrow type the ABI takes). */
function arrowTable(inputs: readonly InputColumn[], rows: readonly Row[]): Uint8Array {
  const cols: Record<string, Vector> = {};
  for (const c of inputs) {
    const t = c.type;
    const item = (type: DataType): Field => new Field('item', type, true);
    const type: DataType =
      t.kind === 'f32'
        ? new Float32()
        : t.kind === 'f64'
          ? new Float64()
          : t.kind === 'int'
            ? new Int32()
            : t.kind === 'bool'
              ? new Bool()
              : t.kind === 'bag'
                ? new List(item(t.elem === 'int' ? new Int32() : new Utf8()))
                : t.kind === 'vector'
                  ? new FixedSizeList(t.size, item(t.elem === 'f64' ? new Float64() : new Float32()))
                  : new Utf8();
    const values = rows.map((r) => {
      const v = (r as Record<string, unknown>)[c.name];
      if (v === undefined || v === null) return null;
      return t.kind === 'entity' ? String(v) : v;
    });
    cols[c.name] = vectorFromArray(values, type);
  }
  return tableToIPC(new Table(cols), 'stream');
}

describe('proml serve: the HTTP service', () => {
  before(async () => {
    kernels = await kernelModuleBytes();
    all = await compileFixture('all_types', kernels);
    v1 = await compileFixture('tiny_linear', kernels);
    v2 = await compileFixture('tiny_linear', kernels, { version: '0.2.0', scale: 2 });
    v3 = await compileFixture('tiny_linear', kernels, { version: '0.3.0', scale: -3 });
  });

  it('health, server and model metadata, ready, openapi, metrics, unknown routes and models', async () => {
    const s = await started(all.bytes, { entities: new MemoryEntityStore(all.bundle) });
    try {
      const model = await Model.load(all.bytes);
      const tag = `${model.manifest.model.version}+${model.sha256!.slice(0, 12)}`;
      assert.equal(s.server.version, tag);
      const live = await s.http.request('GET', '/v2/health/live');
      assert.equal(live.status, 200);
      assert.deepEqual(live.json, { live: true });
      assert.equal(live.headers['proml-model-version'], tag);
      assert.deepEqual((await s.http.request('GET', '/v2/health/ready')).json, { ready: true });
      const meta = (await s.http.request('GET', '/v2')).json as { name: string; extensions: string[] };
      assert.equal(meta.name, 'proml');
      assert.ok(meta.extensions.includes('proml_rejections'));
      const md = await s.http.request('GET', '/v2/models/all_types');
      assert.equal(md.status, 200);
      const m = md.json as {
        name: string;
        versions: string[];
        platform: string;
        inputs: { name: string; datatype: string; shape: number[] }[];
        outputs: { name: string; datatype: string; shape: number[] }[];
      };
      assert.equal(m.name, 'all_types');
      assert.deepEqual(m.versions, [tag]);
      const byName = new Map(m.inputs.map((i) => [i.name, i]));
      assert.deepEqual(byName.get('a_f32'), { name: 'a_f32', datatype: 'FP32', shape: [-1] });
      assert.deepEqual(byName.get('a_f64'), { name: 'a_f64', datatype: 'FP64', shape: [-1] });
      assert.deepEqual(byName.get('an_int'), { name: 'an_int', datatype: 'INT32', shape: [-1] });
      assert.deepEqual(byName.get('a_bool'), { name: 'a_bool', datatype: 'BOOL', shape: [-1] });
      assert.deepEqual(byName.get('cat_oov'), { name: 'cat_oov', datatype: 'BYTES', shape: [-1] });
      assert.deepEqual(byName.get('tags'), { name: 'tags', datatype: 'BYTES', shape: [-1, -1] });
      assert.deepEqual(byName.get('ids'), { name: 'ids', datatype: 'INT32', shape: [-1, -1] });
      assert.deepEqual(byName.get('vec_f64'), { name: 'vec_f64', datatype: 'FP64', shape: [-1, 3] });
      assert.deepEqual(byName.get('user_id'), { name: 'user_id', datatype: 'BYTES', shape: [-1] });
      assert.equal(m.inputs.length, model.manifest.inputs.length);
      assert.deepEqual(
        m.outputs.map((o) => o.name),
        model.manifest.outputs.map((o) => o.name),
      );
      assert.deepEqual((await s.http.request('GET', '/v2/models/all_types/ready')).json, {
        name: 'all_types',
        ready: true,
      });
      assert.equal((await s.http.request('GET', `/v2/models/all_types/versions/${tag}`)).status, 200);
      assert.equal((await s.http.request('GET', `/v2/models/all_types/versions/1.0.0/ready`)).status, 200);
      // not found: model, version, route; wrong method
      for (const [method, path] of [
        ['GET', '/v2/models/nope'],
        ['GET', '/v2/models/nope/ready'],
        ['POST', '/v2/models/nope/infer'],
        ['GET', '/v2/models/all_types/versions/9.9.9'],
      ] as const) {
        const r = await s.http.request(method, path, method === 'POST' ? '{}' : undefined);
        assert.equal(r.status, 404, path);
        assert.equal(errorOf(r).code, 'PML4503', path);
      }
      const nr = await s.http.request('GET', '/v3/whatever');
      assert.equal(nr.status, 404);
      assert.equal(errorOf(nr).code, 'PML4504');
      const bm = await s.http.request('GET', '/score');
      assert.equal(bm.status, 405);
      assert.equal(errorOf(bm).code, 'PML4505');
      assert.equal(bm.headers['allow'], 'POST');
      // admin routes are off by default
      const admin = await s.http.request('POST', '/admin/models/all_types/rollback', '');
      assert.equal(admin.status, 404);
      // OpenAPI names every route
      const api = (await s.http.request('GET', '/openapi.json')).json as { openapi: string; paths: object };
      assert.match(api.openapi, /^3\./);
      for (const p of [
        '/v2/health/live',
        '/v2/health/ready',
        '/v2',
        '/v2/models/{name}',
        '/v2/models/{name}/ready',
        '/v2/models/{name}/infer',
        '/score',
        '/metrics',
        '/openapi.json',
      ])
        assert.ok(p in api.paths, p);
      // metrics: after a scored request with a rejected row
      const ok = await s.http.request('POST', '/score', toJson([all.csv[0], { ...all.csv[0], a_f64: -5 }]));
      assert.equal(ok.status, 200);
      const metrics = await s.http.request('GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = metrics.body.toString('utf8');
      assert.match(text, /# TYPE proml_http_request_duration_seconds histogram/);
      assert.match(text, /proml_http_request_duration_seconds_bucket\{route="\/score",le="\+Inf"\} 1\n/);
      assert.match(text, /proml_http_request_duration_seconds_count\{route="\/v2\/models\/\{name\}"\} \d+/);
      assert.match(
        text,
        new RegExp(
          `proml_rows_scored_total\\{model="all_types",version="${tag.replace('+', '\\+')}"\\} 1\\n`,
        ),
      );
      assert.match(text, /proml_rows_rejected_total\{[^}]*code="PML4102"\} 1\n/);
      assert.match(text, /proml_errors_total\{code="PML4503"\} 4\n/);
      assert.match(text, /proml_http_in_flight_requests 1\n/); // this request
      assert.match(
        text,
        new RegExp(`proml_model_info\\{model="all_types",version="1.0.0",tag="${tag.replace('+', '\\+')}"`),
      );
      assert.match(text, /proml_http_requests_total\{route="\/score",status="200"\} 1\n/);
      // every sample line is `name{labels} value`
      for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#')))
        assert.match(line, /^[a-z_]+(\{.*\})? ([-+0-9.e]+|\+Inf)$/, line);
    } finally {
      await stop(s);
    }
  });

  it('/score (JSON and Arrow) and /v2 infer equal Model.score in process, number for number', async () => {
    const store = new MemoryEntityStore(all.bundle);
    const s = await started(all.bytes, { entities: store, maxBodyBytes: 64 * 1024 * 1024 });
    try {
      const model = await Model.load(all.bytes);
      const rows = [...all.csv, ...randomRows(all.checked, all.bundle, { seed: 11, count: 1_500 })];
      const want = model.score(rows, store);
      const wantRows = expected(want);
      assert.ok(want.rejected > 0 && want.rejected < rows.length, 'rows mix scored and rejected');
      // JSON rows (non-finite numbers and -0 as strings)
      const r = await s.http.request('POST', '/score', toJson(rows));
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(r.headers['proml-model-version'], s.server.version);
      const body = r.json as {
        model: { version: string; sha256: string };
        rejected: number;
        results: { outputs?: Record<string, unknown>; rejected?: unknown }[];
      };
      assert.equal(body.model.version, s.server.version);
      assert.equal(body.model.sha256, model.sha256);
      assert.equal(body.rejected, want.rejected);
      body.results.forEach((got, i) => {
        const w = wantRows[i]!;
        if (w.rejected !== null) return assert.deepEqual(got, { rejected: w.rejected }, `row ${i}`);
        for (const [k, v] of Object.entries(w.outputs!))
          assert.ok(Object.is(num(got.outputs![k]), v) || sameList(num(got.outputs![k]), v), `row ${i} ${k}`);
      });
      // one row, and {rows: [...]}
      const one = await s.http.request('POST', '/score', toJson(rows[0]));
      assert.deepEqual((one.json as typeof body).results, body.results.slice(0, 1));
      const wrapped = await s.http.request('POST', '/score', toJson({ rows: rows.slice(0, 3) }));
      assert.deepEqual((wrapped.json as typeof body).results, body.results.slice(0, 3));
      // v2 infer: columnar tensors in, output tensors out; rejections in a parameter
      const inf = await s.http.request(
        'POST',
        '/v2/models/all_types/infer',
        toJson(v2Request(model.manifest.inputs, rows)),
      );
      assert.equal(inf.status, 200, inf.body.toString());
      const v = inf.json as {
        model_name: string;
        model_version: string;
        id: string;
        parameters: { proml_rejected: number; proml_rejections: string };
        outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
      };
      assert.equal(v.model_name, 'all_types');
      assert.equal(v.model_version, s.server.version);
      assert.equal(v.id, 'parity');
      assert.equal(v.parameters.proml_rejected, want.rejected);
      const rejections = JSON.parse(v.parameters.proml_rejections) as {
        row: number;
        code: string;
        input: string;
      }[];
      assert.deepEqual(
        rejections.map((x) => x.row),
        wantRows.flatMap((w, i) => (w.rejected !== null ? [i] : [])),
      );
      for (const o of model.manifest.outputs) {
        const t = v.outputs.find((x) => x.name === o.name)!;
        assert.deepEqual(t.shape, o.size > 1 ? [rows.length, o.size] : [rows.length]);
        for (let i = 0; i < rows.length; i++) {
          const w = want.value(o.name, i);
          const got = o.size > 1 ? t.data.slice(i * o.size, (i + 1) * o.size) : t.data[i];
          if (w === null)
            assert.ok(o.size > 1 ? (got as unknown[]).every((x) => x === null) : got === null, `row ${i}`);
          else
            assert.ok(
              Object.is(num(got), w) || sameList(num(got), w),
              `row ${i} ${o.name}: ${String(got)} vs ${String(w)}`,
            );
        }
      }
      // Arrow IPC in and out: the output columns carry the module's bytes
      const arrow = await s.http.request('POST', '/score', arrowTable(model.manifest.inputs, rows), {
        'content-type': 'application/vnd.apache.arrow.stream',
      });
      assert.equal(arrow.status, 200, arrow.body.toString());
      assert.equal(arrow.headers['content-type'], 'application/vnd.apache.arrow.stream');
      assert.equal(arrow.headers['proml-model-version'], s.server.version);
      const table = tableFromIPC(arrow.body);
      assert.equal(table.numRows, rows.length);
      assert.equal(table.schema.metadata.get('proml.model.version'), s.server.version);
      for (const o of want.outputs) {
        const col = table.getChild(o.name)!;
        assert.equal(col.data.length, 1);
        const d = col.data[0]!;
        const values = o.size > 1 ? d.children[0]!.values : d.values;
        const bytes = new Uint8Array(values.buffer, values.byteOffset, o.values.byteLength);
        assert.deepEqual(
          bytes,
          new Uint8Array(o.values.buffer, o.values.byteOffset, o.values.byteLength),
          o.name,
        );
        for (let i = 0; i < rows.length; i++)
          assert.equal(col.isValid(i), ((o.validity[i >> 3]! >> (i & 7)) & 1) === 1, `${o.name} row ${i}`);
      }
      const status = table.getChild('proml_status')!;
      for (let i = 0; i < rows.length; i++) assert.equal(status.get(i), want.status[i]);
      assert.equal(table.getChild('proml_rejection_code')!.get(rejections[0]!.row), rejections[0]!.code);
    } finally {
      await stop(s);
    }
  });

  it('--threads: a worker pool scores the same bytes as Model.score in process', async () => {
    const { ScoringPool } = await import('../../runtime/node/pool.js');
    const store = new MemoryEntityStore(all.bundle);
    const s = await started(all.bytes, {
      entities: store,
      scorer: (bytes) => ScoringPool.create(bytes, { threads: 2, entities: store }),
    });
    try {
      const model = await Model.load(all.bytes);
      const rows = [...all.csv, ...randomRows(all.checked, all.bundle, { seed: 12, count: 300 })];
      const want = model.score(rows, store);
      const arrow = await s.http.request('POST', '/score', arrowTable(model.manifest.inputs, rows), {
        'content-type': 'application/vnd.apache.arrow.stream',
      });
      assert.equal(arrow.status, 200, arrow.body.toString());
      const table = tableFromIPC(arrow.body);
      for (const o of want.outputs) {
        const d = table.getChild(o.name)!.data[0]!;
        const values = o.size > 1 ? d.children[0]!.values : d.values;
        assert.deepEqual(
          new Uint8Array(values.buffer, values.byteOffset, o.values.byteLength),
          new Uint8Array(o.values.buffer, o.values.byteOffset, o.values.byteLength),
          o.name,
        );
      }
      const bad = await s.http.request('POST', '/score', toJson([rows[0], { ...rows[0], a_f64: 'x' }]));
      assert.equal(bad.status, 400);
      assert.equal(errorOf(bad).code, 'PML4202');
    } finally {
      await stop(s);
    }
  });

  it('bad requests get their status and code, and the server keeps serving', async () => {
    const s = await started(all.bytes, { entities: new MemoryEntityStore(all.bundle), maxBodyBytes: 4096 });
    try {
      const row = all.csv[0]!;
      const cases: [string, Reply, number, string, string?][] = [
        ['malformed JSON', await s.http.request('POST', '/score', '{"a_f64": 1'), 400, 'PML4205'],
        ['empty body', await s.http.request('POST', '/score', ''), 400, 'PML4205'],
        ['not rows', await s.http.request('POST', '/score', '42'), 400, 'PML4205'],
        [
          'wrong type',
          await s.http.request('POST', '/score', toJson([row, { ...row, a_f64: 'x' }])),
          400,
          'PML4202',
          'a_f64',
        ],
        [
          'unknown field',
          await s.http.request('POST', '/score', toJson({ ...row, nope: 1 })),
          400,
          'PML4201',
          'nope',
        ],
        [
          'vector length',
          await s.http.request('POST', '/score', toJson({ ...row, vec_required: [1] })),
          400,
          'PML4203',
          'vec_required',
        ],
        [
          'media type',
          await s.http.request('POST', '/score', 'x', { 'content-type': 'image/png' }),
          415,
          'PML4506',
        ],
        [
          'bad arrow',
          await s.http.request('POST', '/score', 'not arrow', {
            'content-type': 'application/vnd.apache.arrow.stream',
          }),
          400,
          'PML4205',
        ],
        [
          'oversized',
          await s.http.request('POST', '/score', toJson({ a_string: 'x'.repeat(5000) })),
          413,
          'PML4501',
        ],
        [
          'oversized, chunked',
          await s.http.request('POST', '/score', toJson({ a_string: 'x'.repeat(5000) }), {
            'transfer-encoding': 'chunked',
          }),
          413,
          'PML4501',
        ],
        [
          'v2 no inputs',
          await s.http.request('POST', '/v2/models/all_types/infer', '{}'),
          400,
          'PML4205',
          'inputs',
        ],
        [
          'v2 unknown input',
          await s.http.request(
            'POST',
            '/v2/models/all_types/infer',
            toJson({ inputs: [{ name: 'zz', shape: [1], datatype: 'FP32', data: [1] }] }),
          ),
          400,
          'PML4201',
          'zz',
        ],
        [
          'v2 datatype',
          await s.http.request(
            'POST',
            '/v2/models/all_types/infer',
            toJson({ inputs: [{ name: 'a_f64', shape: [1], datatype: 'BYTES', data: ['1'] }] }),
          ),
          400,
          'PML4202',
          'a_f64',
        ],
        [
          'v2 value type',
          await s.http.request(
            'POST',
            '/v2/models/all_types/infer',
            toJson({ inputs: [{ name: 'a_f64', shape: [1], datatype: 'FP64', data: [true] }] }),
          ),
          400,
          'PML4202',
          'a_f64',
        ],
        [
          'v2 row counts differ',
          await s.http.request(
            'POST',
            '/v2/models/all_types/infer',
            toJson({
              inputs: [
                { name: 'a_f64', shape: [2], datatype: 'FP64', data: [1, 2] },
                { name: 'an_int', shape: [1], datatype: 'INT32', data: [1] },
              ],
            }),
          ),
          400,
          'PML4203',
          'an_int',
        ],
        [
          'v2 shape vs data',
          await s.http.request(
            'POST',
            '/v2/models/all_types/infer',
            toJson({ inputs: [{ name: 'a_f64', shape: [3], datatype: 'FP64', data: [1] }] }),
          ),
          400,
          'PML4203',
          'a_f64',
        ],
        [
          'v2 unknown output',
          await s.http.request(
            'POST',
            '/v2/models/all_types/infer',
            toJson({
              inputs: [{ name: 'a_f64', shape: [1], datatype: 'FP64', data: [1] }],
              outputs: [{ name: 'nope' }],
            }),
          ),
          400,
          'PML4205',
          'outputs',
        ],
      ];
      for (const [what, r, status, code, field] of cases) {
        assert.equal(r.status, status, `${what}: ${r.body.toString()}`);
        const e = errorOf(r);
        assert.equal(e.code, code, what);
        assert.equal(typeof e.message, 'string', what);
        if (field !== undefined) assert.equal(e.field, field, what);
      }
      assert.equal(errorOf(cases[3]![1]).row, 1);
      const still = await s.http.request('POST', '/score', toJson(row));
      assert.equal(still.status, 200);
    } finally {
      await stop(s);
    }
  });

  it('a request slower than --timeout-ms gets 503 PML4502; a model without its entity store does not load', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow: ScorerFactory = (_bytes, model) =>
      Promise.resolve({
        score: async (rows) => {
          await gate;
          return model.score(rows);
        },
        close: () => Promise.resolve(),
      });
    const s = await started(v1.bytes, { timeoutMs: 50, scorer: slow });
    try {
      const r = await s.http.request('POST', '/score', toJson({ x: 1 }));
      assert.equal(r.status, 503);
      assert.equal(errorOf(r).code, 'PML4502');
      assert.equal(r.headers['retry-after'], '1');
    } finally {
      release();
      await stop(s);
    }
    await assert.rejects(ModelServer.create(all.bytes), /PML4204/);
  });

  it('hot swap under load: 20 clients, v1 → v2 → v3, no failed request, each version scores as in process', async () => {
    const s = await started(v1.bytes, { admin: true });
    try {
      const models = await Promise.all([v1, v2, v3].map((c) => Model.load(c.bytes)));
      const tags = models.map((m) => `${m.manifest.model.version}+${m.sha256!.slice(0, 12)}`);
      assert.equal(new Set(tags).size, 3);
      const pool = randomRows(v1.checked, v1.bundle, { seed: 3, count: 64 });
      const want = new Map(tags.map((t, i) => [t, models[i]!.score(pool).rows()]));
      // versions differ on these rows
      assert.notDeepEqual(want.get(tags[0]!), want.get(tags[1]!));
      let stopFlag = false;
      let done = 0;
      const seen = new Map<string, number>();
      const failures: string[] = [];
      const clientLoop = async (k: number): Promise<void> => {
        let i = k;
        while (!stopFlag) {
          const start = (i * 7) % (pool.length - 8);
          i++;
          const r = await s.http.request('POST', '/score', toJson(pool.slice(start, start + 8)));
          done++;
          if (r.status !== 200) {
            failures.push(`${r.status} ${r.body.toString()}`);
            continue;
          }
          const tag = String(r.headers['proml-model-version']);
          const body = r.json as {
            model: { version: string };
            results: { outputs: Record<string, unknown> }[];
          };
          if (body.model.version !== tag) failures.push(`header ${tag} body ${body.model.version}`);
          const w = want.get(tag);
          if (w === undefined) {
            failures.push(`unknown version ${tag}`);
            continue;
          }
          body.results.forEach((res, q) => {
            const e = w[start + q]!;
            for (const [name, v] of Object.entries(e.outputs ?? {}))
              if (!Object.is(num(res.outputs[name]), v))
                failures.push(`${tag} row ${start + q}: ${String(res.outputs[name])} vs ${String(v)}`);
          });
          seen.set(tag, (seen.get(tag) ?? 0) + 1);
        }
      };
      const waitFor = async (n: number): Promise<void> => {
        const target = done + n;
        while (done < target) await new Promise((r) => setImmediate(r));
      };
      const clients = Array.from({ length: 20 }, (_, k) => clientLoop(k));
      const admin = client(s.base);
      await waitFor(300);
      const l2 = await admin.request('POST', '/admin/models/tiny_linear/load', v2.bytes, {
        'content-type': 'application/wasm',
      });
      assert.equal(l2.status, 200, l2.body.toString());
      assert.deepEqual(l2.json, { name: 'tiny_linear', version: tags[1], previous: tags[0] });
      await waitFor(300);
      // a bad module is refused and the current version keeps serving
      const bad = await admin.request(
        'POST',
        '/admin/models/tiny_linear/load',
        new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]),
        {
          'content-type': 'application/wasm',
        },
      );
      assert.equal(bad.status, 400);
      assert.equal(errorOf(bad).code, 'PML4005');
      assert.equal(s.server.version, tags[1]);
      const dir = mkdtempSync(join(tmpdir(), 'proml-serve-'));
      try {
        writeFileSync(join(dir, 'v3.wasm'), v3.bytes);
        const l3 = await admin.request(
          'POST',
          '/admin/models/tiny_linear/load',
          toJson({ path: join(dir, 'v3.wasm') }),
        );
        assert.equal(l3.status, 200, l3.body.toString());
        assert.equal((l3.json as { version: string }).version, tags[2]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      await waitFor(300);
      stopFlag = true;
      await Promise.all(clients);
      admin.agent.destroy();
      assert.deepEqual(failures.slice(0, 5), []);
      for (const t of tags) assert.ok((seen.get(t) ?? 0) > 0, `no response from ${t}`);
      // rollback: v3 → v2 → v1, then nothing left
      const rb = await s.http.request('POST', '/admin/models/tiny_linear/rollback', '');
      assert.deepEqual(rb.json, { name: 'tiny_linear', version: tags[1], previous: tags[2] });
      const after = await s.http.request('POST', '/score', toJson(pool[0]));
      assert.equal(after.headers['proml-model-version'], tags[1]);
      assert.equal((await s.http.request('POST', '/admin/models/tiny_linear/rollback', '')).status, 200);
      const none = await s.http.request('POST', '/admin/models/tiny_linear/rollback', '');
      assert.equal(none.status, 409);
      assert.equal(errorOf(none).code, 'PML4508');
      assert.equal(s.server.version, tags[0]);
      const metrics = (await s.http.request('GET', '/metrics')).body.toString();
      assert.match(metrics, /proml_model_swaps_total 4\n/);
      const wrongName = await s.http.request('POST', '/admin/models/other/rollback', '');
      assert.equal(wrongName.status, 404);
    } finally {
      await stop(s);
    }
  });

  it('a request finishes on the version it started with; reload() reads the model file again', async () => {
    const gates: (() => void)[] = [];
    let entered = (): void => {};
    const gated: ScorerFactory = (_bytes, model) =>
      Promise.resolve({
        score: async (rows) => {
          if (model.manifest.model.version === '0.1.0') {
            entered();
            await new Promise<void>((r) => gates.push(r));
          }
          return model.score(rows);
        },
        close: () => Promise.resolve(),
      });
    const dir = mkdtempSync(join(tmpdir(), 'proml-serve-'));
    const path = join(dir, 'model.wasm');
    writeFileSync(path, v1.bytes);
    const s = await started(v1.bytes, { scorer: gated, modelPath: path });
    try {
      const old = s.server.version;
      const inside = new Promise<void>((r) => (entered = r));
      const pending = s.http.request('POST', '/score', toJson([{ x: 0.5 }]));
      await inside; // the request holds v1 and waits in its scorer
      const tag2 = await s.server.load(v2.bytes);
      assert.equal(s.server.version, tag2);
      gates.forEach((g) => g());
      const r = await pending;
      assert.equal(r.status, 200);
      assert.equal(r.headers['proml-model-version'], old);
      const want = (await Model.load(v1.bytes)).score([{ x: 0.5 }]).value('y', 0);
      assert.equal((r.json as { results: { outputs: { y: number } }[] }).results[0]!.outputs.y, want);
      // SIGHUP's reload(): the file now holds v3
      writeFileSync(path, v3.bytes);
      const tag3 = await s.server.reload();
      assert.notEqual(tag3, tag2);
      assert.equal(s.server.version, tag3);
      // a broken file leaves v3 serving
      writeFileSync(path, 'broken');
      await assert.rejects(s.server.reload(), /PML4005/);
      assert.equal(s.server.version, tag3);
    } finally {
      await stop(s);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('graceful shutdown: new connections are refused, in-flight requests finish', async () => {
    let release = (): void => {};
    let entered = (): void => {};
    const inside = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    const gated: ScorerFactory = (_bytes, model) =>
      Promise.resolve({
        score: async (rows) => {
          entered();
          await gate;
          return model.score(rows);
        },
        close: () => Promise.resolve(),
      });
    const server = await ModelServer.create(v1.bytes, { scorer: gated });
    const addr = await server.listen(0, '127.0.0.1');
    const http = client(`http://127.0.0.1:${addr.port}`);
    const pending = http.request('POST', '/score', toJson([{ x: 1 }, { x: 2 }]));
    await inside;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    // the listening socket is closed: a new connection is refused
    await new Promise<void>((resolve) => {
      const sock = connect(addr.port, '127.0.0.1');
      sock.on('error', () => resolve());
      sock.on('connect', () => {
        sock.destroy();
        assert.fail('connected to a closing server');
      });
    });
    assert.equal(closed, false);
    release();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.headers['connection'], 'close');
    assert.equal((r.json as { results: unknown[] }).results.length, 2);
    await closing;
    http.agent.destroy();
  });

  it('cli/serve.ts (proml serve): SIGHUP reloads the file, SIGTERM exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proml-serve-'));
    const path = join(dir, 'model.wasm');
    writeFileSync(path, v1.bytes);
    // cli/serve.ts directly (what `proml serve` dispatches to), without loading every other command
    const script =
      `const { cmdServe } = await import('./cli/serve.ts');` +
      `process.exitCode = await cmdServe(['${path}', '--port', '0'], ` +
      `{ out: (s) => console.log(s), err: (s) => console.error(s) }, 'test');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const line = (re: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = re.exec(log);
          if (m !== null) resolve(m);
          return m !== null;
        };
        if (check()) return;
        const onData = (c: Buffer): void => {
          log += c.toString();
          if (check()) child.stderr.off('data', onData);
        };
        child.stderr.on('data', onData);
        child.once('exit', () => reject(new Error(`proml serve exited:\n${log}`)));
      });
    try {
      const m = await line(/on http:\/\/127\.0\.0\.1:(\d+)/);
      const http = client(`http://127.0.0.1:${m[1]}`);
      const first = await http.request('POST', '/score', toJson({ x: 1 }));
      assert.equal(first.status, 200);
      assert.match(String(first.headers['proml-model-version']), /^0\.1\.0\+/);
      writeFileSync(path, v2.bytes);
      child.kill('SIGHUP');
      await line(/SIGHUP: now serving 0\.2\.0\+/);
      const second = await http.request('POST', '/score', toJson({ x: 1 }));
      assert.match(String(second.headers['proml-model-version']), /^0\.2\.0\+/);
      http.agent.destroy();
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  after(() => {});
});

function sameList(a: unknown, b: unknown): boolean {
  return (
    Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))
  );
}
