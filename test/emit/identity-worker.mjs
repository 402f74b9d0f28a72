// Worker-thread entry for test/emit/identity.test.ts. Node 20 workers do not apply a `--import tsx`
// execArgv to their main module, so this plain-JavaScript entry registers tsx in the worker, then
// imports the TypeScript scorer (identity-child.ts), which reads workerData and posts its report.
const { register } = await import('tsx/esm/api');
register();
await import('./identity-child.ts');
