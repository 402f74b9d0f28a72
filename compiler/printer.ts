// Canonical printer (`proml fmt`): ast.Model + comments + source text → formatted .pml text.
// Output re-parses to the same AST (spans aside) and printing is idempotent. Layout: two-space
// indent, one item per line, names aligned within runs of consecutive items of one kind, at most one
// blank line kept where the source had some, long calls broken one argument per line. Comments are
// kept: a comment inside an expression moves to the line before its item (the only reordering).

import {
  assertNever,
  BINARY_PRECEDENCE,
  type Expr,
  type Item,
  type Model,
  type Setting,
  type SettingValue,
  type Span,
  type TypeRef,
} from './ast.js';
import type { Comment } from './lexer.js';

const INDENT = '  ';
const MAX_WIDTH = 100;

export function printModel(model: Model, comments: Comment[], text: string): string {
  const p = new Printer(comments, text);
  return p.model(model);
}

interface Entry {
  span: Span;
  /** Lines (without indentation of the level) for this node. */
  render: (indent: string) => string[];
  /** Runs of entries with the same alignKey get their alignName padded to one width. */
  alignKey?: string;
  alignName?: string;
  /** The text before the name on the entry's first line (`input `, or '' for meta keys). */
  alignPrefix?: string;
  /** Nodes that print comments inside themselves (blocks) keep their inner comments. */
  ownsInnerComments: boolean;
}

class Printer {
  private used = new Set<Comment>();

  constructor(
    private readonly comments: Comment[],
    private readonly text: string,
  ) {}

  model(m: Model): string {
    const lines: string[] = [];
    const before = this.commentsIn(0, m.span.start);
    for (const c of before) {
      lines.push(...c.text.split('\n').map((l) => l.replace(/\s+$/, '')));
      this.used.add(c);
    }
    if (before.length > 0 && this.blankBetween(before[before.length - 1]!.span.end, m.span.start))
      lines.push('');
    lines.push(`model ${m.name.name} {`);
    const entries = m.items.map((it) => this.itemEntry(it));
    lines.push(...this.sequence(entries, INDENT, m.name.span.end, m.span.end - 1));
    lines.push('}');
    const after = this.commentsIn(m.span.end, this.text.length + 1);
    for (const c of after) {
      lines.push(...c.text.split('\n').map((l) => l.replace(/\s+$/, '')));
      this.used.add(c);
    }
    // Any comment not placed yet (inside a dropped or odd region) goes at the end rather than vanishing.
    for (const c of this.comments) if (!this.used.has(c)) lines.push(c.text);
    return lines.join('\n') + '\n';
  }

  private commentsIn(start: number, end: number): Comment[] {
    return this.comments.filter((c) => !this.used.has(c) && c.span.start >= start && c.span.start < end);
  }

  private blankBetween(a: number, b: number): boolean {
    if (b <= a) return false;
    return /\n[ \t\r\f\v]*\n/.test(this.text.slice(a, b));
  }

  private sameLine(a: number, b: number): boolean {
    return b >= a && !this.text.slice(a, b).includes('\n');
  }

