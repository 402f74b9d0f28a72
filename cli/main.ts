// The `proml` command line: parses flags and calls the libraries; no logic of its own.
// Input: argv. Output: text on stdout/stderr and an exit code (see EXIT below and `proml --help`).

import { readFileSync, readdirSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseRowsCsv } from '../abi/index.js';
import { BundleError, readBundle, sha256Hex } from '../abi/node.js';
import { parseManifest, MANIFEST_SECTION, type Manifest } from '../abi/index.js';
import { readWasmInfo, WasmFormatError } from './wasm-info.js';
import { cmdScore, SCORE_USAGE } from './score.js';
import { cmdServe, SERVE_USAGE } from './serve.js';
import { cmdEntities, ENTITIES_USAGE } from './entities.js';
import { cmdTrain, TRAIN_USAGE } from './train.js';
import { cmdImport, IMPORT_USAGE } from './import.js';
import { cmdTune, TUNE_USAGE } from './tune.js';
import {
  checkBundle,
  checkSource,
  checkedModelToJSON,
  csvColumns,
  evaluate,
  formatDiagnostic,
  formatSource,
  lowerModel,
  parseSource,
  type FrontEndResult,
} from '../compiler/index.js';
import { spansAsPositions } from '../compiler/ast-json.js';
import { writeAtomically } from './files.js';

export const EXIT = {
  ok: 0,
  /** The input has errors (diagnostics), or `fmt --check` found unformatted files. */
  failed: 1,
  /** Bad command line: unknown command or flag, missing file. */
  usage: 2,
  /** A bug in proml (never caused by user input). */
  internal: 70,
} as const;

const ROOT = new URL('..', import.meta.url).pathname;

function version(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const HELP = `proml — author, check and compile machine-learning models

Usage: proml <command> [options]

Commands:
  check <file|dir...>    check models; print diagnostics (exit 1 if any error)
  fmt [--check] <file|dir...>  format models in place (--check: only list files that would change;
                         --stdout: print instead of writing; '-' reads standard input)
  ast [--syntax] <file>  print the typed model as JSON (--syntax: the untyped syntax tree)
  compile <model.pml> --coefficients <bundle/> -o <model.wasm>
                         compile a model and its trained coefficients into one .wasm
                         (--no-optimize: skip binaryen's optimizer; --transform-only: the
                         transform module, inputs → component columns, bundle optional;
                         strategies: --no-simd, --tree-layout branchy|flat, --mlp-unroll 1..8,
                         --tree-interleave 1..8, --tree-block 1..1024 rows, 1 = off,
                         --mlp-weights f64|f32: f32 storage where a layer's weights are exact;
                         --linear-weights f32|f64: storage of exactly-f32 linear weights
                         (default f64 where a dense vector is dotted, else f32);
                         --mlp-precision f32: INEXACT f32 MLP arithmetic, ~2x faster, within
                         f32 rounding of the reference, the same bits on every engine;
                         --mlp-block 1..1024 rows per block of the MLP, 1 = off; default 64
                         for f32 MLPs and f64 ones of 16k+ weights)
${TUNE_USAGE}
  inspect <model.wasm>   what a compiled module says about itself: manifest, sections, exports
  wat <model.wasm>       the module as WebAssembly text, for debugging
${SCORE_USAGE}
${SERVE_USAGE}
${ENTITIES_USAGE}
${TRAIN_USAGE}
${IMPORT_USAGE}
  demo [--models-only]   every example model (check, format, compile, score), then the whole
                         path on one: train → compile → batch score → serve → a request
  help                   show this help

Options:
  -h, --help             show help
  -v, --version          print the version
  --no-color             plain diagnostics (also when NO_COLOR is set or output is not a terminal)

Exit codes: 0 ok, 1 the models have errors (or fmt --check found changes), 2 bad usage,
70 internal error (a bug: please report it with the input that caused it).

Language reference: docs/dsl.md    Error codes: docs/errors.md`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  color: boolean;
}

