// Parser: tokens → chevrotain CST (with error recovery) → ast.Model with spans.
// Input: SourceFile + DiagnosticSink. Output: ast.Model (possibly partial when there were syntax
// errors; items that could not be recovered are dropped) or null when not even `model NAME {` parsed.
// The grammar mirrors the EBNF in docs/dsl.md; comments there and here must stay in step.

import {
  CstParser,
  EOF,
  type CstNode,
  type IOrAlt,
  type IToken,
  type TokenType,
  type IParserErrorMessageProvider,
} from 'chevrotain';
import type * as ast from './ast.js';
import { BINARY_PRECEDENCE, childExprs } from './ast.js';
import type { DiagnosticSink, SourceFile } from './diagnostics.js';
import { closest } from './diagnostics.js';
import {
  allTokens,
  BinaryOp,
  Colon,
  Comma,
  Dot,
  EqEq,
  Equals,
  Greater,
  GreaterEq,
  Identifier,
  Kw,
  KEYWORDS,
  LBrace,
  LBracket,
  Less,
  LessEq,
  LParen,
  Minus,
  NotEq,
  NumberLiteral,
  numberValue,
  RBrace,
  RBracket,
  RParen,
  StringLiteral,
  stringValue,
  tokenize,
  tokenSpan,
  type Comment,
} from './lexer.js';

export const ParseCodes = {
  syntax: 'PML1100',
  reservedWord: 'PML1101',
  unknownScale: 'PML1102',
  trailingInput: 'PML1103',
  noModel: 'PML1104',
  tooDeep: 'PML1105',
} as const;

/** Bracket nesting and expression depth limits: beyond them we report instead of overflowing the stack. */
export const MAX_NESTING = 200;
const MAX_EXPR_DEPTH = 1000;

// ---------------------------------------------------------------- grammar

const ITEM_START = [
  'version',
  'owner',
  'purpose',
  'description',
  'input',
  'feature',
  'component',
  'output',
  'train',
];

function describeToken(t: IToken): string {
  if (t.tokenType === EOF) return 'end of file';
  const name = t.tokenType.name;
  if (name.startsWith('Kw_')) return `keyword '${t.image}'`;
  if (name === 'StringLiteral')
    return `string ${t.image.length > 24 ? t.image.slice(0, 21) + '..."' : t.image}`;
  if (name === 'NumberLiteral') return `number ${t.image}`;
  if (name === 'Identifier') return `'${t.image}'`;
  return `'${t.image}'`;
}

function label(tt: TokenType): string {
  return tt.LABEL ?? tt.name;
}

const RULE_EXPECTS: Record<string, string> = {
  item: `an item (${ITEM_START.join(', ')}) or '}'`,
  expr: 'an expression',
  primary: 'an expression',
  modifier: "an input modifier ('in', 'default', 'required', 'unknown', 'pii')",
  value: 'a value (number, string, true/false, name, or [list])',
  settingBody: "a value, 'in' and a search space, or '{'",
  space: 'a search space: [lo, hi], log [lo, hi] or {a, b, ...}',
  typeArg: 'a type or a number',
  typeParam: 'a string or a number',
  meta: 'a string',
};

