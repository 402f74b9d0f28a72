// Strategy tuning (`proml tune`, docs/tuning.md): compile a model with every applicable emitter
// strategy, time the candidates on sample rows, keep the fastest one that is bit-identical to the
// default build (or, with an explicit tolerance, an inexact strategy within it), and record the
// decision and its measurements in the module's manifest.
// Input: a checked model, its bundle, the emit options of a plain compile, and a TuneHost that loads a
// module and stages the sample in its memory (the runtime lives there: the compiler never imports it).
// Output: the chosen module's bytes, its manifest (with `tuning`, abi.md 4.2) and the record.
// Trade-off: timings on a shared machine are noisy, so time is the process's CPU time, a screening
// phase interleaves every candidate (rotating order) and a paired phase puts each finalist's slot
// between two slots of the default; a finalist must beat the default by a margin in most pairs,
// otherwise the default is kept (docs/tuning.md).

import { cpus } from 'node:os';
import {
  MANIFEST_SECTION,
  type Bundle,
  type Manifest,
  type TuningCandidate,
  type TuningRecord,
} from '../abi/index.js';
import { sha256Hex } from '../abi/node.js';
import { hasDenseDot } from './emit/dense.js';
import type { EmitOptions, TreeLayout } from './emit/index.js';
import type * as ir from './ir.js';
import { lowerModel } from './lower.js';
import type { CheckedModel } from './typed.js';

/**
 * The strategy knobs tune varies (a subset of EmitOptions). Every one of them is exact (abi.md 4.1)
 * except mlpPrecision 'f32', a candidate only when the caller allows inexact strategies.
 */
export interface Knobs {
  simd?: boolean;
  mlpUnroll?: number;
  mlpWeights?: 'f64' | 'f32';
  linearWeights?: 'f32' | 'f64';
  mlpPrecision?: 'f32';
  mlpBlock?: number;
  treeLayout?: TreeLayout;
  treeInterleave?: number;
  treeBlock?: number;
}

/** A compiled module loaded with the sample staged in its memory. */
export interface Bench {
  /** Copies the sample into memory again (before each timed slot, so per-call scratch never piles up). */
  stage(): void;
  /** proml_score on the staged sample: rejected rows, or a negative fatal code. */
  call(): number;
  /** The output and status bytes of the last call. */
  bytes(): Uint8Array;
  /** The last call's status words and outputs, as numbers (compared within a tolerance). */
  outputs(): BenchOutputs;
}

/** What a call produced: a status word per row, and every output's validity and values. */
export interface BenchOutputs {
  status: Uint32Array;
  outputs: {
    name: string;
    type: 'f32' | 'f64' | 'int' | 'bool';
    validity: Uint8Array;
    values: ArrayLike<number>;
  }[];
}

export interface TuneHost {
  /** Loads module bytes and stages the sample. */
  load(bytes: Uint8Array): Promise<Bench>;
  /** What was staged: rows, where they came from, the SHA-256 of their ABI buffers. */
  sample: { source: 'file' | 'random'; name: string | null; rows: number; sha256: string };
}

export interface TuneOptions {
  /** The options of a plain compile (source text, bundle text, compiler version, optimize). */
  emit: EmitOptions;
  host: TuneHost;
  /** Wall-clock seconds of timing rounds (compiling and checking are extra). Default 10. */
  budgetSeconds?: number;
  /** Progress lines (candidates compiled, rounds). */
  log?: (line: string) => void;
  /** The clock (ms). Default cpuMs (process CPU time); performance.now gives wall-clock time. */
  now?: () => number;
  /**
   * Allow inexact strategies (the f32 MLP) whose outputs stay within this tolerance of the default
   * build's on the sample: |a − b| ≤ tolerance · max(1, |b|) for every float output of every row,
   * the same status words, validity and int/bool outputs. Default: exact strategies only.
   */
  tolerance?: number;
}

export interface TuneResult {
  bytes: Uint8Array;
  manifest: Manifest;
  record: TuningRecord;
  /** Candidates whose outputs differed from the default build's (a compiler bug: PML3202). */
  inexact: string[];
  /** Inexact-strategy candidates outside the tolerance, each with why (PML3203). */
  outside: string[];
}

