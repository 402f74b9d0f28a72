// The one hash function of proml (docs/abi.md, "Hashing"): MurmurHash3 x86_32 with a fixed seed,
// and how hash()/cross() turn strings, ints, labels and pairs into bytes and buckets.
// Input: byte strings, JS strings, int32 values. Output: unsigned 32-bit hashes and bucket indices.
// The wasm kernel (assembly/) implements the same bytes → u32 function; test vectors pin both.

/** The seed of every hash() / cross() in every model: the ASCII bytes "prml" read big-endian. */
export const HASH_SEED = 0x70726d6c;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86_32 of `bytes` (little-endian blocks), as an unsigned 32-bit integer. */
export function murmur3_32(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const n = bytes.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Tail: the remaining 1–3 bytes, little-endian.
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a JS string; lone surrogates become U+FFFD (as TextEncoder, and Arrow writers, do). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Hash of a string, a category label or a bag<string> item: murmur3 of its UTF-8 bytes. */
export function hashString(s: string): number {
  return murmur3_32(utf8(s), HASH_SEED);
}

/** Hash of an int or a bag<int> item: murmur3 of its 4 bytes, little-endian two's complement. */
export function hashInt(v: number): number {
  return murmur3_32(le32(v), HASH_SEED);
}

/** Hash of a cross pair: murmur3 of the 8 bytes le32(hash(a)) ++ le32(hash(b)); order matters. */
export function hashPair(ha: number, hb: number): number {
  const b = new Uint8Array(8);
  b.set(le32(ha), 0);
  b.set(le32(hb), 4);
  return murmur3_32(b, HASH_SEED);
}

/** The slot of a hash among `buckets` slots: the unsigned hash modulo buckets. */
export function bucketOf(hash: number, buckets: number): number {
  return (hash >>> 0) % buckets;
}

function le32(v: number): Uint8Array {
  const x = v | 0;
  return new Uint8Array([x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]);
}
