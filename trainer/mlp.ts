// Fully connected networks for `mlp` components (docs/training.md, "MLP components"), trained with
// TensorFlow.js on its WebAssembly backend (@tensorflow/tfjs-backend-wasm: XNNPACK, SIMD, one thread).
// Input: the component's input on the training rows (CSR, f64, as the transform module wrote it,
// docs/abi.md 3.4), labels, row weights, offsets (the other components' margins: coordinate descent),
// the objective, the DSL structure (`hidden`, `activation`, `classes`) and hyperparameters
// (docs/dsl.md 9.3: epochs, batch_size, learning_rate, optimizer, l2, dropout), a seed.
// Output: the layers in the bundle's form (abi/bundle.ts MlpLayer: row-major [outputs][inputs], f32
// values widened to f64) and the component's margins on the training rows.
//
// How: minibatch epochs over a seeded shuffle; forward pass, loss gradient and backpropagation are
// written out here with tfjs-core kernels (tfjs-core's Node build registers no gradient functions, and
// an MLP's backward pass is three matrix products per layer); tf.train.adam / tf.train.sgd apply the
// gradients. Everything random (initial weights: He-uniform before relu, Glorot-uniform otherwise;
// the shuffle; dropout masks) comes from compiler/reference Rng streams named after the component,
// drawn in JS, so a seed gives the same weights on a given machine (tfjs computes in f32; its kernels
// may round differently on other CPUs). tfjs is loaded only when a model has an mlp component (also in
// a search worker thread, once per worker). Progress: epochs done of `epochs` (progress.ts reportFit).

import type * as TF from '@tensorflow/tfjs-core';
import type { ComponentCoefficients, HyperValue, MlpLayer } from '../abi/index.js';
import { Rng } from '../compiler/reference/index.js';
import type { CheckedComponent } from '../compiler/typed.js';
import { TrainError } from './errors.js';
import type { Csr } from './matrix.js';
import { reportFit } from './progress.js';

export type MlpLoss = 'logistic' | 'squared_error' | 'poisson' | 'multiclass';
export type MlpActivation = 'relu' | 'tanh' | 'sigmoid' | 'linear';
type MlpCoefficients = Extract<ComponentCoefficients, { kind: 'mlp' }>;

/** Rows per forward pass when computing margins (bounds the dense input buffer). */
const MARGIN_CHUNK = 4096;
/** Poisson: margins are clipped here before exp (f32 overflows at 88). */
const POISSON_MAX_MARGIN = 30;

export interface MlpParams {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'sgd';
  /** Weight decay: the loss gains (l2 / 2)·Σ‖W‖² over the weight matrices (not the biases). */
  l2: number;
  /** Inverted dropout after every hidden layer, training only. */
  dropout: number;
}

/** The DSL hyperparameters (docs/dsl.md 9.3) with their defaults. */
export function mlpParams(h: Map<string, HyperValue> | undefined): MlpParams {
  const num = (key: string, dflt: number): number => {
    const v = h?.get(key);
    return typeof v === 'number' ? v : dflt;
  };
  return {
    epochs: num('epochs', 10),
    batchSize: num('batch_size', 256),
    learningRate: num('learning_rate', 0.001),
    optimizer: h?.get('optimizer') === 'sgd' ? 'sgd' : 'adam',
    l2: num('l2', 0),
    dropout: num('dropout', 0),
  };
}

export interface MlpFitInput {
  X: Csr;
  y: Float64Array;
  /** Row weights (null: all 1). */
  w: Float64Array | null;
  /** n × classes: the other components' margins. */
  offset: Float64Array;
  loss: MlpLoss;
  classes: number;
  hidden: readonly number[];
  activation: MlpActivation;
  params: MlpParams;
  seed: number;
  /** Names the random streams (the component's name). */
  stream: string;
  /** Coordinate-descent pass (0-based): later passes shuffle and drop out with streams of their own. */
  pass: number;
  /** Start from these layers (the previous pass) instead of a fresh initialisation. */
  warm: MlpLayer[] | null;
  log: (line: string) => void;
}

export interface MlpFit {
  layers: MlpLayer[];
  /** n × classes, the network's output on the training rows (offsets not included). */
  margins: Float64Array;
  /** Mean training loss of each epoch (weighted, without the l2 term). */
  losses: number[];
}

