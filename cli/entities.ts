// `proml entities import <bundle dir> --to <store.sqlite | redis://host:port> [--model name]`, and
// `proml entities import <table.arrow> --component C --entity E --to ... [--model name]` for one
// large Arrow IPC table: flags → runtime/node/sqlite-store.ts / redis-store.ts (docs/entities.md).
// Input: argv after `entities`. Output: a summary on stdout, progress on stderr; exit 0 on success,
// 1 when the bundle or the store fails (the message carries its PML code), 2 on bad usage.

import { existsSync, statSync } from 'node:fs';
import { BundleError } from '../abi/index.js';
import { RuntimeError } from '../runtime/index.js';
import type { ImportOptions, ImportProgress, ImportSummary } from '../runtime/node/entity-source.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const ENTITIES_USAGE = `  entities import <bundle dir> --to <store.sqlite | redis://host:port> [--model <name>]
                         load a bundle's per-entity coefficients into an entity store
                         (or <table.arrow> --component <c> --entity <input>: one large table;
                         docs/entities.md)`;

const VALUED = ['--to', '--model', '--component', '--entity'];

/** Progress lines at most every this many entities (and at the end of each component). */
const PROGRESS_EVERY = 1_000_000;

export async function cmdEntities(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'import')
    return usage(
      io,
      `entities: unknown subcommand ${sub === undefined ? '(none)' : `'${sub}'`}; try 'import'`,
    );
  const values = new Map<string, string>();
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (VALUED.includes(a)) {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) return usage(io, `${a} needs a value`);
      values.set(a, v);
    } else if (a.startsWith('-')) return usage(io, `unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length !== 1)
    return usage(io, 'entities import: give exactly one bundle directory (or .arrow table)');
  const to = values.get('--to');
  if (to === undefined)
    return usage(io, 'entities import: --to <store.sqlite | redis://host:port> is required');
  const from = files[0]!;
  if (!existsSync(from)) return usage(io, `no such file or directory: ${from}`);
  const table = statSync(from).isFile();
  const component = values.get('--component');
  const entity = values.get('--entity');
  if (table && (component === undefined || entity === undefined))
    return usage(io, 'entities import: an .arrow table needs --component and --entity');
  if (!table && (component !== undefined || entity !== undefined))
    return usage(io, 'entities import: --component and --entity are for an .arrow table, not a bundle');
  const model = values.get('--model');
  const redis = /^rediss?:\/\//.test(to);

  const shown = new Map<string, number>();
  const options: ImportOptions = {
    progress: (p: ImportProgress) => {
      const last = shown.get(p.component) ?? 0;
      if (p.done - last < PROGRESS_EVERY && p.done !== p.total) return;
      shown.set(p.component, p.done);
      const total = p.total === null ? '' : ` / ${p.total.toLocaleString('en-US')}`;
      io.err(`proml entities: ${p.component}: ${p.done.toLocaleString('en-US')}${total} entities`);
    },
  };
  let summary: ImportSummary;
  try {
    if (redis) {
      const { RedisEntityStore } = await import('../runtime/node/redis-store.js');
      if (table) {
        if (model === undefined)
          return usage(io, 'entities import: an .arrow table into Redis needs --model');
        summary = await RedisEntityStore.importArrow(
          from,
          to,
          { component: component!, entity: entity! },
          {
            ...options,
            model,
          },
        );
      } else
        summary = await RedisEntityStore.importBundle(from, to, { ...options, ...(model ? { model } : {}) });
    } else {
      const { SqliteEntityStore } = await import('../runtime/node/sqlite-store.js');
      if (table)
        summary = await SqliteEntityStore.importArrow(
          from,
          to,
          { component: component!, entity: entity! },
          {
            ...options,
            ...(model ? { model: { name: model, version: '' } } : {}),
          },
        );
      else {
        if (model !== undefined)
          return usage(io, 'entities import: --model applies to Redis (a SQLite store holds one model)');
        summary = await SqliteEntityStore.importBundle(from, to, options);
      }
    }
  } catch (e) {
    if (e instanceof BundleError || e instanceof RuntimeError) {
      io.err(`proml entities: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const name = summary.model.name === '' ? '' : ` of model '${summary.model.name}'`;
  io.out(`imported into ${to}${name}:`);
  for (const c of summary.components)
    io.out(
      `  ${c.component} (per ${c.entity}): ${c.entities.toLocaleString('en-US')} entities × ${c.blockWidth} numbers`,
    );
  if (summary.components.length === 0) io.out('  (no random-effect components)');
  return 0;
}

function usage(io: Io, message: string): number {
  io.err(`proml: ${message}`);
  io.err("run 'proml --help' for usage");
  return 2;
}
