// Checker tests: parse a snippet, check it, and assert the diagnostics a user would see (code,
// message, position of the underlined sub-node) and the resolved CheckedModel.
// Input: snippets and fixtures/models/*. Output: node:test results. Covers every PML2xxx code,
// docs/errors.md staying in sync with CHECK_CODES, and no-throw on mutated (partial) sources.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CHECK_CODES, check, checkedModelToJSON, type CheckedModel } from '../../compiler/check.js';
import { DiagnosticSink, SourceFile, type Diagnostic } from '../../compiler/diagnostics.js';
import { parseFile } from '../../compiler/parser.js';
import { formatType } from '../../compiler/types.js';
import { ROOT, modelFixtures } from '../helpers.js';

const HEADER = 'version "1" owner "o" purpose "p"';

interface Run {
  model: CheckedModel | null;
  diags: Diagnostic[];
  file: SourceFile;
  /** `CODE@text-under-span: message` for each diagnostic, in file order. */
  lines: string[];
}

function run(body: string, header = HEADER): Run {
  const text = `model m {\n${header}\n${body}\n}\n`;
  const file = new SourceFile('m.pml', text);
  const sink = new DiagnosticSink(file);
  const { model } = parseFile(file, sink);
  assert.ok(model !== null, 'snippet must parse');
  assert.deepEqual(
    sink.items.filter((d) => d.code.startsWith('PML1')).map((d) => d.message),
    [],
    'snippet must have no syntax errors',
  );
  const checked = check(model, sink);
  const diags = sink.sorted();
  const lines = diags.map((d) => `${d.code}@${text.slice(d.span.start, d.span.end)}: ${d.message}`);
  return { model: checked, diags, file, lines };
}

/** Error codes only (warnings are asserted separately). */
function errors(r: Run): string[] {
  return r.diags.filter((d) => d.severity === 'error').map((d) => d.code);
}

function expectOnly(body: string, code: string, under?: string, message?: RegExp): Run {
  const r = run(body);
  const errs = r.diags.filter((d) => d.code === code);
  assert.ok(errs.length >= 1, `expected ${code}, got:\n${r.lines.join('\n')}`);
  const other = r.diags.filter((d) => d.severity === 'error' && d.code !== code);
  assert.deepEqual(
    other.map((d) => d.code),
    [],
    `unexpected errors:\n${r.lines.join('\n')}`,
  );
  const d = errs[0]!;
  if (under !== undefined)
    assert.equal(r.file.text.slice(d.span.start, d.span.end), under, r.lines.join('\n'));
  if (message !== undefined) assert.match(d.message, message);
  return r;
}

const OK_TRAIN = 'train { label y objective logistic }';

describe('names', () => {
  it('PML2001 unknown name with a did-you-mean hint on the misspelt identifier', () => {
    const r = expectOnly(
      'input recency: f32 default 0\nfeature r = log1p(recencyy)\ncomponent c = linear(r)\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2001',
      'recencyy',
      /^unknown name 'recencyy'$/,
    );
    assert.equal(r.diags.find((d) => d.code === 'PML2001')?.hint, "did you mean 'recency'?");
  });
  it('PML2002 duplicate names across inputs/features/outputs', () => {
    const r = expectOnly('input a: f32 default 0\nfeature a = 1\noutput o = a', 'PML2002', 'a');
    assert.match(r.diags.find((d) => d.code === 'PML2002')!.hint!, /first declared as input 'a' on line 3/);
  });
  it('PML2003 unknown function', () => {
    const r = expectOnly('input x: f32 default 0\noutput o = sqr(x)', 'PML2003', 'sqr');
    assert.equal(r.diags[0]!.hint, "did you mean 'sqrt'?");
  });
  it('PML2004 feature cycle prints the path', () => {
    expectOnly(
      'feature a = b + 1\nfeature b = a * 2\noutput o = a',
      'PML2004',
      'a',
      /^feature 'a' depends on itself: a -> b -> a$/,
    );
    expectOnly('feature a = a + 1\noutput o = a', 'PML2004', 'a', /a -> a/);
  });
  it('PML2005 component outside outputs', () => {
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\nfeature f = c + 1\noutput o = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2005',
      'c',
    );
  });
  it('PML2006 output read by a feature; outputs may read outputs', () => {
    expectOnly('input x: f32 default 0\noutput o = x\nfeature f = o\noutput q = f', 'PML2006', 'o');
    const r = run('input x: f32 default 0\noutput q: f64 = o * 2\noutput o = x');
    assert.deepEqual(errors(r), []);
    assert.deepEqual(
      r.model!.outputs.map((o) => o.name),
      ['o', 'q'],
      'outputs in dependency order',
    );
    assert.equal(formatType(r.model!.outputs[1]!.type), 'f64');
  });
  it('PML2007 component kind called in an expression', () => {
    expectOnly('input x: f32 default 0\noutput o = linear(x)', 'PML2007', 'linear');
  });
  it('PML2008 output cycle', () => {
    expectOnly('output a = b\noutput b = a', 'PML2008', 'a', /a -> b -> a/);
  });
  it('resolves a name used before its declaration, features in topological order', () => {
    const r = run('output o = f2\nfeature f2 = f1 * 2\nfeature f1 = x + 1\ninput x: int default 1');
    assert.deepEqual(errors(r), []);
    assert.deepEqual(
      r.model!.features.map((f) => f.name),
      ['f1', 'f2'],
    );
    assert.deepEqual(
      r.model!.features.map((f) => formatType(f.type)),
      ['int', 'int'],
    );
  });
});