let tfjs: typeof TF | null = null;

/** tfjs-core on the wasm backend, loaded on first use. */
async function loadTf(): Promise<typeof TF> {
  if (tfjs !== null) return tfjs;
  // the backend's Emscripten module installs process-wide uncaughtException/unhandledRejection
  // handlers that rethrow (Node then prints its minified source line instead of the error): removed
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const emitter: NodeJS.EventEmitter = process;
  const before = events.map((e) => emitter.listeners(e));
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-wasm');
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (e) {
    throw new TrainError('unsupported', `mlp: the tfjs wasm backend did not start: ${(e as Error).message}`);
  } finally {
    events.forEach((e, i) => {
      for (const l of emitter.listeners(e))
        if (!before[i]!.includes(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
    });
  }
  if (!ok) throw new TrainError('unsupported', 'mlp: the tfjs wasm backend did not start');
  tfjs = tf;
  return tf;
}

function activate(tf: typeof TF, a: MlpActivation, z: TF.Tensor): TF.Tensor {
  switch (a) {
    case 'relu':
      return tf.relu(z);
    case 'tanh':
      return tf.tanh(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'linear':
      return z;
  }
}

/** d activation / d z, from the pre-activation z and the activation's value h. */
function activationSlope(tf: typeof TF, a: MlpActivation, z: TF.Tensor, h: TF.Tensor): TF.Tensor | null {
  switch (a) {
    case 'relu':
      return tf.step(z);
    case 'tanh':
      return tf.sub(1, tf.square(h));
    case 'sigmoid':
      return tf.mul(h, tf.sub(1, h));
    case 'linear':
      return null;
  }
}

/** Rows `rows[from..to)` of X as a dense row-major f32 matrix in `buf` (zeros, then each entry added). */
function densify(X: Csr, rows: ArrayLike<number>, from: number, to: number, buf: Float32Array): void {
  const D = X.d;
  buf.fill(0, 0, (to - from) * D);
  for (let k = from; k < to; k++) {
    const r = rows[k]!;
    const base = (k - from) * D;
    for (let q = X.offsets[r]!; q < X.offsets[r + 1]!; q++) buf[base + X.cols[q]!]! += X.vals[q]!;
  }
}

/** Initial weights ([in][out], tfjs's layout) and zero biases, from a seeded stream. */
function initialLayers(
  widths: number[],
  activation: MlpActivation,
  rng: Rng,
): { w: Float32Array; b: Float32Array }[] {
  return widths.slice(1).map((out, l) => {
    const fanIn = widths[l]!;
    const last = l === widths.length - 2;
    // He-uniform ahead of relu (variance 2/fan_in), Glorot-uniform (2/(fan_in+fan_out)) otherwise
    const limit = !last && activation === 'relu' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + out));
    const w = new Float32Array(fanIn * out);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
    return { w, b: new Float32Array(out) };
  });
}

/** Bundle layers ([outputs][inputs], f64) → tfjs layout ([in][out], f32). */
function fromBundle(layers: MlpLayer[]): { w: Float32Array; b: Float32Array }[] {
  return layers.map((l) => {
    const w = new Float32Array(l.inputs * l.outputs);
    for (let o = 0; o < l.outputs; o++)
      for (let i = 0; i < l.inputs; i++) w[i * l.outputs + o] = l.weights[o * l.inputs + i]!;
    return { w, b: Float32Array.from(l.bias) };
  });
}

/** tfjs layout → bundle layers (the f32 values, widened: exact in a float32 or float64 table). */
function toBundle(ws: Float32Array[], bs: Float32Array[], widths: number[]): MlpLayer[] {
  return ws.map((wt, l) => {
    const inputs = widths[l]!;
    const outputs = widths[l + 1]!;
    const weights = new Float64Array(inputs * outputs);
    for (let o = 0; o < outputs; o++)
      for (let i = 0; i < inputs; i++) weights[o * inputs + i] = wt[i * outputs + o]!;
    return { inputs, outputs, weights, bias: Float64Array.from(bs[l]!) };
  });
}

/**
 * The constant margin that fits the labels best given the offsets' mean (a starting output bias, so
 * the network learns deviations rather than the base rate; a fresh fit only).
 */
function baseMargin(input: MlpFitInput): Float32Array {
  const { y, w, offset, loss, classes: K } = input;
  const n = input.X.n;
  let sw = 0;
  let sy = 0;
  const so = new Float64Array(K);
  const counts = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const wi = w === null ? 1 : w[i]!;
    sw += wi;
    sy += wi * y[i]!;
    for (let k = 0; k < K; k++) so[k] = so[k]! + wi * offset[i * K + k]!;
    if (loss === 'multiclass' && y[i]! < K) counts[y[i]!] = counts[y[i]!]! + wi;
  }
  const out = new Float32Array(K);
  if (sw <= 0) return out;
  const clampP = (p: number): number => Math.min(1 - 1e-6, Math.max(1e-6, p));
  const ybar = sy / sw;
  for (let k = 0; k < K; k++) {
    const obar = so[k]! / sw;
    out[k] =
      loss === 'squared_error'
        ? ybar - obar
        : loss === 'logistic'
          ? Math.log(clampP(ybar) / (1 - clampP(ybar))) - obar
          : loss === 'poisson'
            ? Math.log(Math.max(ybar, 1e-6)) - obar
            : Math.log(clampP(counts[k]! / sw)) - obar;
  }
  if (loss === 'multiclass') {
    const mean = out.reduce((s, v) => s + v, 0) / K;
    for (let k = 0; k < K; k++) out[k] = out[k]! - mean;
  }
  return out;
}

