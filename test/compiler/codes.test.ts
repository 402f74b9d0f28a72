// "Every rule has a fixture": each code the lexer, parser and checker can report is shown by at least
// one fixtures/errors/*.pml (its expected output, `.errors.txt`, prints the code), and is listed in
// docs/errors.md. golden.test.ts keeps the `.errors.txt` files exact; this test keeps them complete.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROW_ERRORS } from '../../abi/constants.js';
import { BUNDLE_CODES } from '../../abi/errors.js';
import { RUNTIME_CODES } from '../../runtime/errors.js';
import { IMPORT_CODES } from '../../trainer/import/common.js';
import { TRAIN_CODES } from '../../trainer/errors.js';
import { CHECK_CODES } from '../../compiler/check.js';
import { TUNE_CODES } from '../../compiler/tune.js';
import { LexCodes } from '../../compiler/lexer.js';
import { ParseCodes } from '../../compiler/parser.js';
import { ERRORS_DIR, ROOT } from '../helpers.js';

/** Every code with the severity it must be reported with. */
const CODES: { code: string; severity: 'error' | 'warning'; from: string }[] = [
  ...Object.values(LexCodes).map((code) => ({ code, severity: 'error' as const, from: 'LexCodes' })),
  ...Object.values(ParseCodes).map((code) => ({ code, severity: 'error' as const, from: 'ParseCodes' })),
  ...Object.values(CHECK_CODES).map((c) => ({ code: c.code, severity: c.severity, from: 'CHECK_CODES' })),
];

/** `code severity` → the fixtures whose expected output reports it. */
function reported(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of readdirSync(ERRORS_DIR).filter((n) => n.endsWith('.errors.txt'))) {
    const text = readFileSync(join(ERRORS_DIR, f), 'utf8');
    for (const m of text.matchAll(/^\S+:\d+:\d+: (error|warning) (PML\d{4}): /gm)) {
      const key = `${m[2]} ${m[1]}`;
      const list = out.get(key) ?? [];
      if (!list.includes(f)) list.push(f);
      out.set(key, list);
    }
  }
  return out;
}

describe('every code has a fixture and a row in docs/errors.md', () => {
  const seen = reported();
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\|\s*(PML\d{4})\s*\|\s*(error|warning)\s*\|/gm)].map((m) => [m[1]!, m[2]!]),
  );

  it('codes are unique across the lexer, parser and checker', () => {
    const codes = CODES.map((c) => c.code);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('every code is reported, with its severity, by some fixtures/errors/*.errors.txt', () => {
    const missing = CODES.filter((c) => !seen.has(`${c.code} ${c.severity}`)).map(
      (c) => `${c.code} (${c.severity}, ${c.from})`,
    );
    assert.deepEqual(missing, [], `codes without a fixture: add fixtures/errors/<theme>.pml showing them`);
  });

  it('fixtures report only known codes, with their declared severity', () => {
    const known = new Set(CODES.map((c) => `${c.code} ${c.severity}`));
    const stray = [...seen]
      .filter(([key]) => !known.has(key))
      .map(([key, files]) => `${key} in ${files.join(', ')}`);
    assert.deepEqual(stray, []);
  });

  it('every code has a row in docs/errors.md with its severity', () => {
    const wrong = CODES.filter((c) => rows.get(c.code) !== c.severity).map(
      (c) => `${c.code}: docs say ${rows.get(c.code) ?? 'nothing'}, ${c.from} says ${c.severity}`,
    );
    assert.deepEqual(wrong, []);
  });

  it('every checker fixture starts with a comment saying what mistake it shows', () => {
    const files = readdirSync(ERRORS_DIR).filter((n) => n.startsWith('check_') && n.endsWith('.pml'));
    assert.ok(files.length > 0, 'no check_*.pml fixtures');
    const bare = files.filter((f) => !readFileSync(join(ERRORS_DIR, f), 'utf8').startsWith('// '));
    assert.deepEqual(bare, []);
  });
});

describe('bundle, load and row codes are documented', () => {
  it('every PML30xx bundle code, PML32xx tuning code, PML4xxx load/row/input/call code has a row in docs/errors.md with its severity', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const codes = [
      ...Object.values(BUNDLE_CODES).map((c) => ({ code: c.code, severity: c.severity })),
      ...Object.values(ROW_ERRORS).map((c) => ({ code: `PML${c.code}`, severity: 'error' })),
      { code: 'PML4001', severity: 'error' },
      { code: 'PML4002', severity: 'error' },
      ...Object.values(RUNTIME_CODES).map((c) => ({ code: c.code, severity: c.severity })),
      ...Object.values(IMPORT_CODES).map((c) => ({ code: c.code, severity: c.severity })),
      ...Object.values(TRAIN_CODES).map((c) => ({ code: c.code, severity: 'error' })),
      ...Object.values(TUNE_CODES).map((c) => ({ code: c.code, severity: c.severity })),
    ];
    const missing = codes.filter(
      (c) => !new RegExp(`\\|\\s*${c.code}\\s*\\|\\s*${c.severity}\\s*\\|`).test(doc),
    );
    assert.deepEqual(missing, []);
  });
});