describe('types and shapes', () => {
  it('PML2101 unknown type', () => {
    const r = expectOnly('input x: strng\noutput o = 1', 'PML2101', 'strng');
    assert.equal(r.diags.find((d) => d.code === 'PML2101')!.hint, "did you mean 'string'?");
  });
  it('PML2102 invalid type parameters', () => {
    expectOnly('input v: vector<f32, 0>\noutput o = 1', 'PML2102', '0');
    expectOnly('input v: vector<64>\noutput o = 1', 'PML2102');
    expectOnly('input b: bag<f32>\noutput o = 1', 'PML2102');
    expectOnly('input f: f32<2>\noutput o = 1', 'PML2102');
  });
  it('PML2103 duplicate category label', () => {
    expectOnly('input c: category("a", "b", "a")\noutput o = 1', 'PML2103', '"a"');
  });
  it('PML2104 wrong arity', () => {
    expectOnly(
      'input x: f32 default 0\noutput o = log(x, 2)',
      'PML2104',
      '2',
      /^log takes 1 argument, got 2$/,
    );
    expectOnly('input x: f32 default 0\noutput o = pow(x)', 'PML2104', 'pow');
    expectOnly(
      'input x: f32 in [0, 1] default 0\noutput o = clip(x, 0)',
      'PML2104',
      'clip',
      /1 or 3 arguments/,
    );
  });
  it('PML2105 argument of the wrong type', () => {
    expectOnly(
      'input x: f32 default 0\noutput o = count(x)',
      'PML2105',
      'x',
      /count's 'bag' must be a bag, but 'x' is f32/,
    );
    const r = expectOnly(
      'input s: string default ""\nfeature f = onehot(s)\ncomponent c = linear(f)\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2105',
      's',
    );
    assert.match(r.diags.find((d) => d.code === 'PML2105')!.hint!, /lookup/);
  });
  it('PML2106 vector where a scalar is needed (unit mistake)', () => {
    expectOnly(
      'input emb: vector<f32, 64> default 0\ninput x: f32 default 1\noutput o = pow(x, emb)',
      'PML2106',
      'emb',
      /'emb' is vector<64>/,
    );
    expectOnly('input emb: vector<f32, 64> default 0\noutput o = emb > 1', 'PML2106', 'emb');
  });
  it('PML2107 vector lengths differ', () => {
    expectOnly(
      'input a: vector<f32, 4> default 0\ninput b: vector<f32, 3> default 0\noutput o = sum(a + b)',
      'PML2107',
      'b',
      /vector<4>.*vector<3>/,
    );
    expectOnly(
      'input a: vector<f32, 4> default 0\ninput b: vector<f32, 3> default 0\noutput o = dot(a, b)',
      'PML2107',
      'b',
    );
  });
  it('PML2108 entity used as a number', () => {
    expectOnly(
      'input m: entity\ninput x: f32 default 0\ncomponent c = linear(x) per m\noutput o = sigmoid(c) + m\n' +
        OK_TRAIN,
      'PML2108',
      'm',
    );
  });
  it('PML2109 sparse in arithmetic', () => {
    expectOnly(
      'input c: category("a", "b") default "a"\nfeature f = onehot(c) * 2\noutput o = 1',
      'PML2109',
      'onehot(c)',
    );
  });
  it('PML2110 operator on wrong operands, with hints', () => {
    const r = expectOnly('input b: bool default false\noutput o = b + 1', 'PML2110', 'b');
    assert.match(r.diags.find((d) => d.code === 'PML2110')!.hint!, /if b then 1 else 0/);
    expectOnly('input x: f32 default 0\noutput o = x and true', 'PML2110', 'x');
  });
  it('PML2111 invalid constant arguments', () => {
    expectOnly(
      'input s: string default ""\nfeature f = hash(s, 0)\noutput o = 1',
      'PML2111',
      '0',
      /1\.\.16777216, got 0/,
    );
    expectOnly('input s: string default ""\nfeature f = ngrams(s, 9)\noutput o = 1', 'PML2111', '9');
    expectOnly(
      'input x: f32 default 0\nfeature f = bucketize(x, [1, 5, 3])\noutput o = 1',
      'PML2111',
      '3',
      /strictly increasing: 3 after 5/,
    );
    expectOnly('input x: f32 default 0\nfeature f = quantiles(x, 1)\noutput o = 1', 'PML2111', '1');
    expectOnly(
      'input x: f32 default 0\ninput n: int default 3\nfeature f = quantiles(x, n)\noutput o = 1',
      'PML2111',
      'n',
    );
  });
  it('PML2112 unknown named argument', () => {
    expectOnly(
      'input s: string default ""\nfeature f = vocab(s, 100, min_cnt = 2)\noutput o = 1',
      'PML2112',
      'min_cnt',
    );
  });
  it('PML2113 list literal as a value', () => {
    expectOnly('output o = [1, 2]', 'PML2113', '[1, 2]');
  });
  it('PML2114 if branches of different types', () => {
    expectOnly('input x: f32 default 0\noutput o = if x > 0 then x else true', 'PML2114', 'true');
  });
  it('PML2115 string that is not a label of the category', () => {
    const r = expectOnly(
      'input d: category("mobile", "desktop") default "mobile"\noutput o = d == "mobil"',
      'PML2115',
      '"mobil"',
    );
    assert.equal(r.diags.find((d) => d.code === 'PML2115')!.hint, 'did you mean "mobile"?');
  });
  it('PML2116 clip(x) without a declared range', () => {
    expectOnly('input x: f32 default 0\noutput o = clip(x)', 'PML2116', 'x');
    assert.deepEqual(errors(run('input x: f32 in [0, 5] default 0\noutput o = clip(x)')), []);
  });
  it('infers numeric promotion, division and optional propagation', () => {
    const r = run(
      'input i: int default 1\ninput j: int\ninput d: f64 default 0\ninput emb: vector<f32, 8> default 0\n' +
        'output a = i + 1\noutput b = i / 2\noutput c = d * 0.5\noutput e = j * 2\noutput f = coalesce(j, 0)\n' +
        'output g = is_missing(j)\noutput h = emb * 2\noutput k = argmax(softmax(emb))\noutput l = abs(i)',
    );
    assert.deepEqual(errors(r), []);
    const t = Object.fromEntries(r.model!.outputs.map((o) => [o.name, formatType(o.type)]));
    assert.deepEqual(t, {
      a: 'int',
      b: 'f32',
      c: 'f64',
      e: 'int?',
      f: 'int',
      g: 'bool',
      h: 'vector<8>',
      k: 'int',
      l: 'int',
    });
  });
  it('gives every expression a type and every name a symbol', () => {
    const r = run('input x: f32 default 0\nfeature f = log1p(x) * 2\noutput o = f + x');
    const f = r.model!.features[0]!;
    assert.equal(formatType(r.model!.types.get(f.expr)!), 'f32');
    assert.ok([...r.model!.symbols.values()].every((s) => s.kind === 'input' || s.kind === 'feature'));
    assert.equal(r.model!.symbols.size, 3);
  });
  it('reports one error for a bad sub-expression, not a cascade', () => {
    const r = run(
      'input x: f32 default 0\nfeature f = log(nope) + sqrt(x) * 2\nfeature g = f * 3\noutput o = g',
    );
    assert.deepEqual(errors(r), ['PML2001']);
  });
});

