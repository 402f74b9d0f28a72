// The scorer side of test/emit/identity.test.ts, run in a separate process or a worker thread.
// Input: a job file (raw.ts IdentityJobFile: .wasm paths, rows, bundles) named by argv[2] in a child
// process (`node --import tsx test/emit/identity-child.ts <file>`), or by workerData.jobFile in a
// worker (started through identity-worker.mjs, which registers tsx first).
// Output: an IdentityReport, as one JSON line on stdout (process) or one message (worker).

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runIdentityJobs } from './raw.js';

if (isMainThread) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: identity-child.ts <job file>');
  process.stdout.write(JSON.stringify(runIdentityJobs(file)) + '\n');
} else {
  const { jobFile } = workerData as { jobFile: string };
  parentPort!.postMessage(runIdentityJobs(jobFile));
}