function defaultIo(args: string[]): Io {
  const color =
    !args.includes('--no-color') && process.env['NO_COLOR'] === undefined && process.stderr.isTTY === true;
  return { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n'), color };
}

class UsageError extends Error {}

export async function main(argv: string[], io: Io = defaultIo(argv)): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`proml: ${e.message}`);
      io.err("run 'proml --help' for usage");
      return EXIT.usage;
    }
    io.err(`proml: internal error: ${e instanceof Error ? e.message : String(e)}`);
    io.err('this is a bug in proml; please report it with the input that caused it.');
    if (process.env['PROML_DEBUG'] !== undefined && e instanceof Error) io.err(e.stack ?? '');
    return EXIT.internal;
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const args = argv.filter((a) => a !== '--no-color');
  const cmd = args[0];
  if (cmd === undefined || cmd === 'help' || cmd === '-h' || cmd === '--help') {
    io.out(HELP);
    return cmd === undefined ? EXIT.usage : EXIT.ok;
  }
  if (cmd === '-v' || cmd === '--version' || cmd === 'version') {
    io.out(version());
    return EXIT.ok;
  }
  const rest = args.slice(1);
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out(HELP);
    return EXIT.ok;
  }
  switch (cmd) {
    case 'check':
      return cmdCheck(rest, io);
    case 'fmt':
      return cmdFmt(rest, io);
    case 'ast':
      return cmdAst(rest, io);
    case 'demo':
      return await cmdDemo(rest, io);
    case 'compile':
      return cmdCompile(rest, io);
    case 'tune':
      return await cmdTune(rest, io);
    case 'inspect':
      return cmdInspect(rest, io);
    case 'wat':
      return cmdWat(rest, io);
    case 'score':
      return cmdScore(rest, {
        ...io,
        errRaw: (s) => process.stderr.write(s),
        tty: process.stderr.isTTY === true,
      });
    case 'serve':
      return cmdServe(rest, io, version());
    case 'entities':
      return await cmdEntities(rest, io);
    case 'train':
      return await cmdTrain(rest, {
        ...io,
        errRaw: (s) => process.stderr.write(s),
        tty: process.stderr.isTTY === true,
      });
    case 'import':
      return cmdImport(rest, io);
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

function splitFlags(args: string[], allowed: string[]): { flags: Set<string>; files: string[] } {
  const flags = new Set<string>();
  const files: string[] = [];
  for (const a of args) {
    if (a.startsWith('--')) {
      if (!allowed.includes(a)) throw new UsageError(`unknown option '${a}'`);
      flags.add(a);
    } else files.push(a);
  }
  return { flags, files };
}

/** Files named on the command line, with directories expanded to the .pml files below them (sorted). */
function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.pml')) out.push(full);
    }
  };
  for (const p of paths) {
    if (p !== '-' && existsSync(p) && statSync(p).isDirectory()) {
      const before = out.length;
      walk(p);
      if (out.length === before) throw new UsageError(`no .pml files in ${p}`);
    } else out.push(p);
  }
  return out;
}

function readSource(path: string): string {
  if (path === '-') return readFileSync(0, 'utf8');
  if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a directory; pass .pml files`);
  return readOrUsage(path, 'utf8');
}

/** readFileSync, but an unreadable file (permissions, a socket, a device) is a usage error, not a crash. */
function readOrUsage(path: string, encoding: 'utf8'): string;
function readOrUsage(path: string): Buffer;
function readOrUsage(path: string, encoding?: 'utf8'): string | Buffer {
  try {
    return encoding === undefined ? readFileSync(path) : readFileSync(path, encoding);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${ioReason(e)}`);
  }
}

/** `EACCES: permission denied` from a node:fs error, without the syscall and path it repeats. */
function ioReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  const text = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return code === undefined ? e.message : `${code}: ${text}`;
}