describe('inputs', () => {
  it('resolves input modifiers', () => {
    const r = run(
      'input d: category("a", "b", "c") default "b" unknown "c" pii\ninput x: int in [0, 10] required\n' +
        'input v: vector<f32, 3> default [1, 2, 3]\ninput s: bag<string>\ninput y: f32\noutput o = 1',
    );
    assert.deepEqual(errors(r), []);
    const [d, x, v, s, y] = r.model!.inputs;
    assert.deepEqual(d!.default, { kind: 'label', label: 'b', index: 1 });
    assert.deepEqual(d!.unknown, { kind: 'label', label: 'c', index: 2 });
    assert.equal(d!.pii, true);
    assert.equal(formatType(d!.type), 'category(3)');
    assert.deepEqual(x!.range, { lo: 0, hi: 10 });
    assert.equal(x!.required, true);
    assert.deepEqual(v!.default, { kind: 'vector', values: [1, 2, 3] });
    assert.equal(formatType(s!.type), 'bag<string>');
    assert.equal(formatType(y!.type), 'f32?');
    // unused-input warnings, one per input
    assert.equal(r.diags.filter((x) => x.code === 'PML2901').length, 5);
  });
  it('PML2201 default and required', () => {
    expectOnly('input x: f32 default 0 required\noutput o = x', 'PML2201', 'required');
  });
  it('PML2202 range on a non-numeric input', () => {
    expectOnly('input s: string in [0, 1]\noutput o = 1', 'PML2202', 'in [0, 1]');
  });
  it('PML2203 range bound not a constant / not integer for int', () => {
    expectOnly('input x: int in [0, 1.5] default 0\noutput o = x', 'PML2203', '1.5');
    expectOnly('input x: f32 in [0, "a"] default 0\noutput o = x', 'PML2203', '"a"');
  });
  it('PML2204 lo > hi', () => {
    expectOnly('input x: f32 in [5, 1]\noutput o = x', 'PML2204', 'in [5, 1]', /5 > 1/);
  });
  it('PML2205 default of the wrong type', () => {
    expectOnly('input x: int default 1.5\noutput o = x', 'PML2205', '1.5');
    expectOnly('input b: bool default 1\noutput o = b', 'PML2205', '1');
    expectOnly('input v: vector<f32, 3> default [1, 2]\noutput o = sum(v)', 'PML2205');
  });
  it('PML2206 default outside the range', () => {
    expectOnly(
      'input x: f32 in [0, 1] default 2\noutput o = x',
      'PML2206',
      '2',
      /outside its range \[0, 1\]/,
    );
  });
  it('PML2207 default not a label', () => {
    const r = expectOnly(
      'input d: category("mid", "senior") default "md"\noutput o = d == "mid"',
      'PML2207',
      '"md"',
    );
    assert.equal(r.diags.find((d) => d.code === 'PML2207')!.hint, 'did you mean "mid"?');
  });
  it('PML2208 unknown on a non-category', () => {
    expectOnly('input x: f32 unknown error default 0\noutput o = x', 'PML2208', 'unknown error');
  });
  it('PML2209 unknown value not a label', () => {
    expectOnly('input d: category("a") unknown "b"\noutput o = d == "a"', 'PML2209', '"b"');
    const r = run('input d: category("a") unknown error\noutput o = d == "a"');
    assert.deepEqual(errors(r), []);
    assert.deepEqual(r.model!.inputs[0]!.unknown, { kind: 'error' });
  });
  it('PML2210 duplicate modifier', () => {
    expectOnly('input x: f32 pii pii default 0\noutput o = x', 'PML2210');
  });
  it('PML2211 default/required on a bag, default on an entity', () => {
    expectOnly('input b: bag<string> required\noutput o = count(b)', 'PML2211', 'required');
    expectOnly(
      'input m: entity default 1\ninput x: f32 default 0\ncomponent c = linear(x) per m\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2211',
    );
  });
});

