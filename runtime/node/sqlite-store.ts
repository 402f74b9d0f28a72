// The embedded, on-disk entity store: per-entity coefficient blocks (GAME random effects) in one
// SQLite file (better-sqlite3), for stores larger than memory with no server to run
// (docs/entities.md). Node-only.
// Layout: table `proml_store` (format, model), table `proml_components` (component, entity input,
// block width, entity count), and per component a table `entities.<component>` (id TEXT PRIMARY
// KEY, block BLOB of blockWidth little-endian f64) WITHOUT ROWID, so a lookup is one B-tree descent.
// Input: a coefficient bundle (directory or in memory) or an Arrow IPC file to import; ids to fetch.
// Output: SqliteEntityStore, a synchronous EntityStore (Model.score works directly): one query per
// fetch, unknown ids → null. Errors: RuntimeError PML4305 (cannot open or read the file, not a
// store), PML4306 (component missing or width differs: checkAgainst); imports also BundleError PML30xx.

import { existsSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { BundleErrors, type Bundle, type EntityBlockColumn } from '../../abi/index.js';
import { RuntimeError } from '../errors.js';
import type { EntityStore } from '../model.js';
import {
  arrowFileSource,
  blockBytes,
  blockFromBytes,
  bundleSources,
  type EntitySource,
  type ImportOptions,
  type ImportSummary,
} from './entity-source.js';

export const SQLITE_STORE_FORMAT = 'proml-entities';
export const SQLITE_STORE_VERSION = 1;

/** A component as the store records it. */
export interface StoredComponent {
  component: string;
  entity: string;
  blockWidth: number;
  entities: number;
}

export interface SqliteOpenOptions {
  /** Page cache in MiB (default 64). */
  cacheMiB?: number;
  /**
   * Bytes of the file read through mmap rather than read() calls, in MiB (default 2048, about
   * SQLite's build limit): lookups into a store the OS has cached then cost no system call.
   */
  mmapMiB?: number;
}

type Db = Database.Database;
type Stmt = Database.Statement<[string], [string, Buffer]>;

const tableName = (component: string): string => `"entities.${component.replace(/"/g, '""')}"`;

function storeError(file: string, e: unknown): RuntimeError {
  const why = e instanceof Error ? e.message : String(e);
  return new RuntimeError('entityStore', `entity store '${file}': ${why}`);
}

export class SqliteEntityStore implements EntityStore {
  private readonly stmts = new Map<string, Stmt>();

  private constructor(
    private readonly db: Db,
    readonly file: string,
    /** The model the store was imported for. */
    readonly model: { name: string; version: string },
    private readonly comps: Map<string, StoredComponent>,
  ) {}

  /** Opens a store file read-only. Throws RuntimeError PML4305 if it is missing or not a store. */
  static open(file: string, options: SqliteOpenOptions = {}): SqliteEntityStore {
    if (!existsSync(file)) throw new RuntimeError('entityStore', `entity store '${file}': no such file`);
    let db: Db | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma(`cache_size = ${-1024 * (options.cacheMiB ?? 64)}`);
      db.pragma(`mmap_size = ${(options.mmapMiB ?? 2048) * 2 ** 20}`);
      const meta = new Map(
        (db.prepare('SELECT key, value FROM proml_store').all() as { key: string; value: string }[]).map(
          (r) => [r.key, r.value],
        ),
      );
      if (meta.get('format') !== SQLITE_STORE_FORMAT || meta.get('version') !== String(SQLITE_STORE_VERSION))
        throw new Error(`not a ${SQLITE_STORE_FORMAT} v${SQLITE_STORE_VERSION} file`);
      const rows = db
        .prepare('SELECT component, entity, block_width, entities FROM proml_components ORDER BY component')
        .all() as { component: string; entity: string; block_width: number; entities: number }[];
      const comps = new Map(
        rows.map((r) => [
          r.component,
          { component: r.component, entity: r.entity, blockWidth: r.block_width, entities: r.entities },
        ]),
      );
      const model = { name: meta.get('model.name') ?? '', version: meta.get('model.version') ?? '' };
      return new SqliteEntityStore(db, file, model, comps);
    } catch (e) {
      db?.close();
      if (e instanceof RuntimeError) throw e;
      const why = e instanceof Error && /no such table/.test(e.message) ? 'not a proml entity store' : e;
      throw storeError(file, why);
    }
  }

  /**
   * Writes a new store file holding every random-effect component of a bundle (a directory, read
   * a batch at a time and hash-checked, or a Bundle in memory), then opens it. The file is built
   * beside `file` and renamed over it at the end: readers of the old file keep their snapshot, and
   * a failed import leaves the old file as it was.
   */
  static async importBundle(
    bundle: string | Bundle,
    file: string,
    options: ImportOptions = {},
  ): Promise<ImportSummary> {
    const { model, sources } = bundleSources(bundle);
    return writeStore(file, model, sources, options);
  }

  /**
   * Writes a new store file with one component from an Arrow IPC file in the bundle's table layout
   * (`entity` utf8, `block` fixed_size_list<float>[w]), streamed a record batch at a time.
   */
  static async importArrow(
    arrowFile: string,
    file: string,
    component: { component: string; entity: string; blockWidth?: number },
    options: ImportOptions & { model?: { name: string; version: string } } = {},
  ): Promise<ImportSummary> {
    const source = await arrowFileSource(arrowFile, component);
    return writeStore(file, options.model ?? { name: '', version: '' }, [source], options);
  }

  /** The components in the store (sorted by name). */
  components(): StoredComponent[] {
    return [...this.comps.values()];
  }

  /** Entities of a component (0 if the store lacks it). */
  size(component: string): number {
    return this.comps.get(component)?.entities ?? 0;
  }

  /**
   * Checks that the store serves a module: every manifest.entityBlocks entry's component is here
   * with that block width. Throws RuntimeError PML4306 naming each mismatch.
   */
  checkAgainst(manifest: { entityBlocks: readonly EntityBlockColumn[] }): void {
    checkComponents(`entity store '${this.file}'`, this.comps, manifest.entityBlocks);
  }

  /** One query per call (the ids' distinct values joined against the component's table). */
  fetch(component: string, ids: readonly (string | null)[]): (Float64Array | null)[] {
    const c = this.comps.get(component);
    if (c === undefined)
      throw new RuntimeError(
        'entityStoreMismatch',
        `entity store '${this.file}' has no component '${component}' (it has ${listNames(this.comps)})`,
      );
    const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
    const found = new Map<string, Float64Array>();
    if (wanted.length > 0) {
      let rows: [string, Buffer][];
      try {
        rows = this.stmt(component).all(JSON.stringify(wanted));
      } catch (e) {
        throw storeError(this.file, e);
      }
      for (const [id, bytes] of rows) {
        const b = blockFromBytes(bytes, c.blockWidth);
        if (b === null)
          throw new RuntimeError(
            'entityStore',
            `entity store '${this.file}': block of '${id}' in '${component}' has ${bytes.byteLength} bytes, expected ${c.blockWidth * 8}`,
          );
        found.set(id, b);
      }
    }
    return ids.map((id) => (id === null ? null : (found.get(id) ?? null)));
  }

  close(): void {
    this.db.close();
  }

  private stmt(component: string): Stmt {
    let s = this.stmts.get(component);
    if (s === undefined) {
      s = this.db
        .prepare<[string], [string, Buffer]>(
          `SELECT id, block FROM ${tableName(component)} WHERE id IN (SELECT value FROM json_each(?))`,
        )
        .raw(true);
      this.stmts.set(component, s);
    }
    return s;
  }
}

