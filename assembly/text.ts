// Text and hashing kernels for generated code (docs/abi.md 5.1, 5.2): MurmurHash3 x86_32 over a
// byte range, strict UTF-8 validation, code point counting, byte-range equality, and the DSL's
// lower/tokens/ngrams over UTF-8 (tables: assembly/unicode.ts, generated from abi/unicode-tables.ts).
// Input: byte offsets and lengths in linear memory (text already checked by utf8Valid). Output: u32
// hashes, 0/1 flags, counts, lowercased bytes, (start, end) byte-offset pairs.
// Must match abi/hash.ts and abi/text.ts bit for bit (test/emit/ and test/assembly/text.test.ts
// check them differentially).

import { LOWER_RUNS, LOWER_RUN_COUNT, WORD_RANGES, WORD_RANGE_COUNT } from './unicode';

/** MurmurHash3 x86_32 of the `len` bytes at `ptr` (little-endian 4-byte blocks, tail, fmix32). */
export function murmur3(ptr: usize, len: i32, seed: u32): u32 {
  let h: u32 = seed;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k: u32 = load<u32>(ptr + <usize>i);
    k *= 0xcc9e2d51;
    k = rotl<u32>(k, 15);
    k *= 0x1b873593;
    h ^= k;
    h = rotl<u32>(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k: u32 = 0;
    const t = ptr + <usize>blocks;
    if (tail == 3) k ^= (<u32>load<u8>(t + 2)) << 16;
    if (tail >= 2) k ^= (<u32>load<u8>(t + 1)) << 8;
    k ^= <u32>load<u8>(t);
    k *= 0xcc9e2d51;
    k = rotl<u32>(k, 15);
    k *= 0x1b873593;
    h ^= k;
  }
  h ^= <u32>len;
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** 1 when the `len` bytes at `ptr` are well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
export function utf8Valid(ptr: usize, len: i32): i32 {
  let i = 0;
  while (i < len) {
    const b0 = <u32>load<u8>(ptr + <usize>i);
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need = 0;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 == 0xe0) lo = 0xa0;
      else if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 == 0xf0) lo = 0x90;
      else if (b0 == 0xf4) hi = 0x8f;
    } else return 0;
    if (i + need >= len) return 0;
    const b1 = <u32>load<u8>(ptr + <usize>(i + 1));
    if (b1 < lo || b1 > hi) return 0;
    for (let k = 2; k <= need; k++) {
      const b = <u32>load<u8>(ptr + <usize>(i + k));
      if (b < 0x80 || b > 0xbf) return 0;
    }
    i += need + 1;
  }
  return 1;
}

/** The number of code points of the (valid) UTF-8 text at `ptr`: bytes that are not continuations. */
export function codePointCount(ptr: usize, len: i32): i32 {
  let n = 0;
  for (let i = 0; i < len; i++) if (((<u32>load<u8>(ptr + <usize>i)) & 0xc0) != 0x80) n++;
  return n;
}

