// The text kernels lowerUtf8 / tokensUtf8 / ngramsUtf8 (assembly/text.ts) against the reference
// abi/text.ts: exhaustively over every Unicode scalar value, on worked examples, and as seeded
// fast-check properties over strings mixing many scripts. Also: the documented output capacities
// (docs/abi.md 5.2) hold and are tight, and assembly/unicode.ts is the generator's current output.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { codePoints, lower, lowerCodePoint, ngrams, tokens } from '../../abi/text.js';
import { LOWER_RUNS, WORD_RANGES } from '../../abi/unicode-tables.js';
import {
  kernelModuleBytes,
  lowerUtf8Capacity,
  ngramsUtf8Count,
  tokensUtf8Capacity,
} from '../../compiler/kernels.js';
import { ROOT } from '../helpers.js';
import { Kernels, codePointCount } from './kernels.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const utf8 = (s: string): Uint8Array => encoder.encode(s);
const utf8Len = (cp: number): number => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** Every Unicode scalar value, in order. */
function allScalars(): number[] {
  const out: number[] = [];
  for (let c = 0; c < 0x110000; c++) if (c < 0xd800 || c > 0xdfff) out.push(c);
  return out;
}

let k: Kernels;
before(async () => {
  k = new Kernels(await kernelModuleBytes());
});

/** The substrings of `text` at the kernel's (start, end) byte pairs (fatal decode: on boundaries). */
function slices(text: Uint8Array, pairs: [number, number][]): string[] {
  return pairs.map(([s, e]) => {
    assert.ok(0 <= s && s < e && e <= text.length, `pair (${s}, ${e}) in 0..${text.length}`);
    return decoder.decode(text.subarray(s, e));
  });
}
const kLower = (s: string): string => decoder.decode(k.lowerUtf8(utf8(s)));
const kTokens = (s: string): string[] => {
  const b = utf8(s);
  return slices(b, k.tokensUtf8(b));
};
const kNgrams = (s: string, n: number): string[] => {
  const b = utf8(s);
  return slices(b, k.ngramsUtf8(b, n));
};

