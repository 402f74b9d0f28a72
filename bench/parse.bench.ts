// Front-end speed: lex + parse + check (and fmt) of a generated 10,000-line model, with benchmark.js.
// Target (issue 2): parsing + checking a 10,000-line model takes well under a second.
// Run: npm run bench -- parse   (results are printed and written to bench/results/parse.md)

import Benchmark from 'benchmark';
import { checkSource, formatSource, parseSource } from '../compiler/index.js';

/** A realistic large model: many inputs and features feeding three components. */
export function generateModel(lines: number): string {
  const out: string[] = ['model big {', '  version "1.0"', '  owner "bench"', '  purpose "benchmark"'];
  const inputs = Math.floor(lines * 0.3);
  const features = lines - inputs - 12;
  for (let i = 0; i < inputs; i++) {
    if (i % 5 === 0) out.push(`  input c${i} : category("a", "b", "c", "d") default "a"`);
    else if (i % 5 === 1) out.push(`  input t${i} : bag<string>`);
    else out.push(`  input x${i} : f32 in [0, 100] default 0`);
  }
  const names: string[] = [];
  for (let i = 0; i < features; i++) {
    const a = `x${((i * 5 + 2) % inputs) - (((i * 5 + 2) % inputs) % 5) + 2}`;
    const b = `x${((i * 5 + 3) % inputs) - (((i * 5 + 3) % inputs) % 5) + 3}`;
    let e: string;
    switch (i % 6) {
      case 0:
        e = `log1p(${a}) * 0.5 + sqrt(${b})`;
        break;
      case 1:
        e = `if ${a} > 10 and ${b} < 3 then ${a} / (1 + ${b}) else -${a}`;
        break;
      case 2:
        e = `clip(${a} - ${b}, -5, 5)`;
        break;
      case 3:
        e = `hash(t${((i * 5 + 1) % inputs) - (((i * 5 + 1) % inputs) % 5) + 1}, 4096)`;
        break;
      case 4:
        e = `onehot(c${((i * 5) % inputs) - (((i * 5) % inputs) % 5)})`;
        break;
      default:
        e = `bucketize(${a}, [1, 2, 5, 10, 50])`;
        break;
    }
    out.push(`  feature f${i} = ${e}`);
    names.push(`f${i}`);
  }
  const dense = names.filter(
    (_, i) => i % 6 === 0 || i % 6 === 1 || i % 6 === 2 || i % 6 === 3 || i % 6 === 4,
  );
  const numeric = names.filter((_, i) => i % 6 === 0 || i % 6 === 1 || i % 6 === 2 || i % 6 === 5);
  out.push(`  component lin = linear(${dense.join(', ')})`);
  out.push(`  component trees = gbdt(${numeric.join(', ')})`);
  out.push('  output p = sigmoid(lin + trees)');
  out.push(
    '  train {',
    '    label y',
    '    objective logistic',
    '    trees { count 100 depth 6 }',
    '  }',
    '}',
  );
  return out.join('\n') + '\n';
}

export function run(): Promise<string> {
  const text = generateModel(10_000);
  const lineCount = text.split('\n').length - 1;
  const warm = checkSource('big.pml', text);
  const errors = warm.sink.items.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`generated model has errors: ${errors[0]!.message}`);
  return new Promise((resolve) => {
    const rows: string[] = [];
    new Benchmark.Suite('front end')
      .add(`parse ${lineCount} lines`, () => parseSource('big.pml', text))
      .add(`parse + check ${lineCount} lines`, () => checkSource('big.pml', text))
      .add(`fmt ${lineCount} lines`, () => formatSource('big.pml', text))
      .on('cycle', (ev: Benchmark.Event) => {
        const b = ev.target as Benchmark.Target & { stats: { mean: number; rme: number } };
        const row = `| ${b.name} | ${(b.stats.mean * 1000).toFixed(1)} ms | ±${b.stats.rme.toFixed(1)}% |`;
        rows.push(row);
        console.log(row);
      })
      .on('complete', () => resolve(['| case | mean | rme |', '|---|---|---|', ...rows].join('\n')))
      .run({ async: false });
  });
}
