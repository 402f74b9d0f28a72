// `proml tune` on every fixture model, as a user runs it (node cli/bin.mjs tune ... --json, one
// process per model, one after another): which strategy it chose, and how much faster than the
// default build the choice measured, from the tuning record it wrote into the module's manifest.
// Input: fixtures/models/*/model.pml + bundle/; random sample rows (randomRows, seed 1; the
// fixtures' rows.csv hold a handful of rows); env PROML_TUNE_BUDGET (seconds, default 20) and
// PROML_TUNE_ROWS (default 2000). Output: the table (bench/results/tune.md via bench/index.ts) and
// bench/results/tune.json (every record, with each module's embedded manifest checked to carry it).
// The MLP fixtures run a second time with --allow-inexact 1e-5 (the f32 MLP as a candidate).
// Run: npm run bench -- tune (PROML_TUNE_GENERATED=0 / PROML_TUNE_INEXACT=0 skip those extra rows)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_SECTION, parseManifest, type TuningRecord } from '../abi/index.js';
import { sha256Hex, writeBundle } from '../abi/node.js';
import { checkSource } from '../compiler/index.js';
import { randomBundle } from '../compiler/reference/index.js';
import { machine, RESULTS_DIR, today } from './env.js';

/**
 * Fixture models with a bigger generated forest (randomBundle, seed 5) in place of their 8-tree
 * bundles: ensembles just above FLAT_ABOVE_NODES (4,096), where the default layout turns flat.
 */
const GENERATED = [
  { model: 'abuse_anomaly', maxTrees: 150, maxDepth: 8 },
  { model: 'feed_ctr', maxTrees: 150, maxDepth: 8 },
];

/** The fixtures with an MLP, tuned again with --allow-inexact INEXACT_TOLERANCE. */
const INEXACT_MODELS = ['notification_send', 'pymk', 'search_spaces'];
const INEXACT_TOLERANCE = '1e-5';

/** Writes the generated bundle; returns its directory and a description (trees, nodes). */
function generatedBundle(dir: string, g: (typeof GENERATED)[number]): { bundle: string; describe: string } {
  const text = readFileSync(join(MODELS, g.model, 'model.pml'), 'utf8');
  const checked = checkSource(`${g.model}.pml`, text).checked!;
  const bundle = randomBundle(checked, {
    seed: 5,
    maxTrees: g.maxTrees,
    maxDepth: g.maxDepth,
    sourceSha256: sha256Hex(text),
  });
  const out = join(dir, `${g.model}-bundle`);
  writeBundle(out, bundle);
  const forests = [...bundle.components.values()].flatMap((c) =>
    c.kind === 'gbdt'
      ? [`${c.trees.length} trees, ${c.trees.reduce((t, x) => t + x.nodes.length, 0)} nodes`]
      : [],
  );
  return { bundle: out, describe: forests.join(' + ') };
}

const ROOT = new URL('..', import.meta.url).pathname;
const MODELS = join(ROOT, 'fixtures', 'models');

function optionsText(o: Record<string, unknown>): string {
  const parts = Object.entries(o).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? 'default' : parts.join(' ');
}

/** The module's embedded manifest (its proml.manifest section). */
function embedded(path: string): ReturnType<typeof parseManifest> {
  const module = new WebAssembly.Module(readFileSync(path));
  const M = WebAssembly.Module as unknown as {
    customSections(m: WebAssembly.Module, n: string): ArrayBuffer[];
  };
  return parseManifest(new TextDecoder().decode(M.customSections(module, MANIFEST_SECTION)[0]!));
}

