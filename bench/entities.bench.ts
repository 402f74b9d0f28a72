// Entity stores at scale: load N entities × 16 coefficients into SQLite (the embedded store) and
// time it, with the file's size; then the fetch latency of a batch of 100 random ids (20 % of them
// unknown) for SqliteEntityStore, RedisEntityStore (a local redis-server, loopback) and
// MemoryEntityStore: p50 / p99 over 1,000 batches after 100 warm-up batches.
// The entities are generated streaming: an Arrow IPC file in the bundle's entity-table layout
// (`entity` utf8, `block` fixed_size_list<float64>[16]; ids `m0000000042`, in sorted order as a
// bundle's are) written a record batch at a time, then imported with SqliteEntityStore.importArrow,
// which reads it a batch at a time. Redis and the in-memory store get min(N, 1M) of the entities
// (a hash lookup does not depend on the table size the way a B-tree descent might; memory would).
// Output: the table (bench/index.ts → bench/results/entities.md).
// Run: npm run bench -- entities [--entities=10000000]   (default 200,000: the default run stays fast;
// PROML_BENCH_ENTITIES works too). Needs /usr/bin/redis-server (.ci/run installs it).

import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Field,
  FixedSizeList,
  Float64,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Utf8,
  makeData,
} from 'apache-arrow';
import { MemoryEntityStore, type EntityStore } from '../runtime/index.js';
import { RedisEntityStore } from '../runtime/node/redis-store.js';
import { SqliteEntityStore } from '../runtime/node/sqlite-store.js';
import { startRedisServer } from '../test/redis-server.js';
import { machine, RESULTS_DIR, today } from './env.js';

const WIDTH = 16;
const BATCH_ROWS = 65_536;
const FETCH_BATCH = 100;
const BATCHES = 1_000;
const WARMUP = 100;
const UNKNOWN_SHARE = 0.2;
const SIDE_STORES_MAX = 1_000_000;
const ID_DIGITS = 10;

function entitiesWanted(): number {
  const flag = process.argv.find((a) => a.startsWith('--entities='));
  const raw = flag?.slice('--entities='.length) ?? process.env['PROML_BENCH_ENTITIES'] ?? '200000';
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1_000)
    throw new Error(`--entities must be an integer ≥ 1000, got '${raw}'`);
  return n;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const idOf = (i: number): string => `m${String(i).padStart(ID_DIGITS, '0')}`;

/** Writes n entities as an Arrow IPC file, one record batch at a time (never all in memory). */
async function writeEntities(path: string, n: number): Promise<void> {
  const item = new Field('item', new Float64(), false);
  const schema = new Schema([
    new Field('entity', new Utf8(), false),
    new Field('block', new FixedSizeList(WIDTH, item), false),
  ]);
  const writer = new RecordBatchFileWriter();
  const out = createWriteStream(path);
  writer.pipe(out);
  const random = rng(42);
  const idBytes = ID_DIGITS + 1;
  for (let start = 0; start < n; start += BATCH_ROWS) {
    const rows = Math.min(BATCH_ROWS, n - start);
    const offsets = new Int32Array(rows + 1);
    const text = Buffer.alloc(rows * idBytes);
    for (let i = 0; i < rows; i++) {
      text.write(idOf(start + i), i * idBytes, 'latin1');
      offsets[i + 1] = (i + 1) * idBytes;
    }
    const values = new Float64Array(rows * WIDTH);
    for (let j = 0; j < values.length; j++) values[j] = (random() - 0.5) * 4;
    const ids = makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: text });
    const child = makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values });
    const block = makeData({ type: new FixedSizeList(WIDTH, item), length: rows, nullCount: 0, child });
    const data = makeData({
      type: new Struct(schema.fields),
      length: rows,
      nullCount: 0,
      children: [ids, block],
    });
    writer.write(new RecordBatch(schema, data));
    // let the file stream drain: the writer queues bytes until the pipe takes them
    await new Promise((r) => setImmediate(r));
    if (out.writableLength > 64 << 20) await once(out, 'drain');
  }
  writer.finish();
  await once(out, 'finish');
}

/** The first m entities of the file, in memory (for Redis and MemoryEntityStore). */
function sideBlocks(m: number): Map<string, Float64Array> {
  // the same values as the file: the generator is replayed for the first m rows
  const random = rng(42);
  const blocks = new Map<string, Float64Array>();
  for (let i = 0; i < m; i++) {
    const b = new Float64Array(WIDTH);
    for (let j = 0; j < WIDTH; j++) b[j] = (random() - 0.5) * 4;
    blocks.set(idOf(i), b);
  }
  return blocks;
}

/** 1,000 + warm-up batches of 100 ids drawn from [0, n), a share of them unknown. */
function idBatches(n: number, seed: number): string[][] {
  const random = rng(seed);
  return Array.from({ length: WARMUP + BATCHES }, () =>
    Array.from({ length: FETCH_BATCH }, () =>
      random() < UNKNOWN_SHARE ? `x${Math.floor(random() * 1e9)}` : idOf(Math.floor(random() * n)),
    ),
  );
}

interface Latency {
  p50: number;
  p99: number;
  mean: number;
  hits: number;
}

