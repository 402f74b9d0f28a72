// `proml tune model.pml --coefficients bundle/ [--sample data] -o model.wasm`: flags → compiler/tune.ts,
// with the runtime as the timing host (the sample's first batch staged once per candidate module).
// Input: argv after `tune`. Output: the tuned module (its manifest carries the `tuning` record), a
// table of the candidates on stderr (or the record as JSON on stdout with --json), an exit code:
// 0 ok, 1 a model/bundle/sample error (PML code), 2 bad usage.
// The compiler back end (binaryen) and the batch readers load only when `tune` runs.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { BundleError, readBundle, sha256Hex } from '../abi/node.js';
import type { TuningRecord } from '../abi/index.js';
import type { TuneHost } from '../compiler/tune.js';
import { checkBundle, checkSource, formatDiagnostic } from '../compiler/index.js';
import { inputSchema } from '../compiler/schema.js';
import { randomRows } from '../compiler/reference/index.js';
import {
  MemoryEntityStore,
  Model,
  RuntimeError,
  rowsToColumns,
  type EntityStore,
  type HostColumn,
} from '../runtime/index.js';
import { writeAtomically } from './files.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  color: boolean;
}

export const TUNE_USAGE = `  tune <model.pml> --coefficients <bundle/> -o <model.wasm> [--sample <rows.arrow|.parquet|.csv>]
                         compile with every strategy candidate, time them on the sample (random
                         rows without one), keep the fastest bit-identical one; the manifest
                         records why (--budget 10 s of timing, --sample-rows 10000, --json;
                         --allow-inexact 1e-5: also the f32 MLP when its outputs stay within
                         1e-5 · max(1, |x|) of the exact build's on the sample)`;

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

class TuneUsage extends Error {}

interface Args {
  model: string;
  bundle: string;
  out: string;
  sample: string | undefined;
  sampleRows: number;
  budget: number;
  json: boolean;
  /** --allow-inexact T, or null (exact strategies only). */
  tolerance: number | null;
}

