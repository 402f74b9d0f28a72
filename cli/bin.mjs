#!/usr/bin/env node
// The `proml` executable: registers tsx (so the TypeScript sources run as they are), then hands the
// arguments to cli/main.ts and exits with its code.
// binaryen (14 MB of JavaScript) loads in ~1 s on its own but ~25 s through tsx's hooks: the
// commands that need it import it first, so later imports from TypeScript hit the module cache.
if (['compile', 'tune', 'wat', 'demo', 'train'].includes(process.argv[2] ?? '')) await import('binaryen');
const { register } = await import('tsx/esm/api');

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
