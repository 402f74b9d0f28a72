// Shared test helpers: fixture discovery and golden-file comparison.
// Golden files are compared byte for byte; `npm run test:update` (PROML_UPDATE=1) rewrites them,
// and the diff is then reviewed like code.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;
export const MODELS_DIR = join(ROOT, 'fixtures', 'models');
export const ERRORS_DIR = join(ROOT, 'fixtures', 'errors');
export const UPDATE = process.env['PROML_UPDATE'] === '1';

/** `fixtures/models/<name>/model.pml` for every model directory, sorted by name. */
export function modelFixtures(): { name: string; path: string; text: string }[] {
  if (!existsSync(MODELS_DIR)) return [];
  return readdirSync(MODELS_DIR)
    .sort()
    .filter((n) => existsSync(join(MODELS_DIR, n, 'model.pml')))
    .map((name) => {
      const path = join(MODELS_DIR, name, 'model.pml');
      return { name, path, text: readFileSync(path, 'utf8') };
    });
}

/** `fixtures/errors/<name>.pml`, sorted by name. */
export function errorFixtures(): { name: string; path: string; text: string }[] {
  if (!existsSync(ERRORS_DIR)) return [];
  return readdirSync(ERRORS_DIR)
    .filter((n) => n.endsWith('.pml'))
    .sort()
    .map((f) => {
      const path = join(ERRORS_DIR, f);
      return { name: f.slice(0, -4), path, text: readFileSync(path, 'utf8') };
    });
}

/** Compares `actual` with the golden file, or writes it when updating. */
export function assertGolden(path: string, actual: string): void {
  if (UPDATE || !existsSync(path)) {
    if (!UPDATE && process.env['CI'] !== undefined)
      assert.fail(`golden file missing: ${path} (run npm run test:update)`);
    writeFileSync(path, actual);
    return;
  }
  const expected = readFileSync(path, 'utf8');
  assert.equal(actual, expected, `${path} differs (run npm run test:update and review the diff)`);
}