  /**
   * Prints a sequence of items or settings between `start` and `end` offsets with their comments.
   */
  private sequence(entries: Entry[], indent: string, start: number, end: number): string[] {
    const out: string[] = [];
    let prevEnd = start;
    let first = true;
    // alignment runs: consecutive entries with the same alignKey, no blank line or comment between
    const widths = this.alignWidths(entries);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const leading = this.commentsIn(prevEnd, e.span.start);
      // a comment on the same line right after the previous node is a trailing comment of that node
      if (
        !first &&
        leading.length > 0 &&
        leading[0]!.text.startsWith('//') &&
        this.sameLine(prevEnd, leading[0]!.span.start)
      ) {
        const t = leading.shift()!;
        out[out.length - 1] += ' ' + t.text;
        this.used.add(t);
        prevEnd = t.span.end;
      }
      const inner = e.ownsInnerComments ? [] : this.commentsIn(e.span.start, e.span.end);
      for (const c of [...leading, ...inner]) {
        if (!first && this.blankBetween(prevEnd, c.span.start)) out.push('');
        out.push(...c.text.split('\n').map((l, k) => (k === 0 ? indent + l : l.replace(/\s+$/, ''))));
        this.used.add(c);
        prevEnd = Math.max(prevEnd, c.span.end);
        first = false;
      }
      if (!first && this.blankBetween(prevEnd, e.span.start)) out.push('');
      const w = widths[i];
      const lines = e.render(indent);
      if (w !== undefined && e.alignName !== undefined && e.alignPrefix !== undefined && lines.length > 0) {
        const head = `${indent}${e.alignPrefix}${e.alignName} `;
        if (lines[0]!.startsWith(head)) {
          lines[0] = `${indent}${e.alignPrefix}${e.alignName.padEnd(w)} ` + lines[0]!.slice(head.length);
        }
      }
      out.push(...lines);
      prevEnd = Math.max(prevEnd, e.span.end);
      first = false;
    }
    const tail = this.commentsIn(prevEnd, end);
    for (const c of tail) {
      if (!first && out.length > 0 && c.text.startsWith('//') && this.sameLine(prevEnd, c.span.start)) {
        out[out.length - 1] += ' ' + c.text;
      } else {
        if (!first && this.blankBetween(prevEnd, c.span.start)) out.push('');
        out.push(...c.text.split('\n').map((l, k) => (k === 0 ? indent + l : l.replace(/\s+$/, ''))));
      }
      this.used.add(c);
      prevEnd = c.span.end;
      first = false;
    }
    return out;
  }

  private alignWidths(entries: Entry[]): (number | undefined)[] {
    const widths: (number | undefined)[] = new Array(entries.length).fill(undefined);
    let runStart = 0;
    const close = (endExclusive: number): void => {
      const run = entries.slice(runStart, endExclusive);
      if (run.length > 1 && run[0]!.alignKey !== undefined) {
        const w = Math.max(...run.map((r) => r.alignName!.length));
        for (let k = runStart; k < endExclusive; k++) widths[k] = w;
      }
    };
    for (let i = 1; i <= entries.length; i++) {
      const prev = entries[i - 1]!;
      const cur = entries[i];
      // a run ends at a blank line or at any comment except a `//` comment trailing `prev` on its line
      const breaks =
        cur === undefined ||
        cur.alignKey === undefined ||
        cur.alignKey !== prev.alignKey ||
        this.blankBetween(prev.span.end, cur.span.start) ||
        this.comments.some(
          (c) =>
            c.span.start >= prev.span.start &&
            c.span.start < cur.span.end &&
            !(
              c.span.start >= prev.span.end &&
              c.text.startsWith('//') &&
              this.sameLine(prev.span.end, c.span.start)
            ),
        );
      if (breaks) {
        close(i);
        runStart = i;
      }
    }
    return widths;
  }

  // ---- items

  private itemEntry(it: Item): Entry {
    switch (it.kind) {
      case 'meta':
        return {
          span: it.span,
          alignKey: 'meta',
          alignName: it.key,
          alignPrefix: '',
          render: (ind) => [`${ind}${it.key} ${str(it.value.value)}`],
          ownsInnerComments: false,
        };
      case 'input':
        return {
          span: it.span,
          alignKey: 'input',
          alignName: it.name.name,
          alignPrefix: 'input ',
          ownsInnerComments: false,
          render: (ind) => {
            const mods = it.modifiers.map((m) => {
              switch (m.kind) {
                case 'range':
                  return `in [${expr(m.lo)}, ${expr(m.hi)}]`;
                case 'default':
                  return `default ${expr(m.value)}`;
                case 'unknown':
                  return `unknown ${expr(m.value)}`;
                case 'required':
                  return 'required';
                case 'pii':
                  return 'pii';
                default:
                  return assertNever(m);
              }
            });
            const tail = mods.map((s) => ' ' + s).join('');
            const one = `${ind}input ${it.name.name} : ${typeRef(it.type)}${tail}`;
            if (one.length <= MAX_WIDTH || it.type.style !== 'paren' || it.type.params.length < 2)
              return [one];
            // a long vocabulary: fill lines with the labels
            const lines = [`${ind}input ${it.name.name} : ${it.type.name.name}(`];
            const pad = ind + INDENT;
            let line = '';
            for (const p of it.type.params) {
              const piece =
                (p.kind === 'string' ? str(p.value) : p.kind === 'number' ? p.raw : typeRef(p)) + ',';
              if (line !== '' && pad.length + line.length + 1 + piece.length > MAX_WIDTH) {
                lines.push(pad + line);
                line = piece;
              } else line = line === '' ? piece : `${line} ${piece}`;
            }
            lines.push(pad + line, `${ind})${tail}`);
            return lines;
          },
        };
      case 'feature':
        return {
          span: it.span,
          alignKey: 'feature',
          alignName: it.name.name,
          alignPrefix: 'feature ',
          ownsInnerComments: true,
          render: (ind) => this.valueLines(it.span, `${ind}feature ${it.name.name} = `, it.value, ind),
        };
      case 'component':
        return {
          span: it.span,
          alignKey: 'component',
          alignName: it.name.name,
          alignPrefix: 'component ',
          ownsInnerComments: true,
          render: (ind) =>
            this.valueLines(
              it.span,
              `${ind}component ${it.name.name} = `,
              it.value,
              ind,
              it.per ? ` per ${it.per.name}` : '',
            ),
        };
      case 'output':
        return {
          span: it.span,
          alignKey: it.type === null ? 'output' : undefined,
          alignName: it.name.name,
          alignPrefix: 'output ',
          ownsInnerComments: true,
          render: (ind) =>
            this.valueLines(
              it.span,
              `${ind}output ${it.name.name}${it.type ? ' : ' + typeRef(it.type) : ''} = `,
              it.value,
              ind,
            ),
        };
      case 'train':
        return {
          span: it.span,
          ownsInnerComments: true,
          render: (ind) => {
            const head = `${ind}train${it.target ? ' ' + it.target.name : ''} {`;
            const inner = this.sequence(
              it.settings.map((s) => this.settingEntry(s, ind + INDENT)),
              ind + INDENT,
              it.span.start,
              it.span.end - 1,
            );
            if (inner.length === 0) return [`${head}}`];
            return [head, ...inner, `${ind}}`];
          },
        };
      default:
        return assertNever(it);
    }
  }

  private commentLines(cs: Comment[], indent: string): string[] {
    const out: string[] = [];
    for (const c of cs) {
      out.push(...c.text.split('\n').map((l, k) => (k === 0 ? indent + l : l.replace(/\s+$/, ''))));
      this.used.add(c);
    }
    return out;
  }

  /**
   * `prefix + expr + suffix`: on one line when it fits and holds no comment; otherwise, for a call,
   * one argument per line with the comments that lead or trail each argument kept beside it.
   * Comments elsewhere inside the item move to the line before it.
   */
  private valueLines(item: Span, prefix: string, e: Expr, ind: string, suffix = ''): string[] {
    const inner = this.commentsIn(item.start, item.end);
    const one = prefix + expr(e) + suffix;
    if (
      e.kind !== 'call' ||
      e.args.length === 0 ||
      (inner.length === 0 && (one.length <= MAX_WIDTH || e.args.length < 2))
    ) {
      return [...this.commentLines(inner, ind), one];
    }
    const before = this.commentLines(
      inner.filter((c) => c.span.start < e.args[0]!.span.start || c.span.start >= e.span.end),
      ind,
    );
    const argInd = ind + INDENT;
    const lines = [`${prefix}${e.callee.name}(`];
    let prevEnd = -1;
    for (const a of e.args) {
      const lead = prevEnd < 0 ? [] : this.commentsIn(prevEnd, a.span.start);
      if (lead.length > 0 && lead[0]!.text.startsWith('//') && this.sameLine(prevEnd, lead[0]!.span.start)) {
        const t = lead.shift()!;
        lines[lines.length - 1] += ' ' + t.text;
        this.used.add(t);
      }
      lines.push(...this.commentLines([...lead, ...this.commentsIn(a.span.start, a.span.end)], argInd));
      lines.push(`${argInd}${arg(a)},`);
      prevEnd = a.span.end;
    }
    const tail = this.commentsIn(prevEnd, e.span.end);
    if (tail.length > 0 && tail[0]!.text.startsWith('//') && this.sameLine(prevEnd, tail[0]!.span.start)) {
      const t = tail.shift()!;
      lines[lines.length - 1] += ' ' + t.text;
      this.used.add(t);
    }
    lines.push(...this.commentLines(tail, argInd));
    lines.push(`${ind})${suffix}`);
    return [...before, ...lines];
  }

  /** `ind` is the indentation the setting will print at (it decides whether a block fits on one line). */
  private settingEntry(s: Setting, ind: string): Entry {
    const key = s.path.map((p) => p.name).join('.');
    const v = s.value;
    if (v.kind === 'block') {
      const hasComments = this.comments.some(
        (c) => c.span.start >= v.span.start && c.span.start < v.span.end,
      );
      const simple = v.settings.every((x) => x.value.kind !== 'block');
      const oneLine =
        v.settings.length === 0
          ? `${ind}${key} {}`
          : `${ind}${key} { ${v.settings.map((x) => `${x.path.map((p) => p.name).join('.')} ${settingValue(x.value)}`).join(' ')} }`;
      const inline = !hasComments && simple && oneLine.length <= MAX_WIDTH;
      if (inline) {
        return {
          span: s.span,
          alignKey: 'setting',
          alignName: key,
          alignPrefix: '',
          ownsInnerComments: true,
          render: () => [oneLine],
        };
      }
      return {
        span: s.span,
        ownsInnerComments: true,
        render: () => {
          const inner = this.sequence(
            v.settings.map((x) => this.settingEntry(x, ind + INDENT)),
            ind + INDENT,
            v.span.start,
            v.span.end - 1,
          );
          return [`${ind}${key} {`, ...inner, `${ind}}`];
        },
      };
    }
    return {
      span: s.span,
      alignKey: 'setting',
      alignName: key,
      alignPrefix: '',
      ownsInnerComments: false,
      render: () => [`${ind}${key} ${settingValue(v)}`],
    };
  }
}