function parse(args: string[]): Args {
  const names: Record<string, string> = {
    '--coefficients': 'bundle',
    '-c': 'bundle',
    '--output': 'out',
    '-o': 'out',
    '--sample': 'sample',
    '--sample-rows': 'sampleRows',
    '--budget': 'budget',
    '--allow-inexact': 'tolerance',
  };
  const values = new Map<string, string>();
  const files: string[] = [];
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = names[a];
    if (name !== undefined) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new TuneUsage(`tune: ${a} needs a value`);
      values.set(name, v);
    } else if (a === '--json') json = true;
    else if (a.startsWith('-')) throw new TuneUsage(`tune: unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length !== 1) throw new TuneUsage('tune: give exactly one model file');
  const bundle = values.get('bundle');
  const out = values.get('out');
  if (bundle === undefined) throw new TuneUsage('tune: --coefficients <bundle dir> is required');
  if (out === undefined) throw new TuneUsage('tune: -o <file.wasm> is required');
  const budgetText = values.get('budget') ?? '10';
  const budget = Number(budgetText);
  if (!(Number.isFinite(budget) && budget > 0 && budget <= 3600))
    throw new TuneUsage(`tune: --budget wants seconds in (0, 3600], not '${budgetText}'`);
  const rowsText = values.get('sampleRows') ?? '10000';
  const sampleRows = Number(rowsText);
  if (!(Number.isInteger(sampleRows) && sampleRows >= 1 && sampleRows <= 1 << 20))
    throw new TuneUsage(`tune: --sample-rows wants an integer in 1..${1 << 20}, not '${rowsText}'`);
  const tolText = values.get('tolerance');
  const tolerance = tolText === undefined ? null : Number(tolText);
  if (tolerance !== null && !(Number.isFinite(tolerance) && tolerance > 0 && tolerance <= 0.01))
    throw new TuneUsage(
      `tune: --allow-inexact wants the largest accepted difference, a number in (0, 0.01] (e.g. 1e-5), not '${tolText}'`,
    );
  return { model: files[0]!, bundle, out, sample: values.get('sample'), sampleRows, budget, json, tolerance };
}

/** SHA-256 over a sample's ABI column buffers, in column order: exactly the bytes that were timed. */
function columnsHash(cols: readonly HostColumn[]): string {
  const h = createHash('sha256');
  for (const c of cols)
    for (const b of [c.validity, c.offsets, c.values, c.data, c.childValidity]) {
      const u8 = b === null ? new Uint8Array(0) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      h.update(new Uint8Array([b === null ? 0 : 1]));
      h.update(new Uint8Array(new Uint32Array([u8.length]).buffer));
      h.update(u8);
    }
  return h.digest('hex');
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

/**
 * The runtime as tune's timing host: each candidate module loaded with Model.load, the sample (ABI
 * columns, their entity blocks fetched once) staged in its memory. Also the tests' host.
 */
export function runtimeTuneHost(
  sample: TuneHost['sample'],
  n: number,
  cols: readonly HostColumn[],
  entities: EntityStore,
): TuneHost {
  return {
    sample,
    async load(bytes) {
      const model = await Model.load(bytes);
      const blocks = model.blocksFor(n, cols, entities) as (Float64Array | null)[][];
      let staged = model.stage(n, cols, blocks);
      return {
        stage: () => {
          staged = model.stage(n, cols, blocks);
        },
        call: () => staged.call(),
        bytes: () => staged.result().bytes(),
        outputs: () => staged.result(),
      };
    },
  };
}

/** The candidates as a table: options, rows/s, speed-up over the default [quartiles], the choice. */
export function formatRecord(r: TuningRecord): string[] {
  const lines = [
    `sample: ${r.sample.rows} rows (${r.sample.source}${r.sample.name === null ? '' : ` ${r.sample.name}`}, ${r.sample.rejected} rejected), ${r.screenRounds} screening + ${r.rounds} paired rounds, ${r.machine.cpu} × ${r.machine.cores}, Node ${r.machine.node}`,
  ];
  const names = r.candidates.map((c) => {
    const opts = Object.entries(c.options).map(([k, v]) => `${k}=${String(v)}`);
    return opts.length === 0 ? 'default' : opts.join(' ');
  });
  const width = Math.max(...names.map((x) => x.length));
  r.candidates.forEach((c, i) => {
    const name = names[i]!.padEnd(width);
    const rate = c.rowsPerSec === null ? '-' : `${fmtRate(c.rowsPerSec.median)} rows/s`;
    const s =
      c.speedup === null
        ? ''
        : `${c.speedup.median.toFixed(3)}× [${c.speedup.q1.toFixed(3)}, ${c.speedup.q3.toFixed(3)}]`;
    const timed = i > 0 && !c.finalist ? `${s} (screening)` : s;
    const note = c.exact
      ? timed
      : c.rowsPerSec === null
        ? c.maxAbsDiff === null || c.maxAbsDiff === undefined
          ? 'NOT EXACT: dropped'
          : `INEXACT, max |Δ| ${c.maxAbsDiff.toExponential(1)}: outside the tolerance, dropped`
        : `${timed}  INEXACT, max |Δ| ${c.maxAbsDiff!.toExponential(1)}`;
    lines.push(`  ${i === r.chosen ? '*' : ' '} ${name} ${rate.padStart(16)}  ${note}`);
  });
  lines.push(`chosen: ${r.reason}`);
  return lines;
}

export async function cmdTune(argv: string[], io: Io): Promise<number> {
  let a: Args;
  try {
    a = parse(argv);
  } catch (e) {
    if (!(e instanceof TuneUsage)) throw e;
    io.err(`proml: ${e.message}`);
    io.err("run 'proml --help' for usage");
    return EXIT.usage;
  }
  if (!existsSync(a.model) || statSync(a.model).isDirectory()) {
    io.err(`proml: tune: no such model file: ${a.model}`);
    return EXIT.usage;
  }
  const outDir = dirname(resolve(a.out));
  if (
    !existsSync(outDir) ||
    !statSync(outDir).isDirectory() ||
    (existsSync(a.out) && statSync(a.out).isDirectory())
  ) {
    io.err(`proml: tune: -o ${a.out}: not a writable file path (missing directory, or a directory)`);
    return EXIT.usage;
  }
  const text = readFileSync(a.model, 'utf8');
  const r = checkSource(a.model, text);
  for (const d of r.sink.sorted()) io.err(formatDiagnostic(r.file, d, io.color) + '\n');
  if (r.checked === null || r.sink.hasErrors) {
    io.err(`${a.model}: not tuned: fix the errors above first`);
    return EXIT.failed;
  }
  const checked = r.checked;
  let bundle: ReturnType<typeof readBundle>;
  try {
    bundle = readBundle(a.bundle);
  } catch (e) {
    if (e instanceof BundleError) {
      io.err(`${a.bundle}: error ${e.message}${e.hint ? `\n  = hint: ${e.hint}` : ''}`);
      return EXIT.failed;
    }
    throw e;
  }
  const issues = checkBundle(checked, bundle, sha256Hex(text));
  for (const d of issues)
    io.err(`${a.bundle}: ${d.severity} ${d.code}: ${d.message}${d.hint ? `\n  = hint: ${d.hint}` : ''}`);
  if (issues.some((d) => d.severity === 'error')) return EXIT.failed;

  // the sample: the first batch of up to --sample-rows rows of the file, or seeded random rows
  const inputs = inputSchema(checked);
  let cols: HostColumn[];
  let n: number;
  let source: 'file' | 'random';
  try {
    if (a.sample !== undefined) {
      const { openSource } = await import('../runtime/node/batch-io.js');
      const src = await openSource(a.sample, inputs, { batchRows: a.sampleRows });
      try {
        const first = await src.batches().next();
        cols = first.done === true ? rowsToColumns(inputs, []) : first.value.cols;
        n = first.done === true ? 0 : first.value.n;
      } finally {
        await src.close();
      }
      source = 'file';
    } else {
      const rows = randomRows(checked, bundle, { seed: 1, count: a.sampleRows });
      cols = rowsToColumns(inputs, rows);
      n = rows.length;
      source = 'random';
      if (!a.json) io.err(`no --sample: timing ${n} random rows (compiler/reference randomRows, seed 1)`);
    }
  } catch (e) {
    if (e instanceof RuntimeError) {
      io.err(`${a.sample ?? 'sample'}: error ${e.message}`);
      return EXIT.failed;
    }
    throw e;
  }
  const entities = new MemoryEntityStore(bundle);
  const sample = {
    source,
    name: a.sample === undefined ? null : basename(a.sample),
    rows: n,
    sha256: columnsHash(cols),
  };

  const { tune, TuneError, TUNE_CODES } = await import('../compiler/tune.js');
  const { CompileError } = await import('../compiler/emit/index.js');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  try {
    const result = await tune(checked, bundle, {
      emit: {
        sourceText: text,
        bundleJsonText: readFileSync(join(a.bundle, 'bundle.json'), 'utf8'),
        compilerVersion: pkg.version,
      },
      budgetSeconds: a.budget,
      ...(a.tolerance === null ? {} : { tolerance: a.tolerance }),
      log: (line) => {
        if (!a.json) io.err(line);
      },
      host: runtimeTuneHost(sample, n, cols, entities),
    });
    for (const what of result.inexact)
      io.err(
        `${a.model}: warning ${TUNE_CODES.inexact.code}: candidate ${what} changed the outputs on the sample; dropped (please report: a strategy meant to be exact)`,
      );
    for (const what of result.outside)
      io.err(`${a.model}: warning ${TUNE_CODES.outside.code}: candidate ${what}; dropped`);
    writeAtomically(a.out, result.bytes);
    if (a.json) io.out(JSON.stringify(result.record, null, 2));
    else {
      for (const line of formatRecord(result.record)) io.err(line);
      io.err(`tuned ${a.model} → ${a.out} (${result.bytes.length.toLocaleString('en-US')} bytes)`);
    }
    return EXIT.ok;
  } catch (e) {
    if (e instanceof TuneError || e instanceof CompileError || e instanceof RuntimeError) {
      io.err(`${a.model}: error ${e.message}`);
      io.err(`nothing was written to ${a.out}`);
      return EXIT.failed;
    }
    throw e;
  }
}
