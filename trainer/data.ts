// The trainer's data: a table of examples from an Arrow IPC (file or stream), Parquet or rows-CSV
// file, read batch by batch through the batch scorer's readers (runtime/node/batch-io.ts: the same
// format detection, column matching, Arrow type rules and messages), kept as plain rows holding only
// the model's inputs and the label / weight columns. Then the checks a fit needs, each naming the
// file, the column and the CSV line or file row: labels that suit the objective, weights, a logistic
// label with both classes, entity columns that are not empty.
// Input: a path and the checked model. Output: rows, the file's SHA-256 and size; TrainError (PML50xx).
// Trade-off: rows are JS objects (what the reference evaluator and the transform module take); the
// file's bytes, text or Arrow batches are never all held at once, only one batch at a time.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Row } from '../abi/index.js';
import { entityKey } from '../abi/index.js';
import { inputSchema } from '../compiler/schema.js';
import type { CheckedModel, CheckedTrain } from '../compiler/typed.js';
import { RuntimeError } from '../runtime/errors.js';
import { openRowSource, type FileFormat } from '../runtime/node/batch-io.js';
import { TrainError } from './errors.js';
import { silentProgress, type ProgressSink } from './progress.js';

export interface TrainingData {
  path: string;
  format: FileFormat;
  rows: Row[];
  sha256: string;
  bytes: number;
}

/** Rows per batch while reading (the batch scorer's default). */
const BATCH_ROWS = 8192;

/** SHA-256 of a file's bytes, streamed (the report's data hash). */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Where a row is, as a user finds it: the CSV line (header = line 1) or the 0-based file row. */
function position(format: FileFormat, row: number): string {
  return format === 'csv' ? `line ${row + 2}` : `row ${row}`;
}

/** What a label must be for an objective (null: fine), and the label's class count for multiclass. */
function labelProblem(v: unknown, objective: string, classes: number): string | null {
  if (v === null || v === undefined) return 'is missing';
  const x = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : NaN;
  const ok =
    objective === 'logistic'
      ? x === 0 || x === 1
      : objective === 'multiclass'
        ? Number.isInteger(x) && x >= 0 && x < classes
        : objective === 'poisson'
          ? Number.isFinite(x) && x >= 0
          : Number.isFinite(x);
  if (ok) return null;
  const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
  const needs =
    objective === 'logistic'
      ? '0 or 1 (or false/true)'
      : objective === 'multiclass'
        ? `a class index 0..${classes - 1}`
        : objective === 'poisson'
          ? 'a count ≥ 0'
          : 'a finite number';
  return `is ${shown}; objective ${objective} needs ${needs}`;
}

function classesOf(model: CheckedModel, tb: CheckedTrain): number {
  const out = model.outputs.find((o) => o.name === tb.output);
  const first = out?.trained?.components[0];
  return model.components.find((c) => c.name === first)?.outputWidth ?? 1;
}

/**
 * Reads a data file for `proml train`: every model input (PML5002 when one is missing, of the wrong
 * type or a cell does not parse), every train block's label and weight (PML5002 when the column is
 * missing, PML5004 when a label does not suit its objective, PML5002 for a bad weight); PML5005 for an
 * empty file or one without rows.
 */
