// C source for one NativeModel: the coefficients as static const arrays, a `score` function over a
// row-major f32 matrix, and a timing main(). Input: NativeModel. Output: one self-contained C11 file.
// The arithmetic mirrors what proml computes (docs/abi.md 5.3, compiler/emit/scoring.ts) so outputs
// agree within 1e-6: f64 sums in proml's order, the margin rounded once to f32, an f32 sigmoid
// (f64 libm exp, then rounded). The speed comes from the loop structure only, never from reordering
// a sum: MLP layers are register-blocked over 8 rows × 8 outputs (each output still sums its inputs
// in order) and trees are walked tree-major over blocks of 64 rows, 8 rows in lockstep (each row still adds its
// trees in bundle order). Compile without -ffast-math and with -ffp-contract=off (no fused multiply-add).
//
// The program: `prog INPUT ROWS OUTPUT MIN_NS MIN_ROUNDS` reads ROWS × NFEAT f32 (little-endian),
// scores them twice (warm-up), times one pass, then runs rounds of P passes (P sized so a round
// lasts ≈ MIN_NS / MIN_ROUNDS) until at least MIN_ROUNDS rounds and MIN_NS ns have passed, printing
// `round NS P` per round (CLOCK_MONOTONIC), and writes the last pass's ROWS f64 outputs to OUTPUT.

import {
  NATIVE_MISSING,
  nativeFeatures,
  NativeUnsupported,
  type NativeModel,
  type NativeTrees,
} from './model.js';

/** Rows per MLP register block and outputs per tile (tile × block f64 accumulators). */
const MLP_ROWS = 8;
const MLP_TILE = 8;
/** Rows per block of the tree-major walk (each tree's nodes stay in cache across the block). */
const TREE_ROWS = 64;
/** Rows of a block that walk one tree in lockstep. */
const TREE_LANES = 8;

