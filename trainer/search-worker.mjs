// piscina's entry for hyperparameter-search workers (trainer/search.ts). Worker threads start
// without the parent's `--import` hooks, so this plain-JavaScript file registers tsx in the worker,
// then loads the TypeScript worker (search-worker.ts: no compiler front end, no binaryen).
// Input: piscina's task objects ({ x }). Output: what search-worker.ts returns (a TrialResult).
const { register } = await import('tsx/esm/api');
register();
const worker = await import('./search-worker.ts');
export default worker.default;
