// The documentation's examples run: every complete model in docs/dsl.md and README.md checks with
// no errors, and every fragment in docs/dsl.md parses inside a model.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkSource, formatDiagnostic, parseSource } from '../compiler/index.js';
import { ROOT } from './helpers.js';

function blocks(file: string, lang: string): { line: number; code: string }[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```' + lang) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j]!.trim() !== '```') j++;
    out.push({ line: start + 1, code: lines.slice(start, j).join('\n') });
    i = j;
  }
  return out;
}

function errorsOf(r: ReturnType<typeof checkSource>): string[] {
  return r.sink
    .sorted()
    .filter((d) => d.severity === 'error')
    .map((d) => formatDiagnostic(r.file, d));
}

describe('docs/dsl.md examples', () => {
  const all = blocks('docs/dsl.md', 'pml');
  it('has examples', () => assert.ok(all.length >= 10));
  for (const b of all) {
    const complete = /^\s*(\/\/[^\n]*\n\s*)*model\s/.test(b.code);
    it(`line ${b.line}: ${complete ? 'model checks' : 'fragment parses'}`, () => {
      if (complete) {
        const r = checkSource(`dsl.md:${b.line}`, b.code);
        assert.deepEqual(errorsOf(r), []);
      } else {
        // a fragment is either items, or settings of a train block
        const items =
          /^\s*(\/\/[^\n]*\n\s*)*(version|owner|purpose|description|input|feature|component|output|train)\b/.test(
            b.code,
          );
        const wrapped = items ? `model fragment {\n${b.code}\n}` : `model fragment { train {\n${b.code}\n} }`;
        const r = parseSource(`dsl.md:${b.line}`, wrapped);
        assert.deepEqual(
          r.sink.sorted().map((d) => formatDiagnostic(r.file, d)),
          [],
        );
      }
    });
  }
});

describe('README example', () => {
  it('the model in the README checks with no diagnostics', () => {
    const b = blocks('README.md', 'pml').find((x) => x.code.trimStart().startsWith('model '));
    assert.ok(b, 'README has a model example');
    const r = checkSource('README.md', b.code);
    assert.deepEqual(
      r.sink.sorted().map((d) => formatDiagnostic(r.file, d)),
      [],
    );
  });
});
