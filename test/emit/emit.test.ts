// The wasm back end, first slice, end to end: compile (emitScoringModule), instantiate with no
// imports, score ≥ 10,000 generated rows through the ABI v1 descriptors and compare every output,
// validity bit and rejection with the reference evaluator (within withinTolerance); the manifest
// round-trips; unsupported constructs raise PML31xx. Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import binaryen from 'binaryen';
import {
  EXPORTS,
  MANIFEST_SECTION,
  parseManifest,
  parseRowsCsv,
  type Bundle,
  type Row,
} from '../../abi/index.js';
import { HASH_SEED, murmur3_32 } from '../../abi/hash.js';
import { readBundle } from '../../abi/node.js';
import { CompileError, EMIT_CODES, emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel, type CheckedModel } from '../../compiler/index.js';
import { kernelModuleBytes } from '../../compiler/kernels.js';
import { evaluate, randomBundle, randomRows, withinTolerance } from '../../compiler/reference/index.js';
import { csvColumns } from '../../compiler/schema.js';
import { MODELS_DIR, ROOT } from '../helpers.js';
import { customSections, instantiate, score } from './host.js';

const ROWS = 10_000;
/** Fixture models (fixtures/models/) the back end compiles completely today. */
const FIXTURES_COMPILED: string[] = [
  'abuse_anomaly',
  'ad_bid',
  'all_functions',
  'all_types',
  'feed_ctr',
  'intent_multiclass',
  'job_apply',
  'lexical_forms',
  'notification_send',
  'pymk',
  'salary_estimate',
  'search_spaces',
  'skill_endorsements',
  'spam_message',
  'tiny_linear',
];

function model(body: string): { checked: CheckedModel; source: string } {
  const source = `model t {\n version "1"\n owner "o"\n purpose "testing"\n${body}\n}\n`;
  const r = checkSource('t.pml', source);
  const errors = r.sink.items.filter((d) => d.severity === 'error');
  assert.ok(
    r.checked !== null && errors.length === 0,
    errors.map((d) => `${d.code} ${d.message}`).join('\n'),
  );
  return { checked: r.checked, source };
}

async function compile(
  checked: CheckedModel,
  bundle: Bundle,
  source: string,
  bundleJsonText: string | null = null,
) {
  return emitScoringModule(checked, lowerModel(checked), bundle, { sourceText: source, bundleJsonText });
}

/** Scores rows in the module and in the reference; returns the disagreements (at most 10). */
function differences(checked: CheckedModel, bundle: Bundle, bytes: Uint8Array, rows: Row[]): string[] {
  const { exports, manifest } = instantiate(bytes);
  const got = score(exports, manifest, rows, bundle);
  const want = evaluate(checked, bundle, rows);
  const bad: string[] = [];
  const note = (s: string): void => {
    if (bad.length < 10) bad.push(s);
  };
  let rejected = 0;
  want.forEach((w, r) => {
    const row = JSON.stringify(rows[r]);
    if (w.rejected !== null) {
      rejected++;
      const idx = checked.inputs.findIndex((i) => i.name === w.rejected!.input);
      const word = ((idx << 16) | Number(w.rejected.code.slice(3))) >>> 0;
      if (got.status[r] !== word)
        note(`row ${r} ${row}: status ${got.status[r]}, want ${word} (${w.rejected.code})`);
      for (const o of manifest.outputs)
        if (got.outputs[o.name]![r] !== null) note(`row ${r}: rejected but output '${o.name}' is present`);
      return;
    }
    if (got.status[r] !== 0) note(`row ${r} ${row}: status ${got.status[r]}, want 0`);
    for (const o of manifest.outputs) {
      const g = got.outputs[o.name]![r]!;
      const x = w.outputs[o.name]!;
      if (x === null || g === null) {
        if (x !== g) note(`row ${r} ${row}: '${o.name}' = ${String(g)}, want ${String(x)}`);
      } else if (Array.isArray(x) || Array.isArray(g)) {
        const gs = g as number[];
        const xs = x as number[];
        if (
          !Array.isArray(gs) ||
          !Array.isArray(xs) ||
          gs.length !== xs.length ||
          gs.some((v, k) => !withinTolerance(v, xs[k]!))
        )
          note(`row ${r} ${row}: '${o.name}' = ${JSON.stringify(g)}, want ${JSON.stringify(x)}`);
      } else if (typeof x === 'boolean' || o.type === 'int') {
        if (g !== x) note(`row ${r} ${row}: '${o.name}' = ${String(g)}, want ${String(x)}`);
      } else if (!withinTolerance(g as number, x as number))
        note(`row ${r} ${row}: '${o.name}' = ${g}, want ${String(x)}`);
    }
  });
  if (got.result !== rejected) note(`proml_score returned ${got.result}, want ${rejected}`);
  return bad;
}

