#!/usr/bin/env node
// Builds the kernel module: assembly/ → one SIMD128 wasm with no imports, via asc.main in process
// (options in asconfig.json). Usage: node scripts/build-kernels.mjs [--out FILE] [--wat FILE].
// Output: FILE (default dist/kernels.wasm), written atomically; exits 1 on a compile error or if the
// module imports anything. Plain Node on purpose: under tsx, importing asc + binaryen takes ~25 s.
/* global WebAssembly */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import asc from 'assemblyscript/asc';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = resolve(flag('--out') ?? join(root, 'dist', 'kernels.wasm'));
const watOut = flag('--wat');

const t0 = performance.now();
const outputs = new Map();
const ascArgs = ['--config', 'asconfig.json', '--target', 'release', '--outFile', 'kernels.wasm'];
if (watOut !== undefined) ascArgs.push('--textFile', 'kernels.wat');
const result = await asc.main(ascArgs, {
  readFile: (name, baseDir) => {
    try {
      return readFileSync(resolve(root, baseDir, name), 'utf8');
    } catch {
      return null;
    }
  },
  writeFile: (name, contents) => outputs.set(name, contents),
  listFiles: () => [],
  stdout: asc.createMemoryStream(),
  stderr: asc.createMemoryStream(),
});
if (result.error !== null) {
  console.error(`kernel build failed: ${result.error.message}\n${result.stderr.toString()}`);
  process.exit(1);
}
const wasm = outputs.get('kernels.wasm');
const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
if (imports.length > 0) {
  console.error(
    `kernel build failed: the module imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}`,
  );
  process.exit(1);
}
function writeAtomic(file, contents) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}
writeAtomic(out, wasm);
if (watOut !== undefined) writeAtomic(resolve(watOut), outputs.get('kernels.wat'));
console.log(`${out}: ${wasm.length} bytes, ${(performance.now() - t0).toFixed(0)} ms`);
