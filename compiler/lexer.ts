// Lexer: .pml source text → tokens (chevrotain) + comments aside + PML10xx diagnostics.
// Input: SourceFile. Output: the token vector for parser.ts, the comments for printer.ts.
// Malformed pieces (unterminated strings and comments, bad escapes, bad numbers) are matched by
// dedicated "error" token types so we can name the mistake precisely; they are reported here and
// then replaced by a well-formed token of the same class so the parser can carry on.

import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';
import type { Span } from './ast.js';
import type { DiagnosticSink } from './diagnostics.js';

export const LexCodes = {
  unexpectedChar: 'PML1000',
  unterminatedString: 'PML1001',
  invalidEscape: 'PML1002',
  unterminatedComment: 'PML1003',
  numberTooLarge: 'PML1004',
  malformedNumber: 'PML1005',
} as const;

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: 'a name',
});

/** Category of every binary operator token: the parser consumes `BinaryOp` instead of a 12-way OR. */
export const BinaryOp = createToken({ name: 'BinaryOp', pattern: Lexer.NA, label: 'an operator' });

function keyword(word: string): TokenType {
  return createToken({
    name: `Kw_${word}`,
    pattern: word,
    longer_alt: Identifier,
    label: `'${word}'`,
    ...(word === 'and' || word === 'or' ? { categories: [BinaryOp] } : {}),
  });
}

export const KEYWORDS = [
  'model',
  'version',
  'owner',
  'purpose',
  'description',
  'input',
  'feature',
  'component',
  'output',
  'train',
  'per',
  'in',
  'default',
  'required',
  'unknown',
  'pii',
  'if',
  'then',
  'else',
  'and',
  'or',
  'not',
  'true',
  'false',
] as const;
export type Keyword = (typeof KEYWORDS)[number];

export const Kw = Object.fromEntries(KEYWORDS.map((w) => [w, keyword(w)])) as Record<Keyword, TokenType>;

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n\f\v\uFEFF\u00A0]+/,
  group: Lexer.SKIPPED,
});
export const LineComment = createToken({ name: 'LineComment', pattern: /\/\/[^\n\r]*/, group: 'comments' });
export const BlockComment = createToken({
  name: 'BlockComment',
  pattern: /\/\*[\s\S]*?\*\//,
  group: 'comments',
});
export const BadBlockComment = createToken({
  name: 'BadBlockComment',
  pattern: /\/\*[\s\S]*/,
  group: 'comments',
});

/** `# ...`: a comment in other languages. Reported, then skipped to the end of the line. */
export const HashComment = createToken({ name: 'HashComment', pattern: /#[^\n\r]*/, group: 'comments' });

export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*"/,
  label: 'a string',
});
/** `'text'`: a string as other languages write it. Reported, then read as the string it meant. */
export const SingleQuoted = createToken({ name: 'SingleQuoted', pattern: /'[^'\n\r]*'/ });
export const BadString = createToken({ name: 'BadString', pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*\\?/ });
/** Greedy on purpose (`1e`, `2.x`, `3__`): numberValue() then says what is wrong with it. */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /[0-9](?:[eE][+-][0-9]|[0-9A-Za-z_]|\.[0-9A-Za-z_])*/,
  label: 'a number',
});

function punct(name: string, pattern: string, binary = false): TokenType {
  return createToken({ name, pattern, label: `'${pattern}'`, ...(binary ? { categories: [BinaryOp] } : {}) });
}

export const LBrace = punct('LBrace', '{');
export const RBrace = punct('RBrace', '}');
export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LBracket = punct('LBracket', '[');
export const RBracket = punct('RBracket', ']');
export const LessEq = punct('LessEq', '<=', true);
export const GreaterEq = punct('GreaterEq', '>=', true);
export const EqEq = punct('EqEq', '==', true);
export const NotEq = punct('NotEq', '!=', true);
export const Less = punct('Less', '<', true);
export const Greater = punct('Greater', '>', true);
export const Equals = punct('Equals', '=');
export const Comma = punct('Comma', ',');
export const Colon = punct('Colon', ':');
export const Dot = punct('Dot', '.');
export const Plus = punct('Plus', '+', true);
export const Minus = punct('Minus', '-', true);
export const Star = punct('Star', '*', true);
export const Slash = punct('Slash', '/', true);

/** Token types in match order (longer and more specific patterns first). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  BadBlockComment,
  HashComment,
  StringLiteral,
  SingleQuoted,
  BadString,
  NumberLiteral,
  ...KEYWORDS.map((w) => Kw[w]),
  Identifier,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LessEq,
  GreaterEq,
  EqEq,
  NotEq,
  Less,
  Greater,
  Equals,
  Comma,
  Colon,
  Dot,
  Plus,
  Minus,
  Star,
  Slash,
  BinaryOp,
];

const lexer = new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: true });

export interface Comment {
  span: Span;
  text: string;
}

export interface LexResult {
  tokens: IToken[];
  comments: Comment[];
}

/** Tokens carry offsets; `endOffset` is inclusive in chevrotain, our spans are half-open. */
export function tokenSpan(t: IToken): Span {
  const start = Number.isFinite(t.startOffset) ? t.startOffset : 0;
  const end =
    t.endOffset !== undefined && Number.isFinite(t.endOffset) ? t.endOffset + 1 : start + t.image.length;
  return { start, end: Math.max(start, end) };
}