/** A C literal with exactly the value `x` (the shortest round-trip decimal; gcc rounds correctly). */
function lit(x: number): string {
  if (Number.isNaN(x)) return 'NAN';
  if (x === Infinity) return 'INFINITY';
  if (x === -Infinity) return '(-INFINITY)';
  if (Object.is(x, -0)) return '-0.0';
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** `static const T NAME[n] = {…};` with 8 values per line. */
function array(type: string, name: string, xs: ArrayLike<number>, fmt: (x: number) => string = lit): string {
  const parts: string[] = [];
  for (let i = 0; i < xs.length; i += 8) {
    const line: string[] = [];
    for (let j = i; j < Math.min(xs.length, i + 8); j++) line.push(fmt(xs[j]!));
    parts.push(`  ${line.join(', ')}`);
  }
  return `static const ${type} ${name}[${Math.max(1, xs.length)}] __attribute__((aligned(64))) = {\n${parts.join(',\n') || '  0'}\n};\n`;
}

/**
 * The smallest f32 t' ≥ t. For an f32 x, `x < t` in f64 ⇔ `x < t'` in f32: if t' > t there is no
 * f32 in [t, t'), so an x below t' is below t. (NaN stays NaN: never left, as in f64.)
 */
export function thresholdF32(t: number): number {
  const f = Math.fround(t);
  if (Number.isNaN(t) || f >= t) return f;
  const b = new Float32Array([f]);
  const i = new Int32Array(b.buffer);
  if (f === 0) i[0] = 1;
  else if (f > 0) i[0]! += 1;
  else i[0]! -= 1;
  return b[0]!;
}

const HARNESS = `
static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s INPUT ROWS OUTPUT MIN_NS MIN_ROUNDS\\n", argv[0]);
    return 2;
  }
  size_t rows = (size_t)strtoull(argv[2], NULL, 10);
  double min_ns = atof(argv[4]);
  long min_rounds = atol(argv[5]);
  size_t nx = rows * NFEAT;
  float *x = aligned_alloc(64, (nx * sizeof(float) + 64) & ~(size_t)63);
  double *out = aligned_alloc(64, (rows * sizeof(double) + 64) & ~(size_t)63);
  if (x == NULL || out == NULL) { fprintf(stderr, "out of memory\\n"); return 1; }
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL || fread(x, sizeof(float), nx, f) != nx) { fprintf(stderr, "cannot read %s\\n", argv[1]); return 1; }
  fclose(f);
  score(x, rows, out);
  score(x, rows, out);
  double t0 = now_ns();
  score(x, rows, out);
  double one = now_ns() - t0;
  if (one < 1) one = 1;
  long passes = (long)ceil(min_ns / (double)(min_rounds > 0 ? min_rounds : 1) / one);
  if (passes < 1) passes = 1;
  double start = now_ns();
  for (long r = 0; r < 100000 && (r < min_rounds || now_ns() - start < min_ns); r++) {
    double a = now_ns();
    for (long p = 0; p < passes; p++) {
      score(x, rows, out);
      __asm__ volatile("" ::: "memory");
    }
    printf("round %.0f %ld\\n", now_ns() - a, passes);
  }
  f = fopen(argv[3], "wb");
  if (f == NULL || fwrite(out, sizeof(double), rows, f) != rows) { fprintf(stderr, "cannot write %s\\n", argv[3]); return 1; }
  fclose(f);
  free(x);
  free(out);
  return 0;
}
`;

const PRELUDE = `#define _POSIX_C_SOURCE 200112L
#define _ISOC11_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* proml's f32 output of sigmoid(m) for an f32 margin m (the reference: f64 exp, rounded to f32) */
static inline double sigmoid_f32(double s) {
  float m = (float)s;
  return (double)(float)(1.0 / (1.0 + exp(-(double)m)));
}
`;

/** The complete C program for `model`. */
export function emitC(model: NativeModel): string {
  const body = (() => {
    switch (model.kind) {
      case 'logistic-dense':
        return logistic(model);
      case 'mlp':
        return mlp(model);
      case 'trees':
        return trees(model.trees, model.features, model.baseScore);
    }
  })();
  return `/* generated by proml bench/native/c.ts (${model.kind}) */\n${PRELUDE}\n#define NFEAT ${nativeFeatures(model)}\n\n${body}\n${HARNESS}`;
}

function logistic(m: Extract<NativeModel, { kind: 'logistic-dense' }>): string {
  const n = m.weights.length;
  const type = m.weights instanceof Float32Array ? 'float' : 'double';
  const main = m.order === 'lanes8' ? Math.floor(n / 8) * 8 : 0;
  // proml's column-by-column margin skips zero inputs (it matters only for an infinite weight)
  const skip = m.order === 'sequential';
  return `${array(type, 'W', m.weights)}
static const double B = ${lit(m.intercept)};

__attribute__((noinline)) static void score(const float *restrict X, size_t rows, double *restrict out) {
  for (size_t r = 0; r < rows; r++) {
    const float *restrict x = X + r * NFEAT;
    double s = B;
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t j = 0; j < ${main}; j += 8)
      for (size_t l = 0; l < 8; l++) a[l] += (double)x[j + l] * (double)W[j + l];
    double p = 0;
    for (size_t l = 0; l < 8; l++) p += a[l];
    s += p;
    for (size_t j = ${main}; j < NFEAT; j++)${skip ? ' if (x[j] != 0)' : ''} s += (double)W[j] * (double)x[j];
    out[r] = sigmoid_f32(s);
  }
}
`;
}

function activation(a: Extract<NativeModel, { kind: 'mlp' }>['activation'], z: string): string {
  switch (a) {
    case 'relu':
      return `(${z} > 0 ? ${z} : 0.0)`;
    case 'tanh':
      return `tanh(${z})`;
    case 'sigmoid':
      return `(1.0 / (1.0 + exp(-${z})))`;
    case 'linear':
      return z;
  }
}

function mlp(m: Extract<NativeModel, { kind: 'mlp' }>): string {
  const layers = m.layers;
  if (layers.length === 0 || layers[layers.length - 1]!.outputs !== 1)
    throw new NativeUnsupported('an mlp needs at least one layer and one output');
  const pad = (o: number): number => Math.ceil(o / MLP_TILE) * MLP_TILE;
  const width = Math.max(layers[0]!.inputs, ...layers.map((l) => pad(l.outputs)));
  const decls: string[] = [];
  const calls: string[] = [];
  layers.forEach((l, k) => {
    // input-major [i][o], outputs padded with zero weights (as the compiled module stores them)
    const op = pad(l.outputs);
    const w = new Float64Array(l.inputs * op);
    const b = new Float64Array(op);
    for (let o = 0; o < l.outputs; o++) {
      b[o] = l.bias[o]!;
      for (let i = 0; i < l.inputs; i++) w[i * op + o] = l.weights[o * l.inputs + i]!;
    }
    decls.push(array('double', `W${k}`, w), array('double', `B${k}`, b));
    const last = k === layers.length - 1;
    const src = k % 2 === 0 ? 'h0' : 'h1';
    const dst = k % 2 === 0 ? 'h1' : 'h0';
    calls.push(`  layer_${last ? 'linear' : 'act'}(W${k}, B${k}, ${l.inputs}, ${op}, ${src}, ${dst}, rb);`);
  });
  const final = layers.length % 2 === 1 ? 'h1' : 'h0';
  const layerFn = (name: string, act: string): string => `
static inline __attribute__((always_inline)) void layer_${name}(const double *restrict W, const double *restrict B,
    int in, int op, const double *restrict hin, double *restrict hout, int rb) {
  for (int o0 = 0; o0 < op; o0 += TILE) {
    double acc[RB][TILE];
    for (int r = 0; r < rb; r++)
      for (int u = 0; u < TILE; u++) acc[r][u] = B[o0 + u];
    for (int i = 0; i < in; i++) {
      const double *restrict w = W + (size_t)i * op + o0;
      for (int r = 0; r < rb; r++) {
        double h = hin[r * HW + i];
        for (int u = 0; u < TILE; u++) acc[r][u] += w[u] * h;
      }
    }
    for (int r = 0; r < rb; r++)
      for (int u = 0; u < TILE; u++) {
        double z = acc[r][u];
        hout[r * HW + o0 + u] = ${act};
      }
  }
}
`;
  return `#define RB ${MLP_ROWS}
#define TILE ${MLP_TILE}
#define HW ${width}

${decls.join('\n')}
${layerFn('act', activation(m.activation, 'z'))}
${layerFn('linear', 'z')}
static double h0[RB * HW] __attribute__((aligned(64)));
static double h1[RB * HW] __attribute__((aligned(64)));

static inline __attribute__((always_inline)) void block(const float *restrict x, double *restrict out, int rb) {
  for (int r = 0; r < rb; r++)
    for (int i = 0; i < NFEAT; i++) h0[r * HW + i] = (double)x[(size_t)r * NFEAT + i];
${calls.join('\n')}
  for (int r = 0; r < rb; r++) out[r] = sigmoid_f32(${final}[r * HW]);
}

__attribute__((noinline)) static void score(const float *restrict X, size_t rows, double *restrict out) {
  size_t r = 0;
  for (; r + RB <= rows; r += RB) block(X + r * NFEAT, out + r, RB);
  for (; r < rows; r++) block(X + r * NFEAT, out + r, 1);
}
`;
}

function trees(t: NativeTrees, features: number, base: number): string {
  if (features > 0xffff) throw new NativeUnsupported('trees over more than 65,535 features');
  const n = t.feature.length;
  // a leaf loops to itself (NaN threshold: never left, right = itself), so every lane of a block
  // can take exactly DEPTH[t] steps; a double literal of an exact f32 initialises the float exactly
  const nodes: string[] = [];
  for (let i = 0; i < n; i++)
    nodes.push(
      t.feature[i]! < 0
        ? `{NAN, ${i}, ${i}, 0, 0, 0}`
        : `{${lit(thresholdF32(t.threshold[i]!))}, ${t.left[i]}, ${t.right[i]}, ${t.feature[i]}, ${t.defaultLeft[i]}, 0}`,
    );
  const depth = new Int32Array(n).fill(-1);
  const depthOf = (i: number): number => {
    if (depth[i]! < 0)
      depth[i] = t.feature[i]! < 0 ? 0 : 1 + Math.max(depthOf(t.left[i]!), depthOf(t.right[i]!));
    return depth[i]!;
  };
  const depths = Array.from(t.roots, (r) => depthOf(r));
  const chunks: string[] = [];
  for (let i = 0; i < nodes.length; i += 4) chunks.push(`  ${nodes.slice(i, i + 4).join(', ')}`);
  return `/* 16 bytes per node */
typedef struct { float thr; int32_t left; int32_t right; uint16_t feat; uint8_t dl; uint8_t pad; } node_t;
static const node_t N[${Math.max(1, n)}] __attribute__((aligned(64))) = {
${chunks.join(',\n') || '  {0}'}
};
/* leaf values by node (0 for splits) */
${array('double', 'VALUE', t.value)}${array('int32_t', 'ROOTS', t.roots, String)}${array('int32_t', 'DEPTH', depths, String)}
#define NTREES ${t.roots.length}
#define TB ${TREE_ROWS}
#define LANES ${TREE_LANES}
static const double BASE = ${lit(base)};

/* a missing value is the NaN with these bits (NATIVE_MISSING); any other NaN goes right */
#define MISSING_BITS 0x${NATIVE_MISSING.toString(16)}u

static inline int32_t step(int32_t i, const float *restrict x) {
  const node_t *nd = &N[i];
  float v = x[nd->feat];
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  int go_left = (v < nd->thr) | ((bits == MISSING_BITS) & nd->dl);
  return go_left ? nd->left : nd->right;
}

/* Blocks of TB rows, tree-major; within a tree LANES rows walk in lockstep (independent loads in
   flight). Each row still adds its trees' leaves in bundle order after BASE. */
__attribute__((noinline)) static void score(const float *restrict X, size_t rows, double *restrict out) {
  double m[TB];
  for (size_t r0 = 0; r0 < rows; r0 += TB) {
    size_t nb = rows - r0 < TB ? rows - r0 : TB;
    for (size_t r = 0; r < nb; r++) m[r] = BASE;
    for (int t = 0; t < NTREES; t++) {
      const int32_t root = ROOTS[t];
      const int32_t depth = DEPTH[t];
      for (size_t r = 0; r < nb; r += LANES) {
        int32_t id[LANES];
        const float *xr[LANES];
        for (size_t k = 0; k < LANES; k++) {
          size_t row = r + k < nb ? r + k : nb - 1;
          id[k] = root;
          xr[k] = X + (r0 + row) * NFEAT;
        }
        for (int32_t d = 0; d < depth; d++)
          for (size_t k = 0; k < LANES; k++) id[k] = step(id[k], xr[k]);
        for (size_t k = 0; k < LANES && r + k < nb; k++) m[r + k] += VALUE[id[k]];
      }
    }
    for (size_t r = 0; r < nb; r++) out[r0 + r] = sigmoid_f32(m[r]);
  }
}
`;
}