function settingValue(v: SettingValue): string {
  switch (v.kind) {
    case 'block':
      return `{ ${v.settings.map((s) => `${s.path.map((p) => p.name).join('.')} ${settingValue(s.value)}`).join(' ')} }`;
    case 'space':
      if (v.scale === 'choice') return `in {${v.values.map((x) => expr(x)).join(', ')}}`;
      return `in ${v.scale === 'log' ? 'log ' : ''}[${v.values.map((x) => expr(x)).join(', ')}]`;
    default:
      return expr(v);
  }
}

export function typeRef(t: TypeRef): string {
  const params = t.params.map((p) =>
    p.kind === 'type' ? typeRef(p) : p.kind === 'number' ? p.raw : str(p.value),
  );
  switch (t.style) {
    case 'none':
      return t.name.name;
    case 'angle':
      return `${t.name.name}<${params.join(', ')}>`;
    case 'paren':
      return `${t.name.name}(${params.join(', ')})`;
    default:
      return assertNever(t.style);
  }
}

/** A string literal with the escapes the lexer understands. */
export function str(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029)
      out += `\\u{${cp.toString(16).toUpperCase()}}`;
    else out += ch;
  }
  return out + '"';
}

const PREC: Readonly<Record<string, number>> = BINARY_PRECEDENCE;