export function tokenize(text: string, sink: DiagnosticSink): LexResult {
  const result = lexer.tokenize(text);
  // offset-only tokens carry no endOffset; the parser's node locations need it
  for (const t of result.tokens) t.endOffset = t.startOffset + t.image.length - 1;
  for (const e of result.errors) {
    const ch = text.slice(e.offset, e.offset + e.length);
    const shown = ch.length === 1 ? describeChar(ch) : `'${ch}'`;
    sink.error(
      LexCodes.unexpectedChar,
      { start: e.offset, end: e.offset + e.length },
      `unexpected character${ch.length === 1 ? '' : 's'} ${shown}`,
      OPERATOR_HINTS[ch.trim()],
    );
  }
  const tokens: IToken[] = [];
  for (const t of result.tokens) {
    if (t.tokenType === BadString) {
      sink.error(
        LexCodes.unterminatedString,
        tokenSpan(t),
        'unterminated string',
        "close the string with '\"' on the same line",
      );
      tokens.push(retype(t, StringLiteral));
    } else if (t.tokenType === SingleQuoted) {
      const body = t.image.slice(1, -1);
      sink.error(
        LexCodes.unexpectedChar,
        tokenSpan(t),
        'strings use double quotes',
        body.includes('"') ? undefined : `write "${body}"`,
      );
      tokens.push({ ...retype(t, StringLiteral), image: `"${body.replace(/["\\]/g, ' ')}"` });
    } else if (t.tokenType === StringLiteral) {
      checkEscapes(t, sink);
      tokens.push(t);
    } else if (t.tokenType === NumberLiteral) {
      numberValue(t, sink);
      tokens.push(t);
    } else {
      tokens.push(t);
    }
  }
  const comments: Comment[] = [];
  for (const c of (result.groups['comments'] ?? []) as IToken[]) {
    if (c.tokenType === HashComment) {
      sink.error(
        LexCodes.unexpectedChar,
        { start: c.startOffset, end: c.startOffset + 1 },
        "unexpected character '#'",
        "comments start with '//'",
      );
      continue;
    }
    if (c.tokenType === BadBlockComment) {
      sink.error(
        LexCodes.unterminatedComment,
        { start: c.startOffset, end: c.startOffset + 2 },
        'unterminated block comment',
        "close it with '*/'",
      );
      continue;
    }
    comments.push({ span: tokenSpan(c), text: c.image });
  }
  return { tokens, comments };
}

/** Operators from other languages, and what to write in proml instead. */
const OPERATOR_HINTS: Record<string, string> = {
  '&&': "write 'and'",
  '&': "write 'and'",
  '||': "write 'or'",
  '|': "write 'or'",
  '!': "write 'not' (or '!=' to compare)",
  '%': 'there is no remainder operator; bucketize or floor may do what you need',
  '^': 'write pow(x, y) for powers',
  '**': 'write pow(x, y) for powers',
  ';': 'items are not separated by semicolons: remove it',
};

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0))
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${ch}'`;
}

function retype(t: IToken, type: TokenType): IToken {
  return { ...t, tokenType: type, tokenTypeIdx: type.tokenTypeIdx! };
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };

/**
 * Decodes a string token's value (without quotes). Reports bad escapes when a sink is given.
 * Tolerates the unterminated form (no closing quote).
 */
export function stringValue(t: IToken, sink?: DiagnosticSink): string {
  const image = t.image;
  const body =
    image.length >= 2 && image.endsWith('"') && !image.endsWith('\\"') ? image.slice(1, -1) : image.slice(1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[i + 1];
    const at = t.startOffset + 1 + i;
    if (n === undefined) break;
    if (n in ESCAPES) {
      out += ESCAPES[n];
      i++;
      continue;
    }
    if (n === 'u') {
      const m = /^u\{([0-9A-Fa-f]{1,6})\}/.exec(body.slice(i + 1));
      const cp = m ? parseInt(m[1]!, 16) : NaN;
      if (m && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
        out += String.fromCodePoint(cp);
        i += m[0].length;
        continue;
      }
      sink?.error(
        LexCodes.invalidEscape,
        { start: at, end: at + 2 + (m ? m[0].length - 1 : 0) },
        'invalid unicode escape',
        'write \\u{XXXX} with 1 to 6 hex digits naming a code point up to 10FFFF',
      );
      i++;
      continue;
    }
    sink?.error(
      LexCodes.invalidEscape,
      { start: at, end: at + 2 },
      `invalid escape '\\${n}' in string`,
      'valid escapes: \\" \\\\ \\n \\t \\r \\u{XXXX}',
    );
    out += n;
    i++;
  }
  return out;
}

function checkEscapes(t: IToken, sink: DiagnosticSink): void {
  if (t.image.includes('\\')) stringValue(t, sink);
}

const NUMBER_RE = /^[0-9](?:_?[0-9])*(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;

/** The numeric value of a number token; reports malformed or too-large literals when a sink is given. */
export function numberValue(t: IToken, sink?: DiagnosticSink): { value: number; isInt: boolean } {
  const raw = t.image;
  const span = tokenSpan(t);
  if (!NUMBER_RE.test(raw)) {
    sink?.error(
      LexCodes.malformedNumber,
      span,
      `malformed number '${raw}'`,
      'numbers look like 42, 3.5, 1e-3 or 262_144 (underscores only between digits)',
    );
    const v = parseFloat(raw.replace(/_/g, ''));
    return { value: Number.isFinite(v) ? v : 0, isInt: false };
  }
  const clean = raw.replace(/_/g, '');
  const isInt = !/[.eE]/.test(clean);
  const value = Number(clean);
  if (!Number.isFinite(value) || (isInt && !Number.isSafeInteger(value))) {
    sink?.error(
      LexCodes.numberTooLarge,
      span,
      `number '${raw}' is too large`,
      isInt ? 'integers must be at most 2^53 - 1 (9007199254740991)' : 'floats must be below 1.8e308',
    );
    return { value: 0, isInt };
  }
  return { value, isInt };
}