async function latency(store: EntityStore, batches: string[][]): Promise<Latency> {
  const ms: number[] = [];
  let hits = 0;
  for (let b = 0; b < batches.length; b++) {
    const t0 = process.hrtime.bigint();
    const got = await store.fetch('member_re', batches[b]!);
    const t1 = process.hrtime.bigint();
    if (b >= WARMUP) {
      ms.push(Number(t1 - t0) / 1e6);
      hits += got.filter((g) => g !== null).length;
    }
  }
  ms.sort((a, b) => a - b);
  const q = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  return { p50: q(0.5), p99: q(0.99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, hits };
}

/** Runs this large or larger are recorded apart, and a default run keeps the last one in entities.md. */
const LARGE = 1_000_000;
const START = '<!-- large-run:start -->';
const END = '<!-- large-run:end -->';

function largeSection(n: number, body: string): string {
  return `${START}\n## Large run (${count(n)} entities, --entities=${n})\n\nMachine: ${machine()}\nDate: ${today()}\n\n${body}\n${END}`;
}

/** The large run recorded in bench/results/entities.md, if any (the default run rewrites the file). */
function keptLargeSection(): string | null {
  const path = join(RESULTS_DIR, 'entities.md');
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  return a >= 0 && b > a ? text.slice(a, b + END.length) : null;
}

const fmt = (x: number, d = 3): string => x.toFixed(d);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const count = (n: number): string => n.toLocaleString('en-US');

export async function run(): Promise<string> {
  const n = entitiesWanted();
  const dir = mkdtempSync(join(tmpdir(), 'proml-bench-entities-'));
  const redis = await startRedisServer();
  try {
    const arrow = join(dir, 'entities.arrow');
    let t = performance.now();
    await writeEntities(arrow, n);
    const writeS = (performance.now() - t) / 1e3;
    const arrowBytes = statSync(arrow).size;
    console.log(`  wrote ${count(n)} entities as Arrow IPC in ${fmt(writeS, 1)} s (${mib(arrowBytes)})`);

    const file = join(dir, 'entities.sqlite');
    let shown = 0;
    t = performance.now();
    const cpu0 = process.cpuUsage();
    await SqliteEntityStore.importArrow(
      arrow,
      file,
      { component: 'member_re', entity: 'member_id' },
      {
        progress: (p) => {
          if (p.done - shown >= 1_000_000) {
            shown = p.done;
            console.log(`  sqlite: ${count(p.done)} entities, ${fmt((performance.now() - t) / 1e3, 1)} s`);
          }
        },
      },
    );
    const importS = (performance.now() - t) / 1e3;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const sqliteBytes = statSync(file).size;
    rmSync(arrow);
    console.log(`  imported into SQLite in ${fmt(importS, 1)} s (${mib(sqliteBytes)})`);

    const m = Math.min(n, SIDE_STORES_MAX);
    const blocks = sideBlocks(m);
    const memory = new MemoryEntityStore();
    for (const [id, b] of blocks) memory.put('member_re', id, b);
    t = performance.now();
    const bundle = {
      model: { name: 'bench', version: '1' },
      sourceSha256: '',
      producer: 'bench/entities.bench.ts',
      notes: [],
      components: new Map([
        [
          'member_re',
          {
            kind: 'random_effect' as const,
            classes: 1,
            inputWidth: WIDTH - 1,
            intercept: true,
            entity: 'member_id',
            hyperparameters: {},
            blockWidth: WIDTH,
            blocks,
          },
        ],
      ]),
      transforms: new Map(),
      calibrations: new Map(),
    };
    await RedisEntityStore.importBundle(bundle, redis.url);
    const redisImportS = (performance.now() - t) / 1e3;
    console.log(`  imported ${count(m)} entities into Redis in ${fmt(redisImportS, 1)} s`);

    const sqlite = SqliteEntityStore.open(file);
    const redisStore = await RedisEntityStore.connect(redis.url, { model: 'bench' });
    const results: [string, number, Latency][] = [];
    results.push(['SqliteEntityStore', n, await latency(sqlite, idBatches(n, 1))]);
    results.push(['RedisEntityStore (loopback)', m, await latency(redisStore, idBatches(m, 2))]);
    results.push(['MemoryEntityStore', m, await latency(memory, idBatches(m, 3))]);
    // SQLite on the same entity count as the others, for a like-for-like row
    if (n > m) results.push(['SqliteEntityStore (first 1M ids)', m, await latency(sqlite, idBatches(m, 4))]);
    sqlite.close();
    await redisStore.close();

    const lines = [
      `Entities: ${count(n)} × ${WIDTH} f64 coefficients (block ${WIDTH * 8} B), ids of ${ID_DIGITS + 1} bytes in sorted order.`,
      '',
      '| load into SQLite | entities | seconds | entities/s | CPU seconds | file size | bytes/entity | Arrow IPC source |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      `| importArrow (journal off, synchronous off, one transaction per 16,384 rows) | ${count(n)} | ${fmt(importS, 1)} | ${count(Math.round(n / importS))} | ${fmt(cpuS, 1)} | ${mib(sqliteBytes)} | ${fmt(sqliteBytes / n, 0)} | ${mib(arrowBytes)}, written in ${fmt(writeS, 1)} s |`,
      '',
      `Redis import of ${count(m)} entities (pipelined HSET, 1,024 fields a command): ${fmt(redisImportS, 1)} s (${count(Math.round(m / redisImportS))} entities/s).`,
      '',
      `Fetch latency of one batch of ${FETCH_BATCH} random ids (${UNKNOWN_SHARE * 100} % unknown), ${count(BATCHES)} batches after ${WARMUP} warm-up, one call each (SQLite: one query; Redis: one HMGET; sync stores timed the same way):`,
      '',
      '| store | entities | p50 ms | p99 ms | mean ms | hits / batch |',
      '|---|---:|---:|---:|---:|---:|',
      ...results.map(
        ([name, size, l]) =>
          `| ${name} | ${count(size)} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmt(l.mean)} | ${fmt(l.hits / BATCHES, 1)} |`,
      ),
    ];
    const body = lines.join('\n');
    if (n >= LARGE) return largeSection(n, body);
    const kept = keptLargeSection();
    return `## Default run (${count(n)} entities)\n\n${body}${kept === null ? '' : `\n\n${kept}`}`;
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
