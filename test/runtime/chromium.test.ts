// The browser build of the runtime core in a real browser: scripts/build-browser.mjs bundles
// runtime/index.ts (and refuses Node built-ins), scripts/serve-web.mjs serves it, and Debian's
// Chromium (driven by playwright-core, never a downloaded browser) scores every fixture model —
// its rows.csv plus 10,000 seeded random rows, with its entity blocks — and must write exactly the
// bytes Model.score writes in Node (ScoreResult.bytes(): status words, validity, values). The demo
// page's form is driven too: typed fields, Score, the output (tiny_linear) and a rejection with its
// code plus entity blocks from ?entities= (job_apply).
// Needs /usr/bin/chromium (`.ci/run` installs it); FAILS without it, never skips.
// Run with `--import ./scripts/preload-binaryen.mjs` (the launcher does: it compiles fixtures).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
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
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseRowsCsv, type Bundle, type Row } from '../../abi/index.js';
import { readBundle } from '../../abi/node.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { randomRows } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MemoryEntityStore, Model } from '../../runtime/index.js';
import { MODELS_DIR, ROOT } from '../helpers.js';

const CHROMIUM = process.env['PROML_CHROMIUM'] ?? '/usr/bin/chromium';
/** The flags docs/browser.md and TOOLCHAIN.md give (no sandbox as root; no network chatter). */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const RANDOM_ROWS = 10_000;
const SEED = 4242; // the same row set as parity.test.ts (in process, pool, batch, service)

let dir: string;
let server: ChildProcess | null = null;
let base: string;
let browser: Browser | null = null;
let page: Page;
let kernels: Uint8Array;

interface Compiled {
  checked: CheckedModel;
  bundle: Bundle;
  bytes: Uint8Array;
}

const compiled = new Map<string, Promise<Compiled>>();

/** Compiles fixture `name` (once) and writes its module and entity blocks where the server serves them. */
function compile(name: string): Promise<Compiled> {
  let c = compiled.get(name);
  if (c === undefined) compiled.set(name, (c = compileOnce(name)));
  return c;
}

async function compileOnce(name: string): Promise<Compiled> {
  const fdir = join(MODELS_DIR, name);
  const source = readFileSync(join(fdir, 'model.pml'), 'utf8');
  const checked = checkSource('model.pml', source).checked!;
  const bundle = readBundle(join(fdir, 'bundle'));
  const { bytes } = await emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    kernelBytes: kernels,
  });
  writeFileSync(join(dir, 'models', `${name}.wasm`), bytes);
  writeFileSync(join(dir, 'models', `${name}.entities.json`), JSON.stringify(entitiesJson(bundle)));
  return { checked, bundle, bytes };
}

/** The demo's entity JSON: {component: {id: base64 of the block's little-endian f64 bytes}} (exact). */
function entitiesJson(bundle: Bundle): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [name, c] of bundle.components) {
    if (c.kind !== 'random_effect') continue;
    const blocks: Record<string, string> = {};
    for (const [id, b] of c.blocks)
      blocks[id] = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    out[name] = blocks;
  }
  return out;
}

/** JSON that keeps NaN, ±Infinity and -0 (tagged; the page harness revives them). */
function rowsJson(rows: readonly Row[]): string {
  return JSON.stringify(rows, (_k, v: unknown) => {
    if (typeof v !== 'number') return v;
    if (Object.is(v, -0)) return { $num: '-0' };
    return Number.isFinite(v) ? v : { $num: String(v) };
  });
}

