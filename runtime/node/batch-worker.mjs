// Worker-thread entry for batch scoring (runtime/node/batch-scorer.ts). Worker threads start without
// the parent's `--import` hooks, so this plain-JavaScript file registers tsx in the worker, then
// loads the TypeScript worker (batch-worker.ts), which answers scoring messages.
const { register } = await import('tsx/esm/api');
register();
await import('./batch-worker.ts');