/** Minibatch training of one network with the other components' margins as offsets. */
export async function fitMlp(input: MlpFitInput): Promise<MlpFit> {
  const tf = await loadTf();
  const { X, y, w, offset, loss, classes: K, hidden, activation, params, seed, stream } = input;
  const n = X.n;
  const D = X.d;
  const widths = [D, ...hidden, K];
  const L = widths.length - 1;
  const B = Math.max(1, Math.min(params.batchSize, n));
  if (loss === 'multiclass')
    for (let i = 0; i < n; i++)
      if (!(y[i]! < K))
        throw new TrainError('label', `mlp '${stream}': class ${y[i]} is not below classes = ${K}`);
  let start: { w: Float32Array; b: Float32Array }[];
  if (input.warm !== null) start = fromBundle(input.warm);
  else {
    start = initialLayers(widths, activation, new Rng(seed, `mlp/${stream}/init`));
    start[L - 1]!.b = baseMargin(input);
  }
  // a variable keeps its own reference to the data: the initial tensors are disposed by tidy
  const Ws = start.map((s, l) =>
    tf.tidy(() => tf.variable(tf.tensor2d(s.w, [widths[l]!, widths[l + 1]!]), true)),
  );
  const bs = start.map((s) => tf.tidy(() => tf.variable(tf.tensor1d(s.b), true)));
  const opt =
    params.optimizer === 'adam' ? tf.train.adam(params.learningRate) : tf.train.sgd(params.learningRate);
  const suffix = input.pass === 0 ? '' : `/pass${input.pass}`;
  const shuffle = new Rng(seed, `mlp/${stream}/shuffle${suffix}`);
  const dropRng = new Rng(seed, `mlp/${stream}/dropout${suffix}`);
  const keep = 1 - params.dropout;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const xbuf = new Float32Array(B * D);
  const ybuf = new Float32Array(B * K);
  const obuf = new Float32Array(B * K);
  const wbuf = new Float32Array(B);
  const masks = hidden.map((h) => new Float32Array(B * h));
  const losses: number[] = [];
  // progress (trainer/progress.ts): epochs done of `epochs`, from 0 so the phase shows during the first
  reportFit(0, params.epochs, 'epochs');
  try {
    for (let epoch = 0; epoch < params.epochs; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(shuffle.next() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      let lossSum = 0;
      let weightSum = 0;
      for (let from = 0; from < n; from += B) {
        const to = Math.min(n, from + B);
        const m = to - from;
        densify(X, order, from, to, xbuf);
        ybuf.fill(0, 0, m * K);
        let sw = 0;
        for (let k = 0; k < m; k++) {
          const r = order[from + k]!;
          if (loss === 'multiclass') ybuf[k * K + y[r]!] = 1;
          else ybuf[k] = y[r]!;
          for (let q = 0; q < K; q++) obuf[k * K + q] = offset[r * K + q]!;
          wbuf[k] = w === null ? 1 : w[r]!;
          sw += wbuf[k]!;
        }
        if (sw <= 0) continue;
        if (params.dropout > 0)
          for (const mask of masks)
            for (let i = 0; i < m * (mask.length / B); i++) mask[i] = dropRng.next() < keep ? 1 / keep : 0;
        const stepLoss = tf.tidy(() => {
          const x = tf.tensor2d(xbuf.subarray(0, m * D), [m, D]);
          const Y = tf.tensor2d(ybuf.subarray(0, m * K), [m, K]);
          const off = tf.tensor2d(obuf.subarray(0, m * K), [m, K]);
          const wt = tf.tensor2d(wbuf.subarray(0, m), [m, 1]);
          // forward: hs[l] is layer l's input; zs/acts keep what the backward pass needs
          const hs: TF.Tensor[] = [x];
          const zs: TF.Tensor[] = [];
          const acts: TF.Tensor[] = [];
          const drops: (TF.Tensor | null)[] = [];
          for (let l = 0; l < L; l++) {
            const z = tf.add(tf.matMul(hs[l]!, Ws[l]!), bs[l]!);
            zs.push(z);
            if (l === L - 1) break;
            const a = activate(tf, activation, z);
            acts.push(a);
            const mask =
              params.dropout > 0
                ? tf.tensor2d(masks[l]!.subarray(0, m * widths[l + 1]!), [m, widths[l + 1]!])
                : null;
            drops.push(mask);
            hs.push(mask === null ? a : tf.mul(a, mask));
          }
          const margin = tf.add(zs[L - 1]!, off);
          // the mean (weighted) loss and its gradient with respect to the margin: μ − y for every
          // objective here (canonical links)
          let mu: TF.Tensor;
          let rowLoss: TF.Tensor;
          switch (loss) {
            case 'logistic':
              mu = tf.sigmoid(margin);
              rowLoss = tf.sub(tf.softplus(margin), tf.mul(Y, margin));
              break;
            case 'squared_error':
              mu = margin;
              rowLoss = tf.mul(0.5, tf.square(tf.sub(margin, Y)));
              break;
            case 'poisson': {
              const mc = tf.minimum(margin, POISSON_MAX_MARGIN);
              mu = tf.exp(mc);
              rowLoss = tf.sub(mu, tf.mul(Y, mc));
              break;
            }
            case 'multiclass':
              mu = tf.softmax(margin);
              rowLoss = tf.sub(tf.logSumExp(margin, 1, true), tf.sum(tf.mul(Y, margin), 1, true));
              break;
          }
          // (tfjs-wasm's matMul with a transpose flag bypasses XNNPACK and is ~8× slower than an
          // explicit transpose followed by a plain matMul: measured on 1024×256·256×128)
          let dz = tf.div(tf.mul(tf.sub(mu, Y), wt), sw);
          const grads: { name: string; tensor: TF.Tensor }[] = [];
          for (let l = L - 1; l >= 0; l--) {
            let dW = tf.matMul(tf.transpose(hs[l]!), dz);
            if (params.l2 > 0) dW = tf.add(dW, tf.mul(params.l2, Ws[l]!));
            grads.push({ name: Ws[l]!.name, tensor: dW }, { name: bs[l]!.name, tensor: tf.sum(dz, 0) });
            if (l === 0) break;
            let dh = tf.matMul(dz, tf.transpose(Ws[l]!));
            const mask = drops[l - 1]!;
            if (mask !== null) dh = tf.mul(dh, mask);
            const slope = activationSlope(tf, activation, zs[l - 1]!, acts[l - 1]!);
            dz = slope === null ? dh : tf.mul(dh, slope);
          }
          opt.applyGradients(grads);
          return tf.sum(tf.mul(tf.sum(rowLoss, 1, true), wt));
        });
        lossSum += stepLoss.dataSync()[0]!;
        stepLoss.dispose();
        weightSum += sw;
      }
      const mean = lossSum / Math.max(weightSum, Number.MIN_VALUE);
      losses.push(mean);
      reportFit(epoch + 1, params.epochs, 'epochs');
      input.log(`epoch ${epoch + 1}/${params.epochs}: training loss ${mean.toFixed(6)}`);
      if (!Number.isFinite(mean))
        throw new TrainError(
          'diverged',
          `mlp '${stream}': the training loss became ${mean} in epoch ${epoch + 1}; lower learning_rate`,
        );
    }
    const layers = toBundle(
      Ws.map((v) => v.dataSync() as Float32Array),
      bs.map((v) => v.dataSync() as Float32Array),
      widths,
    );
    for (const l of layers)
      if (!l.weights.every(Number.isFinite) || !l.bias.every(Number.isFinite))
        throw new TrainError('diverged', `mlp '${stream}': non-finite weights; lower learning_rate`);
    return { layers, margins: mlpForward(tf, layers, activation, X), losses };
  } finally {
    opt.dispose();
    for (const v of [...Ws, ...bs]) v.dispose();
  }
}

/** The network's margins (n × classes, f32 arithmetic by tfjs) on the rows of X. */
function mlpForward(tf: typeof TF, layers: MlpLayer[], activation: MlpActivation, X: Csr): Float64Array {
  const K = layers[layers.length - 1]!.outputs;
  const D = X.d;
  const out = new Float64Array(X.n * K);
  const rows = Int32Array.from({ length: X.n }, (_, i) => i);
  const chunk = Math.min(MARGIN_CHUNK, Math.max(1, X.n));
  const buf = new Float32Array(chunk * D);
  const tl = fromBundle(layers);
  const Ws = tl.map((l, i) => tf.tensor2d(l.w, [layers[i]!.inputs, layers[i]!.outputs]));
  const bs = tl.map((l) => tf.tensor1d(l.b));
  try {
    for (let from = 0; from < X.n; from += chunk) {
      const to = Math.min(X.n, from + chunk);
      densify(X, rows, from, to, buf);
      const z = tf.tidy(() => {
        let h: TF.Tensor = tf.tensor2d(buf.subarray(0, (to - from) * D), [to - from, D]);
        for (let l = 0; l < layers.length; l++) {
          h = tf.add(tf.matMul(h, Ws[l]!), bs[l]!);
          if (l < layers.length - 1) h = activate(tf, activation, h);
        }
        return h;
      });
      out.set(z.dataSync(), from * K);
      z.dispose();
    }
  } finally {
    for (const t of [...Ws, ...bs]) t.dispose();
  }
  return out;
}

/**
 * A fitted mlp component's margins on other rows (held-out rows for early stopping of the other
 * components). Needs tfjs loaded: call after a fit.
 */
export function mlpMargins(coef: MlpCoefficients, X: Csr): Float64Array {
  if (tfjs === null) throw new Error('internal error: mlpMargins before any mlp fit');
  return mlpForward(tfjs, coef.layers, coef.activation, X);
}

/** Fit one mlp component from the other components' margins (offsets). */
export async function fitMlpComponent(
  c: CheckedComponent,
  X: Csr,
  y: Float64Array,
  w: Float64Array | null,
  offset: Float64Array,
  loss: MlpLoss,
  K: number,
  h: Map<string, HyperValue> | undefined,
  seed: number,
  pass: number,
  warm: ComponentCoefficients | undefined,
  log: (line: string) => void,
): Promise<{ coef: MlpCoefficients; margins: Float64Array; iterations: number; converged: boolean }> {
  const activation = (c.options.activation ?? 'relu') as MlpActivation;
  const params = mlpParams(h);
  const fit = await fitMlp({
    X,
    y,
    w,
    offset,
    loss,
    classes: K,
    hidden: c.options.hidden,
    activation,
    params,
    seed,
    stream: c.name,
    pass,
    warm: warm?.kind === 'mlp' ? warm.layers : null,
    log: (line) => log(`${c.name}: ${line}`),
  });
  return {
    coef: {
      kind: 'mlp',
      classes: K,
      inputWidth: c.inputWidth,
      hyperparameters: Object.fromEntries(h ?? new Map()),
      activation,
      layers: fit.layers,
    },
    margins: fit.margins,
    iterations: params.epochs,
    converged: true,
  };
}
