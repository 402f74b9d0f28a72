// Shared bench environment: the machine line every results file carries, today's date, and the
// results directory. Input: none (os, process). Output: strings / a path.

import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export const RESULTS_DIR = join(new URL('.', import.meta.url).pathname, 'results');

/** `AMD EPYC × 2, 24 GiB, Node v20.20.2, linux` (CPU model × logical cores). */
export function machine(): string {
  return `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
}

/** YYYY-MM-DD (UTC). */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
