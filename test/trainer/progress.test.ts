// Progress of `proml train` (trainer/progress.ts): the terminal renderer with a fake clock and a fake
// TTY stream (bar, percent, ETA, at most 10 redraws a second, the line cleared at the end), the line
// renderer (at most one line per 2 s), the choice of renderer (--quiet, CI=true, not a terminal), the
// learners' reports through beginFit, and the CLI: --quiet writes nothing to stderr.
// Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  beginFit,
  formatDuration,
  lineProgress,
  progressFor,
  reportFit,
  silentProgress,
  ttyProgress,
} from '../../trainer/progress.js';
import { ROOT } from '../helpers.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** The escape character shown as ESC (regular expressions without control characters). */
const visible = (s: string): string => s.replaceAll('\x1b', 'ESC');

function fakeTty(columns = 120): { write: (s: string) => void; columns: number; writes: string[] } {
  const writes: string[] = [];
  return { write: (s) => void writes.push(s), columns, writes };
}

describe('progress renderers', () => {
  it('tty: one redrawn line with bar, percent, counts, elapsed and ETA; cleared at the end', () => {
    const clock = fakeClock();
    const tty = fakeTty();
    const p = ttyProgress(tty, { clock: clock.now, prefix: 'proml train: ' });
    const phase = p.begin('p: pass 1/1, trees', 1000, 'rounds');
    assert.match(
      visible(tty.writes[0]!),
      /^\rESC\[Kp: pass 1\/1, trees \[-{20}\] {3}0% 0\/1,000 rounds 0\.0 s ETA \?$/,
    );
    // 100 rounds a second
    for (let k = 1; k <= 500; k++) {
      clock.advance(10);
      phase.update(k);
    }
    const last = tty.writes[tty.writes.length - 1]!;
    assert.match(visible(last), /^\rESC\[K/, 'redrawn in place');
    assert.ok(!last.includes('\n'), 'no newline while drawing');
    assert.match(last, /\[#{10}-{10}\] {2}50% 500\/1,000 rounds 5\.0 s ETA 5\.0 s/);
    phase.end('trees: 1000 rounds');
    assert.deepEqual(tty.writes.slice(-2), ['\r\x1b[K', 'proml train: trees: 1000 rounds\n']);
  });

  it('tty: at most 10 redraws a second, however often the learner reports', () => {
    const clock = fakeClock();
    const tty = fakeTty();
    const phase = ttyProgress(tty, { clock: clock.now }).begin('fit', 100_000, '');
    for (let k = 1; k <= 10_000; k++) {
      clock.advance(0.1); // 10,000 reports in one second
      phase.update(k);
    }
    // the first draw at begin, then one per 100 ms
    assert.ok(tty.writes.length >= 10 && tty.writes.length <= 11, `${tty.writes.length} writes`);
  });

  it('tty: the ETA follows a smoothed rate (a change of pace moves it gradually)', () => {
    const clock = fakeClock();
    const tty = fakeTty();
    const phase = ttyProgress(tty, { clock: clock.now }).begin('fit', 2000, 'iterations');
    let done = 0;
    const step = (perTick: number): void => {
      clock.advance(100);
      done += perTick;
      phase.update(done);
    };
    for (let k = 0; k < 10; k++) step(10); // 100/s: ETA = remaining / 100
    assert.match(tty.writes.at(-1)!, /ETA 19 s/);
    step(100); // one burst at 1,000/s: the smoothed rate is 0.3·1000 + 0.7·100 = 370/s
    assert.match(tty.writes.at(-1)!, /ETA 4\.9 s/); // (2000 − 200) / 370 = 4.86 s
  });

  it('tty: a note clears the bar, prints its line and redraws; long lines are cut to the width', () => {
    const clock = fakeClock();
    const tty = fakeTty(40);
    const p = ttyProgress(tty, { clock: clock.now });
    const phase = p.begin('a rather long label for a narrow terminal', 10, 'rows');
    p.note('fitted 3 transform statistics');
    assert.deepEqual(tty.writes.slice(1, 3), ['\r\x1b[K', 'fitted 3 transform statistics\n']);
    assert.match(visible(tty.writes[3]!), /^\rESC\[Ka rather long label/);
    for (const w of tty.writes.filter((x) => x.startsWith('\r\x1b[K') && x.length > 4))
      assert.ok(w.length - 4 <= 39, `'${w}' is wider than the terminal`);
    phase.end();
    assert.equal(tty.writes.at(-1), '\r\x1b[K');
  });

  it('tty: a phase of unknown length shows the count and elapsed time, no bar', () => {
    const clock = fakeClock();
    const tty = fakeTty();
    const phase = ttyProgress(tty, { clock: clock.now }).begin('transform module (20000 rows)', null);
    clock.advance(2500);
    phase.update(0);
    assert.match(visible(tty.writes.at(-1)!), /^\rESC\[Ktransform module \(20000 rows\) 2\.5 s$/);
  });

  it('lines: at most one line every 2 s per phase, with percent and ETA; the summary stays', () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const p = lineProgress((l) => lines.push(l), { clock: clock.now, prefix: 'proml train: ' });
    const phase = p.begin('reading big.parquet', 50 << 20, 'bytes');
    for (let k = 1; k <= 50; k++) {
      clock.advance(100); // 10 MiB/s for 5 s
      phase.update(k << 20, `${k * 1000} rows`);
    }
    phase.end('read 50000 rows');
    assert.deepEqual(lines, [
      'proml train: reading big.parquet: 40% (20.0/50.0 MiB), 2.0 s elapsed, ETA 3.0 s, 20000 rows',
      'proml train: reading big.parquet: 80% (40.0/50.0 MiB), 4.0 s elapsed, ETA 1.0 s, 40000 rows',
      'proml train: read 50000 rows',
    ]);
    assert.ok(lines.every((l) => !l.includes('\x1b')));
  });

  it('the CLI’s choice: --quiet nothing, CI=true or not a terminal lines, else the bar', () => {
    const raw: string[] = [];
    const lines: string[] = [];
    const io = { raw: (s: string): void => void raw.push(s), line: (s: string): void => void lines.push(s) };
    assert.equal(progressFor({ ...io, quiet: true, tty: true, env: {} }), silentProgress);
    for (const [tty, env, bar] of [
      [true, {}, true],
      [true, { CI: 'true' }, false],
      [true, { CI: '1' }, false],
      [true, { CI: 'false' }, true],
      [false, {}, false],
    ] as const) {
      raw.length = 0;
      lines.length = 0;
      progressFor({ ...io, quiet: false, tty, env })
        .begin('x', 10)
        .end('done');
      assert.equal(raw.length > 0, bar, `tty ${tty}, env ${JSON.stringify(env)}`);
      assert.deepEqual(lines, bar ? [] : ['done']);
    }
  });

  it('learners report through beginFit: the phase takes their total and unit', () => {
    const clock = fakeClock();
    const tty = fakeTty();
    const p = ttyProgress(tty, { clock: clock.now });
    reportFit(1, 10, 'rounds'); // no fit begun: nothing happens
    assert.equal(tty.writes.length, 0);
    const fit = beginFit(p, 'p: pass 1/1, trees');
    for (let k = 1; k <= 3; k++) {
      clock.advance(200);
      reportFit(k, 10, 'rounds');
    }
    assert.match(tty.writes.at(-1)!, /p: pass 1\/1, trees \[#{6}-{14}\] {2}30% 3\/10 rounds/);
    fit.end();
    assert.equal(tty.writes.at(-1), '\r\x1b[K');
    const n = tty.writes.length;
    reportFit(4, 10, 'rounds'); // after end: nothing
    assert.equal(tty.writes.length, n);
  });

  it('durations read naturally', () => {
    assert.deepEqual([0, 1234, 42_000, 125_000, 3_725_000, NaN].map(formatDuration), [
      '0.0 s',
      '1.2 s',
      '42 s',
      '2 min 05 s',
      '1 h 02 min',
      '?',
    ]);
  });
});

describe('proml train on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proml-progress-'));
  const GAME = join(ROOT, 'fixtures', 'train', 'game');
  const data = join(dir, 'small.csv');
  writeFileSync(data, readFileSync(join(GAME, 'train.csv'), 'utf8').split('\n').slice(0, 1501).join('\n'));
  const train = (extra: string[], env: Record<string, string> = {}): ReturnType<typeof spawnSync> =>
    spawnSync(
      process.execPath,
      [
        join(ROOT, 'cli', 'bin.mjs'),
        'train',
        join(GAME, 'game.pml'),
        '--data',
        data,
        '-o',
        join(dir, 'out'),
        ...extra,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } },
    );

  it('--quiet writes nothing to stderr; without it, plain progress lines (stderr is not a terminal)', () => {
    const q = train(['--quiet']);
    assert.equal(q.status, 0, String(q.stderr));
    assert.equal(q.stderr, '');
    assert.match(String(q.stdout), /held-out metrics: auc/);
    const v = train([], { CI: 'true' });
    assert.equal(v.status, 0, String(v.stderr));
    const err = String(v.stderr);
    assert.match(err, /^proml train: p: pass 1\/4, global: \d+ solver iterations/m);
    assert.ok(!err.includes('\x1b') && !err.includes('\r'), 'no terminal control codes');
  });

  it('bad data: exit 1 and one error line naming the file, column and line; no stack trace', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'x1,x2,member,y\n1,2,m1,0\n1,abc,m1,1\n');
    const r = train(['-q'].concat(['--validation', bad]));
    assert.equal(r.status, 1);
    assert.match(
      String(r.stderr),
      /error PML5002: .*bad\.csv: line 3, column 'x2': 'abc' is not a number\n$/,
    );
    assert.ok(!String(r.stderr).includes('    at '), 'no stack trace');
  });
});