function printDiagnostics(r: FrontEndResult, io: Io): void {
  for (const d of r.sink.sorted()) io.err(formatDiagnostic(r.file, d, io.color) + '\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function cmdCheck(args: string[], io: Io): number {
  const files = expandPaths(splitFlags(args, []).files);
  if (files.length === 0) throw new UsageError('check: no files given');
  let errors = 0;
  let warnings = 0;
  for (const path of files) {
    const r = checkSource(path, readSource(path));
    printDiagnostics(r, io);
    errors += r.sink.errorCount;
    warnings += r.sink.items.length - r.sink.errorCount;
  }
  io.err(
    `checked ${plural(files.length, 'file')}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`,
  );
  return errors > 0 ? EXIT.failed : EXIT.ok;
}

function cmdFmt(args: string[], io: Io): number {
  const { flags, files: named } = splitFlags(args, ['--check', '--stdout']);
  const files = expandPaths(named);
  if (files.length === 0) throw new UsageError('fmt: no files given');
  let failed = false;
  for (const path of files) {
    const text = readSource(path);
    const { output, result } = formatSource(path === '-' ? '<stdin>' : path, text);
    if (output === null) {
      printDiagnostics(result, io);
      io.err(`${path}: not formatted: fix the errors above first`);
      failed = true;
      continue;
    }
    if (path === '-' || flags.has('--stdout')) io.out(output.replace(/\n$/, ''));
    else if (flags.has('--check')) {
      if (output !== text) {
        io.out(`${path}: not formatted`);
        io.out(lineDiff(text, output, path));
        failed = true;
      }
    } else if (output !== text) {
      writeFileSync(path, output);
      io.err(`formatted ${path}`);
    }
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/**
 * A unified diff (3 lines of context) between two texts, from a line-level LCS: enough to show in CI
 * what `fmt` would change. Long diffs are cut after 60 lines.
 */
export function lineDiff(before: string, after: string, path: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // LCS table from the end; models are small (the quadratic table is fine up to a few thousand lines)
  const n = a.length;
  const m = b.length;
  if (n * m > 25_000_000)
    return `  (${n} lines: too long to diff here; run proml fmt and review with git diff)`;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { op: ' ' | '-' | '+'; text: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', text: a[i]!, ai: i++, bi: j++ });
    else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!))
      ops.push({ op: '+', text: b[j]!, ai: i, bi: j++ });
    else ops.push({ op: '-', text: a[i]!, ai: i++, bi: j });
  }
  const out = [`--- ${path}`, `+++ ${path} (formatted)`];
  const changed = ops.map((o, k) => (o.op === ' ' ? -1 : k)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k]! - 3);
    let end = Math.min(ops.length, changed[k]! + 4);
    while (k + 1 < changed.length && changed[k + 1]! - 3 <= end)
      end = Math.min(ops.length, changed[++k]! + 4);
    const first = ops[start]!;
    out.push(`@@ -${first.ai + 1} +${first.bi + 1} @@`);
    for (const o of ops.slice(start, end)) out.push(`${o.op}${o.text}`);
    k++;
  }
  if (out.length > 62) return [...out.slice(0, 62), `  ... (${out.length - 62} more diff lines)`].join('\n');
  return out.join('\n');
}

function cmdAst(args: string[], io: Io): number {
  const { flags, files } = splitFlags(args, ['--syntax']);
  if (files.length !== 1) throw new UsageError('ast: give exactly one file');
  const path = files[0]!;
  const text = readSource(path);
  if (flags.has('--syntax')) {
    const r = parseSource(path, text);
    printDiagnostics(r, io);
    if (r.model === null || r.sink.hasErrors) return EXIT.failed;
    io.out(JSON.stringify(spansAsPositions(r.model, r.file), null, 2));
    return EXIT.ok;
  }
  const r = checkSource(path, text);
  printDiagnostics(r, io);
  if (r.checked === null || r.sink.hasErrors) return EXIT.failed;
  io.out(JSON.stringify(checkedModelToJSON(r.checked), null, 2));
  return EXIT.ok;
}

