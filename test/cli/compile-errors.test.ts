// `proml compile` on bad inputs, run as a user runs it (node cli/bin.mjs, one process per case):
// missing, extra and mis-shaped coefficients, corrupt bundles (bad JSON, a truncated or cut Arrow
// table, a SHA-256 mismatch, a table that is a directory), a missing bundle, a model with errors or
// that cannot be read, an output path that cannot be written.
// Input: copies of fixtures/models/tiny_linear and job_apply (model, bundle) corrupted in a temp dir.
// Output: per case, assertions on the exit code (1 for bad models and bundles, 2 for bad command
// lines: unreadable files, an unusable -o), on stderr naming the PML code and the thing at fault
// with no internal error or stack trace, and on the output directory staying empty (no module, no
// temporary file). About 11 CLI processes, two at a time: most of the time is process start-up.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODELS_DIR, ROOT } from '../helpers.js';

const MODEL = join(MODELS_DIR, 'tiny_linear', 'model.pml');
const BUNDLE = join(MODELS_DIR, 'tiny_linear', 'bundle');
const TABLE = 'component.lin.weights.arrow';
const JOB_MODEL = join(MODELS_DIR, 'job_apply', 'model.pml');
const JOB_BUNDLE = join(MODELS_DIR, 'job_apply', 'bundle');

interface Case {
  name: string;
  /** Model and bundle paths (default: the fixture's); `out` is a fresh empty directory per case. */
  model?: string;
  bundle?: string;
  /** The -o path inside the case's output directory (default `model.wasm`). */
  output?: (outDir: string) => string;
  code: 1 | 2;
  /** What stderr must say: the code and the thing at fault. */
  says: RegExp[];
}

interface Outcome {
  code: number | null;
  err: string;
  outDir: string;
  ms: number;
}

function proml(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
      // a hang is a failure too (a corrupt table once made apache-arrow loop forever)
      timeout: 60_000,
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, err }));
  });
}

/** Runs `work` over `items`, at most `limit` at a time, keeping their order. */
async function pool<T, R>(items: T[], limit: number, work: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}

