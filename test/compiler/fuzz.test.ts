// Property tests for the front end (fast-check): thousands of random mutations of the valid
// fixtures — deleted, duplicated, swapped and inserted tokens, random bytes, huge literals, deep
// nesting — must never raise an internal error; every diagnostic must have a known code and point
// inside the file; and whenever a mutant is error-free, `fmt` must round-trip it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stripSpans } from '../../compiler/ast-json.js';
import { checkSource, formatDiagnostic, formatSource, parseSource } from '../../compiler/index.js';
import { DiagnosticSink, SourceFile } from '../../compiler/diagnostics.js';
import { tokenize } from '../../compiler/lexer.js';
import { modelFixtures } from '../helpers.js';

interface Piece {
  start: number;
  end: number;
}

function tokenSpans(text: string): Piece[] {
  const { tokens } = tokenize(text, new DiagnosticSink(new SourceFile('x', text)));
  return tokens.map((t) => ({ start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 }));
}

const INSERTS = [
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  '=',
  ':',
  '.',
  '<',
  '>',
  '-',
  '*',
  'model',
  'input',
  'feature',
  'component',
  'output',
  'train',
  'per',
  'in',
  'default',
  'if',
  'then',
  'else',
  'not',
  '"',
  '"unterminated',
  '/*',
  '*/',
  '//',
  '99999999999999999999999999',
  '1e999',
  '1e',
  '0.5.5',
  '1__0',
  '"\\q"',
  '"\\u{110000}"',
  'x',
  'log',
  'hash',
  'onehot',
  'linear',
  'gbdt',
  'mlp',
  'f32',
  'category("a")',
  'vector<f32, 0>',
  'bag<string>',
  '#',
  '@',
  '\u0000',
  '\uFEFF',
  '😀',
  '\r\n',
];

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'bytes'; at: number; text: string }
  | { kind: 'nest'; at: number; depth: number; open: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INSERTS) }),
  fc.record({
    kind: fc.constant('bytes' as const),
    at: fc.nat(),
    text: fc.string({ unit: 'binary', maxLength: 12 }),
  }),
  fc.record({
    kind: fc.constant('nest' as const),
    at: fc.nat(),
    depth: fc.integer({ min: 1, max: 3000 }),
    open: fc.constantFrom('(', '[', '-', 'not ', 'if '),
  }),
);

function apply(text: string, m: Mutation): string {
  const toks = tokenSpans(text);
  if (toks.length === 0) return text;
  const pick = (i: number): Piece => toks[i % toks.length]!;
  switch (m.kind) {
    case 'delete': {
      const t = pick(m.at);
      return text.slice(0, t.start) + text.slice(t.end);
    }
    case 'duplicate': {
      const t = pick(m.at);
      return text.slice(0, t.end) + ' ' + text.slice(t.start, t.end) + text.slice(t.end);
    }
    case 'swap': {
      let a = pick(m.a);
      let b = pick(m.b);
      if (a.start === b.start) return text;
      if (a.start > b.start) [a, b] = [b, a];
      return (
        text.slice(0, a.start) +
        text.slice(b.start, b.end) +
        text.slice(a.end, b.start) +
        text.slice(a.start, a.end) +
        text.slice(b.end)
      );
    }
    case 'insert':
    case 'bytes': {
      const t = pick(m.at);
      return text.slice(0, t.start) + m.text + ' ' + text.slice(t.start);
    }
    case 'nest': {
      const t = pick(m.at);
      const close = m.open === '(' ? ')' : m.open === '[' ? ']' : '';
      const inner = m.open === 'if ' ? 'x then 1 else ' : '';
      return (
        text.slice(0, t.start) +
        (m.open + inner).repeat(m.depth) +
        text.slice(t.start, t.end) +
        close.repeat(m.depth) +
        text.slice(t.end)
      );
    }
  }
}

const CODE = /^PML[12]\d{3}$/;

function assertWellBehaved(text: string): void {
  const r = checkSource('fuzz.pml', text);
  for (const d of r.sink.items) {
    assert.match(d.code, CODE, `unknown code ${d.code}`);
    assert.ok(
      d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length + 1,
      `span out of file: ${JSON.stringify(d.span)} (length ${text.length})`,
    );
    assert.ok(d.message.length > 0 && !/undefined|NaN|\[object/.test(d.message), `bad message: ${d.message}`);
    formatDiagnostic(r.file, d);
  }
  if (r.model !== null && !r.sink.hasErrors) {
    const { output } = formatSource('fuzz.pml', text);
    assert.ok(output !== null);
    const again = parseSource('fuzz.pml', output);
    assert.equal(again.sink.hasErrors, false, `formatted mutant does not parse:\n${output}`);
    assert.deepEqual(stripSpans(again.model), stripSpans(r.model));
  }
}

describe('front end under random mutation', () => {
  const fixtures = modelFixtures();
  it('has fixtures to mutate', () => assert.ok(fixtures.length > 0));
  const runs = Math.max(200, Math.ceil(4000 / Math.max(1, fixtures.length)));
  for (const f of fixtures) {
    it(`${f.name}: ${runs} mutants never crash and point inside the file`, () => {
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
          let text = f.text;
          for (const m of ms) text = apply(text, m);
          assertWellBehaved(text);
        }),
        { numRuns: runs, seed: 20261126 },
      );
    });
  }
  it('survives pathological inputs', () => {
    for (const text of [
      '',
      ' ',
      '\u0000',
      'model',
      'model m',
      'model m {',
      '}'.repeat(1000),
      'model m { feature x = ' + '('.repeat(100000) + ' }',
      'model m { feature x = ' + '-'.repeat(100000) + '1 }',
      'model m { feature x = ' + '1 + '.repeat(20000) + '1 }',
      'model m { feature x = ' + 'f('.repeat(5000) + '1' + ')'.repeat(5000) + ' }',
      'model m { input x : ' + 'bag<'.repeat(5000) + 'f32' + '>'.repeat(5000) + ' }',
      'model m { train { ' + 'a { '.repeat(5000) + '} '.repeat(5000) + '} }',
      'model m { description "' + 'x'.repeat(1_000_000) + '" }',
      '/*' + ' '.repeat(10),
    ])
      assertWellBehaved(text);
  });
});
