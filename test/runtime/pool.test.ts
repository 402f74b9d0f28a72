// The worker pool (runtime/node/pool.ts): batches scored in worker threads are byte-identical to
// Model.score in process (with the embedded entity store, synchronous or not); concurrent single-row
// calls share few tasks and each gets its own row's result; a bad row fails alone with its code; a
// full queue refuses with PML4303; a worker that dies fails its in-flight calls with PML4304 and the
// pool goes on; close() lets accepted calls finish and refuses new ones.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles fixtures).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { randomRows } from '../../compiler/reference/index.js';
import { MemoryEntityStore, Model, RuntimeError, type EntityStore } from '../../runtime/index.js';
import { ScoringPool, type PoolOptions } from '../../runtime/node/pool.js';
import { MODELS_DIR } from '../helpers.js';

let kernels: Uint8Array;

interface Fixture {
  checked: CheckedModel;
  bundle: Bundle;
  bytes: Uint8Array;
  model: Model;
  store: MemoryEntityStore;
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
      return { checked, bundle, bytes, model: await Model.load(bytes), store: new MemoryEntityStore(bundle) };
    })();
    fixtures.set(name, f);
  }
  return f;
}

function hasCode(code: string): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof RuntimeError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  };
}

/** Fails (instead of hanging the run) when `p` has not settled after `ms`: a hang guard, not a timing check. */
async function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** An entity store that answers asynchronously (like Redis would). */
function asyncStore(store: EntityStore): EntityStore {
  return {
    fetch: async (component, ids) => {
      await new Promise((r) => setImmediate(r));
      return store.fetch(component, ids);
    },
  };
}

type PoolName = 'tiny_linear' | 'spam_message' | 'pymk' | 'job_apply' | 'job_apply_async' | 'small';

/**
 * The pools this file uses. Starting workers (tsx in each) is most of this file's time, so the
 * pools start together in before() while the fixtures compile, and tests share them: they compare
 * stats before and after. 'small' (1 thread, a queue of 2, test hooks) serves the queue, crash
 * and close tests, in that order.
 */
const PLAN: Record<PoolName, { fixture: string; options: PoolOptions; async?: boolean }> = {
  tiny_linear: { fixture: 'tiny_linear', options: { threads: 1 } },
  spam_message: { fixture: 'spam_message', options: { threads: 2 } },
  pymk: { fixture: 'pymk', options: { threads: 1 } },
  job_apply: { fixture: 'job_apply', options: { threads: 2 } },
  job_apply_async: { fixture: 'job_apply', options: { threads: 1 }, async: true },
  small: { fixture: 'spam_message', options: { threads: 1, maxQueue: 2, testHooks: true, maxBatchRows: 40 } },
};