/** Tuning problems (docs/errors.md PML32xx). */
export const TUNE_CODES = {
  noRows: { code: 'PML3201', severity: 'error', summary: 'the sample has no row the model accepts' },
  inexact: {
    code: 'PML3202',
    severity: 'warning',
    summary: 'a candidate strategy changed the outputs (a compiler bug); it was dropped',
  },
  outside: {
    code: 'PML3203',
    severity: 'warning',
    summary: 'an inexact candidate (--allow-inexact) differed by more than the tolerance; it was dropped',
  },
} as const;

export class TuneError extends Error {
  readonly code: string;
  constructor(kind: keyof typeof TUNE_CODES, message: string) {
    super(`${TUNE_CODES[kind].code}: ${message}`);
    this.name = 'TuneError';
    this.code = TUNE_CODES[kind].code;
  }
}

/** A winner must be at least this much faster than the default (median of the per-round ratios)... */
export const MIN_SPEEDUP = 1.03;
/** Candidates that go on from the screening rounds to the paired rounds. */
export const FINALISTS = 3;
export const RULE =
  `screening: every exact build (and, with a tolerance, every inexact one within it) in rotating rounds; the ${FINALISTS} best by median speed-up go on to ` +
  `paired rounds (each slot between two default slots, speed-up = its rows/s ÷ their mean); the ` +
  `finalist with the highest median speed-up wins if that median is ≥ ${MIN_SPEEDUP} and its lower ` +
  `quartile > 1, else the default is kept`;

/**
 * This process's CPU time in ms (user + system): on a loaded machine, time spent descheduled does
 * not count, so the slots of one round compare the candidates' own work. The timed loop allocates
 * nothing, so other threads (GC) add next to nothing.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * The knob combinations worth trying for this model: the cross product of the knobs it uses. With
 * `inexact`, an MLP model also gets the f32 MLP (SIMD, row-blocked or not) crossed with its other
 * knobs (unroll and weight storage do not apply to it).
 */
export function candidateKnobs(mod: ir.Module, inexact = false): Knobs[] {
  const global = mod.components.filter((c) => c.per === null);
  const trees = global.some((c) => c.kind === 'gbdt');
  const mlp = global.some((c) => c.kind === 'mlp');
  // SIMD changes MLP layers and dense dot products of vector features in linear components
  const simdMatters = mlp || global.some((c) => c.kind === 'linear');
  let out: Knobs[] = [{}];
  const cross = (values: Knobs[]): void => {
    out = out.flatMap((k) => values.map((v) => ({ ...k, ...v })));
  };
  if (simdMatters) cross([{ simd: true }, { simd: false }]);
  // weight storage of dense dot products (f64 by default: no widening per weight; f32: half the
  // bytes). Without f32-exact weights both compile to the default's module and are dropped as such.
  if (global.some((c) => c.kind === 'linear' && hasDenseDot(c, mod)))
    cross([{ linearWeights: 'f32' }, { linearWeights: 'f64' }]);
  // unroll 1 never won on the fixtures; f32 weight storage applies where a layer's weights are exact
  if (mlp) cross([2, 4, 8].map((u) => ({ mlpUnroll: u })));
  // (mlpBlock 1: the row-at-a-time MLP, which big MLPs do not get by default)
  if (mlp)
    cross([
      { mlpWeights: 'f64', mlpBlock: 1 },
      { mlpWeights: 'f32', mlpBlock: 1 },
    ]);
  // and the row-blocked f64 MLP (SIMD only; its own kernel: unroll and weight storage do not apply)
  if (mlp) out.push({ simd: true, mlpBlock: 64 });
  // flat: one row at a time with 1, 4 or 8 trees side by side, or rows in blocks of 32 or 128
  const treeKnobs: Knobs[] = [
    { treeLayout: 'branchy' },
    ...[1, 4, 8].map((n): Knobs => ({ treeLayout: 'flat', treeInterleave: n, treeBlock: 1 })),
    ...[32, 128].map((b): Knobs => ({ treeLayout: 'flat', treeBlock: b })),
  ];
  if (trees) cross(treeKnobs);
  const exact = [{}, ...out.filter((k) => Object.keys(k).length > 0)];
  if (!inexact || !mlp) return exact;
  const f32: Knobs[] = [
    { simd: true, mlpPrecision: 'f32' },
    { simd: true, mlpPrecision: 'f32', mlpBlock: 1 },
  ];
  return [...exact, ...(trees ? f32.flatMap((k) => treeKnobs.map((t) => ({ ...k, ...t }))) : f32)];
}

/** Knobs that are not exact by design (abi.md 4.1): they must stay within a tolerance, not bit for bit. */
export function inexactKnobs(k: Knobs): boolean {
  return k.mlpPrecision === 'f32';
}