describe('proml compile: bad inputs fail clearly and write nothing', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'proml-compile-errors-'));
  const cases: Case[] = [];
  const outcomes = new Map<string, Outcome>();
  let socket: Server | null = null;

  /** A copy of a fixture bundle (default tiny_linear's), changed by `edit` (given its directory). */
  const bundle = (name: string, edit: (dir: string) => void, from = BUNDLE): string => {
    const dir = join(tmp, 'bundles', name);
    cpSync(from, dir, { recursive: true });
    edit(dir);
    return dir;
  };
  const editJson = (dir: string, edit: (json: Record<string, unknown>) => void): void => {
    const path = join(dir, 'bundle.json');
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(json);
    writeFileSync(path, JSON.stringify(json, null, 2));
  };
  type Components = Record<string, Record<string, unknown>>;
  /** Rewrites the table and records its new hash: a consistent bundle whose table is bad. */
  const replaceTable = (dir: string, bytes: Uint8Array): void => {
    writeFileSync(join(dir, TABLE), bytes);
    editJson(dir, (j) => {
      const ref = ((j['components'] as Components)['lin']!['tables'] as Record<string, { sha256: string }>)[
        'weights'
      ]!;
      ref.sha256 = createHash('sha256').update(bytes).digest('hex');
    });
  };
  const table = readFileSync(join(BUNDLE, TABLE));

  cases.push(
    {
      // checkBundle reports every issue it finds: the four component mistakes in one run
      name: 'coefficients missing for a component, one for an unknown component, wrong input width, wrong classes',
      model: JOB_MODEL,
      bundle: bundle(
        'components',
        (d) =>
          editJson(d, (j) => {
            const cs = j['components'] as Components;
            cs['ghost'] = cs['member_re']!;
            delete cs['member_re'];
            cs['global']!['inputWidth'] = (cs['global']!['inputWidth'] as number) + 1;
            cs['job_re']!['classes'] = 2;
          }),
        JOB_BUNDLE,
      ),
      code: 1,
      says: [
        /error PML3012: component 'member_re' has no coefficients in the bundle/,
        /error PML3013: the bundle has coefficients for 'ghost', which is not a component of the model/,
        /error PML3015: component 'global': the input width is 262157 in the model, 262158 in the bundle/,
        /error PML3015: component 'job_re': the number of classes is 1 in the model, 2 in the bundle/,
      ],
    },
    {
      name: 'bundle.json is not valid JSON',
      bundle: bundle('bad-json', (d) =>
        writeFileSync(join(d, 'bundle.json'), '{"format": "proml-coefficients", "formatVersion": '),
      ),
      code: 1,
      says: [/error PML3002: bundle.json: not valid JSON/],
    },
    {
      name: 'a truncated Arrow table (hash updated to match)',
      bundle: bundle('truncated', (d) => replaceTable(d, table.subarray(0, table.length >> 1))),
      code: 1,
      says: [new RegExp(`error PML3006: table '${TABLE}': not an Arrow IPC file`)],
    },
    {
      // apache-arrow's tableFromIPC looped forever on this one (the footer points at the wrong bytes)
      name: 'an Arrow table with 8 bytes cut from its middle (magic intact, hash updated)',
      bundle: bundle('cut', (d) =>
        replaceTable(d, Buffer.concat([table.subarray(0, 8), table.subarray(16)])),
      ),
      code: 1,
      says: [new RegExp(`error PML3006: table '${TABLE}': unreadable Arrow IPC`)],
    },
    {
      name: "a table whose SHA-256 differs from bundle.json's",
      bundle: bundle('sha', (d) => writeFileSync(join(d, TABLE), Buffer.concat([table, Buffer.of(0)]))),
      code: 1,
      says: [new RegExp(`error PML3005: table '${TABLE}' is corrupt: SHA-256`)],
    },
    {
      name: 'a table file is a directory',
      bundle: bundle('table-dir', (d) => {
        rmSync(join(d, TABLE));
        mkdirSync(join(d, TABLE));
      }),
      code: 1,
      says: [new RegExp(`error PML3004: table '${TABLE}' named in bundle.json is missing`)],
    },
    {
      name: 'the bundle directory does not exist',
      bundle: join(tmp, 'bundles', 'nope'),
      code: 1,
      says: [/error PML3001: no coefficient bundle at '.*nope'/],
    },
    {
      name: 'the model has errors',
      model: (() => {
        const path = join(tmp, 'broken.pml');
        writeFileSync(path, readFileSync(MODEL, 'utf8').replace('output y : f32 = lin', 'output y = lin +'));
        return path;
      })(),
      code: 1,
      says: [/broken\.pml:\d+:\d+: error PML\d{4}: /, /broken\.pml: not compiled/],
    },
    {
      name: 'the model file cannot be read (a socket)',
      model: join(tmp, 'model.sock'),
      code: 2,
      says: [/cannot read .*model\.sock: ENXIO/],
    },
    {
      name: '-o names a file in a directory that does not exist',
      output: (d) => join(d, 'no', 'such', 'dir', 'm.wasm'),
      code: 2,
      says: [/-o .*m\.wasm: no such directory: /],
    },
    {
      name: '-o names a directory',
      output: (d) => {
        mkdirSync(join(d, 'sub'));
        return join(d, 'sub');
      },
      code: 2,
      says: [/-o .*sub: .*sub is a directory; name a .wasm file/],
    },
  );
  // root reads files whatever their mode: the permission case runs only for other users
  const root = process.getuid?.() === 0;
  if (!root) {
    const path = join(tmp, 'locked.pml');
    cpSync(MODEL, path);
    chmodSync(path, 0o000);
    cases.push({
      name: 'the model file is not readable (mode 000)',
      model: path,
      code: 2,
      says: [/cannot read .*locked\.pml: EACCES/],
    });
  }

  before(async () => {
    const server = createServer();
    socket = server;
    await new Promise<void>((resolve) => server.listen(join(tmp, 'model.sock'), resolve));

    const results = await pool(cases, Math.max(2, availableParallelism()), async (c) => {
      const outDir = join(tmp, 'out', c.name.replace(/[^a-z0-9]+/gi, '-'));
      mkdirSync(outDir, { recursive: true });
      const out = (c.output ?? ((d: string) => join(d, 'model.wasm')))(outDir);
      const started = performance.now();
      const r = await proml(['compile', c.model ?? MODEL, '--coefficients', c.bundle ?? BUNDLE, '-o', out]);
      return { ...r, outDir, ms: performance.now() - started };
    });
    cases.forEach((c, i) => outcomes.set(c.name, results[i]!));
  });

  after(async () => {
    const server = socket;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const c of cases)
    it(c.name, () => {
      const o = outcomes.get(c.name);
      assert.ok(o !== undefined, `case '${c.name}' did not run`);
      assertCase(c, o);
    });
});

function assertCase(c: Case, o: Outcome): void {
  const why = `${c.name} (${o.ms.toFixed(0)} ms):\n${o.err}`;
  assert.equal(o.code, c.code, why);
  for (const re of c.says) assert.match(o.err, re, why);
  if (c.code === 1) assert.match(o.err, /error PML\d{4}: /, why);
  assert.doesNotMatch(o.err, /internal error|this is a bug/, why);
  assert.doesNotMatch(o.err, /^\s+at .+:\d+:\d+\)?$/m, `stack trace in: ${why}`);
  assert.doesNotMatch(o.err, /compiled .* bytes/, why);
  // no module and no temporary file: the directory holds only what the case put there
  const left = readdirSync(o.outDir, { recursive: true }).map(String).sort();
  assert.deepEqual(left, c.name.startsWith('-o names a directory') ? ['sub'] : [], why);
}
