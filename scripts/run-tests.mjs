#!/usr/bin/env node
// Test launcher: Node 20's `--test` does not expand globs, so we collect every `test/**/*.test.ts`
// ourselves and hand the explicit list to `node --import tsx --test`. Extra args pass through;
// `--update` is forwarded to the golden tests as PROML_UPDATE=1 (regenerates golden files).
// Files under test/emit/ and test/runtime/ import binaryen (~25 s under tsx's hooks): they run in a second
// invocation with `--import ./scripts/preload-binaryen.mjs` (measured: preloading for every file
// costs ~26 s more in total). A combined `# tests/# pass/# fail` summary closes the output, and
// the exit code is non-zero when either run fails.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const update = args.includes('--update');
const filters = args.filter((a) => !a.startsWith('--'));

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

let files = collect(join(root, 'test'));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const env = { ...process.env };
if (update) env.PROML_UPDATE = '1';
const preloadDirs = ['test/emit/', 'test/runtime/', 'test/trainer/', 'test/bench/'];
const preloaded = (f) => preloadDirs.some((d) => f.startsWith(d));
const runs = [
  { loader: 'tsx', files: files.filter((f) => !preloaded(f)) },
  { loader: './scripts/preload-binaryen.mjs', files: files.filter(preloaded) },
].filter((r) => r.files.length > 0);

/** Runs one `node --test` invocation, echoing its output; resolves to its exit status and summary. */
function run({ loader, files: list }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', loader, '--test', '--test-reporter=tap', ...list], {
      cwd: root,
      stdio: ['inherit', 'pipe', 'inherit'],
      env,
    });
    let text = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      text += chunk.toString('utf8');
    });
    child.on('close', (code) => {
      const count = (name) => {
        const all = [...text.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))];
        return all.length === 0 ? 0 : Number(all[all.length - 1][1]);
      };
      resolve({
        status: code ?? 1,
        tests: count('tests'),
        pass: count('pass'),
        fail: count('fail'),
      });
    });
  });
}

const results = [];
for (const r of runs) results.push(await run(r));
const sum = (k) => results.reduce((a, r) => a + r[k], 0);
const failed = results.some((r) => r.status !== 0);
console.log(`# all runs (${runs.map((r) => `${r.loader}: ${r.files.length} files`).join(', ')})`);
console.log(`# tests ${sum('tests')}`);
console.log(`# pass ${sum('pass')}`);
console.log(`# fail ${sum('fail')}`);
for (const [i, r] of results.entries())
  if (r.status !== 0) console.log(`# run ${i + 1} (${runs[i].loader}) exited with status ${r.status}`);
process.exit(failed ? 1 : 0);
