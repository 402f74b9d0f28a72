// WebAssembly text of a module, as `proml wat` prints it and as the golden .wat snapshots store it
// (test/emit/wat-golden.test.ts): binaryen's text format with every feature enabled.
// Input: module bytes (valid WebAssembly). Output: the text, ending in a newline. Imports binaryen:
// load this module only where binaryen is preloaded (cli/bin.mjs, scripts/preload-binaryen.mjs).

import binaryen from 'binaryen';

export function watText(bytes: Uint8Array): string {
  const m = binaryen.readBinary(bytes);
  try {
    m.setFeatures(binaryen.Features.All);
    return m.emitText();
  } finally {
    m.dispose();
  }
}
