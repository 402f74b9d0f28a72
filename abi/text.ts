// The DSL's text semantics, exactly (docs/abi.md, "Text semantics"): code points, the simple
// lowercase mapping, letter/digit classes, tokens, n-grams and lengths.
// Input: JS strings (lone surrogates read as U+FFFD, as their UTF-8 encoding does). Output: the
// values lower()/tokens()/ngrams()/length() return. Tables come from abi/unicode-tables.ts (pinned).

import { LOWER_RUNS, WORD_RANGES } from './unicode-tables.js';

export { UNICODE_VERSION } from './unicode-tables.js';

/** The code points of a string; an unpaired surrogate is U+FFFD. */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out.push(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
        i++;
        continue;
      }
    }
    out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
  }
  return out;
}

function fromCodePoints(cps: readonly number[]): string {
  let s = '';
  for (const c of cps) s += String.fromCodePoint(c);
  return s;
}

/** Whether a code point is a Unicode letter (L*) or decimal digit (Nd). */
export function isWordCodePoint(cp: number): boolean {
  let lo = 0;
  let hi = WORD_RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < WORD_RANGES[2 * mid]!) hi = mid - 1;
    else if (cp > WORD_RANGES[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The simple lowercase mapping of one code point (itself when it has none). */
export function lowerCodePoint(cp: number): number {
  let lo = 0;
  let hi = LOWER_RUNS.length / 4 - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (LOWER_RUNS[4 * mid]! <= cp) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return cp;
  const first = LOWER_RUNS[4 * found]!;
  const last = LOWER_RUNS[4 * found + 1]!;
  const stride = LOWER_RUNS[4 * found + 2]!;
  if (cp > last || (cp - first) % stride !== 0) return cp;
  return cp + LOWER_RUNS[4 * found + 3]!;
}

/** `lower(s)`: every code point through the simple lowercase mapping; no context, no locale. */
export function lower(s: string): string {
  return fromCodePoints(codePoints(s).map(lowerCodePoint));
}

/** `tokens(s)`: maximal runs of letters/digits, in order, repeats kept. */
export function tokens(s: string): string[] {
  const out: string[] = [];
  let cur: number[] = [];
  for (const c of codePoints(s)) {
    if (isWordCodePoint(c)) cur.push(c);
    else if (cur.length > 0) {
      out.push(fromCodePoints(cur));
      cur = [];
    }
  }
  if (cur.length > 0) out.push(fromCodePoints(cur));
  return out;
}

/** `ngrams(s, n)`: every window of n consecutive code points, in order; [] when shorter than n. */
export function ngrams(s: string, n: number): string[] {
  const cps = codePoints(s);
  const out: string[] = [];
  for (let i = 0; i + n <= cps.length; i++) out.push(fromCodePoints(cps.slice(i, i + n)));
  return out;
}

/** `length(s)`: the number of code points. */
export function length(s: string): number {
  return codePoints(s).length;
}
