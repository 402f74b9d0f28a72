// The distributed entity store: per-entity coefficient blocks (GAME random effects) in Redis
// (node-redis), for when the entity store outgrows one machine (DESIGN.md: a real distributed system,
// never a home-made cluster). Node-only; asynchronous, so score with Model.scoreAsync.
// Layout (docs/entities.md): a hash per component, key `proml:<model>:<component>`, field = entity
// id, value = blockWidth little-endian f64; a hash `proml:<model>` describes the model's components
// (`component:<name>` → JSON {entity, blockWidth, entities}, `model.version`).
// Input: a Redis URL and a model name; a bundle (directory or in memory) or an Arrow IPC file to
// import. Output: RedisEntityStore: one HMGET per fetch call (Model.scoreAsync issues the calls of
// all components together, so they share a round trip); unknown ids → null. Imports pipeline HSETs
// into temporary keys and switch the whole model over in one MULTI (readers never see half an import).
// Errors: RuntimeError PML4305 (cannot reach Redis, a command fails, a stored block is the wrong
// size), PML4306 (component missing or width differs); imports also BundleError PML30xx.

import { createClient, RESP_TYPES } from 'redis';
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
import { checkComponents, type StoredComponent } from './sqlite-store.js';

export interface RedisStoreOptions {
  /** The model whose components to serve (keys `proml:<model>:...`). */
  model: string;
  /** Key prefix (default `proml`). */
  prefix?: string;
}

type Client = ReturnType<typeof createClient>;
type Arg = string | Buffer;

const BINARY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };
/** Fields per HSET command while importing. */
const HSET_FIELDS = 1_024;

function redisError(url: string, e: unknown): RuntimeError {
  if (e instanceof RuntimeError) return e;
  const why = e instanceof Error ? e.message || e.name : String(e);
  return new RuntimeError('entityStore', `entity store ${url}: ${why}`);
}

/** Connects; fails (PML4305) instead of retrying when the first connection is refused. */
async function connectClient(url: string): Promise<{ client: Client; lastError: () => unknown }> {
  let connected = false;
  let last: unknown = null;
  let client: Client;
  try {
    client = createClient({
      url,
      // a command while the connection is down fails at once (PML4305) rather than waiting in a queue
      disableOfflineQueue: true,
      socket: {
        reconnectStrategy: (retries: number, cause: Error) =>
          connected ? Math.min(50 * 2 ** Math.min(retries, 6), 2_000) : cause,
      },
    });
  } catch (e) {
    throw redisError(url, e);
  }
  client.on('error', (e: unknown) => {
    last = e;
  });
  try {
    await client.connect();
  } catch (e) {
    if (client.isOpen) client.destroy();
    throw redisError(url, e);
  }
  connected = true;
  return { client, lastError: () => last };
}

const keysOf = (prefix: string, model: string) => ({
  meta: `${prefix}:${model}`,
  component: (c: string) => `${prefix}:${model}:${c}`,
});

export class RedisEntityStore implements EntityStore {
  private comps = new Map<string, StoredComponent>();
  private readonly keys: ReturnType<typeof keysOf>;

  private constructor(
    private readonly client: Client,
    readonly url: string,
    readonly model: string,
    prefix: string,
  ) {
    this.keys = keysOf(prefix, model);
  }

  /** Connects and reads the model's component list. Throws RuntimeError PML4305 if Redis cannot be reached. */
  static async connect(url: string, options: RedisStoreOptions): Promise<RedisEntityStore> {
    const { client } = await connectClient(url);
    const store = new RedisEntityStore(client, url, options.model, options.prefix ?? 'proml');
    try {
      await store.reload();
    } catch (e) {
      if (client.isOpen) client.destroy();
      throw e;
    }
    return store;
  }

  /**
   * Writes every random-effect component of a bundle (a directory, read a batch at a time and
   * hash-checked, or a Bundle in memory) under the model's keys (model name: the bundle's, unless
   * given), replacing what the model had.
   */
  static async importBundle(
    bundle: string | Bundle,
    url: string,
    options: ImportOptions & { model?: string; prefix?: string } = {},
  ): Promise<ImportSummary> {
    const { model, sources } = bundleSources(bundle);
    const name = options.model ?? model.name;
    return writeModel(
      url,
      keysOf(options.prefix ?? 'proml', name),
      { name, version: model.version },
      sources,
      options,
    );
  }

  /** Writes one component from an Arrow IPC file in the bundle's table layout, streamed. */
  static async importArrow(
    arrowFile: string,
    url: string,
    component: { component: string; entity: string; blockWidth?: number },
    options: ImportOptions & { model: string; version?: string; prefix?: string },
  ): Promise<ImportSummary> {
    const source = await arrowFileSource(arrowFile, component);
    const keys = keysOf(options.prefix ?? 'proml', options.model);
    return writeModel(url, keys, { name: options.model, version: options.version ?? '' }, [source], options);
  }

