// The compiler's public surface. Other folders import from here only.
// Input: a path and source text. Output: the parsed AST, the checked (typed) model, diagnostics,
// and the canonical formatting. Stops at the first stage that reports errors (STYLE.md).

import type * as ast from './ast.js';
import { check } from './check.js';
import { DiagnosticSink, SourceFile } from './diagnostics.js';
import type { Comment } from './lexer.js';
import { ParseCodes, parseFile } from './parser.js';
import { printModel } from './printer.js';
import type { CheckedModel } from './typed.js';

export type * as ast from './ast.js';
export type { CheckedModel } from './typed.js';
export type { Type } from './types.js';
export { formatType } from './types.js';
export { checkedModelToJSON } from './check.js';
export {
  DiagnosticSink,
  SourceFile,
  formatDiagnostic,
  formatDiagnosticLine,
  type Diagnostic,
  type Severity,
} from './diagnostics.js';
export { printModel } from './printer.js';
export { lowerModel, type LowerOptions } from './lower.js';
export { printModule, type Module as IrModule } from './ir.js';
export { evaluate, withinTolerance } from './reference/index.js';
export { checkBundle } from './bundle-check.js';
export { csvColumns } from './schema.js';
export { stripSpans } from './ast-json.js';

export interface FrontEndResult {
  file: SourceFile;
  sink: DiagnosticSink;
  /** Null when the file did not parse far enough to have a model. */
  model: ast.Model | null;
  comments: Comment[];
  /** Null when parsing reported errors (checking is skipped) or there is no model. */
  checked: CheckedModel | null;
}

/** Lex, parse and (when parsing succeeded) check one file. Never throws on user input. */
export function checkSource(path: string, text: string): FrontEndResult {
  const file = new SourceFile(path, text);
  const sink = new DiagnosticSink(file);
  const { model, comments } = parseFile(file, sink);
  let checked: CheckedModel | null = null;
  if (model !== null && !sink.hasErrors) checked = guardDepth(sink, () => check(model, sink));
  return { file, sink, model, comments, checked };
}

/** Parse only (no checking): what `fmt` and `ast --syntax` need. */
export function parseSource(path: string, text: string): FrontEndResult {
  const file = new SourceFile(path, text);
  const sink = new DiagnosticSink(file);
  const { model, comments } = parseFile(file, sink);
  return { file, sink, model, comments, checked: null };
}

/**
 * Canonical formatting of a source text. Returns null (with diagnostics in the sink) when the file
 * has lexical or syntax errors: we never reformat what we could not fully parse.
 */
export function formatSource(path: string, text: string): { output: string | null; result: FrontEndResult } {
  const result = parseSource(path, text);
  const model = result.model;
  if (model === null || result.sink.hasErrors) return { output: null, result };
  const output = guardDepth(result.sink, () => printModel(model, result.comments, text));
  return { output, result };
}

/**
 * Runs a recursive stage; a stack overflow (a pathologically nested type or expression that the
 * parser's limits let through) becomes a diagnostic instead of a crash.
 */
function guardDepth<T>(sink: DiagnosticSink, f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    sink.error(
      ParseCodes.tooDeep,
      { start: 0, end: 0 },
      'the model is nested too deeply to process',
      'split deep expressions into several features',
    );
    return null;
  }
}
