// Page-side harness of test/runtime/chromium.test.ts, served next to the browser bundle: fetches a
// compiled fixture (<name>.wasm), its rows (<name>.rows.json, numbers that JSON cannot hold tagged
// as {"$num": "NaN" | "Infinity" | "-Infinity" | "-0"}) and its entity blocks (<name>.entities.json,
// the demo's format), scores every row with the browser bundle of the runtime core and returns
// ScoreResult.bytes() as base64, for a byte-for-byte comparison with Model.score in Node.
/* global fetch, btoa, performance */

import { Model } from './proml-runtime.js';
import { entityStoreFromJson } from './demo.js';

const SPECIAL = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

function revive(_key, v) {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.$num === 'string') {
    if (!(v.$num in SPECIAL)) throw new Error(`bad tagged number ${v.$num}`);
    return SPECIAL[v.$num];
  }
  return v;
}

async function get(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res;
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Scores fixture `name` in the page: { n, rejected, ms, bytes (base64), sha256 }. */
export async function scoreFixture(name) {
  const [wasm, rowsText, entities] = await Promise.all([
    get(`models/${name}.wasm`).then((r) => r.arrayBuffer()),
    get(`models/${name}.rows.json`).then((r) => r.text()),
    get(`models/${name}.entities.json`).then((r) => r.json()),
  ]);
  const rows = JSON.parse(rowsText, revive);
  const model = await Model.load(new Uint8Array(wasm));
  const store = entityStoreFromJson(entities);
  const t0 = performance.now();
  const result = model.score(rows, store);
  const ms = performance.now() - t0;
  return { n: result.n, rejected: result.rejected, ms, bytes: base64(result.bytes()), sha256: model.sha256 };
}
