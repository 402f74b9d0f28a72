// Where entity stores import from: the random-effect tables of a coefficient bundle
// (docs/coefficients.md: `entity` utf8, `block` fixed_size_list<float>[blockWidth]), read as a stream
// of batches so a table of GBs never sits in memory whole. Shared by sqlite-store.ts and
// redis-store.ts. Node-only (node:fs).
// Input: a bundle directory, an in-memory Bundle, or one Arrow IPC file (file or stream format) with
// those two columns. Output: EntitySource values whose batches() yields ids and their blocks as f64.
// Errors: BundleError PML3001–PML3006 (missing bundle or table, hash mismatch, wrong columns,
// duplicate or null ids), thrown while reading.

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { FixedSizeList, RecordBatchReader, Utf8, type Data, type RecordBatch } from 'apache-arrow';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  BUNDLE_JSON,
  BundleErrors,
  type Bundle,
  type BundleJson,
} from '../../abi/index.js';

/** Rows per batch handed to a store (one transaction / one pipeline flush each). */
export const IMPORT_BATCH_ROWS = 16_384;

/** A run of entities: ids[i]'s block is blocks[i·w, (i+1)·w). */
export interface EntityBatch {
  ids: string[];
  blocks: Float64Array;
}

/** One random-effect component to import. */
export interface EntitySource {
  component: string;
  /** The entity input (`per member_id`). */
  entity: string;
  blockWidth: number;
  /** Entities the source says it holds (checked once read), or null when unknown up front. */
  rows: number | null;
  /** Where the rows come from, for messages (`component.member_re.entities.arrow`). */
  origin: string;
  batches(): AsyncIterable<EntityBatch>;
}

/** Progress of an import, reported after each batch. */
export interface ImportProgress {
  component: string;
  /** Entities written so far for this component. */
  done: number;
  /** All entities of the component, when known. */
  total: number | null;
}

export interface ImportOptions {
  progress?: (p: ImportProgress) => void;
}

/** What an import wrote. */
export interface ImportSummary {
  model: { name: string; version: string };
  components: { component: string; entity: string; blockWidth: number; entities: number }[];
}

/** The model a bundle belongs to and a source per random-effect component (bundle order). */
export function bundleSources(source: string | Bundle): {
  model: { name: string; version: string };
  sources: EntitySource[];
} {
  return typeof source === 'string' ? dirSources(source) : memorySources(source);
}

function memorySources(bundle: Bundle): {
  model: { name: string; version: string };
  sources: EntitySource[];
} {
  const sources: EntitySource[] = [];
  for (const [name, c] of bundle.components) {
    if (c.kind !== 'random_effect') continue;
    const w = c.blockWidth;
    sources.push({
      component: name,
      entity: c.entity,
      blockWidth: w,
      rows: c.blocks.size,
      origin: `component '${name}' (in memory)`,
      batches: async function* () {
        let ids: string[] = [];
        let blocks = new Float64Array(IMPORT_BATCH_ROWS * w);
        for (const [id, b] of c.blocks) {
          if (b.length !== w)
            throw BundleErrors.tableCorrupt(
              name,
              `entity '${id}' has ${b.length} numbers, blockWidth is ${w}`,
            );
          blocks.set(b, ids.length * w);
          ids.push(id);
          if (ids.length === IMPORT_BATCH_ROWS) {
            yield { ids, blocks };
            ids = [];
            blocks = new Float64Array(IMPORT_BATCH_ROWS * w);
          }
        }
        if (ids.length > 0) yield { ids, blocks: blocks.subarray(0, ids.length * w) };
      },
    });
  }
  return { model: bundle.model, sources };
}

function dirSources(dir: string): { model: { name: string; version: string }; sources: EntitySource[] } {
  const path = join(dir, BUNDLE_JSON);
  if (!existsSync(path) || !statSync(path).isFile()) throw BundleErrors.notFound(dir);
  let json: BundleJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as BundleJson;
  } catch (e) {
    throw BundleErrors.malformed(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null)
    throw BundleErrors.malformed('the top level is not an object');
  if (json.format !== BUNDLE_FORMAT || json.formatVersion !== BUNDLE_FORMAT_VERSION)
    throw BundleErrors.version(json.format, json.formatVersion);
  if (typeof json.model?.name !== 'string' || typeof json.model.version !== 'string')
    throw BundleErrors.malformed("'model' must be {name, version} strings");
  const sources: EntitySource[] = [];
  for (const [name, c] of Object.entries(json.components ?? {})) {
    if (c.kind !== 'random_effect') continue;
    const ref = c.tables?.entities;
    if (
      typeof c.entity !== 'string' ||
      !Number.isInteger(c.blockWidth) ||
      typeof ref?.file !== 'string' ||
      typeof ref.sha256 !== 'string' ||
      !Number.isInteger(ref.rows)
    )
      throw BundleErrors.malformed(
        `component '${name}': 'entity', 'blockWidth' and table 'entities' are required`,
      );
    if (ref.file.includes('/') || ref.file.includes('\\')) throw BundleErrors.tableMissing(ref.file);
    const file = join(dir, ref.file);
    sources.push({
      component: name,
      entity: c.entity,
      blockWidth: c.blockWidth,
      rows: ref.rows,
      origin: ref.file,
      batches: async function* () {
        // the hash first: nothing is imported from a table that is not the one bundle.json names
        const actual = await fileSha256(file, ref.file);
        if (actual !== ref.sha256) throw BundleErrors.hashMismatch(ref.file, ref.sha256, actual);
        yield* arrowBatches(file, ref.file, c.blockWidth);
      },
    });
  }
  return { model: json.model, sources };
}

