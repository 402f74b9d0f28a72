// Lexer and parser behaviour a user sees: the tree they get, positions, precise lexical errors,
// recovery that reports independent syntax errors, and limits instead of stack overflows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ast from '../../compiler/ast.js';
import { stripSpans } from '../../compiler/ast-json.js';
import { DiagnosticSink, SourceFile, formatDiagnostic } from '../../compiler/diagnostics.js';
import { parseFile } from '../../compiler/parser.js';

function parse(text: string): {
  model: ast.Model | null;
  codes: string[];
  sink: DiagnosticSink;
  file: SourceFile;
} {
  const file = new SourceFile('t.pml', text);
  const sink = new DiagnosticSink(file);
  const { model } = parseFile(file, sink);
  return { model, codes: sink.sorted().map((d) => d.code), sink, file };
}

function featureExpr(src: string): unknown {
  const { model, codes } = parse(`model m { feature f = ${src} }`);
  assert.deepEqual(codes, []);
  const f = model!.items[0] as ast.FeatureDecl;
  return stripSpans(f.value);
}

const n = (name: string) => ({ kind: 'name', name });
const num = (raw: string, value: number, isInt: boolean) => ({ kind: 'number', value, raw, isInt });
const bin = (op: string, left: unknown, right: unknown) => ({ kind: 'binary', op, left, right });

describe('expressions', () => {
  it('follow precedence: or < and < not < comparison < + - < * / < unary minus', () => {
    assert.deepEqual(featureExpr('a + b * c'), bin('+', n('a'), bin('*', n('b'), n('c'))));
    assert.deepEqual(featureExpr('a - b - c'), bin('-', bin('-', n('a'), n('b')), n('c')));
    assert.deepEqual(
      featureExpr('not a < 1 and b or c'),
      bin(
        'or',
        bin('and', { kind: 'unary', op: 'not', operand: bin('<', n('a'), num('1', 1, true)) }, n('b')),
        n('c'),
      ),
    );
    assert.deepEqual(featureExpr('-a * b'), bin('*', { kind: 'unary', op: '-', operand: n('a') }, n('b')));
  });
  it('parse calls with named arguments, lists, conditionals and numbers as written', () => {
    assert.deepEqual(featureExpr('f(x, k = [1, 2.5e-3, 262_144],)'), {
      kind: 'call',
      callee: { kind: 'ident', name: 'f' },
      args: [
        { kind: 'arg', name: null, value: n('x') },
        {
          kind: 'arg',
          name: { kind: 'ident', name: 'k' },
          value: {
            kind: 'list',
            items: [num('1', 1, true), num('2.5e-3', 0.0025, false), num('262_144', 262144, true)],
          },
        },
      ],
    });
    assert.deepEqual(featureExpr('if a then 1 else 2'), {
      kind: 'if',
      cond: n('a'),
      then: num('1', 1, true),
      else: num('2', 2, true),
    });
  });
  it('decode string escapes', () => {
    assert.deepEqual(featureExpr('"a\\"b\\\\c\\n\\t\\u{1F600}"'), { kind: 'string', value: 'a"b\\c\n\t😀' });
  });
});

describe('items', () => {
  it('parse every item kind with spans that cover them', () => {
    const src = `model m {
  version "1"
  input x : vector<f32, 4> in [0, 1] default 0 pii
  input c : category("a", "b") unknown "a" required
  component k = linear(x, intercept = false) per e
  output o : f64 = k
  train o { label y  trees { depth 3 }  search { t.depth in [1, 4] t.lr in log [0.01, 1] t.a in {relu, tanh} } }
}`;
    const { model, codes } = parse(src);
    assert.deepEqual(codes, []);
    assert.deepEqual(
      model!.items.map((i) => i.kind),
      ['meta', 'input', 'input', 'component', 'output', 'train'],
    );
    for (const it of model!.items)
      assert.ok(src.slice(it.span.start, it.span.end).startsWith(it.kind === 'meta' ? 'version' : it.kind));
    const input = model!.items[1] as ast.InputDecl;
    assert.deepEqual(
      input.modifiers.map((m) => m.kind),
      ['range', 'default', 'pii'],
    );
    assert.equal(src.slice(input.type.span.start, input.type.span.end), 'vector<f32, 4>');
    const train = model!.items[5] as ast.TrainBlock;
    assert.equal(train.target?.name, 'o');
    const search = train.settings[2]!.value as ast.SettingBlock;
    assert.deepEqual(
      search.settings.map((s) => (s.value as ast.SearchSpace).scale),
      ['linear', 'log', 'choice'],
    );
  });
});