function assertModuleShape(bytes: Uint8Array): void {
  assert.ok(WebAssembly.validate(bytes));
  const mod = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.imports(mod), []);
  assert.deepEqual(
    WebAssembly.Module.exports(mod)
      .map((e) => `${e.name}:${e.kind}`)
      .sort(),
    [
      `${EXPORTS.memory}:memory`,
      `${EXPORTS.abiVersion}:function`,
      `${EXPORTS.alloc}:function`,
      `${EXPORTS.reset}:function`,
      `${EXPORTS.score}:function`,
    ].sort(),
  );
}

/** Numbers, missing values, defaults, required and range rejections, casts, logic, select, several outputs. */
const MISSING = `
  input x : f32
  input y : f64 default 1.5
  input k : int
  input b : bool
  input r : f32 in [0, 10] required
  input q : int in [-5, 5]
  input w : f64 in [-1, 0.1]
  output o_if : f64 = if b then x * 2 else y - k
  output o_co = coalesce(x, 0) + r
  output o_miss : bool = is_missing(x) or k > 3
  output o_cmp : bool = x < r
  output o_int : int = abs(k) * 3 - coalesce(q, 7)
  output o_neg = -x / (r + 1)
  output o_minmax : f64 = max(min(y, 3.5), k) + coalesce(w, 0)
  output o_clip = clip(r) + clip(x, -1, 1)
  output o_floor = floor(x) + sqrt(r)
  output o_not : bool = not b and x >= 0
  output o_eq : bool = b == (k != 0)
  output o_sel = if is_missing(x) then 0 else x
  output o_div = k / (q + 1)
  output o_ifint : int = if k > 0 then floor(k) else min(q, -2)
`;

/** Vectors: inputs with ranges and defaults, elementwise math, broadcasts, reductions, vector outputs. */
const VECTORS = `
  input v : vector<f32, 5> in [-10, 10] default 0
  input u : vector<f64, 5> default [1, 2, 3, 4, 5]
  input x : f32 default 1
  input m : vector<f32, 3>
  feature t = tanh(v) * 2 + max(v, x)
  output o_dot : f64 = dot(u, u) + sum(v)
  output o_soft = softmax(t)
  output o_arg : int = argmax(concat(v, x, m))
  output o_cat = softmax(concat(abs(v), clip(x, -1, 1)))
  output o_miss = sum(m * 2)
`;

/** Dense vector inputs read straight from their columns by linear components (f32/f64, tails, defaults). */
export const DENSE = `
  input a : vector<f32, 21> in [-3, 3] default 0.5
  input b : vector<f64, 16> required
  input x : f32 default 0
  component lin = linear(a, x, b)
  component two = linear(b, a, classes = 2)
  output o = lin
  output p = softmax(two)
`;

/** Text: lower/tokens/ngrams (derived strings and bags) feeding hashes, counts, overlaps, vocabularies. */
const TEXT = `
  input s : string
  input t : string default "Ab Ç"
  input ws : bag<string>
  feature low = lower(s)
  feature toks = tokens(low)
  component lin = linear(hash(toks, 64), hash(ngrams(t, 2), 32), hash(lower(t), 8), cross(toks, ws, 16))
  output o = lin
  output n_tok : int = count(toks) + count(ngrams(low, 3))
  output n_ov : int = overlap(ws, tokens(t))
  output len : int = length(low)
  output same : bool = low == lower(t)
  output differs : bool = lower(t) != "ab ç"
`;

/** Tree ensembles: numeric, categorical and missing values; a multiclass ensemble. */
const TREES = `
  input a : f32
  input b : f64 in [0, 100]
  input k : int
  input c : category("x", "y", "z")
  input v : vector<f32, 3>
  input bb : bool
  component g = gbdt(a, b, k, c, v, bb)
  component h = gbdt(a, c, classes = 3)
  output o = sigmoid(g)
  output p = softmax(h)
`;

/** MLPs: every activation, classes, onehot/hash inputs, odd widths (padding). */
const MLPS = `
  input x : f32 default 0
  input y : f64 in [-5, 5] default 1
  input s : string default ""
  input c : category("p", "q")
  input ws : bag<string>
  component r = mlp(x, y, onehot(c), hidden = [7, 3], activation = relu)
  component t = mlp(x, hash(s, 16), hash(ws, 8), hidden = [5], activation = tanh)
  component g = mlp(x, y, hidden = [9], activation = sigmoid, classes = 3)
  output o_r = sigmoid(r)
  output o_t = t
  output o_g = softmax(g)
`;

/** Fitted transforms (standardize, quantiles, vocab) and calibration maps (platt, isotonic). */
const FITTED = `
  input x : f32 default 0
  input v : vector<f64, 3> default 0
  input s : string default ""
  feature xs = standardize(x)
  feature vs = standardize(v)
  feature q = quantiles(x, 8)
  feature w = vocab(s, 50)
  component lin = linear(xs, vs, onehot(q), onehot(w), hash(w, 32))
  output p = sigmoid(lin)
  output p_platt = platt(p)
  output p_iso = isotonic(p)
  train p {
    label     y
    objective logistic
  }
`;