/** `--name value` options: returns their values and the remaining positional arguments. */
function takeOptions(
  args: string[],
  valued: Record<string, string[]>,
  flags: string[],
): { values: Map<string, string>; flags: Set<string>; rest: string[] } {
  const values = new Map<string, string>();
  const set = new Set<string>();
  const rest: string[] = [];
  const canonical = new Map<string, string>();
  for (const [name, aliases] of Object.entries(valued))
    for (const a of [name, ...aliases]) canonical.set(a, name);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const c = canonical.get(a);
    if (c !== undefined) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      values.set(c, v);
    } else if (flags.includes(a)) set.add(a);
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else rest.push(a);
  }
  return { values, flags: set, rest };
}

/** Why `path` cannot be an output file (its directory is missing, or it is a directory), or null. */
function outputProblem(path: string): string | null {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) return `no such directory: ${dirname(path)}`;
  if (!statSync(dir).isDirectory()) return `${dirname(path)} is not a directory`;
  if (existsSync(path) && statSync(path).isDirectory()) return `${path} is a directory; name a .wasm file`;
  return null;
}

async function cmdCompile(args: string[], io: Io): Promise<number> {
  const { values, flags, rest } = takeOptions(
    args,
    {
      '--coefficients': ['-c'],
      '--output': ['-o'],
      '--tree-layout': [],
      '--mlp-unroll': [],
      '--tree-interleave': [],
      '--tree-block': [],
      '--mlp-weights': [],
      '--linear-weights': [],
      '--mlp-precision': [],
      '--mlp-block': [],
    },
    ['--no-optimize', '--transform-only', '--no-simd'],
  );
  if (rest.length !== 1) throw new UsageError('compile: give exactly one model file');
  const transformOnly = flags.has('--transform-only');
  /** A flag that takes one of a few words. */
  const word = <W extends string>(flag: string, allowed: readonly W[]): W | undefined => {
    const text = values.get(flag);
    if (text !== undefined && !(allowed as readonly string[]).includes(text))
      throw new UsageError(
        `compile: ${flag} must be ${allowed.map((x) => `'${x}'`).join(' or ')}, not '${text}'`,
      );
    return text as W | undefined;
  };
  /** A flag that takes an integer in lo..hi (note: what the range means). */
  const integer = (flag: string, lo: number, hi: number, note = ''): number | undefined => {
    const text = values.get(flag);
    const n = text === undefined ? undefined : Number(text);
    if (n !== undefined && !(Number.isInteger(n) && n >= lo && n <= hi))
      throw new UsageError(`compile: ${flag} must be an integer in ${lo}..${hi}${note}, not '${text}'`);
    return n;
  };
  const layout = word('--tree-layout', ['branchy', 'flat'] as const);
  const unroll = integer('--mlp-unroll', 1, 8);
  const interleave = integer('--tree-interleave', 1, 8);
  const mlpWeights = word('--mlp-weights', ['f32', 'f64'] as const);
  const linearWeights = word('--linear-weights', ['f32', 'f64'] as const);
  const mlpPrecision = word('--mlp-precision', ['f32', 'f64'] as const);
  // 1024 = MAX_TREE_BLOCK (compiler/emit/scoring.ts, not imported here: it loads binaryen)
  const mlpBlock = integer('--mlp-block', 1, 1024, ' (1 = off)');
  const block = integer('--tree-block', 1, 1024, ' (1 = off)');
  const path = rest[0]!;
  const bundleDir = values.get('--coefficients');
  const out = values.get('--output');
  if (bundleDir === undefined && !transformOnly)
    throw new UsageError('compile: --coefficients <bundle dir> is required');
  if (out === undefined) throw new UsageError('compile: -o <file.wasm> is required');
  const badOutput = outputProblem(out);
  if (badOutput !== null) throw new UsageError(`compile: -o ${out}: ${badOutput}`);
  const text = readSource(path);
  const r = checkSource(path, text);
  printDiagnostics(r, io);
  if (r.checked === null || r.sink.hasErrors) {
    io.err(`${path}: not compiled: fix the errors above first`);
    return EXIT.failed;
  }
  let bundle: ReturnType<typeof readBundle>;
  try {
    // a transform module needs only fitted-transform statistics: without a bundle, an empty one
    bundle =
      bundleDir === undefined
        ? {
            model: { name: r.checked.name, version: r.checked.meta.version ?? '' },
            sourceSha256: sha256Hex(text),
            producer: 'none',
            notes: [],
            components: new Map(),
            transforms: new Map(),
            calibrations: new Map(),
          }
        : readBundle(bundleDir);
  } catch (e) {
    if (e instanceof BundleError) {
      io.err(`${bundleDir}: error ${e.message}${e.hint ? `\n  = hint: ${e.hint}` : ''}`);
      return EXIT.failed;
    }
    throw e;
  }
  const issues = transformOnly ? [] : checkBundle(r.checked, bundle, sha256Hex(text));
  for (const d of issues)
    io.err(`${bundleDir}: ${d.severity} ${d.code}: ${d.message}${d.hint ? `\n  = hint: ${d.hint}` : ''}`);
  if (issues.some((d) => d.severity === 'error')) return EXIT.failed;
  // the back end imports binaryen: load it only for this command (bin.mjs preloads it before tsx)
  const emit = await import('../compiler/emit/index.js');
  const started = performance.now();
  let result;
  try {
    const options = {
      sourceText: text,
      bundleJsonText: bundleDir === undefined ? null : readFileSync(join(bundleDir, 'bundle.json'), 'utf8'),
      compilerVersion: version(),
      optimize: !flags.has('--no-optimize'),
      simd: !flags.has('--no-simd'),
      ...(layout === undefined ? {} : { treeLayout: layout }),
      ...(unroll === undefined ? {} : { mlpUnroll: unroll }),
      ...(interleave === undefined ? {} : { treeInterleave: interleave }),
      ...(block === undefined ? {} : { treeBlock: block }),
      ...(mlpWeights === undefined ? {} : { mlpWeights }),
      ...(linearWeights === undefined ? {} : { linearWeights }),
      ...(mlpPrecision === undefined ? {} : { mlpPrecision }),
      ...(mlpBlock === undefined ? {} : { mlpBlock }),
    };
    result = transformOnly
      ? await emit.emitTransformModule(r.checked, bundle, options)
      : await emit.emitScoringModule(r.checked, lowerModel(r.checked), bundle, options);
  } catch (e) {
    if (e instanceof emit.CompileError) {
      io.err(`${path}: error ${e.message}`);
      return EXIT.failed;
    }
    throw e;
  }
  try {
    writeAtomically(out, result.bytes);
  } catch (e) {
    io.err(`${out}: error: cannot write the module (${ioReason(e)}); nothing was written`);
    return EXIT.failed;
  }
  io.err(
    `compiled ${path} → ${out} (${result.bytes.length.toLocaleString('en-US')} bytes, ${(performance.now() - started).toFixed(0)} ms)`,
  );
  if (result.manifest.strategies['mlp.precision'] !== undefined)
    io.err(
      'note: --mlp-precision f32 is inexact: the MLP sums in f32, so scores differ from the reference evaluator (and from `proml train`) by f32 rounding; the module still gives the same bits on every engine',
    );
  return EXIT.ok;
}

