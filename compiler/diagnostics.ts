// Diagnostics: source files, positioned messages, and their printing.
// Stages push diagnostics (code, severity, span, message, optional hint) into a DiagnosticSink;
// line:column is computed only here, when printing, from the span's offsets (esbuild/TypeScript style).
// Codes by stage: PML1xxx lex/parse, PML2xxx check, PML3xxx lower/emit, PML4xxx load/runtime.

import type { Span } from './ast.js';

export class SourceFile {
  private lineStarts: number[] | null = null;
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** Zero-based line and column (UTF-16 units) of an offset; clamped into the file. */
  position(offset: number): { line: number; column: number } {
    const starts = this.starts();
    const off = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: off - starts[lo]! };
  }

  /** The text of a zero-based line, without its line break. */
  lineText(line: number): string {
    const starts = this.starts();
    const start = starts[line] ?? this.text.length;
    let end = line + 1 < starts.length ? starts[line + 1]! : this.text.length;
    while (end > start && (this.text[end - 1] === '\n' || this.text[end - 1] === '\r')) end--;
    return this.text.slice(start, end);
  }

  private starts(): number[] {
    if (this.lineStarts === null) {
      const s = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) s.push(i + 1);
      this.lineStarts = s;
    }
    return this.lineStarts;
  }
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** `PML1000`..`PML4999` */
  code: string;
  message: string;
  span: Span;
  /** One line of advice printed under the excerpt ("did you mean 'recent'?"). */
  hint?: string;
}

/** Collects diagnostics of one file across stages. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  constructor(readonly file: SourceFile) {}

  error(code: string, span: Span, message: string, hint?: string): void {
    this.push({ severity: 'error', code, span, message, ...(hint === undefined ? {} : { hint }) });
  }

  warning(code: string, span: Span, message: string, hint?: string): void {
    this.push({ severity: 'warning', code, span, message, ...(hint === undefined ? {} : { hint }) });
  }

  push(d: Diagnostic): void {
    this.items.push(d);
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === 'error').length;
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  /** Diagnostics in file order (stable for equal offsets). */
  sorted(): Diagnostic[] {
    return this.items
      .map((d, i) => ({ d, i }))
      .sort((a, b) => a.d.span.start - b.d.span.start || a.i - b.i)
      .map((x) => x.d);
  }
}

/** One-line form used in golden files: `path:line:col: error PML2001: message`. */
export function formatDiagnosticLine(file: SourceFile, d: Diagnostic): string {
  const { line, column } = file.position(d.span.start);
  return `${file.path}:${line + 1}:${column + 1}: ${d.severity} ${d.code}: ${d.message}`;
}

/**
 * Full form for terminals: the one-line header, the source line, a `~~~` underline of the span
 * (clipped to its first line), and the hint.
 */
export function formatDiagnostic(file: SourceFile, d: Diagnostic, color = false): string {
  const { line, column } = file.position(d.span.start);
  const end = file.position(Math.max(d.span.start, d.span.end));
  const text = file.lineText(line).replace(/\t/g, ' ');
  const width = Math.max(1, (end.line === line ? end.column : text.length) - column);
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const sev = d.severity === 'error' ? paint('1;31', 'error') : paint('1;33', 'warning');
  const lineNo = String(line + 1);
  const gutter = ' '.repeat(lineNo.length);
  const out = [
    `${paint('1', `${file.path}:${line + 1}:${column + 1}:`)} ${sev} ${d.code}: ${d.message}`,
    ` ${lineNo} | ${text}`,
    ` ${gutter} | ${' '.repeat(column)}${paint('32', '~'.repeat(Math.min(width, Math.max(1, text.length - column))))}`,
  ];
  if (d.hint !== undefined) out.push(` ${gutter} = hint: ${d.hint}`);
  return out.join('\n');
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), for "did you mean"
 * hints: `depht` is one edit from `depth`, as a person would count it.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The closest candidate within a distance that scales with the word's length, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** `hint` text for a misspelt name, or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean '${c}'?`;
}