/** 1 when the `len` bytes at `a` equal those at `b`. */
export function bytesEqual(a: usize, b: usize, len: i32): i32 {
  for (let i = 0; i < len; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return 0;
  return 1;
}

// ── lower / tokens / ngrams over valid UTF-8 ────────────────────────────────────────────────────

/** Byte length of the UTF-8 sequence that starts with lead byte `b0` (valid input only). */
function seqLen(b0: u32): i32 {
  return b0 < 0x80 ? 1 : b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
}

/** The code point of the valid `n`-byte UTF-8 sequence at `p` whose lead byte is `b0`. */
function decodeAt(p: usize, b0: u32, n: i32): u32 {
  if (n == 1) return b0;
  const b1 = (<u32>load<u8>(p + 1)) & 0x3f;
  if (n == 2) return ((b0 & 0x1f) << 6) | b1;
  const b2 = (<u32>load<u8>(p + 2)) & 0x3f;
  if (n == 3) return ((b0 & 0x0f) << 12) | (b1 << 6) | b2;
  return ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | ((<u32>load<u8>(p + 3)) & 0x3f);
}

/** Writes the UTF-8 encoding of `cp` (a scalar value) at `p`; returns its byte length. */
function encodeAt(p: usize, cp: u32): i32 {
  if (cp < 0x80) {
    store<u8>(p, <u8>cp);
    return 1;
  }
  if (cp < 0x800) {
    store<u8>(p, <u8>(0xc0 | (cp >> 6)));
    store<u8>(p + 1, <u8>(0x80 | (cp & 0x3f)));
    return 2;
  }
  if (cp < 0x10000) {
    store<u8>(p, <u8>(0xe0 | (cp >> 12)));
    store<u8>(p + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
    store<u8>(p + 2, <u8>(0x80 | (cp & 0x3f)));
    return 3;
  }
  store<u8>(p, <u8>(0xf0 | (cp >> 18)));
  store<u8>(p + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
  store<u8>(p + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
  store<u8>(p + 3, <u8>(0x80 | (cp & 0x3f)));
  return 4;
}

/** Whether `cp` is a letter (L*) or decimal digit (Nd): binary search of WORD_RANGES (abi/text.ts). */
function isWordCodePoint(cp: u32): bool {
  if (cp < 0x80) return cp - 0x30 < 10 || (cp | 0x20) - 0x61 < 26;
  let lo = 0;
  let hi = WORD_RANGE_COUNT - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = WORD_RANGES + ((<usize>mid) << 3);
    if (cp < load<u32>(at)) hi = mid - 1;
    else if (cp > load<u32>(at, 4)) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The simple lowercase mapping of `cp`: the last run with first <= cp, as in abi/text.ts. */
function lowerCodePoint(cp: u32): u32 {
  if (cp < 0x80) return cp - 0x41 < 26 ? cp + 32 : cp;
  const c = <i32>cp;
  let lo = 0;
  let hi = LOWER_RUN_COUNT - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (load<i32>(LOWER_RUNS + ((<usize>mid) << 4)) <= c) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return cp;
  const run = LOWER_RUNS + ((<usize>found) << 4);
  const first = load<i32>(run);
  if (c > load<i32>(run, 4) || (c - first) % load<i32>(run, 8) != 0) return cp;
  return <u32>(c + load<i32>(run, 12));
}

/**
 * `lower(s)`: the `len` bytes of valid UTF-8 at `src`, each code point through the simple lowercase
 * mapping, written to `dst` (must not overlap `src`); returns the bytes written. No mapping lengthens
 * a code point's UTF-8 by more than half (2 bytes -> 3 at most, e.g. U+023A -> U+2C65), so `dst`
 * needs at most len + (len >> 1) bytes (docs/abi.md 5.2).
 */
export function lowerUtf8(src: usize, len: i32, dst: usize): i32 {
  let i = 0;
  let o = 0;
  while (i < len) {
    const p = src + <usize>i;
    const b0 = <u32>load<u8>(p);
    if (b0 < 0x80) {
      store<u8>(dst + <usize>o, <u8>(b0 - 0x41 < 26 ? b0 + 32 : b0));
      i++;
      o++;
      continue;
    }
    const n = seqLen(b0);
    o += encodeAt(dst + <usize>o, lowerCodePoint(decodeAt(p, b0, n)));
    i += n;
  }
  return o;
}

/**
 * `tokens(s)`: the maximal runs of letters/digits of the `len` bytes of valid UTF-8 at `src`, in
 * order, written to `out` as i32 pairs (start, end) of byte offsets relative to `src` (end
 * exclusive); returns the number of pairs. Needs at most (code points + 1) >> 1 pairs (8 bytes each).
 */
export function tokensUtf8(src: usize, len: i32, out: usize): i32 {
  let count = 0;
  let start = -1;
  let i = 0;
  while (i < len) {
    const p = src + <usize>i;
    const b0 = <u32>load<u8>(p);
    const n = seqLen(b0);
    if (isWordCodePoint(decodeAt(p, b0, n))) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      const q = out + ((<usize>count) << 3);
      store<i32>(q, start);
      store<i32>(q, i, 4);
      count++;
      start = -1;
    }
    i += n;
  }
  if (start >= 0) {
    const q = out + ((<usize>count) << 3);
    store<i32>(q, start);
    store<i32>(q, len, 4);
    count++;
  }
  return count;
}

/**
 * `ngrams(s, n)`: every window of `n` consecutive code points of the `len` bytes of valid UTF-8 at
 * `src`, in order, written to `out` as i32 pairs (start, end) of byte offsets relative to `src`;
 * returns the number of pairs: code points - n + 1, or 0 when there are fewer than n (or n < 1).
 */
export function ngramsUtf8(src: usize, len: i32, n: i32, out: usize): i32 {
  if (n < 1) return 0;
  let end = 0;
  for (let k = 0; k < n; k++) {
    if (end >= len) return 0;
    end += seqLen(<u32>load<u8>(src + <usize>end));
  }
  let start = 0;
  let count = 0;
  while (true) {
    const q = out + ((<usize>count) << 3);
    store<i32>(q, start);
    store<i32>(q, end, 4);
    count++;
    if (end >= len) break;
    start += seqLen(<u32>load<u8>(src + <usize>start));
    end += seqLen(<u32>load<u8>(src + <usize>end));
  }
  return count;
}