function readModule(path: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a directory; pass a .wasm file`);
  return new Uint8Array(readOrUsage(path));
}

function cmdInspect(args: string[], io: Io): number {
  const { files } = splitFlags(args, []);
  if (files.length !== 1) throw new UsageError('inspect: give exactly one .wasm file');
  const path = files[0]!;
  const bytes = readModule(path);
  let info;
  try {
    info = readWasmInfo(bytes);
  } catch (e) {
    if (e instanceof WasmFormatError) {
      io.err(`${path}: error PML4001: ${e.message}`);
      return EXIT.failed;
    }
    throw e;
  }
  const raw = info.custom.get(MANIFEST_SECTION);
  let manifest: Manifest | null = null;
  let problem: string | null = null;
  if (raw === undefined) problem = `no '${MANIFEST_SECTION}' section: not a proml module`;
  else {
    try {
      manifest = parseManifest(new TextDecoder().decode(raw));
    } catch (e) {
      problem = e instanceof Error ? e.message : String(e);
    }
  }
  io.out(`${path}: ${bytes.length.toLocaleString('en-US')} bytes, sha256 ${sha256Hex(bytes)}`);
  if (manifest !== null) {
    const m = manifest;
    io.out(
      `model     ${m.model.name} ${m.model.version ?? ''}  owner ${m.model.owner ?? '-'}  purpose ${m.model.purpose ?? '-'}`,
    );
    io.out(`product   ${m.product}, ABI ${m.abi}, compiled by ${m.compiler.name} ${m.compiler.version}`);
    io.out(`source    sha256 ${m.sourceSha256}`);
    io.out(`bundle    sha256 ${m.bundleSha256 ?? '-'}`);
    io.out('inputs');
    for (const i of m.inputs) {
      const rules = [
        i.required ? 'required' : null,
        i.default !== null && i.default !== undefined ? `default ${JSON.stringify(i.default)}` : null,
        i.range ? `in [${i.range.lo}, ${i.range.hi}]` : null,
        i.pii ? 'pii' : null,
      ].filter((x) => x !== null);
      io.out(`  ${i.name} : ${JSON.stringify(i.type)}${rules.length > 0 ? '  ' + rules.join(' ') : ''}`);
    }
    io.out('outputs');
    for (const o of m.outputs) io.out(`  ${o.name} : ${o.type}${o.size > 1 ? ` x ${o.size}` : ''}`);
    io.out('components');
    for (const c of m.components)
      io.out(
        `  ${c.name} : ${c.kind} [${c.inputWidth} -> ${c.classes}]${c.per ? ` per ${c.per}` : ''}  sha256 ${c.sha256}`,
      );
    io.out(`strategies ${JSON.stringify(m.strategies)}`);
    if (m.tuning !== undefined)
      io.out(
        `tuning    ${m.tuning.reason} (proml tune, ${m.tuning.date.slice(0, 10)}, ${m.tuning.candidates.length} builds, ${m.tuning.sample.rows} sample rows)`,
      );
  } else io.out(`manifest  ${problem}`);
  io.out('sections');
  for (const s of info.sections)
    io.out(`  ${s.name.padEnd(24)} ${s.size.toLocaleString('en-US').padStart(10)} bytes`);
  io.out(
    `imports   ${info.importCount === 0 ? 'none' : `${info.importCount} (first: ${info.firstImport?.module}.${info.firstImport?.name}) — a proml module must import nothing`}`,
  );
  io.out(`exports   ${info.exports.map((e) => `${e.name} (${e.kind})`).join(', ')}`);
  return manifest !== null && info.importCount === 0 ? EXIT.ok : EXIT.failed;
}

async function cmdWat(args: string[], io: Io): Promise<number> {
  const { files } = splitFlags(args, []);
  if (files.length !== 1) throw new UsageError('wat: give exactly one .wasm file');
  const bytes = readModule(files[0]!);
  if (!WebAssembly.validate(bytes)) {
    io.err(`${files[0]}: error PML4001: not a valid WebAssembly module`);
    return EXIT.failed;
  }
  // binaryen: loaded only for this command (bin.mjs preloads it before tsx)
  const { watText } = await import('./wat.js');
  io.out(watText(bytes));
  return EXIT.ok;
}

/**
 * The main job until the WebAssembly back end lands: for every example model, check it, verify it is
 * canonically formatted, lower it to IR, check its coefficient bundle, and score its sample rows with
 * the reference evaluator (the oracle the compiled module will be tested against). Prints a table.
 */
async function cmdDemo(args: string[], io: Io): Promise<number> {
  const { flags } = splitFlags(args, ['--models-only']);
  const emit = await import('../compiler/emit/index.js');
  const dir = join(ROOT, 'fixtures', 'models');
  const names = readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'model.pml')))
    .sort();
  io.out(`proml ${version()} — ${names.length} example models in ${relative(process.cwd(), dir) || '.'}\n`);
  const rows: string[][] = [
    [
      'model',
      'inputs',
      'components',
      'outputs',
      'check',
      'fmt',
      'IR nodes',
      'bundle',
      'rows scored',
      'rejected',
      'first row',
    ],
  ];
  let bad = 0;
  for (const n of names) {
    const path = join(dir, n, 'model.pml');
    const text = readFileSync(path, 'utf8');
    const r = checkSource(relative(process.cwd(), path), text);
    const { output } = formatSource(path, text);
    const m = r.checked;
    const errs = r.sink.errorCount;
    const warns = r.sink.items.length - errs;
    if (errs > 0 || m === null) {
      bad++;
      printDiagnostics(r, io);
      rows.push([n, '-', '-', '-', `${plural(errs, 'error')}`, '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const ir = lowerModel(m);
    let bundleState = 'none';
    let scored = '-';
    let rejected = '-';
    let first = '-';
    let wasm = '-';
    const bundleDir = join(dir, n, 'bundle');
    if (existsSync(bundleDir)) {
      const bundle = readBundle(bundleDir);
      try {
        const compiled = await emit.emitScoringModule(m, ir, bundle, {
          sourceText: text,
          compilerVersion: version(),
        });
        wasm = `${compiled.bytes.length.toLocaleString('en-US')} bytes`;
      } catch (e) {
        if (!(e instanceof emit.CompileError)) throw e;
        wasm = `not yet (${e.code})`;
      }
      const issues = checkBundle(m, bundle, sha256Hex(text)).filter((d) => d.severity === 'error');
      bundleState = issues.length === 0 ? 'ok' : `${plural(issues.length, 'error')}`;
      const csv = join(dir, n, 'rows.csv');
      if (issues.length === 0 && existsSync(csv)) {
        const results = evaluate(m, bundle, parseRowsCsv(readFileSync(csv, 'utf8'), csvColumns(m)));
        const ok = results.filter((x) => x.rejected === null);
        scored = String(results.length);
        rejected = String(results.length - ok.length);
        const o = m.outputs[0]!;
        const v = ok[0]?.outputs?.[o.name];
        first = `${o.name} = ${v === null || v === undefined ? 'null' : Array.isArray(v) ? `[${v.map((x) => Number(x).toPrecision(3)).join(', ')}]` : typeof v === 'number' ? v.toPrecision(4) : String(v)}`;
      }
      if (issues.length > 0) bad++;
    }
    rows.push([
      n,
      String(m.inputs.length),
      m.components.map((c) => c.kind + (c.per ? '/per' : '')).join(' '),
      String(m.outputs.length),
      errs + warns === 0 ? 'clean' : `${plural(warns, 'warning')}`,
      output === text ? 'yes' : 'no',
      String(ir.nodes.length),
      bundleState,
      scored,
      rejected,
      first,
      wasm,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, r] of rows.entries()) {
    io.out(
      r
        .map((c, j) => c.padEnd(widths[j]!))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) io.out(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  io.out('');
  io.out(
    bad === 0
      ? `all ${names.length} models check cleanly, lower to IR, and score their sample rows with the reference evaluator.`
      : `${bad} of ${names.length} models have errors.`,
  );
  io.out(
    'rows are rejected on purpose: the samples include missing required inputs and out-of-range values.',
  );
  if (!flags.has('--models-only')) {
    // the main job: train → compile → batch score → entity store → HTTP service → a request
    const { runPipeline } = await import('./pipeline.js');
    io.out('\nThe whole path on an example (GAME: a global model plus one per member):');
    await runPipeline(ROOT, join(process.cwd(), '.proml-out', 'demo'), io);
  }
  io.out(
    '\nnext: proml check | fmt | train | compile | score | serve --help; language reference in docs/dsl.md',
  );
  return bad === 0 ? EXIT.ok : EXIT.failed;
}