describe('scoring pool', () => {
  const pools = new Map<PoolName, Promise<ScoringPool>>();
  async function use(name: PoolName): Promise<{ f: Fixture; pool: ScoringPool }> {
    return { f: await fixture(PLAN[name].fixture), pool: await pools.get(name)! };
  }

  before(async () => {
    kernels = await kernelModuleBytes();
    for (const [name, plan] of Object.entries(PLAN) as [PoolName, (typeof PLAN)[PoolName]][]) {
      const p = fixture(plan.fixture).then((f) =>
        ScoringPool.create(f.bytes, {
          entities: plan.async === true ? asyncStore(f.store) : f.store,
          ...plan.options,
        }),
      );
      p.catch(() => {}); // awaited (and reported) by the tests that use it
      pools.set(name, p);
    }
  });
  after(async () => {
    for (const p of pools.values()) await (await p.catch(() => null))?.close();
  });

  for (const name of ['tiny_linear', 'spam_message', 'pymk', 'job_apply'] as const) {
    it(`${name}: 10,000 rows scored in workers are byte-identical to Model.score in process`, async () => {
      const { f, pool } = await use(name);
      const rows = randomRows(f.checked, f.bundle, { seed: 11, count: 10_000 });
      const want = f.model.score(rows, f.store).bytes();
      const before = pool.stats();
      const got = await pool.score(rows);
      assert.equal(got.n, rows.length);
      assert.deepEqual(got.bytes(), want);
      // the same rows as four concurrent calls, one per quarter
      const quarters = [0, 1, 2, 3].map((q) => rows.slice(q * 2_500, (q + 1) * 2_500));
      const parts = await Promise.all(quarters.map((q) => pool.score(q)));
      parts.forEach((p, q) => assert.deepEqual(p.bytes(), f.model.score(quarters[q]!, f.store).bytes()));
      assert.equal(pool.stats().tasks - before.tasks, 5);
      assert.equal(pool.stats().rows - before.rows, 20_000);
    });
  }

  it('job_apply: an asynchronous entity store gives the same bytes', async () => {
    const { f, pool } = await use('job_apply_async');
    const rows = randomRows(f.checked, f.bundle, { seed: 12, count: 3_000 });
    assert.deepEqual((await pool.score(rows)).bytes(), f.model.score(rows, f.store).bytes());
  });

  it('2,000 concurrent scoreRow calls share few tasks and each gets its own row', async () => {
    for (const name of ['spam_message', 'job_apply'] as const) {
      const { f, pool } = await use(name);
      const rows = randomRows(f.checked, f.bundle, { seed: 13, count: 2_000 });
      const want = f.model.score(rows, f.store).rows();
      const before = pool.stats();
      const got = await Promise.all(rows.map((r) => pool.scoreRow(r)));
      got.forEach((g, i) => assert.deepEqual(g, want[i], `${name} row ${i}`));
      const s = pool.stats();
      assert.equal(s.rowCalls - before.rowCalls, 2_000);
      assert.equal(s.rows - before.rows, 2_000);
      const tasks = s.tasks - before.tasks;
      assert.ok(tasks < 2_000 / 4, `${name}: ${tasks} tasks for 2,000 calls`);
    }
  });

  it('a bad row among concurrent good ones fails alone, with its code', async () => {
    const { f, pool } = await use('spam_message');
    const rows = randomRows(f.checked, f.bundle, { seed: 14, count: 60 });
    const want = f.model.score(rows, f.store).rows();
    const before = pool.stats();
    const text = f.model.manifest.inputs.find((i) => i.type.kind === 'string')!.name;
    const bad: Row[] = [
      { ...rows[0]!, nope: 1 },
      { ...rows[1]!, [text]: 42 },
    ];
    const settled = await Promise.allSettled([
      ...rows.slice(0, 30).map((r) => pool.scoreRow(r)),
      pool.scoreRow(bad[0]!),
      ...rows.slice(30, 45).map((r) => pool.scoreRow(r)),
      pool.scoreRow(bad[1]!),
      ...rows.slice(45).map((r) => pool.scoreRow(r)),
    ]);
    const failed = [settled[30]!, settled[46]!];
    assert.equal(failed[0]!.status, 'rejected');
    assert.equal(failed[1]!.status, 'rejected');
    hasCode('PML4201')((failed[0] as PromiseRejectedResult).reason);
    hasCode('PML4202')((failed[1] as PromiseRejectedResult).reason);
    assert.equal(((failed[1] as PromiseRejectedResult).reason as RuntimeError).field, text);
    const good = settled.filter((_, i) => i !== 30 && i !== 46);
    good.forEach((s, i) => {
      assert.equal(s.status, 'fulfilled', `row ${i}`);
      assert.deepEqual((s as PromiseFulfilledResult<unknown>).value, want[i], `row ${i}`);
    });
    assert.equal(pool.stats().tasks - before.tasks, 1);
    // a whole batch with a bad row fails as Model.score does
    await assert.rejects(pool.score([rows[0]!, bad[0]!]), hasCode('PML4201'));
  });

  it('a full queue refuses at once with PML4303, and accepts again once drained', async () => {
    const { f, pool } = await use('small');
    const rows = randomRows(f.checked, f.bundle, { seed: 15, count: 5_000 });
    const calls = Array.from({ length: 10 }, () => pool.score(rows));
    assert.equal(pool.stats().pending, 3);
    assert.equal(pool.queueSize, 2);
    await assert.rejects(pool.scoreRow(rows[0]!), hasCode('PML4303'));
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'fulfilled', ...new Array<string>(7).fill('rejected')],
    );
    for (const s of settled.slice(3)) hasCode('PML4303')((s as PromiseRejectedResult).reason);
    assert.equal(pool.stats().overloaded, 8);
    assert.equal(pool.queueSize, 0);
    assert.deepEqual((await pool.score(rows)).bytes(), f.model.score(rows).bytes());
  });

  for (const [k, mode] of (['exit', 'throw'] as const).entries()) {
    it(`a worker that dies (${mode}) fails its in-flight calls with PML4304; the next calls succeed`, async () => {
      const { f, pool } = await use('small');
      const rows = randomRows(f.checked, f.bundle, { seed: 16, count: 500 });
      const want = f.model.score(rows, f.store);
      pool.crashNextTask(mode);
      // one micro-batch of 40 single-row calls (sent as the 40th arrives) dies with its worker; a
      // batch queued behind it, and calls made afterwards, run on the replacement worker
      const dying = Promise.allSettled(rows.slice(0, 40).map((r) => pool.scoreRow(r)));
      const queued = pool.score(rows);
      const settled = await settlesWithin(dying, 10_000, 'calls on the dead worker');
      for (const s of settled) {
        assert.equal(s.status, 'rejected');
        hasCode('PML4304')((s as PromiseRejectedResult).reason);
      }
      assert.deepEqual((await settlesWithin(queued, 20_000, 'the queued batch')).bytes(), want.bytes());
      assert.deepEqual(await pool.scoreRow(rows[7]!), want.rows()[7]);
      assert.equal(pool.stats().workerDeaths, k + 1);
    });
  }

  it('the crash hook is off unless the pool enables it', async () => {
    const { pool } = await use('tiny_linear');
    assert.throws(() => pool.crashNextTask('exit'), /testHooks/);
  });

  it('close() finishes accepted calls, then refuses new ones', async () => {
    const { f, pool } = await use('small');
    const rows = randomRows(f.checked, f.bundle, { seed: 17, count: 100 });
    const want = f.model.score(rows).rows();
    const batch = pool.score(rows);
    const single = pool.scoreRow(rows[3]!);
    await pool.close();
    assert.equal((await batch).n, 100);
    assert.deepEqual(await single, want[3]);
    await assert.rejects(pool.score(rows), /closed/);
    await assert.rejects(pool.scoreRow(rows[0]!), /closed/);
  });
});