/** The math kernels, f32 and f64, linked from the kernel module. */
const KERNELS = `
  input x : f32 default 0
  input z : f64
  input n : int default 2
  output e1 = exp(clip(x, -20, 20))
  output e2 : f64 = log1p(abs(z))
  output e3 = sigmoid(x) * tanh(x / 3)
  output e4 = log(abs(x) + 1) + sin(x) * cos(n)
  output e5 : f64 = exp(-abs(z) / 4) + sigmoid(z) + tanh(z)
  output e6 : f64 = log(abs(z)) + sin(z) - cos(z)
  output e7 = log1p(x) + exp(x)
  output e8 = pow(abs(x), 2.5) + pow(clip(x, 0.5, 4), x)
  output e9 : f64 = pow(abs(z), 0.5) + pow(2, clip(z, -30, 30))
`;

/** Global linear components over f32, f64, int, bool and computed features; link and raw margins. */
const LINEAR = `
  input a : f32 default 0
  input b : int in [-100, 100] default 1
  input c : bool default false
  input d : f64 required
  input e : f32
  feature fe = coalesce(e, -1)
  component lin = linear(a, b, c, d, fe, a * a)
  component lin2 = linear(fe, c, intercept = false)
  output p = sigmoid(lin)
  output m : f64 = lin
  output both = lin + lin2 + (if is_missing(e) then 1 else 0)
`;

/** Category inputs (oov, unknown label, unknown error, default), labels, bucketize, lookup, onehot. */
const CATEGORIES = `
  input c1 : category("red", "green", "blue")
  input c2 : category("small", "medium", "large", "other") unknown "other"
  input c3 : category("yes", "no", "café ☕") unknown error
  input c4 : category("a", "b", "c") default "b" unknown "a"
  input s  : string default ""
  input t  : string
  input x  : f32 default 0
  input k  : int default 0
  input kk : f64
  feature xb = bucketize(x, [-1, 0, 0.5, 2])
  feature kb = bucketize(k, [0, 10])
  feature lk = lookup(s, ["yes", "no", "", "naïve"])
  component lin = linear(x, onehot(c4), onehot(c2), onehot(xb), onehot(kb), onehot(lk), coalesce(kk, 1))
  output p = sigmoid(lin)
  output is_red : bool = c1 == "red"
  output not_large : bool = c2 != "large"
  output is_yes : bool = c3 == "yes"
  output c4b : bool = c4 == "b" or is_missing(c1)
  output miss : bool = is_missing(t) and is_missing(c3)
`;

/** String inputs, hash of strings, ints and categories (MurmurHash3, abi.md 5.1), length. */
const HASHING = `
  input s  : string default ""
  input t  : string
  input c  : category("red", "green", "blue") unknown "blue"
  input d  : category("a", "b")
  input k  : int default 0
  input x  : f32 in [0, 100] default 1
  component lin = linear(x, hash(s, 1_000), hash(k, 64), hash(c, 16), hash(d, 7), hash(bucketize(x, [1, 10]), 5))
  component lin2 = linear(hash(coalesce(t, "zz"), 4_093), intercept = false)
  output p = sigmoid(lin)
  output m = lin2
  output len : int = length(s) + coalesce(length(t), -1)
`;

/** per ENTITY linear components (entity-block columns, abi.md 3.1) next to a global one. */
const PER_ENTITY = `
  input member : entity
  input job    : entity required
  input x      : f32 in [0, 1] required
  input k      : int default 0
  input c      : category("a", "b", "c") default "a"
  component g  = linear(x, k, onehot(c))
  component m_re = linear(x, onehot(c)) per member
  component j_re = linear() per job
  component n_re = linear(x, k, intercept = false) per member
  output p = sigmoid(g + m_re + j_re)
  output raw = m_re + n_re
`;

/** bag<string> and bag<int> inputs: hash (counts), count, overlap, cross (with a bag, a category, a string). */
const BAGS = `
  input a  : bag<string>
  input b  : bag<string>
  input ids : bag<int>
  input c  : category("x", "y", "z")
  input s  : string default ""
  input k  : int default 0
  component lin = linear(hash(a, 97), hash(ids, 64), cross(a, b, 1_000), cross(c, ids, 50), cross(s, c, 31), cross(ids, ids, 7), hash(k, 8), count(b), overlap(a, b))
  output p = sigmoid(lin)
  output n_a : int = count(a) + 10 * overlap(b, a) + 100 * count(ids)
`;

