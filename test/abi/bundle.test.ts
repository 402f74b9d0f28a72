// Coefficient bundles on disk: write → read round trips (float64 and float32, every component kind,
// transform and calibration), SHA-256 verification, and the PML30xx errors for missing, corrupt and
// mismatched bundles (reading: abi/node.ts; against a model: compiler/bundle-check.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BundleError, type Bundle } from '../../abi/index.js';
import { readBundle, sha256Hex, writeBundle } from '../../abi/node.js';
import { checkBundle } from '../../compiler/bundle-check.js';
import { checkSource, type CheckedModel } from '../../compiler/index.js';
import { randomBundle } from '../../compiler/reference/index.js';
import { MODELS_DIR } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'proml-bundle-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(tmp, `b${n++}`);

function fixtureModel(name: string): CheckedModel {
  const r = checkSource(`${name}/model.pml`, readFileSync(join(MODELS_DIR, name, 'model.pml'), 'utf8'));
  assert.ok(r.checked !== null);
  return r.checked;
}

function model(body: string): CheckedModel {
  const r = checkSource('t.pml', `model t {\n version "1"\n owner "o"\n purpose "testing"\n${body}\n}`);
  assert.ok(r.checked !== null, r.sink.items.map((d) => d.message).join('\n'));
  return r.checked;
}

function throwsCode(f: () => unknown, code: string): void {
  assert.throws(f, (e: unknown) => e instanceof BundleError && e.code === code, `expected ${code}`);
}

describe('bundle write → read', () => {
  // Together these cover linear, random effects, gbdt (categorical and numeric splits), mlp,
  // standardize, quantiles, vocab, platt and isotonic.
  for (const name of ['all_functions', 'ad_bid', 'search_spaces', 'feed_ctr', 'abuse_anomaly']) {
    it(`${name}: the bundle reads back equal, with verified hashes`, () => {
      const m = fixtureModel(name);
      const b = randomBundle(m, { seed: 5, sourceSha256: 'abc' });
      for (const float32 of [false, true]) {
        const dir = freshDir();
        const json = writeBundle(dir, b, { float32 });
        for (const c of Object.values(json.components))
          for (const t of Object.values(c.tables) as { file: string; sha256: string }[])
            assert.equal(sha256Hex(readFileSync(join(dir, t.file))), t.sha256);
        const back = readBundle(dir);
        assert.deepEqual(back, b);
        assert.deepEqual(checkBundle(m, back, 'abc'), []);
      }
    });
  }

  it('writing the same bundle twice gives identical bytes', () => {
    const m = fixtureModel('job_apply');
    const b = randomBundle(m, { seed: 9 });
    const [d1, d2] = [freshDir(), freshDir()];
    writeBundle(d1, b);
    writeBundle(d2, b);
    assert.equal(
      readFileSync(join(d1, 'bundle.json'), 'utf8'),
      readFileSync(join(d2, 'bundle.json'), 'utf8'),
    );
  });
});

describe('bundles that cannot be read', () => {
  const m = fixtureModel('job_apply');
  const written = (): { dir: string; json: ReturnType<typeof writeBundle> } => {
    const dir = freshDir();
    return { dir, json: writeBundle(dir, randomBundle(m, { seed: 1 })) };
  };

  it('PML3001: no directory, or no bundle.json', () => {
    throwsCode(() => readBundle(join(tmp, 'nowhere')), 'PML3001');
    const { dir } = written();
    unlinkSync(join(dir, 'bundle.json'));
    throwsCode(() => readBundle(dir), 'PML3001');
  });

  it('PML3002: bundle.json is not JSON, or lacks a field', () => {
    const { dir } = written();
    writeFileSync(join(dir, 'bundle.json'), '{"format": ');
    throwsCode(() => readBundle(dir), 'PML3002');
    const { dir: d2, json } = written();
    const broken = { ...json, components: { global: { ...json.components['global']!, tables: {} } } };
    writeFileSync(join(d2, 'bundle.json'), JSON.stringify(broken));
    throwsCode(() => readBundle(d2), 'PML3002');
  });

  it('PML3003: another format version', () => {
    const { dir, json } = written();
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ ...json, formatVersion: 2 }));
    throwsCode(() => readBundle(dir), 'PML3003');
  });

  it('PML3004: a table file is missing', () => {
    const { dir, json } = written();
    unlinkSync(
      join(dir, (json.components['member_re']!.tables as { entities: { file: string } }).entities.file),
    );
    throwsCode(() => readBundle(dir), 'PML3004');
  });

  it('PML3005: a table was changed after writing', () => {
    const { dir, json } = written();
    const file = join(dir, (json.components['global']!.tables as { weights: { file: string } }).weights.file);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(file, bytes);
    throwsCode(() => readBundle(dir), 'PML3005');
  });

  it('PML3006: a table is not Arrow, or has the wrong columns', () => {
    const { dir, json } = written();
    const ref = (json.components['global']!.tables as { weights: { file: string; sha256: string } }).weights;
    const junk = Buffer.from('definitely not arrow');
    writeFileSync(join(dir, ref.file), junk);
    ref.sha256 = sha256Hex(junk);
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify(json));
    throwsCode(() => readBundle(dir), 'PML3006');

    // A valid Arrow file of another table in the weights' place.
    const { dir: d2, json: j2 } = written();
    const w = (j2.components['global']!.tables as { weights: { file: string; sha256: string; rows: number } })
      .weights;
    const other = (
      j2.components['job_re']!.tables as { entities: { file: string; sha256: string; rows: number } }
    ).entities;
    w.file = other.file;
    w.sha256 = other.sha256;
    w.rows = other.rows;
    writeFileSync(join(d2, 'bundle.json'), JSON.stringify(j2));
    throwsCode(() => readBundle(d2), 'PML3006');
  });
});

