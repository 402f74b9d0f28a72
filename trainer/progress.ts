// Progress of a long fit: the trainer reports phases (reading data, transform, each component's
// iterations / boosting rounds / entities, scoring held-out rows) to a ProgressSink and never prints;
// the CLI picks the renderer. Input: begin/update/end/note calls and a clock. Output: text on a stream.
//   ttyProgress:   one line per phase, redrawn in place (bar, percent, elapsed, ETA from a smoothed
//                  rate), at most every `redrawMs` (100 ms), cleared when the phase ends;
//   lineProgress:  plain lines, at most one per `everyMs` (2 s) per phase, for logs and CI;
//   silentProgress: nothing (--quiet).
// Trade-off: ETA uses an exponentially smoothed rate (α = 0.3 per 100 ms interval), steadier than the
// last interval's rate and quicker to follow a change than the overall average.

import { AsyncLocalStorage } from 'node:async_hooks';

/** One phase of work: `total` units (null: unknown), reported with absolute counts. */
export interface ProgressPhase {
  /** `done` units so far (absolute); `detail` is shown after the numbers (e.g. "12,000 rows"). */
  update(done: number, detail?: string): void;
  /** The phase is over; `summary`, when given, stays on the screen / in the log. */
  end(summary?: string): void;
}

export interface ProgressSink {
  begin(label: string, total: number | null, unit?: string): ProgressPhase;
  /** A line that stays (a result, a warning). */
  note(line: string): void;
}

const nothing: ProgressPhase = { update: () => undefined, end: () => undefined };

/** Prints nothing (--quiet, and the library default). */
export const silentProgress: ProgressSink = { begin: () => nothing, note: () => undefined };

/** A clock in milliseconds (tests pass a fake one). */
export type Clock = () => number;

/** The stream a renderer writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(s: string): unknown;
  /** Terminal width (a TTY stream has it). */
  columns?: number | undefined;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "3,000/10,000 rows", "2.0/3.5 MiB"; without a total "3,000 rows". */
function formatCounts(done: number, total: number | null, unit: string): string {
  if (unit === 'bytes') {
    const mib = (x: number): string => (x / (1 << 20)).toFixed(1);
    return total === null ? `${mib(done)} MiB` : `${mib(done)}/${mib(total)} MiB`;
  }
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  return `${total === null ? n(done) : `${n(done)}/${n(total)}`}${unit === '' ? '' : ` ${unit}`}`;
}

/**
 * Smoothed rate and ETA of one phase: the rate over each interval of at least `minDt` ms enters an
 * exponential average (α = 0.3), so the smoothing does not depend on how often the learner reports.
 */
class Rate {
  private rate = NaN;
  private lastT: number;
  private lastDone = 0;
  constructor(
    t0: number,
    private readonly minDt = 100,
  ) {
    this.lastT = t0;
  }
  /** Feeds a sample; returns the ETA in ms (NaN while unknown). */
  sample(t: number, done: number, total: number | null): number {
    const dt = t - this.lastT;
    if (dt >= this.minDt && done >= this.lastDone) {
      const inst = (done - this.lastDone) / dt;
      this.rate = Number.isNaN(this.rate) ? inst : 0.3 * inst + 0.7 * this.rate;
      this.lastT = t;
      this.lastDone = done;
    }
    if (total === null || !(this.rate > 0)) return NaN;
    return Math.max(0, total - done) / this.rate;
  }
}

export interface TtyOptions {
  clock?: Clock;
  /** Minimum time between redraws (default 100 ms: 10 redraws/s). */
  redrawMs?: number;
  /** Prefix of `note` lines (e.g. "proml train: "). */
  prefix?: string;
}

/** A single redrawn status line per phase on a terminal. */
export function ttyProgress(stream: ProgressStream, options: TtyOptions = {}): ProgressSink {
  const clock = options.clock ?? ((): number => performance.now());
  const redrawMs = options.redrawMs ?? 100;
  const prefix = options.prefix ?? '';
  let shown = false; // a status line is on the screen
  let current: { redraw: () => void } | null = null;
  const clear = (): void => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return {
    note(line) {
      clear();
      stream.write(`${prefix}${line}\n`);
      current?.redraw();
    },
    begin(label, total, unit = '') {
      const t0 = clock();
      const rate = new Rate(t0);
      let done = 0;
      let detail = '';
      let lastDraw = -Infinity;
      let eta = NaN;
      const draw = (): void => {
        const now = clock();
        const cols = stream.columns ?? 0; // 0: a pty that does not know its size
        const width = cols > 0 ? Math.max(40, cols) : 80;
        const elapsed = formatDuration(now - t0);
        let text: string;
        if (total !== null && total > 0) {
          const f = Math.min(1, done / total);
          const barW = 20;
          const fill = Math.round(f * barW);
          const bar = `[${'#'.repeat(fill)}${'-'.repeat(barW - fill)}]`;
          const etaText = Number.isNaN(eta) ? 'ETA ?' : `ETA ${formatDuration(eta)}`;
          text = `${label} ${bar} ${(f * 100).toFixed(0).padStart(3)}% ${formatCounts(done, total, unit)} ${elapsed} ${etaText}`;
        } else text = `${label} ${done > 0 ? `${formatCounts(done, null, unit)} ` : ''}${elapsed}`;
        if (detail !== '') text += `  ${detail}`;
        if (text.length > width - 1) text = text.slice(0, width - 2) + '…';
        stream.write(`\r\x1b[K${text}`);
        shown = true;
        lastDraw = now;
      };
      const phase = { redraw: draw };
      current = phase;
      draw();
      return {
        update(d, det) {
          done = d;
          if (det !== undefined) detail = det;
          const now = clock();
          eta = rate.sample(now, done, total);
          if (now - lastDraw >= redrawMs) draw();
        },
        end(summary) {
          if (current === phase) current = null;
          clear();
          if (summary !== undefined) stream.write(`${prefix}${summary}\n`);
        },
      };
    },
  };
}

