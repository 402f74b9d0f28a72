// The HTTP service under 100,000 bad requests (malformed JSON, wrong types, unknown fields, bodies
// over --max-body): every one gets its 4xx and code, the server keeps serving good requests, and
// the JS heap after a full GC grows by less than HEAP_BOUND (RSS by less than RSS_BOUND) between a
// 10,000-request warm-up and the end. Keep-alive agents, 32 requests in flight, the clients in a
// worker thread. Prints requests/s and the memory figures. Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does).

import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { runInNewContext } from 'node:vm';
import { before, describe, it } from 'node:test';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { ModelServer } from '../../runtime/node/server.js';
import { client, compileFixture, type Compiled } from './server-helpers.js';

/** Heap growth allowed after GC (documented in docs/serving.md). */
const HEAP_BOUND = 8 * 1024 * 1024;
/** RSS growth allowed (generous: the allocator keeps pages it freed). */
const RSS_BOUND = 96 * 1024 * 1024;
const TOTAL = 100_000;
const WARMUP = 10_000;
const CONCURRENCY = 32;

/** A full GC: --expose-gc when given, else enabled at run time (V8 allows it) and fetched from a fresh context. */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The clients (plain JS, node:http only): warm-up, wait for 'go', the rest; each answer checked. */
const CLIENT = `
const { workerData, parentPort } = require('node:worker_threads');
const http = require('node:http');
const { port, total, warmup, concurrency } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, noDelay: true });
const kinds = [
  { body: '{"x": 1', status: 400, code: 'PML4205' },
  { body: '[{"x": "one"}]', status: 400, code: 'PML4202' },
  { body: '{"x": 1, "y": 2}', status: 400, code: 'PML4201' },
  { body: '{"x": [1, 2]}', status: 400, code: 'PML4202' },
  { body: 'null', status: 400, code: 'PML4205' },
  { body: '{"inputs": 3}', status: 400, code: 'PML4205', path: '/v2/models/tiny_linear/infer' },
  { body: JSON.stringify({ x: 1, pad: 'x'.repeat(5000) }), status: 413, code: 'PML4501' },
];
let sent = 0;
const wrong = [];
function once(kind) {
  return new Promise((resolve) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: kind.path || '/score', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(kind.body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let code;
        try { code = JSON.parse(text).error.code; } catch { code = undefined; }
        if (res.statusCode !== kind.status || code !== kind.code) wrong.push(kind.body.slice(0, 20) + ': ' + res.statusCode + ' ' + text.slice(0, 120));
        resolve();
      });
    });
    req.on('error', (e) => { wrong.push(kind.body.slice(0, 20) + ': ' + e.message); resolve(); });
    req.end(kind.body);
  });
}
async function run(until) {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (sent < until) {
      const k = sent++;
      // every 16th request is oversized (the server closes that connection)
      await once(k % 16 === 15 ? kinds[6] : kinds[k % 6]);
    }
  }));
  return (performance.now() - t0) / 1000;
}
(async () => {
  await run(warmup);
  parentPort.postMessage({ phase: 'warm', wrong: wrong.splice(0), seconds: 0 });
  await new Promise((r) => parentPort.once('message', r));
  const seconds = await run(total);
  agent.destroy();
  parentPort.postMessage({ phase: 'done', wrong, seconds });
})();
`;

let tiny: Compiled;

describe('proml serve: memory under bad input', () => {
  before(async () => {
    tiny = await compileFixture('tiny_linear', await kernelModuleBytes());
  });

  it(`${TOTAL.toLocaleString('en-US')} bad requests: right codes, still serving, bounded memory`, async () => {
    const gc = gcFunction();
    const server = await ModelServer.create(tiny.bytes, { maxBodyBytes: 4096 });
    const addr = await server.listen(0, '127.0.0.1');
    // the clients run in a worker thread: the second core, and their garbage is not the server's heap
    const worker = new Worker(CLIENT, {
      eval: true,
      workerData: { port: addr.port, total: TOTAL, warmup: WARMUP, concurrency: CONCURRENCY },
    });
    const next = (): Promise<{ phase: string; wrong: string[]; seconds: number }> =>
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    const http = client(`http://127.0.0.1:${addr.port}`);
    try {
      const warm = await next();
      gc();
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      const rss0 = process.memoryUsage().rss;
      const finished = next();
      worker.postMessage('go');
      const done = await finished;
      gc();
      gc();
      const heap1 = process.memoryUsage().heapUsed;
      const rss1 = process.memoryUsage().rss;
      const good = await http.request('POST', '/score', '{"x": 0.5}');
      const rate = (TOTAL - WARMUP) / done.seconds;
      const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
      console.log(
        `# ${TOTAL.toLocaleString('en-US')} bad requests (${CONCURRENCY} in flight, clients in a worker thread): ` +
          `${rate.toFixed(0)} requests/s; server heap after GC ${mb(heap0)} → ${mb(heap1)} (${mb(heap1 - heap0)}), ` +
          `rss ${mb(rss0)} → ${mb(rss1)} (${mb(rss1 - rss0)})`,
      );
      assert.deepEqual([...warm.wrong, ...done.wrong].slice(0, 5), []);
      assert.equal(good.status, 200);
      assert.ok(heap1 - heap0 < HEAP_BOUND, `heap grew by ${mb(heap1 - heap0)}`);
      assert.ok(rss1 - rss0 < RSS_BOUND, `rss grew by ${mb(rss1 - rss0)}`);
      const metrics = (await http.request('GET', '/metrics')).body.toString();
      assert.match(metrics, /proml_errors_total\{code="PML4501"\} 6250\n/);
    } finally {
      await worker.terminate();
      http.agent.destroy();
      await server.close();
    }
  });
});
