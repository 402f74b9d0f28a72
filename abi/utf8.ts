// UTF-8 encoding without an allocation per string: how the runtime writes string and bag<string>
// columns straight into one buffer (a TextEncoder.encode per string costs a backing store each,
// 1–4 µs on this VM, measured; a 35-token row spent 40 µs there).
// Input: JS strings. Output: byte lengths, and bytes written into a caller's Uint8Array.
// Same bytes as TextEncoder (lone surrogates become U+FFFD, EF BF BD); tested against it.
// Browser-safe.

const encoder = new TextEncoder();

/** Strings at least this long go through TextEncoder.encodeInto (its native ASCII path wins there). */
const NATIVE_FROM = 48;

/** The UTF-8 byte length of `s` (lone surrogates count as U+FFFD: 3 bytes). */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else len += 2;
  }
  return len;
}

/**
 * Writes the UTF-8 bytes of `s` into out[at..] and returns the index after them. `out` must have
 * room for utf8Length(s) bytes from `at`.
 */
export function utf8Into(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  if (n >= NATIVE_FROM) return at + encoder.encodeInto(s, out.subarray(at)).written;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
      continue;
    }
    if ((c & 0xf800) === 0xd800) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if ((c & 0xfc00) === 0xd800 && (d & 0xfc00) === 0xdc00) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out[at++] = 0xf0 | (cp >> 18);
        out[at++] = 0x80 | ((cp >> 12) & 0x3f);
        out[at++] = 0x80 | ((cp >> 6) & 0x3f);
        out[at++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd; // a lone surrogate
    }
    out[at++] = 0xe0 | (c >> 12);
    out[at++] = 0x80 | ((c >> 6) & 0x3f);
    out[at++] = 0x80 | (c & 0x3f);
  }
  return at;
}
