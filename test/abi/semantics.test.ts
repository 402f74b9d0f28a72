// The pinned semantics abi/ defines for every engine: MurmurHash3 against published vectors and our
// seed, the hash byte encodings, Unicode text functions (tables vs this Node's ICU when its Unicode
// version is the pinned one), the rows CSV encoding, the status word of rejected rows, and the
// runtime's allocation-free UTF-8 writer (same bytes as TextEncoder on random strings).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HASH_SEED,
  ROW_ERRORS,
  UNICODE_VERSION,
  bucketOf,
  decodeStatus,
  formatRowsCsv,
  hashInt,
  hashPair,
  hashString,
  isWordCodePoint,
  length,
  lower,
  lowerCodePoint,
  murmur3_32,
  ngrams,
  parseRowsCsv,
  statusWord,
  tokens,
  utf8,
  utf8Into,
  utf8Length,
  type CsvColumn,
} from '../../abi/index.js';

describe('murmur3_32', () => {
  it('matches published MurmurHash3 x86_32 vectors', () => {
    const vectors: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['test', 0, 0xba6bd213],
      ['a', 0x9747b28c, 0x7fa09ea6],
      ['abc', 0, 0xb3dd93fa],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ];
    for (const [s, seed, want] of vectors) assert.equal(murmur3_32(utf8(s), seed), want, JSON.stringify(s));
  });

  it('pins proml hashes: seed "prml", UTF-8 strings, le32 ints, pairs of hashes', () => {
    assert.equal(HASH_SEED, 0x70726d6c);
    assert.equal(hashString('hello'), 0x752a14dd);
    assert.equal(hashString('café'), 0x51b3a27e);
    assert.equal(hashString('red'), 0x45a4c3c2);
    assert.equal(hashInt(7), 0xfd38e3bd);
    assert.equal(hashInt(-1), 0xa4af2579);
    assert.equal(hashInt(-1), murmur3_32(new Uint8Array([255, 255, 255, 255]), HASH_SEED));
    assert.equal(hashPair(hashString('red'), hashString('a')), 0x657cd292);
    assert.notEqual(
      hashPair(hashString('a'), hashString('red')),
      hashPair(hashString('red'), hashString('a')),
    );
    assert.equal(bucketOf(0xffffffff, 10), 5); // unsigned modulo
    assert.equal(bucketOf(hashString('hello'), 16), 13);
  });
});

describe('text semantics', () => {
  it('lower is the simple, context-free lowercase mapping', () => {
    assert.equal(lower('HELLO Wörld'), 'hello wörld');
    assert.equal(lower('ΟΔΟΣ'), 'οδοσ'); // no final-sigma rule (toLowerCase would give 'οδος')
    assert.equal(lower('İ'), 'i'); // simple mapping; toLowerCase gives 'i̇'
    assert.equal(lower('ǅ'), 'ǆ');
    assert.equal(lower('ß'), 'ß');
    assert.equal(lower('😀A'), '😀a');
  });

  it('tokens split on everything but letters and decimal digits', () => {
    assert.deepEqual(tokens('Hello, world! 2x_y'), ['Hello', 'world', '2x', 'y']);
    assert.deepEqual(tokens('日本語 ١٢٣-café'), ['日本語', '١٢٣', 'café']);
    assert.deepEqual(tokens('fr33 m0ney!!'), ['fr33', 'm0ney']);
    assert.deepEqual(tokens(' ,; '), []);
    assert.deepEqual(tokens('e\u0301'), ['e']); // combining marks are not letters: send NFC text
  });

  it('ngrams and length count code points', () => {
    assert.deepEqual(ngrams('abcd', 3), ['abc', 'bcd']);
    assert.deepEqual(ngrams('a😀b', 2), ['a😀', '😀b']);
    assert.deepEqual(ngrams('ab', 3), []);
    assert.deepEqual(ngrams('aaa', 1), ['a', 'a', 'a']);
    assert.equal(length('a😀é'), 3);
    assert.equal(length('\ud800x'), 2); // a lone surrogate is one U+FFFD
  });

  it('tables agree with this Node (when it has the pinned Unicode version)', (t) => {
    if (process.versions.unicode !== UNICODE_VERSION) {
      t.skip(`Node has Unicode ${process.versions.unicode}, tables are ${UNICODE_VERSION}`);
      return;
    }
    const word = /^[\p{L}\p{Nd}]$/u;
    for (let c = 0; c < 0x110000; c += c < 0x3000 ? 1 : 7) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      assert.equal(isWordCodePoint(c), word.test(s), `class of U+${c.toString(16)}`);
      const full = [...s.toLowerCase()];
      if (full.length === 1)
        assert.equal(lowerCodePoint(c), full[0]!.codePointAt(0), `lower of U+${c.toString(16)}`);
    }
  });
});

