// The entity stores (runtime/node/sqlite-store.ts, redis-store.ts): fixtures with random effects
// (job_apply, ad_bid, all_types) compiled, their bundles imported into SQLite and into a real
// redis-server, and 10,000 generated rows (known, unknown and missing entity ids) scored with each
// store give ScoreResult bytes identical to MemoryEntityStore's. Also: a large Arrow table imported
// batch by batch, checkAgainst and fetch errors (PML4306), unreachable stores (PML4305), a corrupt
// bundle leaves the old store untouched (PML3005), duplicate ids (PML3006), `proml entities import`.
// Needs /usr/bin/redis-server (Debian's redis-server; .ci/run installs it): started here on a free
// loopback port with no persistence, stopped at the end. Lives under test/runtime/ for the binaryen
// preload (it compiles fixtures).

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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
  vectorFromArray,
} from 'apache-arrow';
import type { Bundle, Manifest } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { main } from '../../cli/main.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { randomRows } from '../../compiler/reference/index.js';
import { MemoryEntityStore, Model, RuntimeError, rowsToColumns } from '../../runtime/index.js';
import type { ImportProgress } from '../../runtime/node/entity-source.js';
import { RedisEntityStore } from '../../runtime/node/redis-store.js';
import { SqliteEntityStore } from '../../runtime/node/sqlite-store.js';
import { MODELS_DIR } from '../helpers.js';
import { freePort, startRedisServer, type RedisServer } from '../redis-server.js';

const FIXTURES = ['job_apply', 'ad_bid', 'all_types'];
const ROWS = 10_000;

let kernels: Uint8Array;
let redis: RedisServer | undefined;
let redisUrl = '';
let tmp = '';

interface Fixture {
  name: string;
  dir: string;
  checked: CheckedModel;
  bundle: Bundle;
  model: Model;
}

const fixtures = new Map<string, Promise<Fixture>>();
function fixture(name: string): Promise<Fixture> {
  let f = fixtures.get(name);
  if (f === undefined) {
    f = (async () => {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
        sourceText: source,
        kernelBytes: kernels,
      });
      return { name, dir: join(dir, 'bundle'), checked, bundle, model: await Model.load(bytes) };
    })();
    fixtures.set(name, f);
  }
  return f;
}

function hasCode(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof Error && 'code' in e, String(e));
    assert.equal((e as { code: string }).code, code, (e as Error).message);
    return true;
  };
}

/** An Arrow IPC file in the bundle's entity-table layout, written as several record batches. */
function writeArrowTable(
  path: string,
  blocks: Map<string, Float64Array>,
  width: number,
  batchRows: number,
): void {
  const item = new Field('item', new Float64(), false);
  const schema = new Schema([
    new Field('entity', new Utf8(), false),
    new Field('block', new FixedSizeList(width, item), false),
  ]);
  const writer = new RecordBatchFileWriter();
  writer.reset(undefined, schema);
  const all = [...blocks];
  for (let at = 0; at < all.length; at += batchRows) {
    const part = all.slice(at, at + batchRows);
    const values = new Float64Array(part.length * width);
    part.forEach(([, b], i) => values.set(b, i * width));
    const child = makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values });
    const block = makeData({
      type: new FixedSizeList(width, item),
      length: part.length,
      nullCount: 0,
      child,
    });
    const ids = vectorFromArray(
      part.map(([id]) => id),
      new Utf8(),
    ).data[0]!;
    const data = makeData({
      type: new Struct(schema.fields),
      length: part.length,
      nullCount: 0,
      children: [ids, block],
    });
    writer.write(new RecordBatch(schema, data));
  }
  writer.finish();
  writeFileSync(path, writer.toUint8Array(true));
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