describe('components', () => {
  it('resolves kinds, features, widths and options', () => {
    const r = run(
      'input d: category("a", "b", "c", "d") default "a"\ninput t: string default ""\ninput emb: vector<f32, 64> default 0\ninput x: f32 default 0\ninput m: entity\n' +
        'component lin = linear(onehot(d), hash(t, 4096), emb, x, intercept = false)\n' +
        'component trees = gbdt(d, x, emb)\ncomponent head = mlp(emb, hidden = [32, 16], activation = tanh)\ncomponent re = linear() per m\n' +
        'output p = sigmoid(lin + trees + head + re)\n' +
        OK_TRAIN,
    );
    assert.deepEqual(errors(r), []);
    const [lin, trees, head, re] = r.model!.components;
    assert.deepEqual(
      lin!.features.map((f) => f.width),
      [4, 4096, 64, 1],
    );
    assert.deepEqual(
      lin!.features.map((f) => f.offset),
      [0, 4, 4100, 4164],
    );
    assert.equal(lin!.inputWidth, 4165);
    assert.equal(lin!.options.intercept, false);
    assert.deepEqual(
      trees!.features.map((f) => f.width),
      [1, 1, 64],
    );
    assert.deepEqual(head!.options, {
      classes: null,
      intercept: false,
      hidden: [32, 16],
      activation: 'tanh',
    });
    assert.equal(re!.per, 'm');
    assert.equal(re!.features.length, 0);
    assert.deepEqual(r.model!.outputs[0]!.trained?.components, ['lin', 'trees', 'head', 're']);
  });
  it('PML2301 unknown kind', () => {
    expectOnly('input x: f32 default 0\ncomponent c = lnear(x)\noutput o = 1', 'PML2301', 'lnear');
    expectOnly(
      'input x: f32 default 0\ncomponent c = log(x)\noutput o = 1',
      'PML2301',
      'log',
      /is a function/,
    );
  });
  it('PML2302 component without features', () => {
    expectOnly('component c = gbdt()\noutput p = sigmoid(c)\n' + OK_TRAIN, 'PML2302', 'gbdt');
  });
  it('PML2303 feature types a kind does not take', () => {
    const r = expectOnly(
      'input d: category("a", "b") default "a"\ncomponent c = linear(d)\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2303',
      'd',
    );
    assert.equal(r.diags.find((x) => x.code === 'PML2303')!.hint, 'use onehot(d)');
    expectOnly(
      'input d: category("a", "b") default "a"\ncomponent c = gbdt(onehot(d))\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2303',
      'onehot(d)',
    );
    expectOnly(
      'input s: string default ""\ncomponent c = linear(s)\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2303',
      's',
    );
  });
  it('PML2304 optional feature in linear/mlp (gbdt accepts it)', () => {
    const r = expectOnly(
      'input recency: f32\ncomponent c = linear(recency)\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2304',
      'recency',
      /'recency' \(f32\?\) may be missing/,
    );
    assert.match(r.diags.find((x) => x.code === 'PML2304')!.hint!, /add 'default'.*coalesce\(recency, 0\)/);
    assert.deepEqual(
      errors(run('input recency: f32\ncomponent c = gbdt(recency)\noutput p = sigmoid(c)\n' + OK_TRAIN)),
      [],
    );
  });
  it('PML2305 unknown option, PML2310 duplicate option', () => {
    const r = expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x, hidden = [3])\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2305',
      'hidden',
    );
    assert.equal(r.diags.find((x) => x.code === 'PML2305')!.hint, "'hidden' is an option of mlp");
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x, intercept = true, intercept = false)\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2310',
      'intercept',
    );
  });
  it('PML2306 invalid option value', () => {
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x, classes = 1)\noutput p = softmax(c)\ntrain { label y objective multiclass }',
      'PML2306',
      '1',
      /integer ≥ 2, got 1/,
    );
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x, classes = 1)\noutput p = c + 1',
      'PML2306',
      '1',
    );
    expectOnly(
      'input x: f32 default 0\ncomponent c = mlp(x, hidden = [8], activation = relo)\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2306',
      'relo',
    );
  });
  it('PML2307 mlp without hidden', () => {
    expectOnly(
      'input x: f32 default 0\ncomponent c = mlp(x)\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2307',
      'mlp',
    );
  });
  it('PML2308 per on gbdt, PML2309 per on a non-entity', () => {
    expectOnly(
      'input m: entity\ninput x: f32 default 0\ncomponent c = gbdt(x) per m\noutput p = sigmoid(c)\n' +
        OK_TRAIN,
      'PML2308',
      'm',
    );
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x) per x\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2309',
      'x',
    );
  });
  it('PML2311 component named like a train key', () => {
    expectOnly(
      'input x: f32 default 0\ncomponent metric = linear(x)\noutput p = sigmoid(metric)\n' + OK_TRAIN,
      'PML2311',
      'metric',
    );
  });
});