/**
 * One Arrow IPC file (file or stream format) with columns `entity` (utf8) and `block`
 * (fixed_size_list<float32|float64>[w]): the format of a bundle's random-effect table, for stores
 * too large for a bundle directory. blockWidth defaults to the file's list size.
 */
export async function arrowFileSource(
  path: string,
  component: { component: string; entity: string; blockWidth?: number },
): Promise<EntitySource> {
  let width = component.blockWidth;
  if (width === undefined) {
    const fh = await openTable(path, path);
    try {
      const reader = await RecordBatchReader.from(fh);
      await reader.open();
      const type = reader.schema.fields.find((f) => f.name === 'block')?.type as unknown;
      if (!(type instanceof FixedSizeList))
        throw BundleErrors.tableCorrupt(path, "no column 'block' of type fixed_size_list<float>");
      width = type.listSize;
      await reader.cancel();
    } catch (e) {
      throw asCorrupt(e, path);
    } finally {
      await fh.close();
    }
  }
  const w = width;
  return {
    component: component.component,
    entity: component.entity,
    blockWidth: w,
    rows: null,
    origin: path,
    batches: () => arrowBatches(path, path, w),
  };
}

async function openTable(path: string, name: string): Promise<FileHandle> {
  if (!existsSync(path) || !statSync(path).isFile()) throw BundleErrors.tableMissing(name);
  try {
    return await open(path, 'r');
  } catch (e) {
    throw BundleErrors.tableMissing(name, (e as Error).message);
  }
}

function fileSha256(path: string, name: string): Promise<string> {
  if (!existsSync(path) || !statSync(path).isFile()) return Promise.reject(BundleErrors.tableMissing(name));
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('error', (e) => reject(BundleErrors.tableMissing(name, e.message)))
      .on('end', () => resolve(h.digest('hex')));
  });
}

function asCorrupt(e: unknown, name: string): Error {
  if (e instanceof Error && e.name === 'BundleError') return e;
  return BundleErrors.tableCorrupt(
    name,
    `unreadable Arrow IPC (${e instanceof Error ? e.message : String(e)})`,
  );
}

/** Reads the file a record batch at a time (random access through the footer, or as a stream). */
async function* arrowBatches(path: string, name: string, w: number): AsyncGenerator<EntityBatch> {
  const fh = await openTable(path, name);
  try {
    let reader;
    try {
      reader = await RecordBatchReader.from(fh);
    } catch (e) {
      throw asCorrupt(e, name);
    }
    const iterator = reader[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<RecordBatch>;
      try {
        next = await iterator.next();
      } catch (e) {
        throw asCorrupt(e, name);
      }
      if (next.done === true) break;
      const batch = next.value;
      for (let at = 0; at < batch.numRows; at += IMPORT_BATCH_ROWS)
        yield decodeBatch(batch, at, Math.min(batch.numRows, at + IMPORT_BATCH_ROWS), name, w);
    }
  } finally {
    await fh.close();
  }
}

function decodeBatch(batch: RecordBatch, from: number, to: number, name: string, w: number): EntityBatch {
  const idCol = batch.getChild('entity');
  const blockCol = batch.getChild('block');
  if (idCol === null || !(idCol.type instanceof Utf8))
    throw BundleErrors.tableCorrupt(name, "no column 'entity' of type utf8");
  if (blockCol === null || !(blockCol.type instanceof FixedSizeList))
    throw BundleErrors.tableCorrupt(name, "no column 'block' of type fixed_size_list<float>");
  if (blockCol.type.listSize !== w)
    throw BundleErrors.tableCorrupt(
      name,
      `blocks have ${blockCol.type.listSize} numbers, blockWidth is ${w}`,
    );
  if (idCol.nullCount > 0 || blockCol.nullCount > 0)
    throw BundleErrors.tableCorrupt(name, "columns 'entity' and 'block' must not have nulls");
  // a record batch's column is one Data (batches are not chunked)
  const ids = utf8Strings(idCol.data[0] as Data<Utf8>, from, to);
  const bd = blockCol.data[0] as Data<FixedSizeList>;
  const child = bd.children[0] as Data | undefined;
  const values = child?.values as unknown;
  if (!(values instanceof Float64Array || values instanceof Float32Array))
    throw BundleErrors.tableCorrupt(name, "column 'block' must hold float32 or float64");
  const start = (child!.offset + (bd.offset + from) * w) | 0;
  const slice = values.subarray(start, start + (to - from) * w);
  const blocks = slice instanceof Float64Array ? slice : Float64Array.from(slice);
  return { ids, blocks };
}

function utf8Strings(d: Data<Utf8>, from: number, to: number): string[] {
  const offsets = d.valueOffsets;
  const bytes = d.values;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string>(to - from);
  for (let i = from; i < to; i++)
    out[i - from] = buf.toString('utf8', offsets[d.offset + i]!, offsets[d.offset + i + 1]!);
  return out;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Block bytes as stored (little-endian f64): a view on little-endian hosts, a copy otherwise. */
export function blockBytes(blocks: Float64Array, row: number, w: number): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(blocks.buffer, blocks.byteOffset + row * w * 8, w * 8);
  const out = Buffer.alloc(w * 8);
  for (let j = 0; j < w; j++) out.writeDoubleLE(blocks[row * w + j]!, j * 8);
  return out;
}

/** A stored block back as f64 (always a copy: the bytes may not be 8-aligned), or null if its size is not w·8. */
export function blockFromBytes(bytes: Uint8Array, w: number): Float64Array | null {
  if (bytes.byteLength !== w * 8) return null;
  const out = new Float64Array(w);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let j = 0; j < w; j++) out[j] = view.getFloat64(j * 8, true);
  }
  return out;
}
