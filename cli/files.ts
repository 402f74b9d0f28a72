// File helpers shared by the CLI commands. Input: a path and bytes. Output: the file, written whole or
// not at all.

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Writes a file atomically (temporary file beside it, then rename): never a half-written output. */
export function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(resolve(path)), `.${Date.now()}-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