describe('outputs', () => {
  it('PML2401 no output', () => {
    expectOnly('input x: f32 default 0\nfeature f = x', 'PML2401', 'm');
  });
  it('PML2402 bad output type, PML2403 type mismatch', () => {
    expectOnly('output o: string = 1', 'PML2402');
    expectOnly('input x: f32 default 0\noutput o: int = x', 'PML2403', 'x');
    expectOnly('input x: f32 default 0\noutput o: bool = x', 'PML2403', 'x');
  });
  it('PML2404 output of a category', () => {
    expectOnly('input d: category("a") default "a"\noutput o = d', 'PML2404', 'd');
  });
  it('PML2405 calibration outside outputs, PML2409 calibration target', () => {
    expectOnly('input x: f32 default 0\nfeature f = platt(x)\noutput o = f', 'PML2405', 'platt');
    expectOnly('input x: f32 default 0\noutput o = platt(x)', 'PML2409', 'x');
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput v = c\noutput o = isotonic(v)\ntrain v { label y objective squared_error }',
      'PML2409',
      'v',
      /trained with objective squared_error/,
    );
    const r = run(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput p = sigmoid(c)\noutput q = platt(p)\n' +
        OK_TRAIN,
    );
    assert.deepEqual(errors(r), []);
    assert.deepEqual(
      r.model!.calibrations.map((c) => [c.method, c.of, c.in]),
      [['platt', 'p', 'q']],
    );
  });
  it('PML2406 trained output that is not LINK(sum of components)', () => {
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput p = sigmoid(2 * c)\n' + OK_TRAIN,
      'PML2406',
      '2 * c',
    );
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput p = sigmoid(x - c)\n' + OK_TRAIN,
      'PML2406',
      'c',
      /subtracted/,
    );
    expectOnly(
      'input x: f32\ninput z: f32 default 0\ncomponent c = linear(z)\noutput p = exp(c + log(x))\ntrain { label y objective poisson }',
      'PML2406',
      'log(x)',
      /may be missing/,
    );
  });
  it('decomposes link, components and offsets', () => {
    const r = run(
      'input x: f32 default 1\ncomponent c = linear(x)\ncomponent d = gbdt(x)\noutput p = exp(c + d - log(x))\ntrain { label y objective poisson }',
    );
    assert.deepEqual(errors(r), []);
    const t = r.model!.outputs[0]!.trained!;
    assert.equal(t.link, 'exp');
    assert.deepEqual(t.components, ['c', 'd']);
    assert.deepEqual(
      t.offsets.map((o) => o.sign),
      [-1],
    );
  });
  it('PML2407 component twice, PML2408 classes vs link', () => {
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput p = sigmoid(c + c)\n' + OK_TRAIN,
      'PML2407',
      'c',
    );
    const r = expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput p = softmax(c)\ntrain { label y objective multiclass }',
      'PML2105',
      'c',
    );
    assert.match(r.diags[0]!.hint!, /classes = k/);
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x, classes = 3)\noutput p = sigmoid(c)\n' + OK_TRAIN,
      'PML2408',
      'c',
    );
  });
});