describe('lexical errors', () => {
  const cases: [string, string, string][] = [
    ['model m { feature x = a # b\n}', 'PML1000', "unexpected character '#'"],
    ['model m { description "abc }', 'PML1001', 'unterminated string'],
    ['model m { description "a\\qb" }', 'PML1002', "invalid escape '\\q' in string"],
    ['model m { /* never closed }', 'PML1003', 'unterminated block comment'],
    ['model m { feature x = 99999999999999999999 }', 'PML1004', "number '99999999999999999999' is too large"],
    ['model m { feature x = 1e999 }', 'PML1004', "number '1e999' is too large"],
    ['model m { feature x = 12abc }', 'PML1005', "malformed number '12abc'"],
  ];
  for (const [src, code, message] of cases) {
    it(`${code}: ${message}`, () => {
      const { sink } = parse(src);
      const d = sink.sorted()[0]!;
      assert.equal(d.code, code);
      assert.equal(d.message, message);
    });
  }
});

describe('syntax errors', () => {
  it('two independent errors in one file are both reported, and later items still parse', () => {
    const { model, sink } = parse(`model m {
  input x : f32 in [0 1]
  feature a = x
  feature b = log(x +)
  feature c = x
}`);
    const lines = sink.sorted().map((d) => formatDiagnostic(sink.file, d).split('\n')[0]);
    assert.deepEqual(lines, [
      "t.pml:2:23: error PML1100: expected ',' but found number 1",
      "t.pml:4:22: error PML1100: expected an expression but found ')'",
    ]);
    const names = model!.items
      .filter((i) => i.kind === 'feature')
      .map((i) => (i as ast.FeatureDecl).name.name);
    assert.ok(names.includes('a') && names.includes('c'), `recovered items: ${names.join(', ')}`);
  });
  it('a reserved word used as a name gets its own code and a hint', () => {
    const { sink } = parse('model m { input default : f32 }');
    const d = sink.sorted()[0]!;
    assert.equal(d.code, 'PML1101');
    assert.match(d.hint ?? '', /reserved word/);
  });
  it('a misspelt item keyword gets "did you mean"', () => {
    const { sink } = parse('model m { ouput p = 1 }');
    const d = sink.sorted()[0]!;
    assert.equal(d.hint, "did you mean 'output'?");
  });
  it('an empty file says there is no model', () => {
    assert.deepEqual(parse('  // nothing\n').codes, ['PML1104']);
  });
  it('input after the model is reported', () => {
    assert.deepEqual(parse('model m { } model n { }').codes, ['PML1103']);
  });
  it('deep nesting is refused with a diagnostic, not a stack overflow', () => {
    assert.deepEqual(parse(`model m { feature x = ${'('.repeat(50000)}1${')'.repeat(50000)} }`).codes, [
      'PML1105',
    ]);
    assert.deepEqual(parse(`model m { feature x = ${'-'.repeat(50000)}1 }`).codes, ['PML1105']);
    assert.deepEqual(parse(`model m { feature x = ${'1 + '.repeat(5000)}1 }`).codes, ['PML1105']);
  });
  it('positions at the end of the file stay inside it', () => {
    const text = 'model m { feature x = (1';
    const { sink } = parse(text);
    for (const d of sink.items) assert.ok(d.span.end <= text.length);
  });
});