export async function run(): Promise<string> {
  const budget = process.env['PROML_TUNE_BUDGET'] ?? '20';
  const rows = process.env['PROML_TUNE_ROWS'] ?? '2000';
  const only = (process.env['PROML_TUNE_MODELS'] ?? '').split(',').filter((x) => x !== '');
  const names = readdirSync(MODELS)
    .filter((n) => existsSync(join(MODELS, n, 'model.pml')))
    .filter((n) => only.length === 0 || only.includes(n))
    .sort();
  const dir = mkdtempSync(join(tmpdir(), 'proml-tune-'));
  const records: { model: string; record: TuningRecord; strategies: Record<string, string> }[] = [];
  type Kind = 'fixture' | 'generated' | 'inexact';
  const cases: { name: string; model: string; bundle: string; kind: Kind; extra: string[] }[] = names.map(
    (n) => ({ name: n, model: n, bundle: join(MODELS, n, 'bundle'), kind: 'fixture', extra: [] }),
  );
  if (process.env['PROML_TUNE_GENERATED'] !== '0')
    for (const g of GENERATED) {
      const { bundle, describe } = generatedBundle(dir, g);
      const name = `${g.model} (generated forest: ${describe})`;
      cases.push({ name, model: g.model, bundle, kind: 'generated', extra: [] });
    }
  if (process.env['PROML_TUNE_INEXACT'] !== '0')
    for (const n of INEXACT_MODELS.filter((x) => names.includes(x)))
      cases.push({
        name: `${n} (--allow-inexact ${INEXACT_TOLERANCE})`,
        model: n,
        bundle: join(MODELS, n, 'bundle'),
        kind: 'inexact',
        extra: ['--allow-inexact', INEXACT_TOLERANCE],
      });
  const kinds: Kind[] = [];
  try {
    for (const { name, model, bundle, kind, extra } of cases) {
      const out = join(dir, `${model}.wasm`);
      const args = [
        join(ROOT, 'cli', 'bin.mjs'),
        'tune',
        join(MODELS, model, 'model.pml'),
        '--coefficients',
        bundle,
        '-o',
        out,
        '--budget',
        budget,
        '--sample-rows',
        rows,
        '--json',
        ...extra,
      ];
      const t = performance.now();
      const p = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
      if (p.status !== 0) throw new Error(`${name}: proml tune exited ${p.status}: ${p.stderr}`);
      const record = JSON.parse(p.stdout) as TuningRecord;
      const manifest = embedded(out);
      if (JSON.stringify(manifest.tuning) !== JSON.stringify(record))
        throw new Error(`${name}: the module's manifest does not carry the printed record`);
      records.push({ model: name, record, strategies: manifest.strategies });
      kinds.push(kind);
      const c = record.candidates[record.chosen]!;
      console.log(
        `  ${name}: ${optionsText(c.options)} (${record.candidates.length} builds, ${((performance.now() - t) / 1000).toFixed(0)} s)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(
    join(RESULTS_DIR, 'tune.json'),
    `${JSON.stringify({ machine: machine(), date: today(), budget: Number(budget), rows: Number(rows), records }, null, 2)}\n`,
  );
  const q = (s: { median: number; q1: number; q3: number } | null): string =>
    s === null ? '-' : `${s.median.toFixed(3)}× [${s.q1.toFixed(3)}, ${s.q3.toFixed(3)}]`;
  const rate = (x: number | undefined): string =>
    x === undefined ? '-' : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`;
  const table = records.map(({ model, record: r }) => {
    const d = r.candidates[0]!;
    const c = r.candidates[r.chosen]!;
    // the best finalist, for models that kept the default: how close the runner-up came
    const best = r.candidates
      .slice(1)
      .filter((x) => x.finalist && x.speedup !== null)
      .sort((a, b) => b.speedup!.median - a.speedup!.median)[0];
    const chosen = r.chosen === 0 ? 'default' : optionsText(c.options);
    const delta = c.maxAbsDiff === null ? '0 (exact)' : c.maxAbsDiff.toExponential(1);
    return `| ${model} | ${r.candidates.length} | ${r.screenRounds} + ${r.rounds} | ${rate(d.rowsPerSec?.median)} | ${chosen} | ${r.chosen === 0 ? '-' : q(c.speedup)} | ${delta} | ${best === undefined ? '-' : `${optionsText(best.options)}: ${q(best.speedup)}`} |`;
  });
  const fixtures = records.filter((_, i) => kinds[i] === 'fixture');
  const changed = fixtures.filter((x) => x.record.chosen !== 0).length;
  const generated = records.filter((_, i) => kinds[i] === 'generated');
  const inexact = records.filter((_, i) => kinds[i] === 'inexact');
  return [
    `\`proml tune\` on every fixture (one CLI process per model, run one after another), sample: ${rows}`,
    `random rows (randomRows, seed 1), --budget ${budget} s of timing per model. Speed-ups are per-round`,
    'ratios against the default build: candidate rows/s ÷ the mean of the two default slots around it',
    '(paired rounds), median [quartiles]; time is process CPU time, so time spent descheduled by other',
    'processes on this shared machine does not count. A candidate wins only with median ≥ 1.03 and',
    'lower quartile > 1 (docs/tuning.md); every candidate was checked bit-identical to the default on',
    'the sample before timing. "builds" counts distinct modules (knob combinations that compile to',
    'the same bytes as another are timed once).',
    '',
    `${changed} of ${fixtures.length} fixtures (with their own bundles) chose something other than the default;`,
    `${generated.filter((x) => x.record.chosen !== 0).length} of ${generated.length} fixture models with a generated forest just above the`,
    '4,096-node flat/branchy crossover (randomBundle seed 5) did.',
    `With \`--allow-inexact ${INEXACT_TOLERANCE}\` (the f32 MLP also a candidate, kept only while every float output stays`,
    `within ${INEXACT_TOLERANCE} · max(1, |x|) of the exact build's), ${inexact.filter((x) => x.record.candidates[x.record.chosen]!.maxAbsDiff !== null).length} of ${inexact.length} MLP fixtures chose it; "max |Δ|" is the chosen`,
    "build's largest difference from the default build's outputs on the sample.",
    '',
    '| model | builds | rounds (screen + paired) | default rows/s | chosen | chosen speed-up | max \\|Δ\\| | best finalist |',
    '|---|---:|---:|---:|---|---:|---:|---|',
    ...table,
  ].join('\n');
}