describe('training', () => {
  const BASE =
    'input x: f32 default 0\ncomponent trees = gbdt(x)\ncomponent lin = linear(x)\noutput p = sigmoid(trees + lin)\n';
  it('resolves settings, hyperparameters and search spaces', () => {
    const r = run(
      BASE +
        'train p { label clicked objective logistic metric auc seed 7 folds 3 iterations 2 weight w\n' +
        '  trees { depth 6 learning_rate 0.1 } trees.count 50 lin { l2 1.5 }\n' +
        '  search { budget 20 method tpe lin.l1 in log [0.001, 1] trees { subsample in {0.5, 1.0} } }\n}',
    );
    assert.deepEqual(errors(r), []);
    const t = r.model!.trains[0]!;
    assert.equal(t.output, 'p');
    assert.equal(t.label, 'clicked');
    assert.equal(t.weight, 'w');
    assert.deepEqual(t.objective, { name: 'logistic', alpha: null });
    assert.deepEqual(Object.fromEntries(t.hyperparameters.get('trees')!), {
      depth: 6,
      learning_rate: 0.1,
      count: 50,
    });
    assert.deepEqual(
      t.search?.dimensions.map((d) => [d.component, d.param, d.scale, d.values]),
      [
        ['lin', 'l1', 'log', [0.001, 1]],
        ['trees', 'subsample', 'choice', [0.5, 1]],
      ],
    );
  });
  it('quantile objective with alpha', () => {
    const r = run(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput q = c\ntrain { label y objective quantile(0.9) }',
    );
    assert.deepEqual(errors(r), []);
    assert.deepEqual(r.model!.trains[0]!.objective, { name: 'quantile', alpha: 0.9 });
    expectOnly(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput q = c\ntrain { label y objective quantile(1.5) }',
      'PML2503',
      '1.5',
    );
  });
  it('PML2501 unknown setting with a hint', () => {
    const r = expectOnly(BASE + 'train { label y objective logistic iteratons 3 }', 'PML2501', 'iteratons');
    assert.equal(r.diags.find((d) => d.code === 'PML2501')!.hint, "did you mean 'iterations'?");
  });
  it('PML2502 missing label/objective, missing search budget', () => {
    expectOnly(BASE + 'train { objective logistic }', 'PML2502', undefined, /no 'label'/);
    expectOnly(
      BASE + 'train { label y objective logistic search { trees.depth in [2, 4] } }',
      'PML2502',
      'search',
    );
  });
  it('PML2503 bad setting value', () => {
    expectOnly(
      BASE + 'train { label y objective logistic validation 1.5 }',
      'PML2503',
      '1.5',
      /\(0, 1\), got 1.5/,
    );
    expectOnly(BASE + 'train { label y objective logistc }', 'PML2503', 'logistc');
  });
  it('PML2504 label is an input (leakage), PML2515 label is a feature', () => {
    expectOnly(BASE + 'train { label x objective logistic }', 'PML2504', 'x', /leakage/);
    expectOnly(
      BASE + 'train { label y weight x objective logistic }',
      'PML2504',
      'x',
      /weight 'x' is an input/,
    );
    expectOnly(BASE + 'feature f = x\ntrain { label f objective logistic }', 'PML2515', 'f');
  });
  it('PML2505 objective does not fit the link', () => {
    const r = expectOnly(BASE + 'train { label y objective poisson }', 'PML2505', 'poisson');
    assert.equal(r.diags.find((d) => d.code === 'PML2505')!.hint, 'use objective logistic');
  });
  it('PML2506 train target unknown or ambiguous', () => {
    expectOnly(BASE + 'train q { label y objective logistic }', 'PML2506', 'q');
    expectOnly(
      BASE + 'component c2 = linear(x)\noutput p2 = sigmoid(c2)\ntrain { label y objective logistic }',
      'PML2506',
      'train',
    );
  });
  it('PML2507 duplicate setting', () => {
    expectOnly(BASE + 'train { label y label z objective logistic }', 'PML2507', 'label');
    expectOnly(
      BASE + 'train { label y objective logistic trees { depth 3 } trees.depth 4 }',
      'PML2507',
      'depth',
    );
  });
  it('PML2508 unknown hyperparameter, PML2509 out of range, PML2516 per-only', () => {
    const r = expectOnly(BASE + 'train { label y objective logistic trees { dept 3 } }', 'PML2508', 'dept');
    assert.equal(r.diags.find((d) => d.code === 'PML2508')!.hint, "did you mean 'depth'?");
    expectOnly(
      BASE + 'train { label y objective logistic trees { depth 17 } }',
      'PML2509',
      '17',
      /integer in 1\.\.16, got 17/,
    );
    expectOnly(BASE + 'train { label y objective logistic trees { learning_rate 0 } }', 'PML2509', '0');
    expectOnly(BASE + 'train { label y objective logistic lin { min_rows 5 } }', 'PML2516', 'min_rows');
  });
  it('PML2510 invalid search spaces', () => {
    const t = (space: string): string =>
      BASE + `train { label y objective logistic search { budget 5 ${space} } }`;
    expectOnly(t('trees.depth in [8, 4]'), 'PML2510', undefined, /empty/);
    expectOnly(t('trees.depth in [0, 4]'), 'PML2510', '0');
    expectOnly(t('lin.l2 in log [0, 1]'), 'PML2510', undefined, /lo > 0/);
    expectOnly(t('trees.depth in [2.5, 4]'), 'PML2510', '2.5');
  });
  it('PML2511 search space outside search, PML2512 fixed and searched', () => {
    expectOnly(BASE + 'train { label y objective logistic trees { depth in [2, 4] } }', 'PML2511');
    expectOnly(
      BASE + 'train { label y objective logistic trees.depth 3 search { budget 5 trees.depth in [2, 4] } }',
      'PML2512',
      'depth',
    );
  });
  it('PML2513 output trained twice, PML2514 component trained twice', () => {
    expectOnly(
      BASE + OK_TRAIN.replace('train', 'train p') + '\n' + OK_TRAIN.replace('train', 'train p'),
      'PML2513',
      'p',
    );
    expectOnly(
      BASE +
        'output p2 = sigmoid(lin)\ntrain p { label y objective logistic }\ntrain p2 { label z objective logistic }',
      'PML2514',
      'p2',
    );
  });
  it('PML2517 settings for a component of another output', () => {
    expectOnly(
      BASE +
        'component other = linear(x)\noutput q = other\ntrain p { label y objective logistic other { l2 1 } }\ntrain q { label z objective squared_error }',
      'PML2517',
      'other',
    );
  });
  it('PML2518 validation with folds, PML2519 metric vs objective', () => {
    expectOnly(BASE + 'train { label y objective logistic validation 0.2 folds 3 }', 'PML2518', 'folds');
    expectOnly(BASE + 'train { label y objective logistic metric rmse }', 'PML2519', 'rmse');
  });
});