describe('entity stores: SQLite and Redis score like the in-memory store', () => {
  const open: { close(): unknown }[] = [];

  before(async () => {
    kernels = await kernelModuleBytes();
    tmp = mkdtempSync(join(tmpdir(), 'proml-entities-'));
    try {
      redis = await startRedisServer();
    } catch (e) {
      assert.fail((e as Error).message);
    }
    redisUrl = redis.url;
  });

  after(async () => {
    for (const s of open) await s.close();
    await redis?.stop();
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  for (const name of FIXTURES) {
    it(`${name}: ${ROWS} rows score byte-identically with SQLite, Redis and MemoryEntityStore`, async () => {
      const f = await fixture(name);
      const manifest = f.model.manifest;
      assert.ok(manifest.entityBlocks.length > 0, `${name} has random effects`);

      const progress: ImportProgress[] = [];
      const file = join(tmp, `${name}.sqlite`);
      const summary = await SqliteEntityStore.importBundle(f.dir, file, {
        progress: (p) => progress.push(p),
      });
      assert.deepEqual(
        summary.components.map((c) => [c.component, c.blockWidth]).sort(),
        manifest.entityBlocks.map((b) => [b.component, b.width]).sort(),
      );
      assert.ok(progress.length >= summary.components.length);
      const sqlite = SqliteEntityStore.open(file);
      open.push(sqlite);
      sqlite.checkAgainst(manifest);
      assert.equal(sqlite.model.name, f.bundle.model.name);

      await RedisEntityStore.importBundle(f.dir, redisUrl);
      const redisStore = await RedisEntityStore.connect(redisUrl, { model: f.bundle.model.name });
      open.push(redisStore);
      redisStore.checkAgainst(manifest);

      const memory = new MemoryEntityStore(f.bundle);
      const rows = randomRows(f.checked, f.bundle, { seed: 31, count: ROWS });
      // the rows reach known, unknown and missing entities of every component
      const cols = rowsToColumns(manifest.inputs, rows);
      for (const b of manifest.entityBlocks) {
        const ids = cols[manifest.inputs.findIndex((i) => i.name === b.entity)]!.ids!;
        const got = memory.fetch(b.component, ids);
        const known = got.filter((g) => g !== null).length;
        const unknown = ids.filter((id, r) => id !== null && got[r] === null).length;
        const missing = ids.filter((id) => id === null).length;
        assert.ok(known > 0 && unknown > 0, `${b.component}: ${known} known, ${unknown} unknown ids`);
        assert.deepEqual(sqlite.fetch(b.component, ids), got, `${b.component}: SQLite blocks`);
        assert.deepEqual(await redisStore.fetch(b.component, ids), got, `${b.component}: Redis blocks`);
        assert.ok(missing > 0, `${b.component}: no row without an id`);
      }

      const expected = f.model.score(rows, memory).bytes();
      assert.deepEqual(f.model.score(rows, sqlite).bytes(), expected, 'SQLite store');
      assert.deepEqual((await f.model.scoreAsync(rows, redisStore)).bytes(), expected, 'Redis store');
      // and in small batches (100 rows: the serving shape)
      for (let at = 0; at < 1_000; at += 100) {
        const part = rows.slice(at, at + 100);
        const want = f.model.score(part, memory).bytes();
        assert.deepEqual(f.model.score(part, sqlite).bytes(), want);
        assert.deepEqual((await f.model.scoreAsync(part, redisStore)).bytes(), want);
      }
    });
  }

  it('a Bundle in memory imports like its directory', async () => {
    const f = await fixture('ad_bid');
    const file = join(tmp, 'ad_bid.memory.sqlite');
    await SqliteEntityStore.importBundle(f.bundle, file);
    const store = SqliteEntityStore.open(file);
    open.push(store);
    await RedisEntityStore.importBundle(f.bundle, redisUrl, { model: 'ad_bid_memory' });
    const r = await RedisEntityStore.connect(redisUrl, { model: 'ad_bid_memory' });
    open.push(r);
    const memory = new MemoryEntityStore(f.bundle);
    for (const [name, c] of f.bundle.components) {
      if (c.kind !== 'random_effect') continue;
      const ids = [...c.blocks.keys(), 'no-such-id', null];
      assert.deepEqual(store.fetch(name, ids), memory.fetch(name, ids));
      assert.deepEqual(await r.fetch(name, ids), memory.fetch(name, ids));
      assert.equal(store.size(name), c.blocks.size);
      assert.equal(r.size(name), c.blocks.size);
    }
  });

  it('a large Arrow table is imported a record batch at a time', async () => {
    const width = 16;
    const n = 20_000;
    const random = rng(7);
    const blocks = new Map<string, Float64Array>();
    for (let i = 0; i < n; i++) {
      // unsorted ids: the store must not rely on the bundle's order
      const id = `m${((i * 7919) % n).toString(36)}`;
      blocks.set(
        id,
        Float64Array.from({ length: width }, () => (random() - 0.5) * 8),
      );
    }
    const arrow = join(tmp, 'big.arrow');
    writeArrowTable(arrow, blocks, width, 3_000);
    const progress: ImportProgress[] = [];
    const file = join(tmp, 'big.sqlite');
    const summary = await SqliteEntityStore.importArrow(
      arrow,
      file,
      { component: 'member_re', entity: 'member_id' },
      { progress: (p) => progress.push(p) },
    );
    assert.deepEqual(summary.components, [
      { component: 'member_re', entity: 'member_id', blockWidth: width, entities: n },
    ]);
    // one progress report per record batch: the file was not read as one piece
    assert.equal(progress.length, Math.ceil(n / 3_000));
    assert.equal(progress.at(-1)!.done, n);
    const store = SqliteEntityStore.open(file);
    open.push(store);
    await RedisEntityStore.importArrow(
      arrow,
      redisUrl,
      { component: 'member_re', entity: 'member_id' },
      { model: 'big' },
    );
    const r = await RedisEntityStore.connect(redisUrl, { model: 'big' });
    open.push(r);
    const all = [...blocks.keys()];
    const ids = Array.from({ length: 500 }, (_, i) =>
      i % 5 === 0 ? `unknown${i}` : i % 7 === 0 ? null : all[Math.floor(random() * n)]!,
    );
    const want = ids.map((id) => (id === null ? null : (blocks.get(id) ?? null)));
    assert.deepEqual(store.fetch('member_re', ids), want);
    assert.deepEqual(await r.fetch('member_re', ids), want);
    assert.equal(store.size('member_re'), n);
  });

  it('checkAgainst and fetch name a missing component or a wrong width (PML4306)', async () => {
    const job = await fixture('job_apply');
    const ad = await fixture('ad_bid');
    const file = join(tmp, 'job_apply.check.sqlite');
    await SqliteEntityStore.importBundle(job.dir, file);
    const store = SqliteEntityStore.open(file);
    open.push(store);
    assert.throws(() => store.checkAgainst(ad.model.manifest), hasCode('PML4306'));
    const b = job.model.manifest.entityBlocks[0]!;
    const wider: Pick<Manifest, 'entityBlocks'> = {
      entityBlocks: [{ ...b, width: b.width + 1 }],
    };
    assert.throws(
      () => store.checkAgainst(wider),
      (e: unknown) => {
        assert.ok(e instanceof RuntimeError);
        assert.equal(e.code, 'PML4306');
        assert.match(
          e.message,
          new RegExp(`'${b.component}' has blocks of ${b.width} numbers, the module needs ${b.width + 1}`),
        );
        return true;
      },
    );
    assert.throws(() => store.fetch('nope', ['a']), hasCode('PML4306'));
    await RedisEntityStore.importBundle(job.dir, redisUrl);
    const r = await RedisEntityStore.connect(redisUrl, { model: 'job_apply' });
    open.push(r);
    assert.throws(() => r.checkAgainst(ad.model.manifest), hasCode('PML4306'));
    await assert.rejects(r.fetch('nope', ['a']), hasCode('PML4306'));
    // a model with nothing imported: connects, serves nothing
    const empty = await RedisEntityStore.connect(redisUrl, { model: 'never_imported' });
    open.push(empty);
    assert.deepEqual(empty.components(), []);
    assert.throws(() => empty.checkAgainst(job.model.manifest), hasCode('PML4306'));
  });

  it('an unreachable or unreadable store is PML4305', async () => {
    assert.throws(() => SqliteEntityStore.open(join(tmp, 'missing.sqlite')), hasCode('PML4305'));
    const junk = join(tmp, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database, only text that is long enough to fail the header check');
    assert.throws(() => SqliteEntityStore.open(junk), hasCode('PML4305'));
    const port = await freePort(); // nobody listens there
    await assert.rejects(
      RedisEntityStore.connect(`redis://127.0.0.1:${port}`, { model: 'x' }),
      hasCode('PML4305'),
    );
    const job = await fixture('job_apply');
    await assert.rejects(
      RedisEntityStore.importBundle(job.dir, `redis://127.0.0.1:${port}`),
      hasCode('PML4305'),
    );
  });

  it('a Redis server that goes away: fetch fails at once with PML4305, close() still works', async () => {
    const job = await fixture('job_apply');
    const second = await startRedisServer();
    let store: RedisEntityStore | undefined;
    try {
      await RedisEntityStore.importBundle(job.dir, second.url);
      store = await RedisEntityStore.connect(second.url, { model: 'job_apply' });
      const ids = ['member_id-1', 'nobody'];
      assert.deepEqual(
        await store.fetch('member_re', ids),
        new MemoryEntityStore(job.bundle).fetch('member_re', ids),
      );
    } finally {
      await second.stop();
    }
    await assert.rejects(store.fetch('member_re', ['member_id-1']), hasCode('PML4305'));
    await assert.rejects(
      job.model.scoreAsync(randomRows(job.checked, job.bundle, { seed: 1, count: 5 }), store),
      hasCode('PML4305'),
    );
    await store.close();
  });

  it('a corrupt bundle is refused and the old store stays as it was', async () => {
    const job = await fixture('job_apply');
    const file = join(tmp, 'job_apply.keep.sqlite');
    await SqliteEntityStore.importBundle(job.dir, file);
    const before = readFileSync(file);
    const bad = join(tmp, 'bad-bundle');
    cpSync(job.dir, bad, { recursive: true });
    const table = join(bad, 'component.member_re.entities.arrow');
    const bytes = readFileSync(table);
    bytes[bytes.length - 40]! ^= 0xff;
    writeFileSync(table, bytes);
    await assert.rejects(SqliteEntityStore.importBundle(bad, file), hasCode('PML3005'));
    assert.deepEqual(readFileSync(file), before);
    await assert.rejects(RedisEntityStore.importBundle(bad, redisUrl, { model: 'bad' }), hasCode('PML3005'));
    const r = await RedisEntityStore.connect(redisUrl, { model: 'bad' });
    open.push(r);
    assert.deepEqual(r.components(), []);
    await assert.rejects(SqliteEntityStore.importBundle(join(tmp, 'no-bundle'), file), hasCode('PML3001'));
  });

  it('an entity id twice in a table is PML3006', async () => {
    const twice = join(tmp, 'twice.arrow');
    const item = new Field('item', new Float64(), false);
    const schema = new Schema([
      new Field('entity', new Utf8(), false),
      new Field('block', new FixedSizeList(2, item), false),
    ]);
    const writer = new RecordBatchFileWriter();
    writer.reset(undefined, schema);
    // two record batches holding the same id
    for (let k = 0; k < 2; k++) {
      const child = makeData({
        type: new Float64(),
        length: 2,
        nullCount: 0,
        data: new Float64Array([k, k]),
      });
      const block = makeData({ type: new FixedSizeList(2, item), length: 1, nullCount: 0, child });
      const ids = vectorFromArray(['same'], new Utf8()).data[0]!;
      writer.write(
        new RecordBatch(
          schema,
          makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children: [ids, block] }),
        ),
      );
    }
    writer.finish();
    writeFileSync(twice, writer.toUint8Array(true));
    const c = { component: 'c', entity: 'e' };
    await assert.rejects(
      SqliteEntityStore.importArrow(twice, join(tmp, 'twice.sqlite'), c),
      hasCode('PML3006'),
    );
    await assert.rejects(
      RedisEntityStore.importArrow(twice, redisUrl, c, { model: 'twice' }),
      hasCode('PML3006'),
    );
    // nothing was left behind
    assert.ok(!existsSync(join(tmp, 'twice.sqlite')));
  });

  it('proml entities import: SQLite and Redis, progress on stderr, usage errors', async () => {
    const f = await fixture('all_types');
    const io = () => {
      const out: string[] = [];
      const err: string[] = [];
      return {
        out,
        err,
        io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), color: false },
      };
    };
    const file = join(tmp, 'cli.sqlite');
    const a = io();
    assert.equal(await main(['entities', 'import', f.dir, '--to', file], a.io), 0, a.err.join('\n'));
    assert.match(a.out.join('\n'), /imported into .*cli\.sqlite of model 'all_types'/);
    for (const b of f.model.manifest.entityBlocks) {
      assert.ok(
        a.out.some((l) => l.includes(`${b.component} (per ${b.entity})`)),
        a.out.join('\n'),
      );
      assert.ok(
        a.err.some((l) => l.includes(`${b.component}: `)),
        a.err.join('\n'),
      );
    }
    const store = SqliteEntityStore.open(file);
    open.push(store);
    store.checkAgainst(f.model.manifest);

    const r = io();
    assert.equal(
      await main(['entities', 'import', f.dir, '--to', redisUrl, '--model', 'cli_model'], r.io),
      0,
    );
    const rs = await RedisEntityStore.connect(redisUrl, { model: 'cli_model' });
    open.push(rs);
    rs.checkAgainst(f.model.manifest);
    const rows = randomRows(f.checked, f.bundle, { seed: 3, count: 500 });
    const want = f.model.score(rows, new MemoryEntityStore(f.bundle)).bytes();
    assert.deepEqual((await f.model.scoreAsync(rows, rs)).bytes(), want);
    assert.deepEqual(f.model.score(rows, store).bytes(), want);

    const u = io();
    assert.equal(await main(['entities', 'import', f.dir], u.io), 2);
    assert.match(u.err.join('\n'), /--to/);
    assert.equal(await main(['entities', 'export', f.dir, '--to', file], io().io), 2);
    const bad = io();
    const port = await freePort();
    assert.equal(await main(['entities', 'import', f.dir, '--to', `redis://127.0.0.1:${port}`], bad.io), 1);
    assert.match(bad.err.join('\n'), /PML4305/);
  });
});