function precOf(e: Expr): number {
  switch (e.kind) {
    case 'if':
      return 0;
    case 'binary':
      return PREC[e.op]!;
    case 'unary':
      return e.op === 'not' ? 3 : 7;
    default:
      return 8;
  }
}

function arg(a: { name: { name: string } | null; value: Expr }): string {
  return (a.name ? `${a.name.name} = ` : '') + expr(a.value);
}

/** Prints an expression, adding parentheses only where the tree needs them. */
export function expr(e: Expr, minPrec = 0): string {
  const s = exprInner(e);
  return precOf(e) < minPrec ? `(${s})` : s;
}

function exprInner(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.raw;
    case 'string':
      return str(e.value);
    case 'bool':
      return e.value ? 'true' : 'false';
    case 'name':
      return e.name;
    case 'list':
      return `[${e.items.map((x) => expr(x)).join(', ')}]`;
    case 'paren':
      return `(${expr(e.inner)})`;
    case 'unary':
      return e.op === 'not' ? `not ${expr(e.operand, 3)}` : `-${expr(e.operand, 7)}`;
    case 'binary': {
      const p = PREC[e.op]!;
      const rightMin = p + 1;
      const leftMin = p === 4 ? p + 1 : p;
      return `${expr(e.left, leftMin)} ${e.op} ${expr(e.right, rightMin)}`;
    }
    case 'if':
      return `if ${expr(e.cond)} then ${expr(e.then)} else ${expr(e.else)}`;
    case 'call':
      return `${e.callee.name}(${e.args.map(arg).join(', ')})`;
    default:
      return assertNever(e);
  }
}