describe('emit: scoring module (first slice)', () => {
  let kernels: Uint8Array;
  before(async () => {
    kernels = await kernelModuleBytes();
  });

  it('tiny_linear fixture: rows.csv and 10,000 generated rows agree with the reference', async () => {
    const dir = join(MODELS_DIR, 'tiny_linear');
    const source = readFileSync(join(dir, 'model.pml'), 'utf8');
    const checked = checkSource('model.pml', source).checked!;
    const bundle = readBundle(join(dir, 'bundle'));
    const bundleJsonText = readFileSync(join(dir, 'bundle', 'bundle.json'), 'utf8');
    const { bytes, manifest } = await compile(checked, bundle, source, bundleJsonText);
    assertModuleShape(bytes);
    const csv = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(checked));
    assert.ok(csv.length > 0);
    assert.deepEqual(differences(checked, bundle, bytes, csv), []);
    assert.deepEqual(
      differences(checked, bundle, bytes, randomRows(checked, bundle, { seed: 1, count: ROWS })),
      [],
    );
    // the manifest round-trips and pins the source, the bundle and the component
    const { manifest: embedded } = instantiate(bytes);
    assert.deepEqual(embedded, manifest);
    assert.equal(embedded.model.name, 'tiny_linear');
    assert.equal(embedded.components[0]!.name, 'lin');
    assert.match(embedded.components[0]!.sha256, /^[0-9a-f]{64}$/);
    assert.match(embedded.bundleSha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(embedded.strategies['linear.weights'], 'f32');
  });

  for (const [name, body, seed] of [
    ['missing values, defaults, rejections, casts, logic, select', MISSING, 11],
    ['math kernels (f32 and f64)', KERNELS, 12],
    ['linear components', LINEAR, 13],
    ['categories, labels, bucketize, lookup, onehot', CATEGORIES, 14],
    ['strings, hash, length', HASHING, 15],
    ['per-entity linear components', PER_ENTITY, 16],
    ['bags: hash, count, overlap, cross', BAGS, 17],
    ['vectors: elementwise, concat, dot, sum, argmax, softmax', VECTORS, 18],
    ['tree ensembles: numeric/categorical splits, missing values, classes', TREES, 19],
    ['MLPs: relu/tanh/sigmoid, classes, sparse inputs', MLPS, 20],
    ['fitted transforms and calibration', FITTED, 21],
    ['dense vectors in linear components (SIMD dot products)', DENSE, 22],
    ['text: lower, tokens, ngrams, string equality', TEXT, 23],
  ] as const) {
    it(`${name}: ${ROWS} generated rows agree with the reference`, async () => {
      const { checked, source } = model(body);
      const sample = randomRows(checked, randomBundle(checked, { seed }), { seed, count: 200 });
      const bundle = randomBundle(checked, { seed, sample });
      const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
        sourceText: source,
        kernelBytes: kernels,
      });
      assertModuleShape(bytes);
      const rows = randomRows(checked, bundle, { seed: seed + 100, count: ROWS });
      assert.deepEqual(differences(checked, bundle, bytes, rows), []);
      assert.equal(manifest.outputs.length, checked.outputs.length);
    });
  }

  it('rejections: required and range, first failing input in column order', async () => {
    const { checked, source } = model(MISSING);
    const bundle = randomBundle(checked, { seed: 1 });
    const { bytes } = await compile(checked, bundle, source);
    const rows: Row[] = [
      { x: 1, y: 2, k: 3, b: true, r: null, q: 9, w: 0 }, // r missing (4101) before q out of range
      { x: 1, y: 2, k: 3, b: true, r: 11, q: 0, w: 0 }, // r out of range
      { x: 1, y: 2, k: 3, b: true, r: NaN, q: 0, w: 0 }, // NaN is out of range
      { x: 1, y: 2, k: 3, b: true, r: 10, q: -6, w: 0 }, // q out of range
      { x: 1, y: 2, k: 3, b: true, r: 0, q: 5, w: 0.1 }, // w = 0.1 exactly: accepted
      { x: null, y: null, k: null, b: null, r: 1, q: null, w: null }, // all optional missing
    ];
    const { exports, manifest } = instantiate(bytes);
    const got = score(exports, manifest, rows);
    assert.deepEqual(got.status, [
      (4 << 16) | 4101,
      (4 << 16) | 4102,
      (4 << 16) | 4102,
      (5 << 16) | 4102,
      0,
      0,
    ]);
    assert.equal(got.result, 4);
    assert.deepEqual(differences(checked, bundle, bytes, rows), []);
  });

  it('an input no output uses is still checked (required, range); zero rows is fine', async () => {
    const { checked, source } = model(
      'input a : f32 required\n input u : int in [0, 3] required\n output o = a * 2',
    );
    const { bytes } = await compile(checked, randomBundle(checked, { seed: 4 }), source);
    const { exports, manifest } = instantiate(bytes);
    const rows: Row[] = [
      { a: 1, u: 1 },
      { a: 1, u: 5 },
      { a: 1, u: null },
      { a: null, u: 9 },
    ];
    const got = score(exports, manifest, rows);
    assert.deepEqual(got.status, [0, (1 << 16) | 4102, (1 << 16) | 4101, 4101]);
    assert.deepEqual(got.outputs['o'], [2, null, null, null]);
    assert.equal(got.result, 3);
    assert.deepEqual(differences(checked, randomBundle(checked, { seed: 4 }), bytes, rows), []);
    assert.equal(score(exports, manifest, []).result, 0);
  });

  it('ABI: version, aligned growing allocator, reset, fatal codes', async () => {
    const { checked, source } = model(KERNELS);
    const { bytes, manifest } = await compile(checked, randomBundle(checked, { seed: 2 }), source);
    const { exports: e } = instantiate(bytes);
    assert.equal(e.proml_abi_version(), 1);
    assert.equal(e.memory.buffer.byteLength, manifest.memory.initialPages * 65536);
    const a = e.proml_alloc(3);
    const b = e.proml_alloc(1 << 20); // grows memory
    assert.ok(a > 0 && a % 16 === 0 && b % 16 === 0 && b >= a + 16);
    assert.ok(e.memory.buffer.byteLength >= b + (1 << 20));
    e.proml_reset();
    assert.equal(e.proml_alloc(3), a);
    assert.equal(e.proml_alloc(0xfffffff0), 0); // beyond 4 GiB: 0, never a trap
    e.proml_reset();
    const st = e.proml_alloc(64);
    assert.equal(e.proml_score(-1, 0, 0, st), -1);
    assert.equal(e.proml_score((1 << 24) + 1, 0, 0, st), -1);
    assert.equal(e.proml_score(1, 0, 0, st), -3);
    assert.equal(e.proml_score(1, st, st, 0), -3);
    assert.equal(e.proml_score(1, st, st, 0x7ffffff0), -3);
  });

  it('the same source compiles to the same bytes', async () => {
    const { checked, source } = model(LINEAR);
    const bundle = randomBundle(checked, { seed: 5 });
    const one = await compile(checked, bundle, source);
    const two = await compile(checked, bundle, source);
    assert.deepEqual(one.bytes, two.bytes);
    const sections = customSections(new WebAssembly.Module(one.bytes), MANIFEST_SECTION);
    assert.equal(
      parseManifest(new TextDecoder().decode(sections[0]!)).sourceSha256,
      one.manifest.sourceSha256,
    );
  });

  it('text kernels: murmur3 matches abi/hash.ts, utf8Valid matches a fatal TextDecoder, code points', () => {
    const ex = new WebAssembly.Instance(new WebAssembly.Module(kernels)).exports as unknown as {
      memory: WebAssembly.Memory;
      heapBase(): number;
      murmur3(p: number, n: number, seed: number): number;
      utf8Valid(p: number, n: number): number;
      codePointCount(p: number, n: number): number;
    };
    const base = ex.heapBase();
    const put = (b: Uint8Array): void => new Uint8Array(ex.memory.buffer).set(b, base);
    const h = (b: Uint8Array, seed = HASH_SEED): number => {
      put(b);
      return ex.murmur3(base, b.length, seed | 0) >>> 0;
    };
    const enc = new TextEncoder();
    assert.equal(h(enc.encode('hello')), 0x752a14dd);
    assert.equal(h(enc.encode('café')), 0x51b3a27e);
    assert.equal(h(new Uint8Array([7, 0, 0, 0])), 0xfd38e3bd);
    assert.equal(h(new Uint8Array([255, 255, 255, 255])), 0xa4af2579);
    const fatal = new TextDecoder('utf-8', { fatal: true });
    let seed = 12345;
    const rnd = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const alphabet = ['a', 'Z', '0', ' ', 'é', 'ß', 'Σ', '日', '😀', '\u0301', 'ǅ', '١'];
    let invalid = 0;
    for (let i = 0; i < 5000; i++) {
      const len = rnd(12);
      // half valid text, half random bytes biased to UTF-8 lead and continuation bytes
      let b: Uint8Array;
      if (i % 2 === 0) {
        let str = '';
        for (let j = 0; j < len; j++) str += alphabet[rnd(alphabet.length)]!;
        b = enc.encode(str);
        assert.equal(ex.codePointCount((put(b), base), b.length), [...str].length);
      } else {
        b = new Uint8Array(len);
        for (let j = 0; j < len; j++)
          b[j] = rnd(3) === 0 ? rnd(256) : [0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0x9f, 0x41][rnd(9)]!;
      }
      for (const sd of [HASH_SEED, 0, 1, 0xffffffff])
        assert.equal(h(b, sd), murmur3_32(b, sd), `murmur3 of [${b.join(',')}] seed ${sd}`);
      let ok = 1;
      try {
        fatal.decode(b);
      } catch {
        ok = 0;
        invalid++;
      }
      put(b);
      assert.equal(ex.utf8Valid(base, b.length), ok, `utf8Valid of [${b.join(',')}]`);
    }
    assert.ok(invalid > 500);
  });

  it('invalid UTF-8 in a string or category rejects the row (PML4104), in column order', async () => {
    const { checked, source } = model(
      'input c : category("a", "é") unknown error\n input s : string required\n input tags : bag<string>\n output n : int = length(s) + count(tags)\n output e : bool = c == "é"',
    );
    const { bytes } = await compile(checked, randomBundle(checked, { seed: 6 }), source);
    const { exports, manifest } = instantiate(bytes);
    const B = (...x: number[]): Uint8Array => new Uint8Array(x);
    const rows = [
      { c: 'a', s: B(0xff) },
      { c: 'a', s: B(0xc0, 0x80) }, // overlong
      { c: 'a', s: B(0xed, 0xa0, 0x80) }, // surrogate
      { c: 'a', s: B(0xf4, 0x90, 0x80, 0x80) }, // above U+10FFFF
      { c: 'a', s: B(0xe2, 0x82) }, // truncated
      { c: B(0xc3), s: 'ok' }, // the category first
      { c: B(0xc3, 0xa9), s: B(0xe2, 0x82, 0xac) }, // "é", "€": accepted
      { c: 'b', s: 'x' }, // unknown label
      { c: null, s: null },
      { c: 'a', s: 'ok', tags: ['fine', B(0xc3, 0x28)] }, // a bag item
      { c: 'a', s: 'ok', tags: ['fine', null, B(0xc3, 0xa9)] }, // null items are skipped
    ] as unknown as Row[];
    const got = score(exports, manifest, rows);
    const bad = (i: number): number => (i << 16) | 4104;
    assert.deepEqual(got.status, [
      bad(1),
      bad(1),
      bad(1),
      bad(1),
      bad(1),
      bad(0),
      0,
      4103,
      (1 << 16) | 4101,
      bad(2),
      0,
    ]);
    assert.deepEqual(got.outputs['n'], [null, null, null, null, null, null, 1, null, null, null, 4]);
    assert.deepEqual(got.outputs['e'], [null, null, null, null, null, null, true, null, null, null, false]);
    assert.equal(got.result, 9);
  });

  it('every fixture model compiles and matches the reference, or raises PML31xx naming the construct', async () => {
    const compiled: string[] = [];
    for (const name of readdirSync(MODELS_DIR).sort()) {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      let bytes: Uint8Array;
      try {
        bytes = (await compile(checked, bundle, source)).bytes;
      } catch (err) {
        assert.ok(err instanceof CompileError, `${name}: ${String(err)}`);
        assert.match(err.code, /^PML31\d\d$/, name);
        assert.match(err.message, /not supported yet by this back end: \S/, name);
        continue;
      }
      compiled.push(name);
      assertModuleShape(bytes);
      // the manifest embedded in the module is the one the compiler returned
      assert.deepEqual(instantiate(bytes).manifest, (await compile(checked, bundle, source)).manifest, name);
      const csv = parseRowsCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'), csvColumns(checked));
      assert.deepEqual(differences(checked, bundle, bytes, csv), [], `${name}: rows.csv`);
      const rows = randomRows(checked, bundle, { seed: 21, count: ROWS });
      assert.deepEqual(differences(checked, bundle, bytes, rows), [], `${name}: generated rows`);
    }
    // the fixtures this back end compiles today (a new one is good news: add it here)
    assert.deepEqual(compiled, FIXTURES_COMPILED);
  });

  it('strategies: SIMD and scalar MLP builds, branchy and flat trees give byte-identical outputs', async () => {
    for (const [name, variants] of [
      [
        'pymk',
        [
          { simd: true },
          { simd: false },
          { simd: true, mlpUnroll: 1 },
          { simd: true, mlpUnroll: 4 },
          { simd: true, mlpUnroll: 8, mlpWeights: 'f32' },
          { simd: false, mlpUnroll: 3, mlpWeights: 'f32' },
          // the row-blocked f64 MLP with f32 weight storage (and a block of 7: 4 rows + 3 tail rows)
          { simd: true, mlpWeights: 'f32' },
          { simd: true, mlpWeights: 'f32', mlpBlock: 7 },
        ],
      ],
      ['notification_send', [{ simd: true }, { simd: false, mlpUnroll: 3 }]],
      ['feed_ctr', [{ treeLayout: 'branchy' }, { treeLayout: 'flat' }]],
      [
        'search_spaces',
        [
          { treeLayout: 'branchy', simd: false },
          { treeLayout: 'flat', simd: true },
        ],
      ],
    ] as const) {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      const rows = randomRows(checked, bundle, { seed: 33, count: 2_000 });
      const outs: string[] = [];
      for (const v of variants) {
        const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
          sourceText: source,
          kernelBytes: kernels,
          ...v,
        });
        const text = binaryen.readBinary(bytes).emitText();
        if ('simd' in v) {
          assert.equal(manifest.strategies['mlp.simd'], v.simd ? 'f64x2' : 'scalar');
          // the SIMD build's MLP layers are f64x2 code; the scalar build has no v128 at all
          if (v.simd) assert.match(text, /f64x2\.mul/);
          else assert.doesNotMatch(text, /v128|f64x2|f32x4/);
        }
        if ('mlpWeights' in v) assert.match(manifest.strategies['mlp.weights']!, /^f32 in [1-9]\d* layers$/);
        else if ('simd' in v) assert.equal(manifest.strategies['mlp.weights'], 'f64');
        if ('treeLayout' in v)
          for (const c of checked.components.filter((x) => x.kind === 'gbdt'))
            assert.equal(manifest.strategies[`trees.${c.name}`], v.treeLayout);
        const { exports } = instantiate(bytes);
        outs.push(JSON.stringify(score(exports, manifest, rows, bundle)));
      }
      for (const o of outs.slice(1)) assert.ok(o === outs[0], `${name}: a strategy changed the outputs`);
    }
  });

  it('the row-blocked f64 MLP (mlpBlock; the default for big MLPs) gives the row-at-a-time bits', async () => {
    for (const name of ['pymk', 'notification_send', 'search_spaces', 'all_functions']) {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      const rows = randomRows(checked, bundle, { seed: 35, count: 1_000 });
      const outs = new Map<number, string>();
      const variants: { mlpBlock?: number; treeLayout?: 'flat' }[] = [
        { mlpBlock: 1 },
        {},
        { mlpBlock: 64 },
        { mlpBlock: 7 },
        { mlpBlock: 64, treeLayout: 'flat' },
      ];
      for (const v of variants) {
        const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
          sourceText: source,
          kernelBytes: kernels,
          ...v,
        });
        // by default only pymk's MLP (74k weights) is big enough to be blocked; the others have ≤ 2k
        const block = v.mlpBlock ?? (name === 'pymk' ? 64 : 1);
        assert.equal(manifest.strategies['mlp.block'], block > 1 ? String(block) : undefined, name);
        assert.equal(manifest.strategies['mlp.simd'], 'f64x2');
        const { exports } = instantiate(bytes);
        // batches smaller than a row group (leftover rows only), of a few groups, and of many blocks
        for (const n of [1, 3, 9, 1_000]) {
          const got = score(exports, manifest, rows.slice(0, n), bundle);
          const out = JSON.stringify(got.outputs) + JSON.stringify(got.status);
          if (!outs.has(n)) outs.set(n, out);
          else assert.ok(out === outs.get(n), `${name} ${JSON.stringify(v)}: ${n} rows scored differently`);
        }
      }
    }
  });

  it('mlpPrecision f32 (inexact): every build the same bits, within f32 rounding of the reference', async () => {
    for (const name of ['pymk', 'notification_send', 'search_spaces']) {
      const dir = join(MODELS_DIR, name);
      const source = readFileSync(join(dir, 'model.pml'), 'utf8');
      const checked = checkSource('model.pml', source).checked!;
      const bundle = readBundle(join(dir, 'bundle'));
      const rows = randomRows(checked, bundle, { seed: 34, count: 2_000 });
      const want = evaluate(checked, bundle, rows);
      let first: string | null = null;
      let firstSmall: string | null = null;
      const variants: { simd: boolean; mlpUnroll?: number; mlpBlock?: number }[] = [
        { simd: true },
        { simd: false },
        { simd: true, mlpUnroll: 1 },
        { simd: true, mlpUnroll: 8 },
        { simd: true, mlpBlock: 1 },
        { simd: true, mlpBlock: 7 },
      ];
      for (const v of variants) {
        const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
          sourceText: source,
          kernelBytes: kernels,
          mlpPrecision: 'f32',
          ...v,
        });
        assert.match(manifest.strategies['mlp.precision']!, /^f32 \(inexact/);
        assert.equal(manifest.strategies['mlp.simd'], v.simd ? 'f32x4' : 'scalar');
        assert.equal(manifest.strategies['mlp.weights'], 'f32');
        const text = binaryen.readBinary(bytes).emitText();
        if (v.simd) assert.match(text, /f32x4\.mul/);
        else assert.doesNotMatch(text, /v128|f64x2|f32x4/);
        // row-blocked in the SIMD build unless mlpBlock is 1 (the scalar build never is)
        const block = v.simd && v.mlpBlock !== 1 ? String(v.mlpBlock ?? 64) : undefined;
        assert.equal(manifest.strategies['mlp.block'], block, `${name} ${JSON.stringify(v)}`);
        const { exports } = instantiate(bytes);
        const got = score(exports, manifest, rows, bundle);
        const out = JSON.stringify(got.outputs) + JSON.stringify(got.status);
        if (first === null) first = out;
        else assert.ok(out === first, `${name} ${JSON.stringify(v)}: an f32 build changed the outputs`);
        // a batch smaller than a row group (the blocked kernel's leftover rows only)
        const small = score(exports, manifest, rows.slice(0, 3), bundle);
        const smallOut = JSON.stringify(small.outputs) + JSON.stringify(small.status);
        if (firstSmall === null) firstSmall = smallOut;
        else assert.ok(smallOut === firstSmall, `${name} ${JSON.stringify(v)}: 3 rows scored differently`);
        // the f32 sums stay within 1e-5 (relative, or absolute below 1) of the reference's f64 ones
        for (const o of manifest.outputs)
          want.forEach((w, r) => {
            if (w.rejected !== null) return;
            const x = w.outputs![o.name];
            const y = got.outputs[o.name]![r];
            for (const [a, b] of Array.isArray(x)
              ? (x as number[]).map((e, q) => [e, (y as number[])[q]!])
              : [[x, y]])
              if (typeof a === 'number' && Number.isFinite(a))
                assert.ok(
                  Math.abs((b as number) - a) <= 1e-5 * Math.max(1, Math.abs(a)),
                  `${name} row ${r} ${o.name}: ${String(b)} vs reference ${a}`,
                );
          });
      }
    }
  });

  it('the dense linear kernel is f64x2 code in the SIMD build and gives the scalar build its bits', async () => {
    const { checked, source } = model(DENSE);
    const bundle = randomBundle(checked, { seed: 41 });
    const rows = randomRows(checked, bundle, { seed: 42, count: 3_000 });
    const outs: string[] = [];
    for (const simd of [true, false]) {
      const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
        sourceText: source,
        kernelBytes: kernels,
        simd,
      });
      const text = binaryen.readBinary(bytes).emitText();
      if (simd) assert.match(text, /f64x2\.mul/);
      else assert.doesNotMatch(text, /v128|f64x2|f32x4/);
      assert.equal(manifest.strategies['linear.dense'], simd ? 'f64x2 x4' : 'scalar x8');
      const { exports } = instantiate(bytes);
      outs.push(JSON.stringify(score(exports, manifest, rows, bundle)));
    }
    assert.ok(outs[0] === outs[1]);
  });

  it('a vector only dense dot products read is not loaded lane by lane; one used elsewhere is', async () => {
    const loads = async (extra: string): Promise<number> => {
      const { checked, source } = model(`
  input x : vector<f32, 64> required
  component lin = linear(x)
  output p = sigmoid(lin)
${extra}`);
      const bundle = randomBundle(checked, { seed: 46 });
      const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
        sourceText: source,
        kernelBytes: kernels,
      });
      const rows = randomRows(checked, bundle, { seed: 47, count: 500 });
      assert.deepEqual(differences(checked, bundle, bytes, rows), []);
      assert.equal(manifest.strategies['linear.dense'], 'f64x2 x4');
      return (
        binaryen
          .readBinary(bytes)
          .emitText()
          .match(/f32\.load/g) ?? []
      ).length;
    };
    const only = await loads('');
    const also = await loads('  output s : f64 = sum(x)\n');
    assert.ok(only < 64, `${only} f32 loads with the vector read by the dot product only`);
    assert.ok(also >= 64 + only, `${also} f32 loads with sum(x) too (${only} without)`);
  });

  it('linear weight storage: f64 by default where a dense vector is dotted, f32 elsewhere or when asked; same bits', async () => {
    const { checked, source } = model(`${DENSE}
  input s : string
  component h = linear(hash(s, 64))
  output q = h
`);
    const bundle = randomBundle(checked, { seed: 43 });
    // f32-exact weights: the only ones with a choice of storage
    for (const c of bundle.components.values())
      if (c.kind === 'linear') {
        c.weights.forEach((w, i) => (c.weights[i] = Math.fround(w)));
        c.intercepts.forEach((w, i) => (c.intercepts[i] = Math.fround(w)));
      }
    const rows = randomRows(checked, bundle, { seed: 44, count: 3_000 });
    const seen = new Map<string, string>();
    for (const simd of [true, false])
      for (const [linearWeights, expect] of [
        [undefined, 'f32, f64 in lin, two'],
        ['f32', 'f32'],
        ['f64', 'f64'],
      ] as const) {
        const { bytes, manifest } = await emitScoringModule(checked, lowerModel(checked), bundle, {
          sourceText: source,
          kernelBytes: kernels,
          simd,
          ...(linearWeights === undefined ? {} : { linearWeights }),
        });
        assert.equal(manifest.strategies['linear.weights'], expect, `simd ${simd}, ${linearWeights}`);
        const { exports } = instantiate(bytes);
        seen.set(
          `${simd} ${linearWeights} (${bytes.length} bytes)`,
          JSON.stringify(score(exports, manifest, rows, bundle)),
        );
      }
    // six builds of three sizes (f64 storage is bigger), one set of outputs
    assert.equal(
      new Set([...seen.keys()].map((k) => k.split('(')[1])).size >= 3,
      true,
      [...seen.keys()].join('; '),
    );
    assert.equal(new Set(seen.values()).size, 1);
    // weights that are not all exactly f32 are f64 whatever is asked
    const wide = randomBundle(checked, { seed: 45 });
    for (const c of wide.components.values()) if (c.kind === 'linear') c.weights[0] = 0.1;
    const { manifest } = await emitScoringModule(checked, lowerModel(checked), wide, {
      sourceText: source,
      kernelBytes: kernels,
      linearWeights: 'f32',
    });
    assert.equal(manifest.strategies['linear.weights'], 'f64');
  });

  it('every emit code is documented in docs/errors.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    for (const code of Object.values(EMIT_CODES))
      assert.match(doc, new RegExp(`^\\| ${code} \\| error `, 'm'));
  });
});
