// The main job behind `npm run demo` (after the table of example models): the whole path a model
// takes, on embedded data, with real components. Train the GAME example (fixtures/train/game:
// global + per-member random effect) → compile it to one .wasm → batch-score a file with it
// (Parquet out) → import the per-member coefficients into the SQLite entity store → start the HTTP
// service on a free port → score a request against it → stop. Prints what it did and where the
// outputs are. Input: the repository root, an output directory. Output: files in that directory.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { readBundle } from '../abi/node.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function post(
  port: number,
  path: string,
  body: string,
): Promise<{ status: number; text: string; version: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            version: String(res.headers['proml-model-version'] ?? ''),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runPipeline(root: string, outDir: string, io: Io): Promise<void> {
  const rel = (p: string): string => relative(process.cwd(), p) || p;
  const game = join(root, 'fixtures', 'train', 'game');
  const model = join(game, 'game.pml');
  const bundleDir = join(outDir, 'bundle');
  mkdirSync(outDir, { recursive: true });
  const step = (n: number, text: string): void => io.out(`\n[${n}/5] ${text}`);
  const t0 = performance.now();

  step(1, `train ${rel(model)} on ${rel(join(game, 'train.csv'))} (20,000 rows; 5,000 held out)`);
  const { trainModel } = await import('../trainer/train.js');
  const report = await trainModel(model, {
    data: join(game, 'train.csv'),
    validation: join(game, 'test.csv'),
    out: bundleDir,
  });
  const block = report.blocks[0]!;
  const re = block.components.find((c) => c.per !== null);
  io.out(
    `      held-out AUC ${block.metrics['auc']!.toFixed(4)}, log loss ${block.metrics['logloss']!.toFixed(4)}; ` +
      `${re?.entities ?? 0} members got their own coefficients → ${rel(bundleDir)}/ (report.txt)`,
  );

  step(2, 'compile the model and its coefficients into one WebAssembly module');
  const { checkSource, lowerModel } = await import('../compiler/index.js');
  const emit = await import('../compiler/emit/index.js');
  const source = readFileSync(model, 'utf8');
  const checked = checkSource(model, source).checked!;
  const bundle = readBundle(bundleDir);
  const { bytes, manifest } = await emit.emitScoringModule(checked, lowerModel(checked), bundle, {
    sourceText: source,
    bundleJsonText: readFileSync(join(bundleDir, 'bundle.json'), 'utf8'),
  });
  const wasm = join(outDir, 'game.wasm');
  writeFileSync(wasm, bytes);
  io.out(
    `      ${rel(wasm)}: ${bytes.length.toLocaleString('en-US')} bytes, no imports, weights stored as ${manifest.strategies['linear.weights'] ?? 'f64'}`,
  );

  step(3, 'batch-score a file (CSV in, Parquet out) with the module');
  const { Model } = await import('../runtime/index.js');
  const { scoreFile } = await import('../runtime/node/batch.js');
  const { SqliteEntityStore } = await import('../runtime/node/sqlite-store.js');
  const storePath = join(outDir, 'entities.sqlite');
  await SqliteEntityStore.importBundle(bundleDir, storePath);
  const store = SqliteEntityStore.open(storePath);
  const scorer = await Model.load(bytes);
  const scores = join(outDir, 'scores.parquet');
  const summary = await scoreFile(scorer, join(game, 'test.csv'), scores, { entities: store, threads: 1 });
  io.out(
    `      ${summary.rows.toLocaleString('en-US')} rows → ${rel(scores)} (${Math.round(summary.rowsPerSecond).toLocaleString('en-US')} rows/s; per-member coefficients from ${rel(storePath)})`,
  );

  step(4, 'start the HTTP service (Open Inference Protocol v2 + POST /score) on a free port');
  const { ModelServer } = await import('../runtime/node/server.js');
  const server = await ModelServer.create(bytes, { entities: store });
  const { port } = await server.listen(0, '127.0.0.1');
  io.out(`      listening on http://127.0.0.1:${port} (GET /v2/models/game, /metrics, /openapi.json)`);

  step(5, 'score a request against it');
  const body = JSON.stringify([
    { x1: 0.5, x2: -1.2, member: 'm3' },
    { x1: 0.5, x2: -1.2, member: 'someone-new' },
  ]);
  io.out(`      POST /score ${body}`);
  const res = await post(port, '/score', body);
  io.out(`      ${res.status} (model version ${res.version}): ${res.text.trim()}`);
  await server.close();
  store.close();
  io.out(
    `\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s — outputs in ${rel(outDir)}/: bundle/ (coefficients, report.txt), game.wasm, scores.parquet, entities.sqlite`,
  );
  io.out(
    'the unknown member scores with the global part only, as the DSL says; see docs/training.md, docs/serving.md',
  );
}