describe('UTF-8 writer (utf8Length / utf8Into)', () => {
  it('writes the bytes TextEncoder writes, lone surrogates included, short and long strings', () => {
    const enc = new TextEncoder();
    // code units from every UTF-8 length class, plus both surrogate halves on their own
    const pool = [
      0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xe9, 0x4e2d, 0xfffd, 0xffff, 0xd83d, 0xde00, 0xdbff, 0xdc00,
    ];
    let seed = 12345;
    const next = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const strings = ['', 'plain ascii', '😀', 'a\ud800', '\udc00b', 'x'.repeat(200) + '\ud83d'];
    for (let i = 0; i < 3000; i++) {
      const len = next(i % 10 === 0 ? 120 : 12);
      strings.push(String.fromCharCode(...Array.from({ length: len }, () => pool[next(pool.length)]!)));
    }
    const out = new Uint8Array(4096);
    for (const s of strings) {
      const want = enc.encode(s);
      assert.equal(utf8Length(s), want.length, JSON.stringify(s));
      out.fill(0xaa);
      const end = utf8Into(s, out, 7);
      assert.equal(end, 7 + want.length, JSON.stringify(s));
      assert.deepEqual(out.subarray(7, end), want, JSON.stringify(s));
      assert.equal(out[end], 0xaa, 'writes nothing past its bytes');
    }
  });
});

describe('rows CSV', () => {
  const columns: CsvColumn[] = [
    { name: 'x', kind: 'number' },
    { name: 'b', kind: 'bool' },
    { name: 's', kind: 'string' },
    { name: 'tags', kind: 'strings' },
    { name: 'v', kind: 'numbers' },
  ];
  it('round-trips missing, empty strings, quotes, NaN, bags and vectors', () => {
    const rows = [
      { x: 1.5, b: true, s: 'a,"b"\nc', tags: ['x', 'y,z'], v: [1, NaN, -Infinity] },
      { x: null, b: null, s: '', tags: [], v: null },
      { x: NaN, b: false, s: null, tags: null, v: [] },
      { x: -0.1, b: false, s: ' padded ', tags: ['é😀'], v: [3.4028234663852886e38] },
    ];
    const text = formatRowsCsv(rows, columns);
    assert.ok(text.includes('\n,,"",[],\n'), text);
    const back = parseRowsCsv(text, columns);
    assert.deepEqual(back, rows);
  });
  it('rejects unknown columns and bad cells', () => {
    assert.throws(() => parseRowsCsv('x,y\n1,2\n', [{ name: 'x', kind: 'number' }]), /unknown column 'y'/);
    assert.throws(() => parseRowsCsv('x\nabc\n', [{ name: 'x', kind: 'number' }]), /not a number/);
  });
});

describe('row status words', () => {
  it('pack the input index and the PML41xx number', () => {
    const w = statusWord(3, 'outOfRange');
    assert.equal(w, (3 << 16) | 4102);
    assert.deepEqual(decodeStatus(w), { input: 3, code: ROW_ERRORS.outOfRange.code });
    assert.equal(decodeStatus(0), null);
  });
});
