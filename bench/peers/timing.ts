// Timing for the peer suite: benchmark.js for each case (deferred for engines whose call returns a
// promise), then interleaved rounds that time every case of a model × batch in turn, so load from
// other processes hits all engines alike. Input: cases (a name and a call, sync or async). Output:
// per case calls/s, benchmark.js rme and sample count, and per-round calls/s.
// Quick mode skips benchmark.js (its minimum of 5 samples × 50 ms per case is too slow for a smoke
// test) and takes the median of a few short rounds.

import Benchmark from 'benchmark';

export interface TimedCase {
  name: string;
  /** One batch; a returned promise is awaited (benchmark.js `defer`). */
  call: () => unknown;
  async: boolean;
}

export interface Timing {
  /** Calls per second (benchmark.js mean, or the median of the rounds in quick mode). */
  hz: number;
  /** benchmark.js relative margin of error, % (95%); NaN in quick mode. */
  rme: number;
  samples: number;
  /** Calls per second in each interleaved round. */
  rounds: number[];
}

export interface TimingOptions {
  /** benchmark.js maxTime per case, seconds; 0 = skip benchmark.js. */
  maxTime: number;
  rounds: number;
  /** Target duration of one case in one round, ms. */
  roundMs: number;
}

type Stats = Benchmark & {
  name: string;
  hz: number;
  stats: { rme: number; sample: number[] };
  error?: unknown;
};

function benchmarkjs(cases: TimedCase[], maxTime: number): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  return new Promise((resolve, reject) => {
    const suite = new Benchmark.Suite();
    for (const c of cases)
      if (c.async)
        suite.add(c.name, {
          defer: true,
          maxTime,
          fn: (d: Benchmark.Deferred) => {
            void (c.call() as Promise<unknown>).then(() => d.resolve());
          },
        });
      else suite.add(c.name, c.call, { maxTime });
    suite
      .on('cycle', (ev: Benchmark.Event) => {
        const t = ev.target as unknown as Stats;
        if (t.error !== undefined) {
          reject(t.error as Error);
          return;
        }
        out.set(t.name, t);
        console.log(`    ${String(ev.target)}`);
      })
      .on('complete', () => resolve(out))
      .run({ async: true });
  });
}

async function timeCalls(c: TimedCase, k: number): Promise<number> {
  const t = performance.now();
  if (c.async) for (let i = 0; i < k; i++) await c.call();
  else for (let i = 0; i < k; i++) c.call();
  return performance.now() - t;
}

/** Times every case; the rounds rotate the order of the cases. */
export async function measure(cases: TimedCase[], o: TimingOptions): Promise<Map<string, Timing>> {
  const hz = new Map<string, number>();
  const bjs = o.maxTime > 0 ? await benchmarkjs(cases, o.maxTime) : null;
  for (const c of cases) {
    const s = bjs?.get(c.name);
    if (s !== undefined) hz.set(c.name, s.hz);
    else {
      // calibrate: time one call (after one warm-up call)
      await timeCalls(c, 1);
      hz.set(c.name, 1000 / Math.max(1e-3, await timeCalls(c, 1)));
    }
  }
  const rounds = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < o.rounds; r++)
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + r) % cases.length]!;
      const k = Math.max(1, Math.round((hz.get(c.name)! * o.roundMs) / 1000));
      const ms = await timeCalls(c, k);
      rounds.get(c.name)!.push((1000 * k) / ms);
    }
  const out = new Map<string, Timing>();
  for (const c of cases) {
    const s = bjs?.get(c.name);
    const rs = rounds.get(c.name)!;
    out.set(c.name, {
      hz: s?.hz ?? median(rs),
      rme: s?.stats.rme ?? NaN,
      samples: s?.stats.sample.length ?? rs.length,
      rounds: rs,
    });
  }
  return out;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round(q * (s.length - 1))]!;
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}
