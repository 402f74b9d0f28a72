// Synthetic click-through-like data for the gbdt trainer's check against XGBoost (docs/training.md,
// "Gradient-boosted trees"): generated deterministically here (seeded Rng), so tests and the bench make
// it on the fly and only the XGBoost reference numbers are committed (fixtures/train/gbdt/xgboost.json,
// with the SHA-256 of the files they were measured on).
// Run: node --import tsx scripts/reference/make-gbdt-data.ts DIR [--train N] [--test M]
// Input: row counts, seed. Output: DIR/train.csv and DIR/test.csv with the inputs of
// fixtures/train/gbdt/model.pml and the label y:
//   x0 normal; x1 uniform; x2 log-normal, 10 % missing; x3 small counts (many ties); x4 normal, 15 %
//   missing and the missingness carries signal; x5 one of five values; x6 normal; x7 = x0 + noise
//   (redundant); x8..x11 noise; cat one of 20 labels (Zipf-like frequencies, its own effect and an
//   interaction with x1). y ~ Bernoulli(sigmoid(z)), z nonlinear with interactions (see `margin`).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../compiler/reference/index.js';

export const GBDT_CATEGORIES = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(2, '0')}`);
export const GBDT_COLUMNS = [
  'x0',
  'x1',
  'x2',
  'x3',
  'x4',
  'x5',
  'x6',
  'x7',
  'x8',
  'x9',
  'x10',
  'x11',
  'cat',
  'y',
];

/** CSV text of n rows (header first), drawn from the stream `name` of `seed`. */
export function gbdtRows(n: number, seed: number, name: string): string {
  const rng = new Rng(seed, `gbdt-data/${name}`);
  const normal = (): number => {
    const u = 1 - rng.next();
    const v = rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  // category effects and frequencies come from their own stream (the same for train and test)
  const crng = new Rng(seed, 'gbdt-data/categories');
  const cnormal = (): number => {
    const u = 1 - crng.next();
    const v = crng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const effect = GBDT_CATEGORIES.map(() => 0.7 * cnormal());
  const slope = GBDT_CATEGORIES.map(() => 1.5 * cnormal());
  const weight = GBDT_CATEGORIES.map((_, i) => 1 / (1 + i) ** 0.8);
  const total = weight.reduce((s, x) => s + x, 0);
  const pick = (): number => {
    let u = rng.next() * total;
    for (let i = 0; i < weight.length; i++) if ((u -= weight[i]!) <= 0) return i;
    return weight.length - 1;
  };
  const lines = [GBDT_COLUMNS.join(',')];
  for (let r = 0; r < n; r++) {
    const x0 = normal();
    const x1 = rng.next();
    const x2 = Math.exp(0.8 * normal());
    const x2missing = rng.next() < 0.1;
    const x3 = Math.floor(-Math.log(1 - rng.next()) * 2.5);
    const x4 = normal();
    const x4missing = rng.next() < 0.15;
    const x5 = Math.floor(rng.next() * 5) / 4;
    const x6 = normal();
    const x7 = x0 + 0.3 * normal();
    const noise = [normal(), rng.next(), normal(), Math.floor(rng.next() * 100)];
    const c = pick();
    const z =
      -0.6 +
      1.2 * Math.sin(1.5 * x0) +
      1.5 * (x1 - 0.5) * (x6 > 0 ? 1 : -1) +
      0.6 * Math.log1p(x2missing ? 1 : x2) +
      0.25 * Math.min(x3, 8) -
      0.8 * (x5 >= 0.5 ? 1 : 0) +
      effect[c]! +
      slope[c]! * (x1 - 0.5) +
      (x4missing ? 0.8 : 0.5 * x4) -
      0.3 * x6 * x6;
    const y = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    lines.push(
      [
        x0,
        x1,
        x2missing ? '' : x2,
        x3,
        x4missing ? '' : x4,
        x5,
        x6,
        x7,
        ...noise,
        GBDT_CATEGORIES[c]!,
        y,
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** Writes DIR/train.csv and DIR/test.csv; returns their paths. */
export function writeGbdtData(
  dir: string,
  train: number,
  test: number,
  seed = 2026,
): { train: string; test: string } {
  const paths = { train: join(dir, 'train.csv'), test: join(dir, 'test.csv') };
  writeFileSync(paths.train, gbdtRows(train, seed, 'train'));
  writeFileSync(paths.test, gbdtRows(test, seed, 'test'));
  return paths;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/.*\//, '/'))) {
  const arg = (flag: string, dflt: number): number => {
    const i = process.argv.indexOf(flag);
    return i < 0 ? dflt : Number(process.argv[i + 1]);
  };
  const dir = process.argv[2] ?? '.';
  const p = writeGbdtData(dir, arg('--train', 100_000), arg('--test', 25_000));
  console.log(`wrote ${p.train} and ${p.test}`);
}
