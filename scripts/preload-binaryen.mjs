// Preload for TypeScript processes that use binaryen: `node --import ./scripts/preload-binaryen.mjs x.ts`.
// Under tsx's module hooks, importing binaryen's 14 MB index.js takes ~25 s (tsx rewrites the
// source of every ES module it loads); imported *before* the hooks are registered it takes ~1 s, and
// every later `import 'binaryen'` from TypeScript is served from the module cache. So this file
// imports binaryen first and registers tsx second. Use it instead of `--import tsx`.
await import('binaryen');
const { register } = await import('tsx/esm/api');
register();