export async function readTrainingData(
  path: string,
  model: CheckedModel,
  options: { progress?: ProgressSink; what?: string } = {},
): Promise<TrainingData> {
  const progress = options.progress ?? silentProgress;
  const what = options.what ?? 'training';
  let bytes: number;
  try {
    const st = await stat(path);
    bytes = st.size;
  } catch (e) {
    throw new TrainError('data', `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (bytes === 0) throw new TrainError('noRows', `${path} is empty (0 bytes): no ${what} rows`);
  const labels = model.trains.map((tb) => ({ tb, classes: classesOf(model, tb) }));
  const numbers = [
    ...new Set(model.trains.flatMap((t) => (t.weight === null ? [t.label] : [t.label, t.weight]))),
  ];
  const hashing = hashFile(path);
  hashing.catch(() => undefined);
  const phase = progress.begin(`reading ${path}`, bytes, 'bytes');
  const rows: Row[] = [];
  let format: FileFormat = 'csv';
  try {
    const src = await openRowSource(path, inputSchema(model), { batchRows: BATCH_ROWS, numbers });
    format = src.format;
    try {
      for (const t of model.trains)
        for (const [col, role] of [
          [t.label, `the label of output '${t.output}'`],
          [t.weight, `the weights of output '${t.output}'`],
        ] as const)
          if (col !== null && !src.columns.includes(col))
            throw new TrainError(
              'data',
              `${path}: no column '${col}' for ${role} (columns: ${src.columns.join(', ')})`,
            );
      for await (const { rowBase, rows: batch } of src.batches()) {
        for (let k = 0; k < batch.length; k++) {
          const row = batch[k]!;
          for (const { tb, classes } of labels) {
            const bad = labelProblem(row[tb.label], tb.objective.name, classes);
            if (bad !== null)
              throw new TrainError(
                'label',
                `${path}: ${position(src.format, rowBase + k)}: label '${tb.label}' ${bad}`,
              );
            if (tb.weight !== null) {
              const w = row[tb.weight] ?? null;
              if (w !== null && !(typeof w === 'number' && Number.isFinite(w) && w >= 0))
                throw new TrainError(
                  'data',
                  `${path}: ${position(src.format, rowBase + k)}: weight '${tb.weight}' is ${String(w)}; a weight is a finite number ≥ 0 (missing: 1)`,
                );
            }
          }
          rows.push(row);
        }
        phase.update(src.progress() * bytes, `${rows.length.toLocaleString('en-US')} rows`);
      }
    } finally {
      await src.close();
    }
  } catch (e) {
    phase.end();
    if (e instanceof RuntimeError) throw new TrainError('data', e.message.replace(/^PML\d{4}: /, ''));
    throw e;
  }
  phase.end();
  if (rows.length === 0) throw new TrainError('noRows', `no rows in ${path} (${what} data)`);
  return { path, format, rows, sha256: await hashing, bytes };
}

/**
 * Checks of the training rows (after the split) that no single row shows: a logistic label with
 * both classes (PML5004); for each per-entity component, an entity column that is not empty in every
 * row and an entity with at least `min_rows` rows (PML5002).
 */
export function checkTrainingRows(model: CheckedModel, rows: readonly Row[], path: string): void {
  for (const tb of model.trains) {
    if (tb.objective.name === 'logistic' && rows.length > 0) {
      const first = Number(rows[0]![tb.label]);
      if (rows.every((r) => Number(r[tb.label]) === first))
        throw new TrainError(
          'label',
          `${path}: label '${tb.label}' is ${first} in all ${rows.length} training rows: objective logistic needs both classes (0 and 1)`,
        );
    }
    const out = model.outputs.find((o) => o.name === tb.output);
    for (const name of out?.trained?.components ?? []) {
      const c = model.components.find((x) => x.name === name);
      if (c === undefined || c.per === null) continue;
      const counts = new Map<string, number>();
      for (const r of rows) {
        const v = r[c.per];
        if (typeof v === 'string' || typeof v === 'number') {
          const k = entityKey(v);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
      }
      if (counts.size === 0)
        throw new TrainError(
          'data',
          `${path}: column '${c.per}' is empty (null) in all ${rows.length} training rows: component '${c.name}' (per ${c.per}) has no entity to fit`,
        );
      const h = tb.hyperparameters.get(c.name)?.get('min_rows');
      const minRows = typeof h === 'number' ? h : 1;
      const most = Math.max(...counts.values());
      if (most < minRows)
        throw new TrainError(
          'data',
          `${path}: no ${c.per} has min_rows ${minRows} training rows (${counts.size} ${c.per} values, the most rows of one: ${most}): component '${c.name}' would fit no entity`,
        );
    }
  }
}