/** Shared by the SQLite and Redis stores: PML4306 unless every entity block has its component and width. */
export function checkComponents(
  what: string,
  comps: ReadonlyMap<string, { blockWidth: number }>,
  blocks: readonly EntityBlockColumn[],
): void {
  const problems: string[] = [];
  for (const b of blocks) {
    const c = comps.get(b.component);
    if (c === undefined) problems.push(`no component '${b.component}' (entity '${b.entity}')`);
    else if (c.blockWidth !== b.width)
      problems.push(
        `component '${b.component}' has blocks of ${c.blockWidth} numbers, the module needs ${b.width}`,
      );
  }
  if (problems.length > 0)
    throw new RuntimeError(
      'entityStoreMismatch',
      `${what} does not serve this model: ${problems.join('; ')}`,
    );
}

function listNames(comps: ReadonlyMap<string, unknown>): string {
  return comps.size === 0 ? 'none' : [...comps.keys()].map((k) => `'${k}'`).join(', ');
}

async function writeStore(
  file: string,
  model: { name: string; version: string },
  sources: readonly EntitySource[],
  options: ImportOptions,
): Promise<ImportSummary> {
  const tmp = `${file}.importing-${process.pid}`;
  rmSync(tmp, { force: true });
  let db: Db;
  try {
    db = new Database(tmp);
  } catch (e) {
    throw storeError(file, e);
  }
  const summary: ImportSummary = { model, components: [] };
  try {
    // bulk load: no rollback journal, no fsync, one big page cache; the file is renamed into place
    // only once complete, so a crash mid-import leaves a stray temp file, never a torn store
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('cache_size = -262144');
    db.pragma('temp_store = MEMORY');
    db.exec(`
      CREATE TABLE proml_store (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE proml_components (
        component TEXT PRIMARY KEY, entity TEXT NOT NULL,
        block_width INTEGER NOT NULL, entities INTEGER NOT NULL) WITHOUT ROWID;`);
    const meta = db.prepare('INSERT INTO proml_store (key, value) VALUES (?, ?)');
    meta.run('format', SQLITE_STORE_FORMAT);
    meta.run('version', String(SQLITE_STORE_VERSION));
    meta.run('model.name', model.name);
    meta.run('model.version', model.version);
    for (const s of sources) {
      const t = tableName(s.component);
      db.exec(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, block BLOB NOT NULL) WITHOUT ROWID`);
      const insert = db.prepare(`INSERT INTO ${t} (id, block) VALUES (?, ?)`);
      const w = s.blockWidth;
      const load = db.transaction((ids: string[], blocks: Float64Array) => {
        for (let i = 0; i < ids.length; i++) insert.run(ids[i], blockBytes(blocks, i, w));
      });
      let done = 0;
      for await (const batch of s.batches()) {
        try {
          load(batch.ids, batch.blocks);
        } catch (e) {
          if (e instanceof Error && (e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
            throw BundleErrors.tableCorrupt(s.origin, `an entity id appears twice (${e.message})`);
          throw e;
        }
        done += batch.ids.length;
        options.progress?.({ component: s.component, done, total: s.rows });
      }
      if (s.rows !== null && done !== s.rows)
        throw BundleErrors.tableCorrupt(s.origin, `has ${done} rows, bundle.json says ${s.rows}`);
      db.prepare('INSERT INTO proml_components VALUES (?, ?, ?, ?)').run(s.component, s.entity, w, done);
      summary.components.push({ component: s.component, entity: s.entity, blockWidth: w, entities: done });
    }
    // readers open the finished file read-only: a plain rollback-journal database
    db.pragma('journal_mode = DELETE');
    db.close();
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
    renameSync(tmp, file);
  } catch (e) {
    if (db.open) db.close();
    rmSync(tmp, { force: true });
    if (e instanceof Error && (e.name === 'BundleError' || e.name === 'RuntimeError')) throw e;
    throw storeError(file, e);
  }
  return summary;
}
