// Golden .wat snapshots: what the code generator emits, as reviewable text. Compiles the fixtures
// tiny_linear and lexical_forms (their bundles) and fixtures/wat/text_inputs.pml (a string and a
// category input; seeded random coefficients) with the optimizer on, prints each module as
// `proml wat` does (cli/wat.ts), and compares it with fixtures/wat/<name>.wat.
// Output: one test per model (golden text equal; no `(import`; the scoring module's five exports).
// A code generator change changes these files: `npm run test:update` (PROML_UPDATE=1) rewrites
// them, then review the diff (docs/architecture.md, "Golden .wat snapshots").
// Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXPORTS, type Bundle } from '../../abi/index.js';
import { readBundle, sha256Hex } from '../../abi/node.js';
import { watText } from '../../cli/wat.js';
import { emitScoringModule } from '../../compiler/emit/index.js';
import { checkSource, lowerModel } from '../../compiler/index.js';
import { randomBundle } from '../../compiler/reference/index.js';
import { assertGolden, MODELS_DIR, ROOT } from '../helpers.js';

const WAT_DIR = join(ROOT, 'fixtures', 'wat');
/** A fixed compiler version in the manifest: a release does not rewrite every snapshot. */
const COMPILER_VERSION = 'golden';

interface Input {
  name: string;
  source: string;
  bundle: (source: string) => Bundle;
  bundleJsonText: string | null;
}

function fixture(name: string): Input {
  const dir = join(MODELS_DIR, name);
  return {
    name,
    source: readFileSync(join(dir, 'model.pml'), 'utf8'),
    bundle: () => readBundle(join(dir, 'bundle')),
    bundleJsonText: readFileSync(join(dir, 'bundle', 'bundle.json'), 'utf8'),
  };
}

const INPUTS: Input[] = [
  fixture('tiny_linear'),
  fixture('lexical_forms'),
  {
    name: 'text_inputs',
    source: readFileSync(join(WAT_DIR, 'text_inputs.pml'), 'utf8'),
    bundle: (source) => {
      const checked = checkSource('text_inputs.pml', source).checked!;
      return randomBundle(checked, { seed: 7, sourceSha256: sha256Hex(source) });
    },
    bundleJsonText: null,
  },
];

describe('golden .wat snapshots (fixtures/wat/)', () => {
  for (const input of INPUTS)
    it(`${input.name}: the optimized module as text matches fixtures/wat/${input.name}.wat`, async () => {
      const r = checkSource(`${input.name}.pml`, input.source);
      assert.ok(r.checked !== null && !r.sink.hasErrors, `${input.name}: does not check`);
      const { bytes } = await emitScoringModule(
        r.checked,
        lowerModel(r.checked),
        input.bundle(input.source),
        {
          sourceText: input.source,
          bundleJsonText: input.bundleJsonText,
          compilerVersion: COMPILER_VERSION,
          optimize: true,
        },
      );
      const text = watText(bytes);
      assert.ok(!text.includes('(import'), `${input.name}: the module imports something`);
      const { memory, abiVersion, alloc, reset, score } = EXPORTS;
      for (const name of [memory, abiVersion, alloc, reset, score])
        assert.ok(text.includes(`(export "${name}"`), `${input.name}: no export ${name}`);
      assertGolden(join(WAT_DIR, `${input.name}.wat`), text);
    });
});
