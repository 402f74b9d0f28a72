// The canonical printer (`proml fmt`): re-parses to the same tree, is idempotent, keeps every
// comment, and lays code out the documented way.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripSpans } from '../../compiler/ast-json.js';
import { formatSource, parseSource } from '../../compiler/index.js';
import { errorFixtures, modelFixtures } from '../helpers.js';

function fmt(text: string): string {
  const { output, result } = formatSource('t.pml', text);
  assert.ok(output !== null, `did not format: ${result.sink.items.map((d) => d.message).join('; ')}`);
  return output;
}

function roundTrip(name: string, text: string): void {
  const before = parseSource(name, text);
  if (before.model === null || before.sink.hasErrors) return;
  const once = fmt(text);
  const after = parseSource(name, once);
  assert.deepEqual(after.sink.items, [], `formatted output of ${name} does not parse:\n${once}`);
  assert.deepEqual(stripSpans(after.model), stripSpans(before.model), `AST changed by fmt for ${name}`);
  assert.equal(fmt(once), once, `fmt is not idempotent on ${name}`);
  for (const c of before.comments)
    assert.ok(once.includes(c.text.split('\n')[0]!), `comment lost in ${name}: ${c.text}`);
}

describe('fmt round trip', () => {
  for (const f of modelFixtures()) it(`fixtures/models/${f.name}`, () => roundTrip(f.name, f.text));
  for (const f of errorFixtures())
    it(`fixtures/errors/${f.name} (when it parses)`, () => roundTrip(f.name, f.text));
});

describe('fmt layout', () => {
  it('indents, aligns names within a run and collapses blank lines', () => {
    const src = `model   m{version "1"
input a:f32 in[0,1]
   input longer_name : bag<string>


feature x=a*2+1
feature yy = log1p( x )
output p=sigmoid(x)}`;
    assert.equal(
      fmt(src),
      `model m {
  version "1"
  input a           : f32 in [0, 1]
  input longer_name : bag<string>

  feature x  = a * 2 + 1
  feature yy = log1p(x)
  output p = sigmoid(x)
}
`,
    );
  });

  it('keeps comments: leading, trailing, inside expressions and inside train blocks', () => {
    const src = `// header comment
model m {
  version "1" // trailing
  /* block
     comment */
  feature x = a + /* inner */ 1
  train {
    // about the label
    label y
    trees { count 10 } // trees
  }
}
// footer
`;
    const out = fmt(src);
    for (const c of [
      '// header comment',
      '// trailing',
      '/* block',
      'comment */',
      '/* inner */',
      '// about the label',
      '// trees',
      '// footer',
    ])
      assert.ok(out.includes(c), `missing ${c} in:\n${out}`);
    assert.match(out, /\/\* inner \*\/\n {2}feature x = a \+ 1/);
    assert.match(out, /version "1" \/\/ trailing/);
  });

  it('keeps parentheses the user wrote and adds none', () => {
    assert.match(fmt('model m { feature x = (a + b) * -(c) / d }'), /feature x = \(a \+ b\) \* -\(c\) \/ d/);
    assert.match(
      fmt('model m { feature x = if a > 1 and not b then 1 else 2 }'),
      /if a > 1 and not b then 1 else 2/,
    );
  });

  it('breaks long component calls one argument per line', () => {
    const feats = Array.from({ length: 12 }, (_, i) => `feature_number_${i}`).join(', ');
    const out = fmt(`model m { component c = linear(${feats}, intercept = false) per member }`);
    assert.match(out, /component c = linear\(\n {4}feature_number_0,\n/);
    assert.match(out, /\n {4}intercept = false,\n {2}\) per member\n/);
  });

  it('re-escapes strings', () => {
    assert.match(
      fmt('model m { description "say \\"hi\\"\\n\\ttab \\u{1F600}" }'),
      /description "say \\"hi\\"\\n\\ttab 😀"/,
    );
  });

  it('prints train blocks with nested blocks inline when they fit, and search spaces', () => {
    const out = fmt(
      'model m { train { label y objective logistic trees { count 300 depth 6 } search { budget 10 trees.depth in [4, 8] trees.learning_rate in log [0.01, 0.3] net.activation in {relu, tanh} } } }',
    );
    assert.equal(
      out,
      `model m {
  train {
    label     y
    objective logistic
    trees     { count 300 depth 6 }
    search {
      budget              10
      trees.depth         in [4, 8]
      trees.learning_rate in log [0.01, 0.3]
      net.activation      in {relu, tanh}
    }
  }
}
`,
    );
  });

  it('refuses to format a file with syntax errors', () => {
    const { output, result } = formatSource('t.pml', 'model m { feature x = }');
    assert.equal(output, null);
    assert.ok(result.sink.hasErrors);
  });
});
