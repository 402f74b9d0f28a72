// The binaryen preload keeps `import 'binaryen'` from TypeScript fast (see scripts/preload-binaryen.mjs):
// a child process that imports it through tsx must finish in a few seconds, not ~25.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers.js';

describe('binaryen preload', () => {
  it('a TypeScript module imports binaryen in well under 10 s and can build a module', () => {
    const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache-preload-'));
    const file = join(dir, 'probe.mts'); // .mts: ESM wherever it lives (node_modules has no package scope)
    writeFileSync(
      file,
      `const t = performance.now();
const binaryen = (await import('binaryen')).default;
const m = new binaryen.Module();
m.addFunction('one', binaryen.none, binaryen.i32, [], m.i32.const(1));
m.addFunctionExport('one', 'one');
const ok: boolean = m.validate() === 1;
console.log(JSON.stringify({ ms: performance.now() - t, ok }));
`,
    );
    const started = performance.now();
    const r = spawnSync(process.execPath, ['--import', './scripts/preload-binaryen.mjs', file], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const wall = performance.now() - started;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { ms: number; ok: boolean };
    assert.equal(out.ok, true);
    assert.ok(out.ms < 1000, `import took ${out.ms} ms after the preload`);
    assert.ok(wall < 10_000, `the whole process took ${wall} ms`);
  });
});