describe('meta and warnings', () => {
  it('PML2601 missing version (error), PML2602/2603 owner/purpose (warnings), PML2604 duplicate', () => {
    const r = run('output o = 1', '');
    assert.deepEqual(
      r.diags.map((d) => `${d.code} ${d.severity}`),
      ['PML2601 error', 'PML2602 warning', 'PML2603 warning'],
    );
    assert.equal(r.diags[0]!.message, "model 'm' has no 'version'");
    const dup = expectOnly('version "2"\noutput o = 1', 'PML2604', 'version');
    assert.equal(dup.diags.find((d) => d.code === 'PML2604')!.hint, 'keep one (the first is on line 2)');
  });
  it('PML2901-2906 warnings', () => {
    const codes = (body: string): string[] =>
      run(body)
        .diags.filter((d) => d.severity === 'warning')
        .map((d) => d.code);
    assert.deepEqual(codes('input x: f32 default 0\noutput o = 1'), ['PML2901']);
    assert.deepEqual(codes('input x: f32 default 0\nfeature f = x\noutput o = x'), ['PML2902']);
    assert.deepEqual(codes('input x: f32 default 0\ncomponent c = linear(x)\noutput o = x'), ['PML2903']);
    assert.deepEqual(codes('input x: f32 default 0\ncomponent c = linear(x)\noutput o = sigmoid(c)'), [
      'PML2904',
    ]);
    assert.deepEqual(codes('input x: f32 default 0\noutput o = is_missing(x)'), ['PML2905']);
    assert.deepEqual(
      codes(
        'input x: f32 default 0\ncomponent c = gbdt(x)\noutput p = sigmoid(c)\ntrain { label y objective logistic c { depth 3 leaves 16 } }',
      ),
      ['PML2906'],
    );
  });
  it('no follow-up warnings or errors after a mistake that already explains them', () => {
    const all = (body: string): string[] => run(body).diags.map((d) => d.code);
    // The misspelt name meant 'recency': it is not also "never used".
    assert.deepEqual(all('input recency: f32 default 0\noutput o = recncy'), ['PML2001']);
    // Without outputs everything is unused; only the missing output is reported.
    assert.deepEqual(all('input x: f32 default 0\nfeature f = x'), ['PML2401']);
    // A block with a misspelt target: its components are not also "untrained".
    assert.deepEqual(
      all(
        'input x: f32 default 0\ncomponent c = linear(x)\noutput p = sigmoid(c)\ntrain q { label y objective logistic }',
      ),
      ['PML2506'],
    );
    // 'lable' is the label, misspelt: the block does not also lack a label.
    const r = run(
      'input x: f32 default 0\ncomponent c = linear(x)\noutput p = sigmoid(c)\ntrain { lable y objective logistic }',
    );
    assert.deepEqual(
      r.diags.map((d) => d.code),
      ['PML2501'],
    );
    assert.equal(r.diags[0]!.hint, "did you mean 'label'?", 'transposed letters are suggested');
  });
  it('hints name the fix: float literal counts, hyperparameters at the top of a block, label quoting', () => {
    const hint = (body: string, code: string): string | undefined =>
      run(body).diags.find((d) => d.code === code)?.hint;
    assert.equal(
      hint(
        'input s: string default ""\ncomponent c = linear(hash(s, 1e3))\noutput p = sigmoid(c)\n' + OK_TRAIN,
        'PML2111',
      ),
      "'1e3' is a float literal; write the integer 1_000",
    );
    assert.equal(
      hint(
        'input x: f32 default 0\ncomponent t = gbdt(x)\noutput p = sigmoid(t)\ntrain { label y objective logistic depth 4 }',
        'PML2501',
      ),
      "'depth' is a hyperparameter of component 't': write t.depth 4",
    );
    assert.equal(
      hint('input c: category("mid") default "Mid"\noutput o = c == "mid"', 'PML2207'),
      'did you mean "mid"?',
    );
    assert.equal(hint('input salary: double default 0\noutput o = 1', 'PML2101'), "did you mean 'f64'?");
  });
});