export interface LineOptions {
  clock?: Clock;
  /** Minimum time between two progress lines of a phase (default 2 s). */
  everyMs?: number;
  prefix?: string;
}

/** Plain progress lines (stderr not a terminal, or CI): at most one per `everyMs` per phase. */
export function lineProgress(write: (line: string) => void, options: LineOptions = {}): ProgressSink {
  const clock = options.clock ?? ((): number => performance.now());
  const everyMs = options.everyMs ?? 2000;
  const prefix = options.prefix ?? '';
  return {
    note: (line) => write(`${prefix}${line}`),
    begin(label, total, unit = '') {
      const t0 = clock();
      const rate = new Rate(t0);
      let last = t0;
      return {
        update(done, detail) {
          const now = clock();
          const eta = rate.sample(now, done, total);
          if (now - last < everyMs) return;
          last = now;
          const pct =
            total !== null && total > 0 ? ` ${((100 * Math.min(done, total)) / total).toFixed(0)}%` : '';
          const counts = formatCounts(done, total, unit);
          const etaText = Number.isNaN(eta) ? '' : `, ETA ${formatDuration(eta)}`;
          write(
            `${prefix}${label}:${pct} (${counts}), ${formatDuration(now - t0)} elapsed${etaText}${detail !== undefined ? `, ${detail}` : ''}`,
          );
        },
        end(summary) {
          if (summary !== undefined) write(`${prefix}${summary}`);
        },
      };
    },
  };
}

/** Whether the environment says CI (CI=true, CI=1, ...: any value but empty, "false" and "0"). */
export function isCi(env: Record<string, string | undefined>): boolean {
  const v = env['CI'];
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/**
 * The renderer for a CLI: nothing when quiet; a redrawn bar when stderr is a terminal and not under
 * CI; plain lines (at most one per 2 s per phase) otherwise.
 */
export function progressFor(options: {
  quiet: boolean;
  tty: boolean;
  /** Writes without a newline (the bar). */
  raw: (s: string) => void;
  /** Writes a line (a newline is added). */
  line: (s: string) => void;
  columns?: number | undefined;
  env?: Record<string, string | undefined>;
  prefix?: string;
  clock?: Clock;
}): ProgressSink {
  if (options.quiet) return silentProgress;
  if (options.tty && !isCi(options.env ?? process.env))
    return ttyProgress(
      { write: options.raw, columns: options.columns },
      { prefix: options.prefix, clock: options.clock },
    );
  return lineProgress(options.line, { prefix: options.prefix, clock: options.clock });
}

// ---- progress from inside a fit ----
// The learners (gbdt rounds, L-BFGS iterations, per-entity fits, mlp epochs) report how far they are without a
// sink in every signature: the trainer sets the current fit's reporter (async-context local, so
// concurrent trainings in one process do not mix) and the learner calls reportFit.

const fitContext = new AsyncLocalStorage<(done: number, total: number | null, unit: string) => void>();

/** What a learner calls: `done` of `total` units (rounds, iterations, entities) of the current fit. */
export function reportFit(done: number, total: number | null, unit: string): void {
  fitContext.getStore()?.(done, total, unit);
}

/**
 * Makes the fits that follow (in this async context) report to a phase `label` of `progress`, begun
 * at the first report (its total and unit come from the learner). Returns `end`, which ends it.
 */
export function beginFit(progress: ProgressSink, label: string): { end(summary?: string): void } {
  let phase: ProgressPhase | null = null;
  let unitOf = '';
  fitContext.enterWith((done, total, unit) => {
    if (phase === null || unit !== unitOf) {
      phase?.end();
      phase = progress.begin(label, total, unit);
      unitOf = unit;
    }
    phase.update(done);
  });
  return {
    end(summary) {
      fitContext.enterWith(() => undefined);
      if (phase !== null) phase.end(summary);
      else if (summary !== undefined) progress.note(summary);
    },
  };
}