describe('bundles that do not fit the model', () => {
  const codes = (m: CheckedModel, b: Bundle, src?: string): string[] =>
    checkBundle(m, b, src).map((i) => i.code);
  const base = model(`
    input x : f32 default 0
    input c : category("a", "b")
    input s : string
    component lin = linear(x, standardize(x))
    component t   = gbdt(x, c, vocab(s, 10))
    output p  = sigmoid(lin + t)
    output pc = isotonic(p)
    train p { label y objective logistic }`);
  const good = randomBundle(base, { seed: 3, sourceSha256: 'src' });

  it('a fitting bundle has no issues', () => {
    assert.deepEqual(checkBundle(base, good, 'src'), []);
  });

  it('PML3010 another model; PML3011 (warning) the source changed', () => {
    assert.deepEqual(codes(base, { ...good, model: { name: 'other', version: '1' } }), ['PML3010']);
    const issues = checkBundle(base, good, 'changed');
    assert.deepEqual(
      issues.map((i) => [i.code, i.severity]),
      [['PML3011', 'warning']],
    );
  });

  it('PML3012 a component without coefficients; PML3013 coefficients without a component', () => {
    const components = new Map(good.components);
    components.delete('t');
    components.set('extra', good.components.get('lin')!);
    assert.deepEqual(codes(base, { ...good, components }), ['PML3012', 'PML3013']);
  });

  it('PML3014 a kind mismatch; PML3015 a shape mismatch', () => {
    const swapped = new Map(good.components);
    swapped.set('lin', good.components.get('t')!);
    assert.deepEqual(codes(base, { ...good, components: swapped }), ['PML3014']);
    const wider = model(`
      input x : f32 default 0
      input c : category("a", "b")
      input s : string
      component lin = linear(x, standardize(x), x * 2)
      component t   = gbdt(x, c, vocab(s, 10))
      output p  = sigmoid(lin + t)
      output pc = isotonic(p)
      train p { label y objective logistic }`);
    const issues = checkBundle(wider, good);
    assert.deepEqual(
      issues.map((i) => i.code),
      ['PML3015'],
    );
    assert.match(issues[0]!.message, /input width is 3 in the model, 2 in the bundle/);
  });

  it('PML3016 trees that cannot be walked', () => {
    const t = good.components.get('t')!;
    assert.ok(t.kind === 'gbdt');
    const trees = t.trees.map((tr) => ({ ...tr, nodes: tr.nodes.map((n) => ({ ...n })) }));
    trees[0]!.nodes[0]!.left = 0; // a cycle
    const components = new Map(good.components);
    components.set('t', { ...t, trees });
    assert.deepEqual(codes(base, { ...good, components }), ['PML3016']);
  });

  it('PML3017/3018 transforms; PML3019/3020 calibrations', () => {
    const transforms = new Map(good.transforms);
    transforms.delete('component.lin.0');
    transforms.set('feature.gone.0', good.transforms.get('component.t.0')!);
    const calibrations = new Map([['platt.p', { kind: 'platt' as const, of: 'p', a: 1, b: 0 }]]);
    assert.deepEqual(codes(base, { ...good, transforms, calibrations }), [
      'PML3017',
      'PML3018',
      'PML3019',
      'PML3020',
    ]);
  });
});
