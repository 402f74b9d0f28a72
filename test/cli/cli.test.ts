// The `proml` command as a user runs it: spawned as a process; output and exit codes asserted.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers.js';

function proml(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('proml cli', () => {
  it('--version prints the package version', () => {
    const r = proml(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), pkg.version);
  });

  it('--help lists the commands and exit codes; no arguments is a usage error', () => {
    const r = proml(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['check', 'fmt', 'ast', 'Exit codes']) assert.ok(r.out.includes(c), c);
    assert.equal(proml([]).code, 2);
  });

  it('unknown commands, unknown options and missing files exit 2 with a clear message', () => {
    const a = proml(['compiel']);
    assert.equal(a.code, 2);
    assert.match(a.err, /unknown command 'compiel'/);
    const b = proml(['check', '--strict', 'x.pml']);
    assert.equal(b.code, 2);
    assert.match(b.err, /unknown option '--strict'/);
    const c = proml(['check', 'does/not/exist.pml']);
    assert.equal(c.code, 2);
    assert.match(c.err, /no such file: does\/not\/exist.pml/);
  });

  it('check: clean models exit 0; errors exit 1 with positioned diagnostics and no stack trace', () => {
    const ok = proml(['check', 'fixtures/models/job_apply/model.pml', 'fixtures/models/pymk/model.pml']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.err, /checked 2 files: 0 errors/);
    const bad = proml(['check', 'fixtures/errors/parse_two_errors.pml']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /fixtures\/errors\/parse_two_errors.pml:4:23: error PML1100: /);
    assert.match(bad.err, /~/);
    assert.doesNotMatch(bad.err, /at .*\.ts:\d+/);
  });

  it('check and fmt --check take directories (every .pml below them)', () => {
    const r = proml(['check', 'fixtures/models']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /checked \d+ files: 0 errors, 0 warnings/);
    assert.equal(proml(['fmt', '--check', 'fixtures/models']).code, 0);
    const bad = proml(['check', 'fixtures/errors']);
    assert.equal(bad.code, 1);
  });

  it('fmt --check, fmt in place, and fmt from standard input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proml-'));
    const file = join(dir, 'm.pml');
    writeFileSync(file, 'model m {version "1" output y=1}');
    const check = proml(['fmt', '--check', file]);
    assert.equal(check.code, 1);
    assert.match(check.out, /not formatted/);
    assert.match(check.out, /^-model m \{version "1" output y=1\}$/m);
    assert.match(check.out, /^\+ {2}output y = 1$/m);
    assert.equal(proml(['fmt', file]).code, 0);
    assert.equal(readFileSync(file, 'utf8'), 'model m {\n  version "1"\n  output y = 1\n}\n');
    assert.equal(proml(['fmt', '--check', file]).code, 0);
    const piped = proml(['fmt', '-'], 'model m {output y=1}');
    assert.equal(piped.code, 0);
    assert.equal(piped.out, 'model m {\n  output y = 1\n}\n');
  });

  it('ast prints the typed model as JSON, and --syntax the syntax tree', () => {
    const r = proml(['ast', 'fixtures/models/tiny_linear/model.pml']);
    assert.equal(r.code, 0, r.err);
    const typed = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(typed['name'], 'tiny_linear');
    const s = proml(['ast', '--syntax', 'fixtures/models/tiny_linear/model.pml']);
    assert.equal(s.code, 0);
    assert.equal((JSON.parse(s.out) as { kind: string }).kind, 'model');
  });

  it('demo checks every example model and exits 0', () => {
    const r = proml(['demo']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /all \d+ models check cleanly/);
  });

  it('compile → inspect → wat on a model the back end supports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proml-'));
    const out = join(dir, 'tiny.wasm');
    const m = 'fixtures/models/tiny_linear';
    const c = proml(['compile', `${m}/model.pml`, '--coefficients', `${m}/bundle`, '-o', out]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.err, /compiled .* bytes/);
    const bytes = readFileSync(out);
    assert.ok(WebAssembly.validate(bytes));
    const i = proml(['inspect', out]);
    assert.equal(i.code, 0, i.err);
    assert.match(i.out, /model {5}tiny_linear 0\.1\.0/);
    assert.match(i.out, /imports {3}none/);
    assert.match(i.out, /exports {3}memory \(memory\), proml_abi_version/);
    const w = proml(['wat', out]);
    assert.equal(w.code, 0, w.err);
    assert.match(w.out, /^\(module/);
    assert.match(w.out, /\(export "proml_score"/);
  });

  it('compile --transform-only and the strategy flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proml-'));
    const t = join(dir, 't.wasm');
    const made = proml(['compile', 'fixtures/models/pymk/model.pml', '--transform-only', '-o', t]);
    assert.equal(made.code, 0, made.err);
    assert.match(proml(['inspect', t]).out, /product\s+transform/);
    const f = join(dir, 'f.wasm');
    const flat = proml([
      'compile',
      'fixtures/models/feed_ctr/model.pml',
      '-c',
      'fixtures/models/feed_ctr/bundle',
      '--tree-layout',
      'flat',
      '--no-simd',
      '-o',
      f,
    ]);
    assert.equal(flat.code, 0, flat.err);
    assert.match(proml(['inspect', f]).out, /"trees\.trees":"flat"/);
    assert.match(proml(['inspect', f]).out, /"trees\.block":"128"/);
    const rowByRow = proml([
      'compile',
      'fixtures/models/feed_ctr/model.pml',
      '-c',
      'fixtures/models/feed_ctr/bundle',
      '--tree-layout',
      'flat',
      '--tree-block',
      '1',
      '-o',
      f,
    ]);
    assert.equal(rowByRow.code, 0, rowByRow.err);
    assert.doesNotMatch(proml(['inspect', f]).out, /trees\.block/);
    const inexact = proml([
      'compile',
      'fixtures/models/pymk/model.pml',
      '-c',
      'fixtures/models/pymk/bundle',
      '--mlp-precision',
      'f32',
      '--mlp-weights',
      'f32',
      '-o',
      f,
    ]);
    assert.equal(inexact.code, 0, inexact.err);
    assert.match(inexact.err, /note: --mlp-precision f32 is inexact/);
    assert.match(proml(['inspect', f]).out, /"mlp\.precision":"f32 \(inexact/);
    const badBlock = proml([
      'compile',
      'fixtures/models/feed_ctr/model.pml',
      '-c',
      'x',
      '--tree-block',
      '0',
      '-o',
      f,
    ]);
    assert.equal(badBlock.code, 2);
    assert.match(badBlock.err, /--tree-block must be an integer in 1\.\.1024/);
    const bad = proml([
      'compile',
      'fixtures/models/feed_ctr/model.pml',
      '-c',
      'x',
      '--tree-layout',
      'bushy',
      '-o',
      f,
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--tree-layout must be 'branchy' or 'flat'/);
  });

  it('compile refuses clearly, and writes nothing, for wrong or corrupt bundles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proml-'));
    const out = join(dir, 'x.wasm');
    const mlp = join(dir, 'mlp.wasm');
    const ok = proml([
      'compile',
      'fixtures/models/pymk/model.pml',
      '--coefficients',
      'fixtures/models/pymk/bundle',
      '-o',
      mlp,
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.ok(existsSync(mlp));
    const wrong = proml([
      'compile',
      'fixtures/models/job_apply/model.pml',
      '--coefficients',
      'fixtures/models/tiny_linear/bundle',
      '-o',
      out,
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /error PML3010: the bundle was trained for model 'tiny_linear'/);
    const corrupt = join(dir, 'bundle');
    cpSync('fixtures/models/tiny_linear/bundle', corrupt, { recursive: true });
    const table = readdirSync(corrupt).find((f) => f.endsWith('.arrow'))!;
    const t = readFileSync(join(corrupt, table));
    t[t.length - 9] ^= 0xff;
    writeFileSync(join(corrupt, table), t);
    const bad = proml([
      'compile',
      'fixtures/models/tiny_linear/model.pml',
      '--coefficients',
      corrupt,
      '-o',
      out,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /PML3005/);
    assert.equal(existsSync(out), false, 'no output file after a failed compile');
    const notWasm = proml(['inspect', 'package.json']);
    assert.equal(notWasm.code, 1);
    assert.match(notWasm.err, /PML4001: not a WebAssembly module/);
  });
});
