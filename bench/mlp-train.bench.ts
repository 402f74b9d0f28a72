// MLP training speed (trainer/mlp.ts on @tensorflow/tfjs-backend-wasm): rows per second per epoch for
// the pymk shape (131 inputs → 256 → 128 → 64 → 1, relu, logistic, Adam) at two batch sizes, with
// and without dropout, on ROWS synthetic dense rows; wall and process-CPU seconds (the machine is
// shared: CPU seconds are the steadier figure). Also the matrix products the backward pass needs,
// with tfjs's transpose flags and with explicit transposes (why trainer/mlp.ts transposes itself),
// in GFLOP/s per CPU-second.
// Output: the table (bench/index.ts → bench/results/mlp-train.md). Run: npm run bench -- mlp-train

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../compiler/reference/index.js';
import type { Csr } from '../trainer/matrix.js';
import { fitMlp, mlpParams } from '../trainer/mlp.js';

const ROWS = 20_000;
const D = 131;
const HIDDEN = [256, 128, 64];
const EPOCHS = 2;
const REPEAT = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function data(): { X: Csr; y: Float64Array } {
  const rng = new Rng(1, 'mlp-bench');
  const vals = Float64Array.from({ length: ROWS * D }, () => 2 * rng.next() - 1);
  const X: Csr = {
    n: ROWS,
    d: D,
    offsets: Int32Array.from({ length: ROWS + 1 }, (_, i) => i * D),
    cols: Int32Array.from({ length: ROWS * D }, (_, i) => i % D),
    vals,
  };
  const y = Float64Array.from({ length: ROWS }, (_, i) => (vals[i * D]! * vals[i * D + 64]! > 0 ? 1 : 0));
  return { X, y };
}

async function fitRate(X: Csr, y: Float64Array, batchSize: number, dropout: number): Promise<string[]> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fitMlp({
      X,
      y,
      w: null,
      offset: new Float64Array(ROWS),
      loss: 'logistic',
      classes: 1,
      hidden: HIDDEN,
      activation: 'relu',
      params: { ...mlpParams(undefined), epochs: EPOCHS, batchSize, dropout },
      seed: 1,
      stream: 'bench',
      pass: 0,
      warm: null,
      log: () => undefined,
    });
    walls.push((performance.now() - t0) / 1000);
    cpus.push(cpuSeconds(c0));
  }
  const rows = EPOCHS * ROWS;
  return [
    String(batchSize),
    String(dropout),
    median(walls).toFixed(2),
    median(cpus).toFixed(2),
    Math.round(rows / median(walls)).toLocaleString('en'),
    Math.round(rows / median(cpus)).toLocaleString('en'),
  ];
}

function matMulRate(name: string, f: () => tf.Tensor, flops: number): string[] {
  for (let i = 0; i < 3; i++) f().dispose();
  const R = 20;
  const c0 = process.cpuUsage();
  for (let i = 0; i < R; i++) {
    const t = f();
    t.dataSync();
    t.dispose();
  }
  const cpu = cpuSeconds(c0) / R;
  return [name, (cpu * 1e3).toFixed(2), (flops / cpu / 1e9).toFixed(2)];
}

export async function run(): Promise<string> {
  const { X, y } = data();
  // the first fit loads tfjs (outside the timings)
  await fitMlp({
    X: { ...X, n: 64 },
    y,
    w: null,
    offset: new Float64Array(64),
    loss: 'logistic',
    classes: 1,
    hidden: [4],
    activation: 'relu',
    params: { ...mlpParams(undefined), epochs: 1 },
    seed: 1,
    stream: 'warmup',
    pass: 0,
    warm: null,
    log: () => undefined,
  });
  const fits: string[][] = [];
  for (const [batch, dropout] of [
    [256, 0],
    [1024, 0],
    [1024, 0.1],
  ] as const)
    fits.push(await fitRate(X, y, batch, dropout));
  const a = tf.randomUniform([1024, 256], -1, 1, 'float32', 1);
  const b = tf.randomUniform([256, 128], -1, 1, 'float32', 2);
  const dz = tf.randomUniform([1024, 128], -1, 1, 'float32', 3);
  const flops = 2 * 1024 * 256 * 128;
  const mms = [
    matMulRate('h·W (forward)', () => tf.matMul(a, b), flops),
    matMulRate('hᵀ·dz, transpose flag', () => tf.matMul(a, dz, true, false), flops),
    matMulRate('hᵀ·dz, explicit transpose', () => tf.tidy(() => tf.matMul(tf.transpose(a), dz)), flops),
    matMulRate('dz·Wᵀ, transpose flag', () => tf.matMul(dz, b, false, true), flops),
    matMulRate('dz·Wᵀ, explicit transpose', () => tf.tidy(() => tf.matMul(dz, tf.transpose(b))), flops),
  ];
  tf.dispose([a, b, dz]);
  const table = (head: string[], rows: string[][]): string =>
    [
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  return [
    `pymk-shaped net ${D} → ${HIDDEN.join(' → ')} → 1 (relu, logistic, Adam), ${ROWS.toLocaleString('en')} rows, ${EPOCHS} epochs per fit (+ the margins pass), median of ${REPEAT}; backend ${tf.getBackend()}.`,
    '',
    table(['batch_size', 'dropout', 'wall s', 'CPU s', 'rows/s (wall)', 'rows/s (CPU)'], fits),
    '',
    'Matrix products of one 1024-row step (1024×256 by 256×128 shapes), per product:',
    '',
    table(['product', 'CPU ms', 'GFLOP/s (CPU)'], mms),
  ].join('\n');
}