/**
 * How far `got` is from `want` (the default build's outputs): `{differs: why}` when a status word,
 * a validity bit or an int/bool output differs, or a float is NaN in one only; else the largest
 * |a − b| and |a − b| ÷ max(1, |b|) over the float outputs (NaN in both counts as equal).
 */
export function outputDistance(
  got: BenchOutputs,
  want: BenchOutputs,
): { maxAbs: number; maxScaled: number } | { differs: string } {
  const n = want.status.length;
  for (let r = 0; r < n; r++)
    if (got.status[r] !== want.status[r])
      return { differs: `row ${r}'s status differs (a row accepted or rejected differently)` };
  let maxAbs = 0;
  let maxScaled = 0;
  for (let j = 0; j < want.outputs.length; j++) {
    const w = want.outputs[j]!;
    const g = got.outputs[j]!;
    for (let i = 0; i < w.validity.length; i++)
      if (g.validity[i] !== w.validity[i])
        return { differs: `output '${w.name}': a different row is missing` };
    const float = w.type === 'f32' || w.type === 'f64';
    for (let i = 0; i < w.values.length; i++) {
      const a = g.values[i]!;
      const b = w.values[i]!;
      if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
      if (!float) return { differs: `output '${w.name}' (${w.type}) differs at value ${i}: ${a} vs ${b}` };
      const d = Math.abs(a - b);
      if (!(d <= Infinity))
        return { differs: `output '${w.name}' is NaN where the default's is not, at value ${i}` };
      maxAbs = Math.max(maxAbs, d);
      maxScaled = Math.max(maxScaled, d / Math.max(1, Math.abs(b)));
    }
  }
  return { maxAbs, maxScaled };
}

