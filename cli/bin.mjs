#!/usr/bin/env node
// The `proml` executable: registers tsx (so the TypeScript sources run as they are), then hands the
// arguments to cli/main.ts and exits with its code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