describe('fixtures and docs', () => {
  for (const fx of modelFixtures()) {
    it(`checks fixtures/models/${fx.name} without errors`, () => {
      const file = new SourceFile(fx.path, fx.text);
      const sink = new DiagnosticSink(file);
      const { model } = parseFile(file, sink);
      assert.ok(model !== null);
      const m = check(model, sink);
      assert.deepEqual(
        sink.items.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`),
        [],
      );
      const json = checkedModelToJSON(m, file);
      assert.deepEqual(JSON.parse(JSON.stringify(json)), json, 'JSON view is plain data');
      for (const f of m.features) assert.notEqual(f.type.kind, 'error', f.name);
    });
  }
  it('docs/errors.md lists exactly the codes of CHECK_CODES, with their severities', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*(PML2\d{3})\s*\|\s*(error|warning)\s*\|/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    const table = Object.values(CHECK_CODES).map((c) => `${c.code} ${c.severity}`);
    assert.deepEqual([...rows].sort(), [...table].sort());
    assert.equal(new Set(table.map((t) => t.split(' ')[0])).size, table.length, 'codes are unique');
  });
  it('never throws on mutated sources (parser recovery may give partial ASTs)', () => {
    const sources = modelFixtures().map((f) => f.text);
    if (sources.length === 0) return;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sources.length - 1 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.nat({ max: 40 }),
            fc.constantFrom('', ')', '(', '{', '}', 'x', ',', '= 1', '"', '[', 'in', 'per'),
          ),
          { maxLength: 4 },
        ),
        (i, edits) => {
          let text = sources[i]!;
          for (const [at, len, ins] of edits) {
            const p = at % (text.length + 1);
            text = text.slice(0, p) + ins + text.slice(p + len);
          }
          const file = new SourceFile('f.pml', text);
          const sink = new DiagnosticSink(file);
          const { model } = parseFile(file, sink);
          if (model === null) return;
          const m = check(model, sink);
          checkedModelToJSON(m, file);
          for (const d of sink.items)
            assert.ok(d.span.start >= 0 && d.span.end <= text.length + 1 && d.span.start <= d.span.end);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