function quartiles(xs: number[]): { median: number; q1: number; q3: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => {
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function knobText(k: Knobs): string {
  const parts = Object.entries(k).map(([n, v]) => `${n}=${String(v)}`);
  return parts.length === 0 ? 'default' : parts.join(' ');
}

const round3 = (
  q: { median: number; q1: number; q3: number },
  digits: number,
): TuningCandidate['speedup'] => ({
  median: Number(q.median.toFixed(digits)),
  q1: Number(q.q1.toFixed(digits)),
  q3: Number(q.q3.toFixed(digits)),
});

interface Compiled {
  knobs: Knobs;
  bytes: Uint8Array;
  manifest: Manifest;
  bench: Bench | null;
  exact: boolean;
  /** Inexact strategies: max |a − b| vs the default on the sample (null: exact, or not compared). */
  maxAbsDiff: number | null;
  /** Its output bytes on the sample (inexact ones: the timed calls must repeat them). */
  own: Uint8Array | null;
  rates: number[];
  ratios: number[];
}

/** Compiles, checks and times every candidate; returns the chosen module with its tuning record. */
export async function tune(checked: CheckedModel, bundle: Bundle, options: TuneOptions): Promise<TuneResult> {
  const log = options.log ?? ((): void => undefined);
  const now = options.now ?? cpuMs;
  const budgetSeconds = options.budgetSeconds ?? 10;
  const tolerance = options.tolerance ?? null;
  if (tolerance !== null && !(tolerance > 0 && tolerance < 1))
    throw new Error(`internal: tune tolerance must be in (0, 1), got ${tolerance}`);
  const mod = lowerModel(checked);
  const host = options.host;
  // the back end (binaryen) loads only when tuning runs: the codes and candidateKnobs stay light
  const { emitScoringModule, replaceCustomSection } = await import('./emit/index.js');

  if (host.sample.rows === 0) throw new TuneError('noRows', 'the sample has no rows: nothing to time');

  // 1. compile every candidate (modules equal to an earlier one's are the same build: dropped), load
  // it, score the sample once and compare the bytes with the default build's (the first)
  const seen = new Set<string>();
  const builds: Compiled[] = [];
  const inexact: string[] = [];
  const outside: string[] = [];
  let reference: Uint8Array | null = null;
  let referenceOutputs: BenchOutputs | null = null;
  let rejected = 0;
  const knobList = candidateKnobs(mod, tolerance !== null);
  if (tolerance !== null && !knobList.some(inexactKnobs))
    log(
      '--allow-inexact: no inexact strategy applies to this model (it has no global mlp): exact candidates only',
    );
  for (const knobs of knobList) {
    const t = performance.now();
    const { bytes, manifest } = await emitScoringModule(checked, mod, bundle, { ...options.emit, ...knobs });
    const sha = sha256Hex(bytes);
    if (seen.has(sha)) continue;
    seen.add(sha);
    log(
      `compiled ${knobText(knobs)} (${bytes.length.toLocaleString('en-US')} bytes, ${(performance.now() - t).toFixed(0)} ms)`,
    );
    const b: Compiled = {
      knobs,
      bytes,
      manifest,
      bench: await host.load(bytes),
      exact: false,
      maxAbsDiff: null,
      own: null,
      rates: [],
      ratios: [],
    };
    b.bench!.stage();
    const result = b.bench!.call();
    if (result < 0) throw new Error(`internal: proml_score returned ${result} on the sample`);
    if (reference === null) {
      // the default build: it defines the expected bytes, and there must be rows to time
      rejected = result;
      if (rejected === host.sample.rows)
        throw new TuneError(
          'noRows',
          `all ${host.sample.rows} sample rows are rejected by the model's input rules: nothing to time`,
        );
      reference = b.bench!.bytes();
      referenceOutputs = b.bench!.outputs();
      b.exact = true;
    } else {
      b.own = b.bench!.bytes();
      b.exact = sameBytes(b.own, reference);
      if (!b.exact && inexactKnobs(b.knobs)) {
        // an inexact strategy: timed when every output stays within the tolerance
        const d = outputDistance(b.bench!.outputs(), referenceOutputs!);
        if ('differs' in d) {
          outside.push(`${knobText(b.knobs)}: ${d.differs}`);
          b.bench = null;
        } else {
          b.maxAbsDiff = d.maxAbs;
          if (d.maxScaled > tolerance!) {
            outside.push(
              `${knobText(b.knobs)}: differs by up to ${d.maxScaled.toExponential(2)} (|a − b| ÷ max(1, |b|)), above the tolerance ${tolerance}`,
            );
            b.bench = null;
          }
        }
      } else if (!b.exact) {
        inexact.push(knobText(b.knobs));
        b.bench = null;
      }
    }
    builds.push(b);
  }
  const def = builds[0]!;
  const timed = builds.filter((b) => b.bench !== null);

  // 3. warm up: a few calls each, and the time of one call (sizes the timed slots)
  const n = host.sample.rows;
  const budgetMs = budgetSeconds * 1000;
  const perCall = new Map<Compiled, number>();
  for (const b of timed) {
    const bench = b.bench!;
    bench.stage();
    let calls = 0;
    const t0 = now();
    while (now() - t0 < 60 || calls < 3) {
      bench.call();
      calls++;
    }
    perCall.set(b, (now() - t0) / calls);
  }
  /** One timed slot: restage, one untimed call, then enough calls to fill about slotMs; rows/s. */
  const slot = (b: Compiled, slotMs: number): number => {
    const bench = b.bench!;
    const k = Math.max(1, Math.round(slotMs / Math.max(perCall.get(b)!, 1e-6)));
    bench.stage();
    bench.call();
    const t0 = now();
    for (let i = 0; i < k; i++) bench.call();
    return (n * k * 1000) / Math.max(now() - t0, 1e-6);
  };

  // 4a. screening (a third of the budget): every candidate once per round, the order rotating
  const C = timed.length;
  const screenMs = C <= 2 ? 0 : budgetMs / 3;
  // a slot is at least one call: long calls (big models, big samples) get fewer rounds, not a longer budget
  const minSlot = Math.max(15, ...timed.map((b) => perCall.get(b)!));
  const screenRounds = C <= 2 ? 0 : Math.min(21, Math.max(3, Math.floor(screenMs / (C * minSlot))));
  const screen = new Map<Compiled, { rates: number[]; ratios: number[] }>(
    timed.map((b) => [b, { rates: [], ratios: [] }]),
  );
  // the budget is wall-clock time: on a loaded machine the process gets a fraction of a core, so the
  // planned rounds (sized in CPU time) stop early at the deadline, after a minimum
  const wallStart = performance.now();
  let screened = 0;
  for (let r = 0; r < screenRounds; r++) {
    if (r >= 3 && performance.now() - wallStart > screenMs) break;
    screened++;
    const rate = new Map<Compiled, number>();
    for (let j = 0; j < C; j++) {
      const b = timed[(r + j) % C]!;
      rate.set(b, slot(b, screenMs / (screenRounds * C)));
    }
    for (const b of timed) {
      screen.get(b)!.rates.push(rate.get(b)!);
      screen.get(b)!.ratios.push(rate.get(b)! / rate.get(def)!);
    }
  }
  if (screened > 0) log(`screened ${C} builds in ${screened} rounds`);
  // the most promising (by median ratio) go on to the paired rounds
  const finalists =
    C <= 1
      ? []
      : screened === 0
        ? timed.slice(1)
        : timed
            .slice(1)
            .map((b) => ({ b, s: quartiles(screen.get(b)!.ratios).median }))
            .sort((x, y) => y.s - x.s)
            .slice(0, FINALISTS)
            .map((x) => x.b);

  // 4b. paired rounds (the rest of the budget): D X D Y D Z D, so every finalist's slot sits between
  // two default slots and its ratio is against their mean: drift from other processes cancels
  const F = finalists.length;
  const pairedMs = budgetMs - screenMs;
  const rounds = F === 0 ? 0 : Math.min(61, Math.max(5, Math.floor(pairedMs / ((2 * F + 1) * minSlot))));
  const slotMs = rounds === 0 ? 0 : pairedMs / (rounds * (2 * F + 1));
  let paired = 0;
  for (let r = 0; r < rounds; r++) {
    if (r >= 5 && performance.now() - wallStart > budgetMs) break;
    paired++;
    let before = slot(def, slotMs);
    def.rates.push(before);
    for (let j = 0; j < F; j++) {
      const b = finalists[(r + j) % F]!;
      const x = slot(b, slotMs);
      const after = slot(def, slotMs);
      def.rates.push(after);
      b.rates.push(x);
      b.ratios.push((2 * x) / (before + after));
      before = after;
    }
    if ((r + 1) % 10 === 0) log(`paired round ${r + 1} (at most ${rounds})`);
  }
  // the timed calls rewrote the same outputs
  for (const b of timed)
    if (!sameBytes(b.bench!.bytes(), b.exact ? reference! : b.own!))
      throw new Error(`internal: candidate ${knobText(b.knobs)} changed its outputs across repeated calls`);

  // 5. decide among the finalists
  let chosen = def;
  let best = 0;
  for (const b of finalists) {
    const s = quartiles(b.ratios);
    if (s.median >= MIN_SPEEDUP && s.q1 > 1 && s.median > best) {
      chosen = b;
      best = s.median;
    }
  }
  const bestFinal = Math.max(0, ...finalists.map((b) => quartiles(b.ratios).median));
  const reason =
    C === 1
      ? 'only one distinct build for this model: nothing to choose'
      : chosen === def
        ? `kept the default: no finalist met the rule (best median speed-up ${bestFinal.toFixed(3)})`
        : `${knobText(chosen.knobs)}: median speed-up ${best.toFixed(3)} over the default in ${paired} paired rounds` +
          (chosen.exact
            ? ''
            : ` (INEXACT: outputs within ${chosen.maxAbsDiff!.toExponential(2)} of the default build's on the sample, tolerance ${tolerance})`);
  const stats = (b: Compiled): { rates: number[]; ratios: number[]; finalist: boolean } =>
    b === def || finalists.includes(b)
      ? { rates: b.rates, ratios: b === def ? b.rates.map(() => 1) : b.ratios, finalist: true }
      : { ...(screen.get(b) ?? { rates: [], ratios: [] }), finalist: false };

  const diff = (s: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(s).filter(([key, v]) => def.manifest.strategies[key] !== v));
  const record: TuningRecord = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      platform: process.platform,
    },
    sample: { ...host.sample, rejected },
    screenRounds: screened,
    rounds: paired,
    budgetSeconds,
    tolerance,
    rule: RULE,
    candidates: builds.map((b) => ({
      options: { ...b.knobs },
      strategies: diff(b.manifest.strategies),
      exact: b.exact,
      maxAbsDiff: b.maxAbsDiff,
      finalist: b.bench !== null && stats(b).finalist,
      rowsPerSec: stats(b).rates.length === 0 ? null : round3(quartiles(stats(b).rates), 0),
      speedup: stats(b).ratios.length === 0 ? null : round3(quartiles(stats(b).ratios), 4),
    })),
    chosen: builds.indexOf(chosen),
    reason,
  };
  const manifest: Manifest = { ...chosen.manifest, tuning: record };
  const bytes = replaceCustomSection(
    chosen.bytes,
    MANIFEST_SECTION,
    new TextEncoder().encode(JSON.stringify(manifest)),
  );
  return { bytes, manifest, record, inexact, outside };
}
