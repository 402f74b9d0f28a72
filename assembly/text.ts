// Text and hashing kernels for generated code (docs/abi.md 5.1, 5.2): MurmurHash3 x86_32 over a
// byte range, strict UTF-8 validation, code point counting and byte-range equality.
// Input: byte offsets and lengths in linear memory. Output: u32 hashes, 0/1 flags, counts.
// Must match abi/hash.ts and abi/text.ts bit for bit (test/emit/ checks them differentially).

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
