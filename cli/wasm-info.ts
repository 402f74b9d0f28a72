// Reading a .wasm without instantiating it: its sections (id, name, size), imports, exports and the
// `proml.manifest` custom section. Input: module bytes. Output: a summary for `proml inspect`.
// A small hand-written reader (LEB128 + section headers) so inspecting needs no binaryen.

export interface WasmSection {
  id: number;
  name: string;
  size: number;
}

export interface WasmInfo {
  sections: WasmSection[];
  /** Number of imports, and the first one (import descriptions vary by kind; we stop there). */
  importCount: number;
  firstImport: { module: string; name: string } | null;
  exports: { name: string; kind: string }[];
  custom: Map<string, Uint8Array>;
}

const SECTION_NAMES = [
  'custom',
  'type',
  'import',
  'function',
  'table',
  'memory',
  'global',
  'export',
  'start',
  'element',
  'code',
  'data',
  'datacount',
];
const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'];

export class WasmFormatError extends Error {}

export function readWasmInfo(bytes: Uint8Array): WasmInfo {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    throw new WasmFormatError('not a WebAssembly module (bad magic number)');
  }
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new WasmFormatError('truncated module');
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new WasmFormatError('malformed LEB128 number');
    }
  };
  const name = (): string => {
    const len = u32();
    if (pos + len > bytes.length) throw new WasmFormatError('truncated name');
    const s = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(pos, pos + len));
    pos += len;
    return s;
  };
  const info: WasmInfo = { sections: [], importCount: 0, firstImport: null, exports: [], custom: new Map() };
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const size = u32();
    const end = pos + size;
    if (end > bytes.length) throw new WasmFormatError('a section runs past the end of the module');
    if (id === 0) {
      const n = name();
      info.custom.set(n, bytes.slice(pos, end));
      info.sections.push({ id, name: `custom "${n}"`, size });
    } else {
      info.sections.push({ id, name: SECTION_NAMES[id] ?? `unknown(${id})`, size });
      if (id === 2) {
        info.importCount = u32();
        if (info.importCount > 0) info.firstImport = { module: name(), name: name() };
      } else if (id === 7) {
        for (let k = u32(); k > 0; k--) {
          const n = name();
          const kind = bytes[pos++]!;
          u32();
          info.exports.push({ name: n, kind: EXPORT_KINDS[kind] ?? `kind ${kind}` });
        }
      }
    }
    pos = end;
  }
  return info;
}