  /** Rereads the model's component list (after an import by another process). */
  async reload(): Promise<void> {
    let meta: Record<string, string>;
    try {
      meta = (await this.client.hGetAll(this.keys.meta)) as Record<string, string>;
    } catch (e) {
      throw redisError(this.url, e);
    }
    const comps = new Map<string, StoredComponent>();
    for (const [field, value] of Object.entries(meta)) {
      if (!field.startsWith('component:')) continue;
      const component = field.slice('component:'.length);
      const c = JSON.parse(value) as { entity: string; blockWidth: number; entities: number };
      comps.set(component, { component, entity: c.entity, blockWidth: c.blockWidth, entities: c.entities });
    }
    this.comps = new Map([...comps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  components(): StoredComponent[] {
    return [...this.comps.values()];
  }

  size(component: string): number {
    return this.comps.get(component)?.entities ?? 0;
  }

  /** Like SqliteEntityStore.checkAgainst: PML4306 unless every entity block's component is here with its width. */
  checkAgainst(manifest: { entityBlocks: readonly EntityBlockColumn[] }): void {
    checkComponents(`entity store ${this.url} (model '${this.model}')`, this.comps, manifest.entityBlocks);
  }

  /** One HMGET per call for the distinct ids. */
  async fetch(component: string, ids: readonly (string | null)[]): Promise<(Float64Array | null)[]> {
    const c = this.comps.get(component);
    if (c === undefined)
      throw new RuntimeError(
        'entityStoreMismatch',
        `entity store ${this.url} has no component '${component}' for model '${this.model}'`,
      );
    const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
    const found = new Map<string, Float64Array>();
    if (wanted.length > 0) {
      let got: (Buffer | null)[];
      try {
        got = (await this.client.sendCommand(
          ['HMGET', this.keys.component(component), ...wanted],
          BINARY,
        )) as unknown as (Buffer | null)[];
      } catch (e) {
        throw redisError(this.url, e);
      }
      wanted.forEach((id, i) => {
        const bytes = got[i];
        if (bytes === null || bytes === undefined) return;
        const b = blockFromBytes(bytes, c.blockWidth);
        if (b === null)
          throw new RuntimeError(
            'entityStore',
            `entity store ${this.url}: block of '${id}' in '${component}' has ${bytes.byteLength} bytes, expected ${c.blockWidth * 8}`,
          );
        found.set(id, b);
      });
    }
    return ids.map((id) => (id === null ? null : (found.get(id) ?? null)));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

async function writeModel(
  url: string,
  keys: ReturnType<typeof keysOf>,
  model: { name: string; version: string },
  sources: readonly EntitySource[],
  options: ImportOptions,
): Promise<ImportSummary> {
  const { client } = await connectClient(url);
  const summary: ImportSummary = { model, components: [] };
  const tmp = (c: string): string => `${keys.component(c)}~importing`;
  try {
    for (const s of sources) {
      const key = tmp(s.component);
      await client.sendCommand(['DEL', key]);
      const w = s.blockWidth;
      let done = 0;
      let added = 0;
      for await (const batch of s.batches()) {
        // node-redis pipelines commands issued together: one batch is one flush of HSETs
        const sends: Promise<unknown>[] = [];
        for (let at = 0; at < batch.ids.length; at += HSET_FIELDS) {
          const args: Arg[] = ['HSET', key];
          const end = Math.min(batch.ids.length, at + HSET_FIELDS);
          for (let i = at; i < end; i++) args.push(batch.ids[i]!, blockBytes(batch.blocks, i, w));
          sends.push(client.sendCommand(args));
        }
        for (const n of await Promise.all(sends)) added += Number(n);
        done += batch.ids.length;
        options.progress?.({ component: s.component, done, total: s.rows });
      }
      if (added !== done)
        throw BundleErrors.tableCorrupt(s.origin, `${done - added} entity ids appear twice`);
      if (s.rows !== null && done !== s.rows)
        throw BundleErrors.tableCorrupt(s.origin, `has ${done} rows, bundle.json says ${s.rows}`);
      summary.components.push({ component: s.component, entity: s.entity, blockWidth: w, entities: done });
    }
    // switch the model over at once: the new hashes replace the old, components no longer in the
    // model are dropped, and the description follows in the same transaction
    const old = Object.keys((await client.hGetAll(keys.meta)) as Record<string, string>)
      .filter((f) => f.startsWith('component:'))
      .map((f) => f.slice('component:'.length));
    const multi = client.multi();
    for (const c of old) if (!sources.some((s) => s.component === c)) multi.del(keys.component(c));
    for (const c of summary.components)
      if (c.entities > 0) multi.rename(tmp(c.component), keys.component(c.component));
      else multi.del(keys.component(c.component));
    multi.del(keys.meta);
    multi.hSet(keys.meta, 'format', 'proml-entities');
    multi.hSet(keys.meta, 'model.version', model.version);
    for (const c of summary.components)
      multi.hSet(
        keys.meta,
        `component:${c.component}`,
        JSON.stringify({ entity: c.entity, blockWidth: c.blockWidth, entities: c.entities }),
      );
    await multi.exec();
    await client.close();
  } catch (e) {
    try {
      for (const s of sources) await client.sendCommand(['DEL', tmp(s.component)]);
      await client.close();
    } catch {
      if (client.isOpen) client.destroy();
    }
    if (e instanceof Error && e.name === 'BundleError') throw e;
    throw redisError(url, e);
  }
  return summary;
}
