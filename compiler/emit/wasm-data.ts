// Appends active data segments to an emitted WebAssembly binary, outside binaryen: large constant
// tables (linear weights, tree arrays) skip binaryen's optimiser, whose segment passes (memory
// packing) cost seconds per few MB and cannot improve them. Input: module bytes, segments
// (address, bytes) for memory 0. Output: new module bytes with the Data section (id 11) extended
// and the DataCount section (id 12), when present, updated. Nothing else changes.

import { CompileError } from './errors.js';

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function readUleb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: at };
    shift += 7;
  }
}

export function appendDataSegments(
  module: Uint8Array,
  extra: readonly { at: number; data: Uint8Array }[],
): Uint8Array {
  if (extra.length === 0) return module;
  const sections: { id: number; payload: Uint8Array }[] = [];
  let at = 8;
  while (at < module.length) {
    const id = module[at]!;
    const { value: size, next } = readUleb(module, at + 1);
    sections.push({ id, payload: module.subarray(next, next + size) });
    at = next + size;
  }
  const encoded: number[][] = extra.map((s) => [0, 0x41, ...sleb(s.at | 0), 0x0b, ...uleb(s.data.length)]);
  const extraBytes = extra.reduce((t, s, i) => t + encoded[i]!.length + s.data.length, 0);
  let data = sections.find((s) => s.id === 11);
  if (data === undefined) {
    // no Data section yet: one goes after the Code section (id 10), before custom sections that follow it
    const code = sections.findIndex((s) => s.id === 10);
    if (code < 0) throw new CompileError('invalidModule', 'internal error: the module has no code section');
    data = { id: 11, payload: new Uint8Array([0]) };
    sections.splice(code + 1, 0, data);
  }
  const { value: count, next } = readUleb(data.payload, 0);
  const head = uleb(count + extra.length);
  const payload = new Uint8Array(head.length + (data.payload.length - next) + extraBytes);
  payload.set(head, 0);
  payload.set(data.payload.subarray(next), head.length);
  let w = head.length + data.payload.length - next;
  extra.forEach((s, i) => {
    payload.set(encoded[i]!, w);
    w += encoded[i]!.length;
    payload.set(s.data, w);
    w += s.data.length;
  });
  data.payload = payload;
  const dc = sections.find((s) => s.id === 12);
  if (dc !== undefined) dc.payload = new Uint8Array(uleb(readUleb(dc.payload, 0).value + extra.length));
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  for (const s of sections) parts.push(new Uint8Array([s.id, ...uleb(s.payload.length)]), s.payload);
  const total = parts.reduce((t, p) => t + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The module with its custom section `name` replaced by `payload` (appended when it has none):
 * `proml tune` records its measurements in the manifest of the module it timed, without
 * recompiling it. Every other section is kept byte for byte.
 */
export function replaceCustomSection(module: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const content = new Uint8Array([...uleb(nameBytes.length), ...nameBytes, ...payload]);
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  let at = 8;
  let replaced = false;
  while (at < module.length) {
    const id = module[at]!;
    const { value: size, next } = readUleb(module, at + 1);
    const end = next + size;
    let keep = true;
    if (id === 0 && !replaced) {
      const { value: len, next: nameAt } = readUleb(module, next);
      const own = new TextDecoder().decode(module.subarray(nameAt, nameAt + len));
      if (own === name) {
        parts.push(new Uint8Array([0, ...uleb(content.length)]), content);
        replaced = true;
        keep = false;
      }
    }
    if (keep) parts.push(module.subarray(at, end));
    at = end;
  }
  if (!replaced) parts.push(new Uint8Array([0, ...uleb(content.length)]), content);
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
