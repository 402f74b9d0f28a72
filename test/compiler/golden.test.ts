// Golden tests for the front end:
// - every fixtures/models/<name>/model.pml checks with no diagnostics; its syntax tree (positions as
//   line:col) is `model.ast.golden` and its typed model is `model.typed.golden`;
// - every fixtures/errors/<name>.pml gives exactly the diagnostics in `<name>.errors.txt`, printed as
//   a user sees them (header, source line, underline, hint).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { spansAsPositions } from '../../compiler/ast-json.js';
import { checkSource, checkedModelToJSON, formatDiagnostic } from '../../compiler/index.js';
import { ERRORS_DIR, MODELS_DIR, assertGolden, errorFixtures, modelFixtures } from '../helpers.js';

describe('valid models', () => {
  const fixtures = modelFixtures();
  it('there are at least 12 of them, including the ten scenarios', () => {
    assert.ok(fixtures.length >= 12, `only ${fixtures.length} fixture models`);
    const names = new Set(fixtures.map((f) => f.name));
    for (const s of [
      'job_apply',
      'feed_ctr',
      'spam_message',
      'pymk',
      'intent_multiclass',
      'skill_endorsements',
      'salary_estimate',
      'ad_bid',
      'notification_send',
      'abuse_anomaly',
    ])
      assert.ok(names.has(s), `scenario fixture missing: ${s}`);
  });
  for (const f of fixtures) {
    it(`${f.name} checks cleanly and matches its golden files`, () => {
      const r = checkSource(`${f.name}/model.pml`, f.text);
      const diags = r.sink.sorted().map((d) => formatDiagnostic(r.file, d));
      assert.deepEqual(diags, [], `unexpected diagnostics:\n${diags.join('\n')}`);
      assert.ok(r.model !== null && r.checked !== null);
      assertGolden(
        join(MODELS_DIR, f.name, 'model.ast.golden'),
        JSON.stringify(spansAsPositions(r.model, r.file), null, 1) + '\n',
      );
      assertGolden(
        join(MODELS_DIR, f.name, 'model.typed.golden'),
        JSON.stringify(checkedModelToJSON(r.checked), null, 1) + '\n',
      );
    });
  }
});

describe('invalid models', () => {
  const fixtures = errorFixtures();
  it('there are at least 40 of them', () => {
    assert.ok(fixtures.length >= 40, `only ${fixtures.length} error fixtures`);
  });
  for (const f of fixtures) {
    it(`${f.name} reports exactly its expected diagnostics`, () => {
      const r = checkSource(`${f.name}.pml`, f.text);
      assert.ok(r.sink.items.length > 0, 'an error fixture must produce at least one diagnostic');
      const text =
        r.sink
          .sorted()
          .map((d) => formatDiagnostic(r.file, d))
          .join('\n\n') + '\n';
      assertGolden(join(ERRORS_DIR, `${f.name}.errors.txt`), text);
    });
  }
});