describe('generated tables (assembly/unicode.ts)', () => {
  it('is what scripts/gen-unicode-as.mjs makes of abi/unicode-tables.ts', () => {
    const r = spawnSync(process.execPath, ['scripts/gen-unicode-as.mjs', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('holds the same integers as abi/unicode-tables.ts', () => {
    const text = readFileSync(join(ROOT, 'assembly', 'unicode.ts'), 'utf8');
    const table = (name: string): number[] => {
      const m = new RegExp(`export const ${name}: usize = memory\\.data<[iu]32>\\(\\[([^\\]]*)\\]\\)`).exec(
        text,
      );
      assert.ok(m !== null, name);
      return m[1]!
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
        .map(Number);
    };
    assert.deepEqual(table('WORD_RANGES'), WORD_RANGES);
    assert.deepEqual(table('LOWER_RUNS'), LOWER_RUNS);
    assert.match(text, new RegExp(`WORD_RANGE_COUNT: i32 = ${WORD_RANGES.length / 2};`));
    assert.match(text, new RegExp(`LOWER_RUN_COUNT: i32 = ${LOWER_RUNS.length / 4};`));
  });

  it('the module still imports nothing and exports the text kernels', async () => {
    const mod = new WebAssembly.Module(await kernelModuleBytes());
    assert.deepEqual(WebAssembly.Module.imports(mod), []);
    const fns = new Set(
      WebAssembly.Module.exports(mod)
        .filter((e) => e.kind === 'function')
        .map((e) => e.name),
    );
    for (const name of ['lowerUtf8', 'tokensUtf8', 'ngramsUtf8']) assert.ok(fns.has(name), name);
  });
});

describe('lowerUtf8', () => {
  it('growth bound: no mapping lengthens a code point by more than half, and 3/2 is reached', () => {
    let worst = 0;
    let worstCp = -1;
    for (const cp of allScalars()) {
      const to = lowerCodePoint(cp);
      if (to === cp) continue;
      const ratio = utf8Len(to) / utf8Len(cp);
      if (ratio > worst) [worst, worstCp] = [ratio, cp];
      assert.ok(2 * utf8Len(to) <= 3 * utf8Len(cp), `${hex(cp)} -> ${hex(to)}`);
    }
    assert.equal(worst, 1.5, `worst ratio ${worst} at ${hex(worstCp)}`);
    // so len + (len >> 1) bytes always suffice, and all-2-byte-growers fill them exactly
    const s = '\u023a'.repeat(1001);
    assert.equal(k.lowerUtf8(utf8(s)).length, lowerUtf8Capacity(utf8(s).length));
    assert.equal(kLower(s), lower(s));
  });

  it('every scalar value (0..0x10FFFF minus surrogates) maps as lowerCodePoint, in one buffer', () => {
    const cps = allScalars();
    const out = codePoints(kLower(fromAll(cps)));
    assert.equal(out.length, cps.length);
    for (let i = 0; i < cps.length; i++)
      if (out[i] !== lowerCodePoint(cps[i]!))
        assert.fail(`${hex(cps[i]!)}: kernel ${hex(out[i]!)}, reference ${hex(lowerCodePoint(cps[i]!))}`);
  });

  it('every scalar value alone (decode/encode at every length boundary)', () => {
    for (const cp of allScalars()) {
      const got = k.lowerUtf8(utf8(String.fromCodePoint(cp)));
      const want = utf8(String.fromCodePoint(lowerCodePoint(cp)));
      if (got.length !== want.length || got.some((b, i) => b !== want[i]))
        assert.fail(`${hex(cp)}: kernel [${got.join(',')}], reference [${want.join(',')}]`);
    }
  });

  it('worked examples: no context, no locale, no expansion', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['Hello, WORLD 42!', 'hello, world 42!'],
      ['ΟΔΥΣΣΕΥΣ', 'οδυσσευσ'], // no final sigma
      ['İSTANBUL ıI', 'istanbul ıi'], // İ -> i (simple), I -> i (no Turkish locale)
      ['\u212a\u2126\u212b', 'kωå'], // Kelvin, Ohm, Angstrom signs
      ['ȺȾ', 'ⱥⱦ'], // 2 bytes -> 3
      ['ẞ', 'ß'],
      ['ԱԲԳ Ⴀ Ა', 'աբգ ⴀ ა'], // Armenian, Georgian Asomtavruli and Mtavruli
      ['𐐀𐐁 𞤀', '𐐨𐐩 𞤢'], // Deseret, Adlam (astral)
      ['ⅫⒶ', 'ⅻⓐ'], // Nl and So with a mapping
      ['Ǆǅǆ', 'ǆǆǆ'],
      ['é\u0301 😀 中文', 'é\u0301 😀 中文'],
    ];
    for (const [s, want] of cases) {
      assert.equal(lower(s), want, `reference on ${JSON.stringify(s)}`);
      assert.equal(kLower(s), want, `kernel on ${JSON.stringify(s)}`);
    }
  });
});

describe('tokensUtf8', () => {
  it('letter/digit class of every scalar value (each alone between spaces) matches the reference', () => {
    const cps = allScalars();
    const s = cps.map((c) => String.fromCodePoint(c)).join(' ');
    const got = kTokens(s);
    const want = tokens(s);
    if (got.length !== want.length || got.some((t, i) => t !== want[i])) {
      const bad = cps.find((c) => {
        const one = String.fromCodePoint(c);
        return kTokens(one).length !== tokens(one).length;
      });
      assert.fail(`class differs at ${bad === undefined ? '?' : hex(bad)}`);
    }
    assert.equal(
      got.length,
      WORD_RANGES.reduce((a, x, i) => a + (i % 2 === 1 ? x - WORD_RANGES[i - 1]! + 1 : 0), 0),
    );
  });

  it('every scalar value in one run: the same maximal runs as the reference', () => {
    const s = fromAll(allScalars());
    assert.deepEqual(kTokens(s), tokens(s));
  });

  it('worked examples and the capacity bound, reached', () => {
    const cases: [string, string[]][] = [
      ['', []],
      ['   ', []],
      ['a', ['a']],
      ['Hello, world! 42x', ['Hello', 'world', '42x']],
      ['a-b a-b', ['a', 'b', 'a', 'b']],
      ['café naïve', ['café', 'naïve']],
      ['e\u0301t\u00e9', ['e', 'té']], // combining marks split tokens
      ['٣٤ १२ １２ 𝟘', ['٣٤', '१२', '１２', '𝟘']], // Nd of other scripts
      ['²Ⅻ½', []], // No, Nl: not letters or digits
      ['中文字 日本', ['中文字', '日本']],
      ['👍ok👍', ['ok']],
      ['𐐀𐐨\u00a0x\u3000y', ['𐐀𐐨', 'x', 'y']],
    ];
    for (const [s, want] of cases) {
      assert.deepEqual(tokens(s), want, `reference on ${JSON.stringify(s)}`);
      assert.deepEqual(kTokens(s), want, `kernel on ${JSON.stringify(s)}`);
    }
    for (const s of ['a a a a a', 'a a a a ', ' a a a', 'é 𐐀 中 ١']) {
      const b = utf8(s);
      const cap = tokensUtf8Capacity(codePointCount(b));
      assert.equal(k.tokensUtf8(b).length, cap, JSON.stringify(s));
    }
  });
});

describe('ngramsUtf8', () => {
  it('worked examples, counts and n < 1', () => {
    assert.deepEqual(kNgrams('abc', 2), ['ab', 'bc']);
    assert.deepEqual(kNgrams('é😀中', 2), ['é😀', '😀中']);
    assert.deepEqual(kNgrams('é😀中', 3), ['é😀中']);
    assert.deepEqual(kNgrams('é😀中', 4), []);
    assert.deepEqual(kNgrams('', 1), []);
    assert.deepEqual(kNgrams('x', 1), ['x']);
    const b = utf8('abc');
    const ex = k.ex;
    const base = ex.heapBase();
    new Uint8Array(ex.memory.buffer, base, 3).set(b);
    assert.equal(ex.ngramsUtf8(base, 3, 0, base + 64), 0);
    assert.equal(ex.ngramsUtf8(base, 3, -1, base + 64), 0);
    assert.equal(ngramsUtf8Count(3, 0), 0);
  });

  it('every scalar value in one text, n = 1..8', () => {
    const cps = allScalars().filter((_, i) => i % 97 === 0 || i < 300);
    const s = fromAll(cps);
    for (let n = 1; n <= 8; n++) assert.deepEqual(kNgrams(s, n), ngrams(s, n), `n = ${n}`);
  });
});

// ── properties: random strings from a mix of scripts and classes ─────────────────────────────────

/** Code point ranges to draw from, each with a weight. */
const MIX: [number, number, number][] = [
  [0x20, 0x7e, 30], // ASCII printable
  [0x09, 0x0d, 3], // ASCII whitespace
  [0xa0, 0xff, 8], // Latin-1
  [0x100, 0x24f, 8], // Latin Extended-A/B (Ⱥ, Ǆ, ...)
  [0x130, 0x131, 3], // Turkish İ ı
  [0x300, 0x36f, 4], // combining marks
  [0x370, 0x3ff, 6], // Greek
  [0x1f00, 0x1fff, 3], // Greek Extended
  [0x400, 0x52f, 6], // Cyrillic
  [0x530, 0x58f, 3], // Armenian
  [0x10a0, 0x10ff, 3], // Georgian
  [0x1c90, 0x1cbf, 2], // Georgian Mtavruli
  [0x13a0, 0x13ff, 2], // Cherokee (-> U+AB70..)
  [0x2126, 0x212b, 3], // Ohm, Kelvin, Angstrom
  [0x2160, 0x2188, 2], // Roman numerals (Nl)
  [0x24b6, 0x24e9, 2], // circled letters (So)
  [0x1e00, 0x1eff, 3], // Latin Extended Additional (ẞ)
  [0x2c00, 0x2c7f, 2], // Glagolitic, Latin Extended-C
  [0xa640, 0xa7ff, 2], // Cyrillic/Latin Extended
  [0x10400, 0x1044f, 3], // Deseret
  [0x1e900, 0x1e95f, 2], // Adlam
  [0x4e00, 0x9fff, 5], // CJK
  [0x20000, 0x2a6df, 2], // CJK Extension B
  [0x660, 0x669, 2], // Arabic-Indic digits
  [0x966, 0x96f, 2], // Devanagari digits
  [0xff10, 0xff5a, 2], // fullwidth digits and letters
  [0x1d7ce, 0x1d7ff, 2], // mathematical digits
  [0xb2, 0xbe, 2], // superscripts, fractions (No)
  [0x1f300, 0x1faff, 4], // emoji
  [0x200b, 0x200d, 2], // zero-width space/joiners
  [0xfe00, 0xfe0f, 1], // variation selectors
  [0x2000, 0x206f, 3], // general punctuation and spaces
  [0x3000, 0x303f, 2], // CJK punctuation, ideographic space
  [0xd800, 0xdfff, 1], // lone surrogates (U+FFFD in UTF-8, as in the reference)
  [0, 0x10ffff, 3], // anything
];
const unit = fc.oneof(
  ...MIX.map(([lo, hi, weight]) => ({
    weight,
    arbitrary: fc
      .integer({ min: lo, max: hi })
      .map((c) => (c >= 0xd800 && c <= 0xdfff ? String.fromCharCode(c) : String.fromCodePoint(c))),
  })),
);
const text = fc.string({ unit, maxLength: 48 });
const RUNS = 3000;

describe('properties (fast-check, seeded)', () => {
  it('lowerUtf8 = lower, within len + (len >> 1) bytes', () => {
    fc.assert(
      fc.property(text, (s) => {
        assert.equal(kLower(s), lower(s));
      }),
      { seed: 0x10e3, numRuns: RUNS },
    );
  });

  it('tokensUtf8 = tokens, within (code points + 1) >> 1 pairs', () => {
    fc.assert(
      fc.property(text, (s) => {
        assert.deepEqual(kTokens(s), tokens(s));
      }),
      { seed: 0x70c5, numRuns: RUNS },
    );
  });

  it('tokensUtf8 on word-heavy text (long runs, few separators)', () => {
    const wordy = fc.string({
      unit: fc.oneof(
        { weight: 10, arbitrary: fc.constantFrom('a', 'Z', '7', 'é', 'Ж', 'ա', '中', '𐐀', '٣', 'ǅ') },
        { weight: 1, arbitrary: unit },
      ),
      maxLength: 64,
    });
    fc.assert(
      fc.property(wordy, (s) => {
        assert.deepEqual(kTokens(s), tokens(s));
      }),
      { seed: 0x70c6, numRuns: RUNS },
    );
  });

  it('ngramsUtf8 = ngrams for n = 1..8, exactly code points - n + 1 pairs', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 8 }), (s, n) => {
        const got = kNgrams(s, n);
        assert.deepEqual(got, ngrams(s, n));
        assert.equal(got.length, ngramsUtf8Count(codePoints(s).length, n));
      }),
      { seed: 0x9a55, numRuns: RUNS },
    );
  });
});

/** A string of many code points (String.fromCodePoint(...xs) overflows the stack on ~1M arguments). */
function fromAll(cps: readonly number[]): string {
  let s = '';
  for (let i = 0; i < cps.length; i += 0x4000) s += String.fromCodePoint(...cps.slice(i, i + 0x4000));
  return s;
}
