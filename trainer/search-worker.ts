// A search trial in a worker thread (trainer/search.ts runs a piscina pool of these). workerData is
// the search's TrialContext, structured-cloned once per worker: the block's prepared rows, its
// checked components (plain data), the fixed hyperparameters and the space. The worker imports no
// compiler front end and no binaryen, so it starts in well under a second; a block with an mlp
// component loads tfjs in the worker at its first trial (about 1.5 s, once per worker).
// Input: { x } (one sample). Output: TrialResult, the same numbers runTrial gives in the main thread.

import { workerData } from 'node:worker_threads';
import type { HyperValue } from '../compiler/typed.js';
import { runTrial, type TrialContext, type TrialResult } from './search.js';

const ctx = workerData as TrialContext;

export default function trial(task: { x: HyperValue[] }): Promise<TrialResult> {
  return runTrial(ctx, task.x);
}