/** Starts scripts/serve-web.mjs on a free port; resolves to its base URL. */
function startServer(root: string): Promise<string> {
  const child = spawn(process.execPath, ['scripts/serve-web.mjs', '--root', root, '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /at (http:\/\/\S+\/)/.exec(out);
      if (m !== null) ok(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('exit', (code) => fail(new Error(`serve-web exited with ${code}: ${err}`)));
  });
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const MISSING =
  `${CHROMIUM} is missing: Debian's Chromium is needed for the browser tests. ` +
  '.ci/run installs it (apt-get install -y chromium); on a dev machine run ' +
  '`apt-get update && apt-get install -y chromium` (never `playwright install`).';

// a failure of its own, so a missing browser is counted and named, never skipped
it(`Debian Chromium is installed at ${CHROMIUM}`, () => assert.ok(existsSync(CHROMIUM), MISSING));

describe('browser runtime in Chromium', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(existsSync(CHROMIUM), MISSING);
    dir = mkdtempSync(join(tmpdir(), 'proml-browser-'));
    mkdirSync(join(dir, 'models'));
    const b = spawnSync(process.execPath, ['scripts/build-browser.mjs', '--out-dir', dir, '--quiet'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, `build-browser failed:\n${b.stderr}`);
    copyFileSync(join(ROOT, 'test', 'runtime', 'chromium-harness.js'), join(dir, 'chromium-harness.js'));
    kernels = await kernelModuleBytes();
    base = await startServer(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(`${base}index.html`);
  });

  after(async () => {
    await browser?.close();
    if (server !== null && server.exitCode === null) {
      server.removeAllListeners('exit');
      server.kill('SIGTERM');
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the bundle refuses Node built-ins (abi/node.ts pulled in by an entry)', () => {
    const entry = join(dir, 'leak.ts');
    writeFileSync(entry, `export { readBundle } from ${JSON.stringify(join(ROOT, 'abi', 'node.js'))};\n`);
    const b = spawnSync(
      process.execPath,
      ['scripts/build-browser.mjs', '--entry', entry, '--out-dir', join(dir, 'leak'), '--quiet'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(b.status, 1);
    assert.match(b.stderr, /Node built-in 'node:fs' imported by abi\/node\.ts/);
  });

  for (const name of readdirSync(MODELS_DIR).sort()) {
    it(`${name}: Chromium writes the bytes Node writes (rows.csv + ${RANDOM_ROWS} random rows)`, async () => {
      const f = await compile(name);
      const csv = parseRowsCsv(
        readFileSync(join(MODELS_DIR, name, 'rows.csv'), 'utf8'),
        csvColumns(f.checked),
      );
      const rows = [...csv, ...randomRows(f.checked, f.bundle, { seed: SEED, count: RANDOM_ROWS })];
      writeFileSync(join(dir, 'models', `${name}.rows.json`), rowsJson(rows));
      const model = await Model.load(f.bytes);
      const want = model.score(rows, new MemoryEntityStore(f.bundle));
      const got = await page.evaluate(
        async ([url, n]) => {
          const h = (await import(url)) as {
            scoreFixture(n: string): Promise<{ n: number; rejected: number; bytes: string; sha256: string }>;
          };
          return h.scoreFixture(n);
        },
        [`${base}chromium-harness.js`, name] as const,
      );
      assert.equal(got.sha256, model.sha256);
      assert.equal(got.n, rows.length);
      assert.equal(got.rejected, want.rejected, 'rejected rows');
      const a = new Uint8Array(Buffer.from(got.bytes, 'base64'));
      const b = want.bytes();
      assert.equal(a.length, b.length, 'result length');
      const at = firstDifference(a, b);
      assert.ok(at === b.length, `first differing byte at ${at} of ${b.length}`);
    });
  }

  it('demo page: tiny_linear form scores the typed value and the default', async () => {
    const f = await compile('tiny_linear');
    const model = await Model.load(f.bytes);
    const p = await browser!.newPage();
    try {
      await p.goto(`${base}index.html?model=models/tiny_linear.wasm`);
      await p.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
      assert.equal((await p.textContent('#model-name'))?.trim(), 'tiny_linear 0.1.0');
      assert.equal(await p.textContent('#model-sha'), model.sha256);
      await p.fill('#in-x', '2.5');
      await p.click('#score');
      const y = await p.textContent('td[data-output="y"]');
      assert.equal(y, String(model.score([{ x: 2.5 }]).value('y', 0)));
      await p.fill('#in-x', '');
      await p.click('#score');
      const dflt = JSON.stringify(String(model.score([{}]).value('y', 0)));
      await p.waitForFunction(
        `document.querySelector('td[data-output="y"]')?.textContent === ${dflt}`,
        null,
        {
          timeout: 5_000,
        },
      );
    } finally {
      await p.close();
    }
  });

  it('demo page: job_apply with entity blocks, a category, bags, and a rejection with its code', async () => {
    const f = await compile('job_apply');
    const model = await Model.load(f.bytes);
    const store = new MemoryEntityStore(f.bundle);
    const members = [...f.bundle.components.values()].flatMap((c) =>
      c.kind === 'random_effect' && c.entity === 'member_id' ? [...c.blocks.keys()] : [],
    );
    assert.ok(members.length > 0, 'job_apply has member blocks');
    const row: Row = {
      member_id: members[0]!,
      title_similarity: 0.75,
      seniority: 'senior',
      member_skills: ['sql', 'go'],
      job_skills: ['go', 'rust'],
    };
    const want = model.score([row], store);
    const p = await browser!.newPage();
    try {
      await p.goto(`${base}index.html?model=models/job_apply.wasm&entities=models/job_apply.entities.json`);
      await p.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
      await p.fill('#in-member_id', members[0]!);
      await p.fill('#in-title_similarity', '0.75');
      await p.selectOption('#in-seniority', 'senior');
      await p.fill('#in-member_skills', 'sql, go');
      await p.fill('#in-job_skills', 'go,rust');
      await p.click('#score');
      for (const o of model.manifest.outputs) {
        const text = await p.textContent(`td[data-output="${o.name}"]`);
        const v = want.value(o.name, 0);
        assert.equal(text, Array.isArray(v) ? v.join(', ') : String(v), o.name);
      }
      // the same row without its entity blocks scores differently: the blocks did reach the page
      const without = model.score([row], new MemoryEntityStore()).value(model.manifest.outputs[0]!.name, 0);
      assert.notEqual(
        String(without),
        await p.textContent(`td[data-output="${model.manifest.outputs[0]!.name}"]`),
      );
      await p.fill('#in-title_similarity', '1.5');
      await p.click('#score');
      const rejected = model.score([{ ...row, title_similarity: 1.5 }], store).rejection(0)!;
      await p.waitForSelector('#rejection', { timeout: 5_000 });
      assert.equal(await p.textContent('#rejection'), `rejected ${rejected.code}: ${rejected.message}`);
      assert.match((await p.textContent('#rejection'))!, /PML4102/);
    } finally {
      await p.close();
    }
  });
});
