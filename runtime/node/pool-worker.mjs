// piscina's entry for the scoring pool's workers (runtime/node/pool.ts). Worker threads start
// without the parent's `--import` hooks, so this plain-JavaScript file registers tsx in the worker,
// then loads the TypeScript worker (pool-worker.ts) and hands its task function to piscina.
// Input: piscina's task objects. Output: what pool-worker.ts returns.
const { register } = await import('tsx/esm/api');
register();
const worker = await import('./pool-worker.ts');
export default worker.default;
