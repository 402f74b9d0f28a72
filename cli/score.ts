// `proml score model.wasm --in data --out scores`: batch scoring of a file (runtime/node/batch.ts).
// Input: the command's arguments. Output: the score file, a progress bar on stderr (a line every few
// seconds when stderr is not a terminal; nothing with --quiet), a summary, an exit code.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { BundleError, readBundle } from '../abi/node.js';
import { MemoryEntityStore, Model, RuntimeError } from '../runtime/index.js';
import { DEFAULT_BATCH_ROWS, scoreFile, type Progress, type Summary } from '../runtime/node/batch.js';

export const SCORE_USAGE = `  score <model.wasm> --in <data.arrow|.parquet|.csv> --out <scores.arrow|.arrows|.parquet|.csv>
                         score a file in batches (--entities <bundle dir>, --threads N,
                         --batch-rows ${DEFAULT_BATCH_ROWS}, --keep <id column>, --quiet)`;

export interface ScoreIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Raw writes for the progress bar (no newline). */
  errRaw?: (s: string) => void;
  /** Whether stderr is a terminal (progress bar) or not (periodic lines). */
  tty?: boolean;
}

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

class ScoreUsage extends Error {}

interface Args {
  model: string;
  input: string;
  output: string;
  entities: string | undefined;
  threads: number | undefined;
  batchRows: number | undefined;
  keep: string | undefined;
  quiet: boolean;
}

function parse(args: string[]): Args {
  const values = new Map<string, string>();
  const files: string[] = [];
  let quiet = false;
  const takes = ['--in', '--out', '--entities', '--threads', '--batch-rows', '--keep'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--quiet' || a === '-q') quiet = true;
    else if (takes.includes(a)) {
      const v = args[++i];
      if (v === undefined) throw new ScoreUsage(`score: ${a} needs a value`);
      values.set(a, v);
    } else if (a.startsWith('--') && takes.includes(a.split('=')[0]!))
      values.set(a.split('=')[0]!, a.slice(a.indexOf('=') + 1));
    else if (a.startsWith('-')) throw new ScoreUsage(`score: unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length !== 1) throw new ScoreUsage('score: give exactly one model (.wasm)');
  const input = values.get('--in');
  const output = values.get('--out');
  if (input === undefined) throw new ScoreUsage('score: --in <file> is required');
  if (output === undefined) throw new ScoreUsage('score: --out <file> is required');
  const int = (flag: string): number | undefined => {
    const v = values.get(flag);
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1)
      throw new ScoreUsage(`score: ${flag} wants a positive integer, got '${v}'`);
    return x;
  };
  return {
    model: files[0]!,
    input,
    output,
    entities: values.get('--entities'),
    threads: int('--threads'),
    batchRows: int('--batch-rows'),
    keep: values.get('--keep'),
    quiet,
  };
}

const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Renders progress: a bar redrawn at most 10×/s on a terminal, a line every 5 s otherwise. */
function progressPrinter(io: ScoreIo, quiet: boolean): { update: (p: Progress) => void; done: () => void } {
  if (quiet) return { update: () => undefined, done: () => undefined };
  const tty = io.tty === true && io.errRaw !== undefined;
  let last = -Infinity;
  let drawn = false;
  const every = tty ? 100 : 5000;
  return {
    update(p) {
      if (p.elapsedMs - last < every) return;
      last = p.elapsedMs;
      const rate = p.rows / Math.max(1e-3, p.elapsedMs / 1000);
      const f = Math.min(1, Math.max(0, p.fraction));
      const eta = f > 0 ? ((p.elapsedMs / 1000) * (1 - f)) / f : Infinity;
      const text = `${fmtInt(p.rows)} rows  ${fmtInt(rate)} rows/s  ${(f * 100).toFixed(0)}%  ETA ${duration(eta)}`;
      if (tty) {
        const width = 30;
        const full = Math.round(f * width);
        io.errRaw!(`\r[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${text}\x1b[K`);
        drawn = true;
      } else io.err(`scoring: ${text}`);
    },
    done() {
      if (drawn) io.errRaw!('\r\x1b[K');
    },
  };
}

export function formatSummary(s: Summary): string[] {
  const lines = [
    `scored ${fmtInt(s.rows)} rows in ${s.seconds.toFixed(2)} s (${fmtInt(s.rowsPerSecond)} rows/s, ${s.threads} thread${s.threads === 1 ? '' : 's'}) → ${s.output}`,
  ];
  const codes = Object.entries(s.rejectedByCode);
  lines.push(
    s.rejected === 0
      ? 'rejected 0 rows'
      : `rejected ${fmtInt(s.rejected)} rows: ${codes.map(([c, k]) => `${c} ${fmtInt(k)}`).join(', ')} (see _rejection)`,
  );
  return lines;
}

export async function cmdScore(argv: string[], io: ScoreIo): Promise<number> {
  let a: Args;
  try {
    a = parse(argv);
  } catch (e) {
    if (!(e instanceof ScoreUsage)) throw e;
    io.err(`proml: ${e.message}`);
    io.err("run 'proml --help' for usage");
    return EXIT.usage;
  }
  if (!existsSync(a.model) || statSync(a.model).isDirectory()) {
    io.err(`proml: score: no such model file: ${a.model}`);
    return EXIT.usage;
  }
  const progress = progressPrinter(io, a.quiet);
  try {
    const model = await Model.load(readFileSync(a.model));
    let entities: MemoryEntityStore | undefined;
    if (a.entities !== undefined) {
      try {
        entities = new MemoryEntityStore(readBundle(a.entities));
      } catch (e) {
        if (e instanceof BundleError) {
          io.err(`${a.entities}: error ${e.message}${e.hint ? `\n  = hint: ${e.hint}` : ''}`);
          return EXIT.failed;
        }
        throw e;
      }
    }
    const summary = await scoreFile(model, a.input, a.output, {
      threads: a.threads,
      batchRows: a.batchRows,
      entities,
      keep: a.keep,
      onProgress: progress.update,
    });
    progress.done();
    for (const line of formatSummary(summary)) io.err(line);
    return EXIT.ok;
  } catch (e) {
    progress.done();
    if (e instanceof RuntimeError) {
      io.err(`proml: score: error ${e.message}`);
      io.err(`nothing was written to ${a.output}`);
      return EXIT.failed;
    }
    throw e;
  }
}
