// Synthetic GAME data with known truth, for the trainer's random-effects check.
// Run: node --import tsx scripts/reference/make-game-data.ts fixtures/train/game
// Input: nothing (seeded). Output: train.csv (20,000 rows), test.csv (5,000 rows) with x1, x2, member,
// y and truth.json: the global coefficients and every member's intercept and slope on x1.
// y ~ Bernoulli(sigmoid(-0.2 + 0.8·x1 − 0.5·x2 + a_m + s_m·x1)), a_m, s_m ~ N(0, 1), 300 members
// with Zipf-like row counts (some members have only a handful of rows).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../compiler/reference/index.js';

const out = process.argv[2] ?? 'fixtures/train/game';
const rng = new Rng(2026, 'game');
const normal = (): number => {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
const M = 300;
const members = Array.from({ length: M }, (_, m) => ({
  id: `m${m}`,
  a: normal(),
  s: normal(),
  w: 1 / (1 + m) ** 0.6,
}));
const total = members.reduce((t, m) => t + m.w, 0);
const pick = (): (typeof members)[number] => {
  let u = rng.next() * total;
  for (const m of members) if ((u -= m.w) <= 0) return m;
  return members[M - 1]!;
};
const truth = { intercept: -0.2, x1: 0.8, x2: -0.5 };
const rows = (n: number): string => {
  const lines = ['x1,x2,member,y'];
  for (let i = 0; i < n; i++) {
    const m = pick();
    const x1 = normal();
    const x2 = normal();
    const z = truth.intercept + truth.x1 * x1 + truth.x2 * x2 + m.a + m.s * x1;
    const y = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    lines.push(`${x1},${x2},${m.id},${y}`);
  }
  return lines.join('\n') + '\n';
};
writeFileSync(join(out, 'train.csv'), rows(20_000));
writeFileSync(join(out, 'test.csv'), rows(5_000));
writeFileSync(
  join(out, 'truth.json'),
  JSON.stringify(
    { global: truth, members: Object.fromEntries(members.map((m) => [m.id, { intercept: m.a, x1: m.s }])) },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${out}: 20,000 train and 5,000 test rows, ${M} members`);
