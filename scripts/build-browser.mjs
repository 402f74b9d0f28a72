#!/usr/bin/env node
// `npm run build:browser`: the browser build of the runtime core. esbuild bundles runtime/index.ts
// into one ES module, dist/browser/proml-runtime.js (platform browser, ES2022, minified, with a
// source map), and copies the static demo page (web/index.html, web/demo.js) beside it.
// The build FAILS when anything in the bundle reaches for a Node built-in (`node:fs`, `fs`, ...) or
// for code the browser must not carry (compiler/, abi/node.ts): the error names the importer.
// Usage: node scripts/build-browser.mjs [--out-dir <dir>] [--no-minify] [--quiet]
//   (--entry <file.ts> bundles another entry instead of runtime/index.ts: tests use it to check the guard)
// Output: the files written, with sizes (raw and gzip); exit 1 on a failed build.

import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const ENTRY = join(ROOT, 'runtime', 'index.ts');
const WEB_FILES = ['index.html', 'demo.js'];
export const BUNDLE_NAME = 'proml-runtime.js';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** Sources the browser bundle must never contain (DESIGN.md: runtime/ imports no compiler code). */
const FORBIDDEN_SOURCES = [/^compiler\//, /^abi\/node\.ts$/, /^cli\//, /^trainer\//];

/** esbuild plugin: any import of a Node built-in is a build error naming the importing file. */
const noNodeBuiltins = {
  name: 'proml-no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const spec = args.path;
      const bare = spec.startsWith('node:') ? spec : spec.split('/')[0];
      if (!spec.startsWith('node:') && !BUILTINS.has(bare)) return undefined;
      const from = args.importer === '' ? '(entry)' : relative(ROOT, args.importer);
      return {
        errors: [
          {
            text: `Node built-in '${spec}' imported by ${from}: the browser runtime must not use Node built-ins (move it to a node-only module such as abi/node.ts or runtime/node/)`,
          },
        ],
      };
    });
  },
};

/**
 * Builds the browser bundle and copies the demo into `outDir`.
 * Returns { files: [{ path, bytes, gzip }], inputs: [repo-relative sources in the bundle] }.
 */
export async function buildBrowser({
  outDir = join(ROOT, 'dist', 'browser'),
  minify = true,
  entry = ENTRY,
} = {}) {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, BUNDLE_NAME);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(ROOT, resolve(ROOT, p)));
  const forbidden = inputs.filter((p) => FORBIDDEN_SOURCES.some((re) => re.test(p)));
  if (forbidden.length > 0)
    throw new Error(
      `the browser bundle would contain ${forbidden.join(', ')}: the runtime must not import compiler, CLI, trainer or node-only code`,
    );
  // belt and braces: no import of a built-in may survive in the output (e.g. marked external)
  const text = readFileSync(out, 'utf8');
  const leak = /\b(?:import|from|require\()\s*\(?\s*["'](node:[\w/]+)["']/.exec(text);
  if (leak !== null) throw new Error(`${BUNDLE_NAME} still imports ${leak[1]}`);
  for (const f of WEB_FILES) copyFileSync(join(ROOT, 'web', f), join(outDir, f));
  const files = [BUNDLE_NAME, `${BUNDLE_NAME}.map`, ...WEB_FILES].map((name) => {
    const path = join(outDir, name);
    return { path, bytes: statSync(path).size, gzip: gzipSync(readFileSync(path)).length };
  });
  return { files, inputs };
}

/** esbuild's build failure carries `errors`; print each as one line. */
function describe(e) {
  if (Array.isArray(e?.errors) && e.errors.length > 0)
    return e.errors
      .map((x) => (x.location ? `${x.location.file}:${x.location.line}: ${x.text}` : x.text))
      .join('\n');
  return e instanceof Error ? e.message : String(e);
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)
) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out-dir');
  const outDir = at >= 0 && args[at + 1] !== undefined ? resolve(args[at + 1]) : undefined;
  const e = args.indexOf('--entry');
  const entry = e >= 0 && args[e + 1] !== undefined ? resolve(args[e + 1]) : undefined;
  try {
    const { files, inputs } = await buildBrowser({ outDir, entry, minify: !args.includes('--no-minify') });
    if (!args.includes('--quiet')) {
      for (const f of files)
        console.log(
          `${relative(process.cwd(), f.path).padEnd(40)} ${String(f.bytes).padStart(8)} bytes  (gzip ${f.gzip})`,
        );
      console.log(`bundled ${inputs.length} sources, no Node built-ins`);
    }
  } catch (e) {
    console.error(`build-browser: ${describe(e)}`);
    process.exit(1);
  }
}