function oneOf(labels: string[]): string {
  const u = [...new Set(labels)];
  if (u.length === 1) return u[0]!;
  if (u.length > 8) return `one of ${u.slice(0, 8).join(', ')}, ...`;
  return `one of ${u.join(', ')}`;
}

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    // A loop of items/settings ended on a token that starts none: say what could have come.
    if (expected === RBrace && ruleName === 'model')
      return `expected ${RULE_EXPECTS['item']} but found ${describeToken(actual)}`;
    if (expected === RBrace && (ruleName === 'train' || ruleName === 'settingBody'))
      return `expected a setting (name value) or '}' but found ${describeToken(actual)}`;
    return `expected ${label(expected)} but found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)} after the end of the model`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const what =
      RULE_EXPECTS[ruleName] ??
      oneOf(expectedPathsPerAlt.flatMap((alt) => alt.map((p) => (p[0] ? label(p[0]) : '?'))));
    return `expected ${what} but found ${describeToken(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const what =
      RULE_EXPECTS[ruleName] ?? oneOf(expectedIterationPaths.map((p) => (p[0] ? label(p[0]) : '?')));
    return `expected ${what} but found ${describeToken(actual[0]!)}`;
  },
};

class PmlParser extends CstParser {
  /**
   * OR alternatives built once per parser rather than on every call: allocating closures per
   * rule invocation dominated parse time (chevrotain's performance guide recommends this).
   */
  private readonly alts: IOrAlt<unknown>[][] = [];

  constructor() {
    super(allTokens, {
      recoveryEnabled: process.env['NOREC'] === undefined,
      maxLookahead: 3,
      nodeLocationTracking: 'onlyOffset',
      errorMessageProvider: messages,
    });
    this.performSelfAnalysis();
  }

  model = this.RULE('model', () => {
    this.CONSUME(Kw.model);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.item));
    this.CONSUME(RBrace);
  });

  item = this.RULE('item', () => {
    this.OR(
      (this.alts[0] ??= [
        { ALT: () => this.SUBRULE(this.meta) },
        { ALT: () => this.SUBRULE(this.inputDecl) },
        { ALT: () => this.SUBRULE(this.feature) },
        { ALT: () => this.SUBRULE(this.component) },
        { ALT: () => this.SUBRULE(this.output) },
        { ALT: () => this.SUBRULE(this.train) },
      ]),
    );
  });

  meta = this.RULE('meta', () => {
    this.OR(
      (this.alts[1] ??= [
        { ALT: () => this.CONSUME(Kw.version, { LABEL: 'key' }) },
        { ALT: () => this.CONSUME(Kw.owner, { LABEL: 'key' }) },
        { ALT: () => this.CONSUME(Kw.purpose, { LABEL: 'key' }) },
        { ALT: () => this.CONSUME(Kw.description, { LABEL: 'key' }) },
      ]),
    );
    this.CONSUME(StringLiteral, { LABEL: 'value' });
  });

  inputDecl = this.RULE('inputDecl', () => {
    this.CONSUME(Kw.input);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.SUBRULE(this.typeRef);
    this.MANY(() => this.SUBRULE(this.modifier));
  });

  typeRef = this.RULE('typeRef', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.OR(
        (this.alts[2] ??= [
          {
            ALT: () => {
              this.CONSUME(Less);
              this.SUBRULE(this.typeArg);
              this.MANY(() => {
                this.CONSUME(Comma);
                this.SUBRULE2(this.typeArg);
              });
              this.CONSUME(Greater);
            },
          },
          {
            ALT: () => {
              this.CONSUME(LParen);
              this.SUBRULE(this.typeParam);
              this.MANY2(() => {
                this.CONSUME2(Comma);
                this.SUBRULE2(this.typeParam);
              });
              this.OPTION2(() => this.CONSUME3(Comma, { LABEL: 'trailing' }));
              this.CONSUME(RParen);
            },
          },
        ]),
      );
    });
  });

  typeArg = this.RULE('typeArg', () => {
    this.OR(
      (this.alts[3] ??= [
        { ALT: () => this.SUBRULE(this.typeRef) },
        { ALT: () => this.CONSUME(NumberLiteral) },
      ]),
    );
  });

  typeParam = this.RULE('typeParam', () => {
    this.OR(
      (this.alts[4] ??= [
        { ALT: () => this.CONSUME(StringLiteral) },
        { ALT: () => this.CONSUME(NumberLiteral) },
      ]),
    );
  });

  modifier = this.RULE('modifier', () => {
    this.OR(
      (this.alts[5] ??= [
        {
          ALT: () => {
            this.CONSUME(Kw.in);
            this.CONSUME(LBracket);
            this.SUBRULE(this.expr, { LABEL: 'lo' });
            this.CONSUME(Comma);
            this.SUBRULE2(this.expr, { LABEL: 'hi' });
            this.CONSUME(RBracket);
          },
        },
        {
          ALT: () => {
            this.CONSUME(Kw.default);
            this.SUBRULE3(this.expr, { LABEL: 'value' });
          },
        },
        { ALT: () => this.CONSUME(Kw.required) },
        {
          ALT: () => {
            this.CONSUME(Kw.unknown);
            this.SUBRULE4(this.expr, { LABEL: 'value' });
          },
        },
        { ALT: () => this.CONSUME(Kw.pii) },
      ]),
    );
  });

  feature = this.RULE('feature', () => {
    this.CONSUME(Kw.feature);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  component = this.RULE('component', () => {
    this.CONSUME(Kw.component);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Equals);
    this.CONSUME2(Identifier, { LABEL: 'callee' });
    this.CONSUME(LParen);
    this.SUBRULE(this.args);
    this.CONSUME(RParen);
    this.OPTION(() => {
      this.CONSUME(Kw.per);
      this.CONSUME3(Identifier, { LABEL: 'per' });
    });
  });

  output = this.RULE('output', () => {
    this.CONSUME(Kw.output);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.typeRef);
    });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  train = this.RULE('train', () => {
    this.CONSUME(Kw.train);
    this.OPTION(() => this.CONSUME(Identifier, { LABEL: 'target' }));
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.setting));
    this.CONSUME(RBrace);
  });

  setting = this.RULE('setting', () => {
    this.CONSUME(Identifier, { LABEL: 'path' });
    this.MANY(() => {
      this.CONSUME(Dot);
      this.CONSUME2(Identifier, { LABEL: 'path' });
    });
    this.SUBRULE(this.settingBody);
  });

  settingBody = this.RULE('settingBody', () => {
    this.OR(
      (this.alts[6] ??= [
        {
          ALT: () => {
            this.CONSUME(Kw.in);
            this.SUBRULE(this.space);
          },
        },
        {
          ALT: () => {
            this.CONSUME(LBrace);
            this.MANY(() => this.SUBRULE(this.setting));
            this.CONSUME(RBrace);
          },
        },
        { ALT: () => this.SUBRULE(this.value) },
      ]),
    );
  });

  space = this.RULE('space', () => {
    this.OR(
      (this.alts[7] ??= [
        {
          ALT: () => {
            this.OPTION(() => this.CONSUME(Identifier, { LABEL: 'scale' }));
            this.CONSUME(LBracket);
            this.SUBRULE(this.value);
            this.CONSUME(Comma);
            this.SUBRULE2(this.value);
            this.CONSUME(RBracket);
          },
        },
        {
          ALT: () => {
            this.CONSUME(LBrace);
            this.SUBRULE3(this.value);
            this.MANY(() => {
              this.CONSUME2(Comma);
              this.SUBRULE4(this.value);
            });
            this.OPTION2(() => this.CONSUME3(Comma, { LABEL: 'trailing' }));
            this.CONSUME(RBrace);
          },
        },
      ]),
    );
  });

  /** A setting value: a single primary, never a binary expression (keeps `key value key value` unambiguous). */
  value = this.RULE('value', () => {
    this.OR(
      (this.alts[8] ??= [
        {
          ALT: () => {
            this.OPTION(() => this.CONSUME(Minus));
            this.CONSUME(NumberLiteral);
          },
        },
        { ALT: () => this.CONSUME(StringLiteral) },
        { ALT: () => this.CONSUME(Kw.true) },
        { ALT: () => this.CONSUME(Kw.false) },
        {
          ALT: () => {
            this.CONSUME(Identifier);
            this.OPTION2(() => {
              this.CONSUME(LParen);
              this.SUBRULE(this.args);
              this.CONSUME(RParen);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(LBracket);
            this.OPTION3(() => {
              this.SUBRULE(this.value);
              this.MANY(() => {
                this.CONSUME(Comma);
                this.SUBRULE2(this.value);
              });
              this.OPTION4(() => this.CONSUME2(Comma, { LABEL: 'trailing' }));
            });
            this.CONSUME(RBracket);
          },
        },
      ]),
    );
  });

  /**
   * `if c then a else b`, or an operator expression. Binary operators are parsed flat
   * (operand (op operand)*) and given their precedence by the builder (precedence climbing): one
   * rule level instead of seven keeps big models fast to parse (CST nodes dominate its cost).
   */
  expr = this.RULE('expr', () => {
    this.OR(
      (this.alts[9] ??= [
        {
          ALT: () => {
            this.CONSUME(Kw.if);
            this.SUBRULE(this.expr, { LABEL: 'cond' });
            this.CONSUME(Kw.then);
            this.SUBRULE2(this.expr, { LABEL: 'then' });
            this.CONSUME(Kw.else);
            this.SUBRULE3(this.expr, { LABEL: 'else' });
          },
        },
        {
          ALT: () => {
            // each operand: `not`* `-`* primary (prefixes in that order: `not -x`, never `- not x`)
            this.MANY(() => this.CONSUME(Kw.not, { LABEL: 'not' }));
            this.MANY2(() => this.CONSUME(Minus, { LABEL: 'minus' }));
            this.SUBRULE(this.primary, { LABEL: 'operand' });
            this.MANY3(() => {
              this.CONSUME(BinaryOp, { LABEL: 'op' });
              this.MANY4(() => this.CONSUME2(Kw.not, { LABEL: 'not' }));
              this.MANY5(() => this.CONSUME2(Minus, { LABEL: 'minus' }));
              this.SUBRULE2(this.primary, { LABEL: 'operand' });
            });
          },
        },
      ]),
    );
  });

  primary = this.RULE('primary', () => {
    this.OR(
      (this.alts[11] ??= [
        { ALT: () => this.CONSUME(NumberLiteral) },
        { ALT: () => this.CONSUME(StringLiteral) },
        { ALT: () => this.CONSUME(Kw.true) },
        { ALT: () => this.CONSUME(Kw.false) },
        {
          ALT: () => {
            this.CONSUME(Identifier);
            this.OPTION(() => {
              this.CONSUME(LParen, { LABEL: 'callOpen' });
              this.SUBRULE(this.args);
              this.CONSUME(RParen, { LABEL: 'callClose' });
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(LBracket);
            this.OPTION2(() => {
              this.SUBRULE(this.expr, { LABEL: 'item' });
              this.MANY(() => {
                this.CONSUME(Comma);
                this.SUBRULE2(this.expr, { LABEL: 'item' });
              });
              this.OPTION3(() => this.CONSUME2(Comma, { LABEL: 'trailing' }));
            });
            this.CONSUME(RBracket);
          },
        },
        {
          ALT: () => {
            this.CONSUME2(LParen);
            this.SUBRULE3(this.expr, { LABEL: 'inner' });
            this.CONSUME2(RParen);
          },
        },
      ]),
    );
  });

  /** `[name =] expr` separated by commas; names are matched to their expressions by position. */
  args = this.RULE('args', () => {
    this.OPTION(() => {
      this.OPTION2(() => {
        this.CONSUME(Identifier, { LABEL: 'name' });
        this.CONSUME(Equals, { LABEL: 'eq' });
      });
      this.SUBRULE(this.expr, { LABEL: 'value' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.OPTION3(() => {
          this.CONSUME2(Identifier, { LABEL: 'name' });
          this.CONSUME2(Equals, { LABEL: 'eq' });
        });
        this.SUBRULE2(this.expr, { LABEL: 'value' });
      });
      this.OPTION4(() => this.CONSUME2(Comma, { LABEL: 'trailing' }));
    });
  });
}

let parserInstance: PmlParser | null = null;
function getParser(): PmlParser {
  parserInstance ??= new PmlParser();
  return parserInstance;
}

// ---------------------------------------------------------------- entry point

export interface ParseResult {
  model: ast.Model | null;
  comments: Comment[];
}

/** Lexes and parses one file. Diagnostics go to the sink; never throws on user input. */
export function parseFile(file: SourceFile, sink: DiagnosticSink): ParseResult {
  const { tokens, comments } = tokenize(file.text, sink);
  if (tokens.length === 0) {
    sink.error(
      ParseCodes.noModel,
      { start: 0, end: 0 },
      'no model in this file',
      'a file holds one model: model NAME { ... }',
    );
    return { model: null, comments };
  }
  const deep = tooDeep(tokens);
  if (deep !== null) {
    sink.error(
      ParseCodes.tooDeep,
      tokenSpan(deep),
      `brackets nested more than ${MAX_NESTING} levels deep`,
      'split the expression into several features',
    );
    return { model: null, comments };
  }
  const parser = getParser();
  parser.input = tokens;
  let cst: CstNode;
  try {
    const t0 = performance.now();
    cst = parser.model();
    if (process.env['PROML_TIME']) console.error('cst ms', performance.now() - t0);
  } catch (e) {
    if (e instanceof RangeError) {
      sink.error(ParseCodes.tooDeep, { start: 0, end: 0 }, 'the model is nested too deeply to parse');
      return { model: null, comments };
    }
    throw e;
  }
  reportParseErrors(parser, tokens, file, sink);
  const builder = new Builder(file, sink);
  let model: ast.Model | null;
  try {
    const t1 = performance.now();
    model = builder.model(cst);
    if (process.env['PROML_TIME']) console.error('build ms', performance.now() - t1);
  } catch (e) {
    if (e instanceof RangeError) {
      sink.error(ParseCodes.tooDeep, { start: 0, end: 0 }, 'the model is nested too deeply to parse');
      return { model: null, comments };
    }
    throw e;
  }
  return { model, comments };
}

/** Convenience: the model only. */
export function parseModel(file: SourceFile, sink: DiagnosticSink): ast.Model | null {
  return parseFile(file, sink).model;
}

function tooDeep(tokens: IToken[]): IToken | null {
  let depth = 0;
  let prefix = 0;
  for (const t of tokens) {
    const tt = t.tokenType;
    if (tt === LParen || tt === LBracket || tt === LBrace) depth++;
    else if (tt === RParen || tt === RBracket || tt === RBrace) depth = Math.max(0, depth - 1);
    // runs of prefix operators (`- - - x`, `not not x`, `if if ...`) recurse like brackets
    if (tt === Minus || tt === Kw.not || tt === Kw.if) prefix++;
    else if (tt !== LParen) prefix = 0;
    if (depth + prefix > MAX_NESTING) return t;
  }
  return null;
}

const KEYWORD_SET = new Set<string>(KEYWORDS);

const BINARY_PREC: Readonly<Record<string, number>> = BINARY_PRECEDENCE;

const COMPARISONS = new Set<TokenType>([Less, LessEq, Greater, GreaterEq, EqEq, NotEq]);

function reportParseErrors(
  parser: PmlParser,
  tokens: IToken[],
  file: SourceFile,
  sink: DiagnosticSink,
): void {
  const seen = new Set<number>();
  const lexErrors = sink.items.filter((d) => d.code.startsWith('PML10'));
  for (const e of parser.errors) {
    const t = e.token;
    const isEof = t.tokenType === EOF || !Number.isFinite(t.startOffset);
    let span: ast.Span;
    if (isEof) {
      const last = tokens[tokens.length - 1];
      const end = last ? tokenSpan(last).end : file.text.length;
      span = { start: end, end };
    } else {
      span = tokenSpan(t);
    }
    if (seen.has(span.start)) continue; // one report per position: recovery can re-trip on the same token
    // an unterminated block comment swallowed the rest of the file: "unexpected end" adds nothing
    if (isEof && sink.items.some((d) => d.code === 'PML1003')) continue;
    seen.add(span.start);
    // a lexical error earlier on the same line already explains what went wrong there
    const line = file.position(span.start).line;
    if (lexErrors.some((d) => d.span.start <= span.start && file.position(d.span.start).line === line))
      continue;
    let code: string = ParseCodes.syntax;
    let hint: string | undefined;
    let msg = e.message;
    const rules = e.context.ruleStack;
    if (!isEof && COMPARISONS.has(t.tokenType)) {
      msg = `unexpected ${describeToken(t)}: comparisons do not chain`;
      hint = "write 'a < b and b < c'";
    } else if (rules[rules.length - 1] === 'component' && msg.startsWith("expected '('")) {
      hint =
        "a component is a call such as linear(...), gbdt(...) or mlp(...), optionally followed by 'per ENTITY'";
    }
    if (e.name === 'NotAllInputParsedException') code = ParseCodes.trailingInput;
    if (hint !== undefined) {
      // already explained above
    } else if (!isEof && KEYWORD_SET.has(t.image) && msg.startsWith('expected a name')) {
      code = ParseCodes.reservedWord;
      hint = `'${t.image}' is a reserved word; choose another name, e.g. '${t.image}_'`;
    } else if (!isEof && t.tokenType === Identifier) {
      const kw = closest(
        t.image,
        ITEM_START.concat(['model', 'per', 'in', 'default', 'required', 'unknown']),
      );
      if (kw !== undefined) hint = `did you mean '${kw}'?`;
    } else if (isEof) {
      hint = "the file ended early: is a '}' or ')' missing?";
    }
    sink.error(code, span, msg, hint);
  }
}

// ---------------------------------------------------------------- CST → AST

type Children = Record<string, (CstNode | IToken)[] | undefined>;

function kids(node: CstNode): Children {
  return node.children as Children;
}

function tokenOf(node: CstNode, key: string, i = 0): IToken | undefined {
  const t = kids(node)[key]?.[i];
  if (t === undefined || 'children' in t) return undefined;
  if (t.isInsertedInRecovery === true || !Number.isFinite(t.startOffset)) return undefined;
  return t;
}

function tokensOf(node: CstNode, key: string): IToken[] {
  const all = kids(node)[key] as IToken[] | undefined;
  if (all === undefined) return [];
  for (const t of all) {
    if ('children' in t || t.isInsertedInRecovery === true || !Number.isFinite(t.startOffset)) {
      return all.filter(
        (x) => !('children' in x) && x.isInsertedInRecovery !== true && Number.isFinite(x.startOffset),
      );
    }
  }
  return all;
}

function nodeOf(node: CstNode, key: string, i = 0): CstNode | undefined {
  const n = kids(node)[key]?.[i];
  return n !== undefined && 'children' in n ? n : undefined;
}

function nodesOf(node: CstNode, key: string): CstNode[] {
  return (kids(node)[key] ?? []) as CstNode[];
}

/** All real tokens under a node, in source order (operators interleaved with operands). */
function orderedOps(node: CstNode): IToken[] {
  return tokensOf(node, 'op'); // chevrotain appends tokens of one label in source order
}

function nodeSpan(node: CstNode): ast.Span | null {
  const loc = node.location;
  if (
    loc &&
    Number.isFinite(loc.startOffset) &&
    loc.endOffset !== undefined &&
    Number.isFinite(loc.endOffset)
  ) {
    return { start: loc.startOffset, end: loc.endOffset + 1 };
  }
  return null;
}

function join(a: ast.Span, b: ast.Span): ast.Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

class Builder {
  constructor(
    private readonly file: SourceFile,
    private readonly sink: DiagnosticSink,
  ) {}

  private ident(t: IToken | undefined): ast.Ident | null {
    if (t === undefined) return null;
    return { kind: 'ident', span: tokenSpan(t), name: t.image };
  }

  model(cst: CstNode): ast.Model | null {
    const name = this.ident(tokenOf(cst, 'name'));
    if (tokenOf(cst, 'Kw_model') === undefined || name === null) return null;
    const items: ast.Item[] = [];
    for (const n of nodesOf(cst, 'item')) {
      const item = this.item(n);
      if (item !== null) items.push(item);
    }
    const span = nodeSpan(cst) ?? { start: 0, end: this.file.text.length };
    return { kind: 'model', span, name, items };
  }

  private item(n: CstNode): ast.Item | null {
    if (n.recoveredNode === true && nodeSpan(n) === null) return null;
    const inner = Object.values(kids(n)).flat()[0];
    if (inner === undefined || !('children' in inner)) return null;
    switch (inner.name) {
      case 'meta':
        return this.meta(inner);
      case 'inputDecl':
        return this.input(inner);
      case 'feature':
        return this.feature(inner);
      case 'component':
        return this.component(inner);
      case 'output':
        return this.output(inner);
      case 'train':
        return this.train(inner);
      default:
        return null;
    }
  }

  private meta(n: CstNode): ast.MetaItem | null {
    const key = tokenOf(n, 'key');
    const value = tokenOf(n, 'value');
    const span = nodeSpan(n);
    if (key === undefined || value === undefined || span === null) return null;
    return {
      kind: 'meta',
      span,
      key: key.image as ast.MetaKey,
      value: { kind: 'string', span: tokenSpan(value), value: stringValue(value) },
    };
  }

  private input(n: CstNode): ast.InputDecl | null {
    const name = this.ident(tokenOf(n, 'name'));
    const typeNode = nodeOf(n, 'typeRef');
    const type = typeNode ? this.typeRef(typeNode) : null;
    const span = nodeSpan(n);
    if (name === null || type === null || span === null) return null;
    const modifiers: ast.InputModifier[] = [];
    for (const m of nodesOf(n, 'modifier')) {
      const mod = this.modifier(m);
      if (mod !== null) modifiers.push(mod);
    }
    return { kind: 'input', span, name, type, modifiers };
  }

  private typeRef(n: CstNode): ast.TypeRef | null {
    const name = this.ident(tokenOf(n, 'name'));
    const span = nodeSpan(n);
    if (name === null || span === null) return null;
    const params: ast.TypeParam[] = [];
    let style: ast.TypeRef['style'] = 'none';
    if (tokenOf(n, 'Less') !== undefined) {
      style = 'angle';
      for (const a of nodesOf(n, 'typeArg')) {
        const sub = nodeOf(a, 'typeRef');
        const num = tokenOf(a, 'NumberLiteral');
        if (sub) {
          const t = this.typeRef(sub);
          if (t) params.push(t);
        } else if (num) params.push(this.number(num));
      }
    } else if (tokenOf(n, 'LParen') !== undefined) {
      style = 'paren';
      for (const p of nodesOf(n, 'typeParam')) {
        const s = tokenOf(p, 'StringLiteral');
        const num = tokenOf(p, 'NumberLiteral');
        if (s) params.push({ kind: 'string', span: tokenSpan(s), value: stringValue(s) });
        else if (num) params.push(this.number(num));
      }
    }
    return { kind: 'type', span, name, style, params };
  }

  private modifier(n: CstNode): ast.InputModifier | null {
    const span = nodeSpan(n);
    if (span === null) return null;
    if (tokenOf(n, 'Kw_in')) {
      const lo = this.optExpr(nodeOf(n, 'lo'));
      const hi = this.optExpr(nodeOf(n, 'hi'));
      return lo && hi ? { kind: 'range', span, lo, hi } : null;
    }
    if (tokenOf(n, 'Kw_default')) {
      const value = this.optExpr(nodeOf(n, 'value'));
      return value ? { kind: 'default', span, value } : null;
    }
    if (tokenOf(n, 'Kw_unknown')) {
      const value = this.optExpr(nodeOf(n, 'value'));
      return value ? { kind: 'unknown', span, value } : null;
    }
    if (tokenOf(n, 'Kw_required')) return { kind: 'required', span };
    if (tokenOf(n, 'Kw_pii')) return { kind: 'pii', span };
    return null;
  }

  private feature(n: CstNode): ast.FeatureDecl | null {
    const name = this.ident(tokenOf(n, 'name'));
    const value = this.optExpr(nodeOf(n, 'expr'));
    const span = nodeSpan(n);
    if (name === null || value === null || span === null) return null;
    return { kind: 'feature', span, name, value };
  }

  private component(n: CstNode): ast.ComponentDecl | null {
    const name = this.ident(tokenOf(n, 'name'));
    const callee = this.ident(tokenOf(n, 'callee'));
    const argsNode = nodeOf(n, 'args');
    const open = tokenOf(n, 'LParen');
    const close = tokenOf(n, 'RParen');
    const span = nodeSpan(n);
    if (name === null || callee === null || argsNode === undefined || span === null || !open || !close)
      return null;
    const args = this.args(argsNode);
    if (args === null) return null;
    const per = tokenOf(n, 'Kw_per') ? this.ident(tokenOf(n, 'per')) : null;
    if (tokenOf(n, 'Kw_per') && per === null) return null;
    const value: ast.CallExpr = { kind: 'call', span: join(callee.span, tokenSpan(close)), callee, args };
    return { kind: 'component', span, name, value, per };
  }

  private output(n: CstNode): ast.OutputDecl | null {
    const name = this.ident(tokenOf(n, 'name'));
    const value = this.optExpr(nodeOf(n, 'expr'));
    const span = nodeSpan(n);
    if (name === null || value === null || span === null) return null;
    const typeNode = nodeOf(n, 'typeRef');
    const type = typeNode ? this.typeRef(typeNode) : null;
    if (typeNode && type === null) return null;
    return { kind: 'output', span, name, type, value };
  }

  private train(n: CstNode): ast.TrainBlock | null {
    const span = nodeSpan(n);
    if (span === null) return null;
    const target = this.ident(tokenOf(n, 'target'));
    return { kind: 'train', span, target, settings: this.settings(nodesOf(n, 'setting')) };
  }

  private settings(nodes: CstNode[]): ast.Setting[] {
    const out: ast.Setting[] = [];
    for (const s of nodes) {
      const setting = this.setting(s);
      if (setting !== null) out.push(setting);
    }
    return out;
  }

  private setting(n: CstNode): ast.Setting | null {
    const span = nodeSpan(n);
    const path = tokensOf(n, 'path')
      .sort((a, b) => a.startOffset - b.startOffset)
      .map((t) => this.ident(t)!);
    const body = nodeOf(n, 'settingBody');
    if (span === null || path.length === 0 || body === undefined) return null;
    const bodySpan = nodeSpan(body);
    if (bodySpan === null) return null;
    let value: ast.SettingValue | null = null;
    if (tokenOf(body, 'Kw_in')) {
      const sp = nodeOf(body, 'space');
      value = sp ? this.space(sp) : null;
    } else if (tokenOf(body, 'LBrace')) {
      if (!tokenOf(body, 'RBrace')) return null;
      value = { kind: 'block', span: bodySpan, settings: this.settings(nodesOf(body, 'setting')) };
    } else {
      const v = nodeOf(body, 'value');
      value = v ? this.value(v) : null;
    }
    if (value === null) return null;
    return { kind: 'setting', span, path, value };
  }

  private space(n: CstNode): ast.SearchSpace | null {
    const span = nodeSpan(n);
    if (span === null) return null;
    const values: ast.Expr[] = [];
    for (const v of nodesOf(n, 'value')) {
      const e = this.value(v);
      if (e === null) return null;
      values.push(e);
    }
    if (tokenOf(n, 'LBrace')) return { kind: 'space', span, scale: 'choice', values };
    const scaleTok = tokenOf(n, 'scale');
    let scale: ast.SearchSpace['scale'] = 'linear';
    if (scaleTok) {
      if (scaleTok.image === 'log') scale = 'log';
      else {
        this.sink.error(
          ParseCodes.unknownScale,
          tokenSpan(scaleTok),
          `unknown search scale '${scaleTok.image}'`,
          "write 'in [lo, hi]' for a linear range or 'in log [lo, hi]' for a log-uniform one",
        );
        return null;
      }
    }
    if (values.length !== 2) return null;
    return { kind: 'space', span, scale, values };
  }

  private value(n: CstNode): ast.Expr | null {
    const span = nodeSpan(n);
    if (span === null) return null;
    const num = tokenOf(n, 'NumberLiteral');
    if (num) {
      const lit = this.number(num);
      const minus = tokenOf(n, 'Minus');
      return minus ? { kind: 'unary', span: join(tokenSpan(minus), lit.span), op: '-', operand: lit } : lit;
    }
    const s = tokenOf(n, 'StringLiteral');
    if (s) return { kind: 'string', span: tokenSpan(s), value: stringValue(s) };
    if (tokenOf(n, 'Kw_true')) return { kind: 'bool', span, value: true };
    if (tokenOf(n, 'Kw_false')) return { kind: 'bool', span, value: false };
    const id = tokenOf(n, 'Identifier');
    if (id) {
      if (tokenOf(n, 'LParen')) {
        const argsNode = nodeOf(n, 'args');
        const args = argsNode ? this.args(argsNode) : null;
        if (args === null || !tokenOf(n, 'RParen')) return null;
        return { kind: 'call', span, callee: this.ident(id)!, args };
      }
      return { kind: 'name', span: tokenSpan(id), name: id.image };
    }
    if (tokenOf(n, 'LBracket')) {
      if (!tokenOf(n, 'RBracket')) return null;
      const items: ast.Expr[] = [];
      for (const v of nodesOf(n, 'value')) {
        const e = this.value(v);
        if (e === null) return null;
        items.push(e);
      }
      return { kind: 'list', span, items };
    }
    return null;
  }

  private number(t: IToken): ast.NumberLit {
    const { value, isInt } = numberValue(t);
    return { kind: 'number', span: tokenSpan(t), value, raw: t.image, isInt };
  }

  private args(n: CstNode): ast.Arg[] | null {
    const out: ast.Arg[] = [];
    const names = tokensOf(n, 'name');
    if (names.length !== tokensOf(n, 'eq').length) return null;
    let k = 0;
    for (const v of nodesOf(n, 'value')) {
      const vs = nodeSpan(v);
      const value = this.optExpr(v);
      if (vs === null || value === null) return null;
      // the name (if any) is the next unused one that starts before this value
      let name: ast.Ident | null = null;
      const next = names[k];
      if (next !== undefined && next.startOffset < vs.start) {
        name = this.ident(next);
        k++;
      }
      out.push({ kind: 'arg', span: name ? join(name.span, value.span) : value.span, name, value });
    }
    return k === names.length ? out : null;
  }

  private optExpr(n: CstNode | undefined): ast.Expr | null {
    if (n === undefined) return null;
    const e = this.expr(n);
    // each level of nesting takes at least one character, so only long expressions can be too deep
    if (e !== null && e.span.end - e.span.start > MAX_EXPR_DEPTH && depthOf(e) > MAX_EXPR_DEPTH) {
      this.sink.error(
        ParseCodes.tooDeep,
        e.span,
        `expression nested more than ${MAX_EXPR_DEPTH} levels deep`,
        'split it into several features',
      );
      return null;
    }
    return e;
  }

  /** Any expression rule node → Expr (null if recovery left it incomplete). */
  private expr(n: CstNode): ast.Expr | null {
    switch (n.name) {
      case 'expr': {
        if (tokenOf(n, 'Kw_if') === undefined) return this.opExpr(n);
        const span = nodeSpan(n);
        const c = nodeOf(n, 'cond');
        const t = nodeOf(n, 'then');
        const e = nodeOf(n, 'else');
        if (!span || !c || !t || !e) return null;
        const cond = this.expr(c);
        const then = this.expr(t);
        const els = this.expr(e);
        if (!cond || !then || !els) return null;
        return { kind: 'if', span, cond, then, else: els };
      }
      case 'primary':
        return this.primary(n);
      default:
        return null;
    }
  }

  /**
   * Precedence climbing over the flat `operand (op operand)*` list:
   * or 1 < and 2 < not 3 < comparisons 4 (non-associative) < + - 5 < * / 6 < unary minus 7.
   * `not` takes everything that binds tighter than `and`; where it would sit inside a tighter
   * operator (`a + not b`) it must be parenthesized, as the grammar in docs/dsl.md says.
   */
  private opExpr(n: CstNode): ast.Expr | null {
    const operandNodes = nodesOf(n, 'operand');
    const ops = orderedOps(n);
    if (operandNodes.length === 0 || ops.length !== operandNodes.length - 1) return null;
    const nots = tokensOf(n, 'not');
    const minuses = tokensOf(n, 'minus');
    const operands: { nots: IToken[]; value: ast.Expr }[] = [];
    for (let k = 0; k < operandNodes.length; k++) {
      let value = this.primary(operandNodes[k]!);
      if (value === null) return null;
      // this operand's prefixes lie between the operator before it and its primary
      const lo = k === 0 ? -1 : ops[k - 1]!.startOffset;
      const hi = value.span.start;
      const mine = (t: IToken): boolean => t.startOffset > lo && t.startOffset < hi;
      const ms = minuses.filter(mine).sort((x, y) => y.startOffset - x.startOffset);
      for (const m of ms)
        value = { kind: 'unary', span: join(tokenSpan(m), value.span), op: '-', operand: value };
      operands.push({ nots: nots.filter(mine).sort((x, y) => x.startOffset - y.startOffset), value });
    }
    let i = 0;
    let failed = false;
    const climb = (minPrec: number): ast.Expr => {
      let left = operand(minPrec);
      while (i < ops.length && BINARY_PREC[ops[i]!.image]! >= minPrec) {
        const opTok = ops[i]!;
        const p = BINARY_PREC[opTok.image]!;
        if (p === 4 && left.kind === 'binary' && BINARY_PREC[left.op] === 4 && !failed) {
          this.sink.error(
            ParseCodes.syntax,
            tokenSpan(opTok),
            `unexpected '${opTok.image}': comparisons do not chain`,
            "write 'a < b and b < c'",
          );
          failed = true;
        }
        i++;
        const right = climb(p + 1);
        left = {
          kind: 'binary',
          span: join(left.span, right.span),
          op: opTok.image as ast.BinaryOp,
          left,
          right,
        };
      }
      return left;
    };
    const operand = (minPrec: number): ast.Expr => {
      const o = operands[i]!;
      const not = o.nots.shift();
      if (not === undefined) return o.value;
      if (minPrec > 3 && !failed) {
        this.sink.error(
          ParseCodes.syntax,
          tokenSpan(not),
          "'not' inside an arithmetic or comparison operand needs parentheses",
          `write '(not ...)'`,
        );
        failed = true;
      }
      const inner = climb(4);
      return { kind: 'unary', span: join(tokenSpan(not), inner.span), op: 'not', operand: inner };
    };
    const e = climb(0);
    return failed ? null : e;
  }

  private primary(n: CstNode): ast.Expr | null {
    // names are by far the most common primary: take the fast path first
    const c = kids(n);
    if (c['Identifier'] !== undefined && c['callOpen'] === undefined) {
      const id = tokenOf(n, 'Identifier');
      return id ? { kind: 'name', span: tokenSpan(id), name: id.image } : null;
    }
    const span = nodeSpan(n);
    if (span === null) return null;
    const num = tokenOf(n, 'NumberLiteral');
    if (num) return this.number(num);
    const s = tokenOf(n, 'StringLiteral');
    if (s) return { kind: 'string', span, value: stringValue(s) };
    if (tokenOf(n, 'Kw_true')) return { kind: 'bool', span, value: true };
    if (tokenOf(n, 'Kw_false')) return { kind: 'bool', span, value: false };
    const id = tokenOf(n, 'Identifier');
    if (id) {
      if (kids(n)['callOpen']) {
        const argsNode = nodeOf(n, 'args');
        const close = tokenOf(n, 'callClose');
        const args = argsNode ? this.args(argsNode) : null;
        if (args === null || !close) return null;
        return { kind: 'call', span, callee: this.ident(id)!, args };
      }
      return { kind: 'name', span, name: id.image };
    }
    if (tokenOf(n, 'LBracket')) {
      if (!tokenOf(n, 'RBracket')) return null;
      const items: ast.Expr[] = [];
      for (const it of nodesOf(n, 'item')) {
        const e = this.expr(it);
        if (!e) return null;
        items.push(e);
      }
      return { kind: 'list', span, items };
    }
    const inner = nodeOf(n, 'inner');
    if (inner) {
      if (!tokenOf(n, 'RParen')) return null;
      const e = this.expr(inner);
      return e ? { kind: 'paren', span, inner: e } : null;
    }
    return null;
  }
}

/** Depth of an expression tree, iteratively (so a pathological chain cannot overflow here). */
function depthOf(root: ast.Expr): number {
  let max = 0;
  const stack: [ast.Expr, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [e, d] = stack.pop()!;
    if (d > max) max = d;
    for (const c of childExprs(e)) stack.push([c, d + 1]);
  }
  return max;
}
