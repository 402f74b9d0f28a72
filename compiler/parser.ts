// Parser: tokens → ast.Model with spans, built directly by the grammar's actions (chevrotain, error recovery).
// Input: SourceFile + DiagnosticSink. Output: ast.Model (possibly partial when there were syntax
// errors; items that could not be recovered are dropped) or null when not even `model NAME {` parsed.
// The grammar mirrors the EBNF in docs/dsl.md; comments there and here must stay in step.

import {
  EmbeddedActionsParser,
  EOF,
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

// ---------------------------------------------------------------- messages

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
  opExpr: 'an expression',
  operand: 'an expression',
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
    if (expected === RBrace && (ruleName === 'train' || ruleName === 'settingBlock'))
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

// ---------------------------------------------------------------- grammar with embedded actions
//
// The parser builds the AST directly (chevrotain's EmbeddedActionsParser): no CST is allocated, which
// halves parse time on big models. Rules return a node, or null when error recovery left the node
// incomplete (chevrotain returns undefined from a rule it recovered from; `?? null` everywhere).
// Two chevrotain rules shape the code: AST construction happens inside this.ACTION (skipped while
// chevrotain records the grammar), and OR alternatives are built once per parser (allocating them per
// call dominated parse time), so they communicate only through return values, never through locals.

type Opt<T> = T | null | undefined;

/** A token that really is in the source (not inserted by error recovery). */
function real(t: Opt<IToken>): t is IToken {
  return t !== null && t !== undefined && t.isInsertedInRecovery !== true && Number.isFinite(t.startOffset);
}

function ident(t: IToken): ast.Ident {
  return { kind: 'ident', span: tokenSpan(t), name: t.image };
}

function numberLit(t: IToken): ast.NumberLit {
  const { value, isInt } = numberValue(t);
  return { kind: 'number', span: tokenSpan(t), value, raw: t.image, isInt };
}

function stringLit(t: IToken): ast.StringLit {
  return { kind: 'string', span: tokenSpan(t), value: stringValue(t) };
}

function present<T>(xs: Opt<T>[]): T[] {
  return xs.filter((x): x is T => x !== null && x !== undefined);
}

function span(start: number, end: number): ast.Span {
  return { start, end };
}

interface Operand {
  nots: IToken[];
  minus: IToken[];
  value: ast.Expr;
}

interface TypeTail {
  style: 'angle' | 'paren';
  params: ast.TypeParam[];
  end: number;
}

class PmlParser extends EmbeddedActionsParser {
  /** Where actions report the few errors the grammar cannot express (set per parse). */
  sink: DiagnosticSink | null = null;
  private readonly alts: IOrAlt<unknown>[][] = [];

  /** OR over cached alternatives whose actions return T (or nothing, after error recovery). */
  private pick<T>(alts: IOrAlt<unknown>[]): T | null {
    return (this.OR(alts) as T | undefined) ?? null;
  }

  constructor() {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  model = this.RULE('model', (): ast.Model | null => {
    const kw = this.CONSUME(Kw.model);
    const name = this.CONSUME(Identifier);
    this.CONSUME(LBrace);
    const items: Opt<ast.Item>[] = [];
    this.MANY(() => {
      items.push(this.SUBRULE(this.item));
    });
    const close = this.CONSUME(RBrace);
    return this.ACTION(() => {
      if (!real(kw) || !real(name)) return null;
      const kept = present(items);
      const end = real(close)
        ? tokenSpan(close).end
        : (kept[kept.length - 1]?.span.end ?? tokenSpan(name).end);
      return { kind: 'model', span: span(kw.startOffset, end), name: ident(name), items: kept };
    });
  });

  item = this.RULE('item', (): ast.Item | null => {
    return this.pick<ast.Item>(
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

  meta = this.RULE('meta', (): ast.MetaItem | null => {
    const key = this.OR(
      (this.alts[1] ??= [
        { ALT: () => this.CONSUME(Kw.version) },
        { ALT: () => this.CONSUME(Kw.owner) },
        { ALT: () => this.CONSUME(Kw.purpose) },
        { ALT: () => this.CONSUME(Kw.description) },
      ]),
    ) as IToken;
    const value = this.CONSUME(StringLiteral);
    return this.ACTION(() =>
      real(key) && real(value)
        ? {
            kind: 'meta',
            span: span(key.startOffset, tokenSpan(value).end),
            key: key.image as ast.MetaKey,
            value: stringLit(value),
          }
        : null,
    );
  });

  inputDecl = this.RULE('inputDecl', (): ast.InputDecl | null => {
    const kw = this.CONSUME(Kw.input);
    const name = this.CONSUME(Identifier);
    this.CONSUME(Colon);
    const type = this.SUBRULE(this.typeRef);
    const mods: Opt<ast.InputModifier>[] = [];
    this.MANY(() => {
      mods.push(this.SUBRULE(this.modifier));
    });
    return this.ACTION(() => {
      if (!real(kw) || !real(name) || !type) return null;
      const kept = present(mods);
      const end = kept.length > 0 ? kept[kept.length - 1]!.span.end : type.span.end;
      return { kind: 'input', span: span(kw.startOffset, end), name: ident(name), type, modifiers: kept };
    });
  });

  typeRef = this.RULE('typeRef', (): ast.TypeRef | null => {
    const name = this.CONSUME(Identifier);
    const tail = this.OPTION(() =>
      this.OR(
        (this.alts[2] ??= [
          { ALT: () => this.SUBRULE(this.angleParams) },
          { ALT: () => this.SUBRULE(this.parenParams) },
        ]),
      ),
    ) as Opt<TypeTail> | undefined;
    return this.ACTION(() => {
      if (!real(name)) return null;
      if (tail === null) return null; // the parameter list was there but broken
      const s = tokenSpan(name);
      if (tail === undefined) return { kind: 'type', span: s, name: ident(name), style: 'none', params: [] };
      return {
        kind: 'type',
        span: span(s.start, tail.end),
        name: ident(name),
        style: tail.style,
        params: tail.params,
      };
    });
  });

  angleParams = this.RULE('angleParams', (): TypeTail | null => {
    this.CONSUME(Less);
    const params: Opt<ast.TypeParam>[] = [this.SUBRULE(this.typeArg)];
    this.MANY(() => {
      this.CONSUME(Comma);
      params.push(this.SUBRULE2(this.typeArg));
    });
    const close = this.CONSUME(Greater);
    return this.ACTION(() =>
      real(close) ? { style: 'angle', params: present(params), end: tokenSpan(close).end } : null,
    );
  });

  parenParams = this.RULE('parenParams', (): TypeTail | null => {
    this.CONSUME(LParen);
    const params: Opt<ast.TypeParam>[] = [this.SUBRULE(this.typeParam)];
    this.MANY(() => {
      this.CONSUME(Comma);
      params.push(this.SUBRULE2(this.typeParam));
    });
    this.OPTION(() => this.CONSUME2(Comma));
    const close = this.CONSUME(RParen);
    return this.ACTION(() =>
      real(close) ? { style: 'paren', params: present(params), end: tokenSpan(close).end } : null,
    );
  });

  typeArg = this.RULE('typeArg', (): ast.TypeParam | null => {
    return this.pick<ast.TypeParam>(
      (this.alts[3] ??= [
        { ALT: () => this.SUBRULE(this.typeRef) },
        {
          ALT: () => {
            const t = this.CONSUME(NumberLiteral);
            return this.ACTION(() => (real(t) ? numberLit(t) : null));
          },
        },
      ]),
    );
  });

  typeParam = this.RULE('typeParam', (): ast.TypeParam | null => {
    return this.pick<ast.TypeParam>(
      (this.alts[4] ??= [
        {
          ALT: () => {
            const t = this.CONSUME(StringLiteral);
            return this.ACTION(() => (real(t) ? stringLit(t) : null));
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(NumberLiteral);
            return this.ACTION(() => (real(t) ? numberLit(t) : null));
          },
        },
      ]),
    );
  });

  modifier = this.RULE('modifier', (): ast.InputModifier | null => {
    return this.pick<ast.InputModifier>(
      (this.alts[5] ??= [
        {
          ALT: () => {
            const kw = this.CONSUME(Kw.in);
            this.CONSUME(LBracket);
            const lo = this.SUBRULE(this.expr);
            this.CONSUME(Comma);
            const hi = this.SUBRULE2(this.expr);
            const close = this.CONSUME(RBracket);
            return this.ACTION((): ast.InputModifier | null =>
              real(kw) && lo && hi && real(close)
                ? { kind: 'range', span: span(kw.startOffset, tokenSpan(close).end), lo, hi }
                : null,
            );
          },
        },
        {
          ALT: () => {
            const kw = this.CONSUME(Kw.default);
            const value = this.SUBRULE3(this.expr);
            return this.ACTION((): ast.InputModifier | null =>
              real(kw) && value
                ? { kind: 'default', span: span(kw.startOffset, value.span.end), value }
                : null,
            );
          },
        },
        {
          ALT: () => {
            const kw = this.CONSUME(Kw.required);
            return this.ACTION((): ast.InputModifier | null =>
              real(kw) ? { kind: 'required', span: tokenSpan(kw) } : null,
            );
          },
        },
        {
          ALT: () => {
            const kw = this.CONSUME(Kw.unknown);
            const value = this.SUBRULE4(this.expr);
            return this.ACTION((): ast.InputModifier | null =>
              real(kw) && value
                ? { kind: 'unknown', span: span(kw.startOffset, value.span.end), value }
                : null,
            );
          },
        },
        {
          ALT: () => {
            const kw = this.CONSUME(Kw.pii);
            return this.ACTION((): ast.InputModifier | null =>
              real(kw) ? { kind: 'pii', span: tokenSpan(kw) } : null,
            );
          },
        },
      ]),
    );
  });

  feature = this.RULE('feature', (): ast.FeatureDecl | null => {
    const kw = this.CONSUME(Kw.feature);
    const name = this.CONSUME(Identifier);
    this.CONSUME(Equals);
    const value = this.SUBRULE(this.expr);
    return this.ACTION(() =>
      real(kw) && real(name) && value
        ? { kind: 'feature', span: span(kw.startOffset, value.span.end), name: ident(name), value }
        : null,
    );
  });

  component = this.RULE('component', (): ast.ComponentDecl | null => {
    const kw = this.CONSUME(Kw.component);
    const name = this.CONSUME(Identifier);
    this.CONSUME(Equals);
    const callee = this.CONSUME2(Identifier);
    this.CONSUME(LParen);
    const args = this.SUBRULE(this.args);
    const close = this.CONSUME(RParen);
    let perKw: IToken | undefined;
    let per: IToken | undefined;
    this.OPTION(() => {
      perKw = this.CONSUME(Kw.per);
      per = this.CONSUME3(Identifier);
    });
    return this.ACTION(() => {
      if (!real(kw) || !real(name) || !real(callee) || !args || !real(close)) return null;
      if (perKw !== undefined && !real(per)) return null;
      const value: ast.CallExpr = {
        kind: 'call',
        span: span(callee.startOffset, tokenSpan(close).end),
        callee: ident(callee),
        args,
      };
      const end = real(per) ? tokenSpan(per).end : value.span.end;
      return {
        kind: 'component',
        span: span(kw.startOffset, end),
        name: ident(name),
        value,
        per: real(per) ? ident(per) : null,
      };
    });
  });

  output = this.RULE('output', (): ast.OutputDecl | null => {
    const kw = this.CONSUME(Kw.output);
    const name = this.CONSUME(Identifier);
    let typed = false;
    let type: Opt<ast.TypeRef>;
    this.OPTION(() => {
      this.CONSUME(Colon);
      typed = true;
      type = this.SUBRULE(this.typeRef);
    });
    this.CONSUME(Equals);
    const value = this.SUBRULE(this.expr);
    return this.ACTION(() => {
      if (!real(kw) || !real(name) || !value || (typed && !type)) return null;
      return {
        kind: 'output',
        span: span(kw.startOffset, value.span.end),
        name: ident(name),
        type: type ?? null,
        value,
      };
    });
  });

  train = this.RULE('train', (): ast.TrainBlock | null => {
    const kw = this.CONSUME(Kw.train);
    let target: IToken | undefined;
    this.OPTION(() => {
      target = this.CONSUME(Identifier);
    });
    this.CONSUME(LBrace);
    const settings: Opt<ast.Setting>[] = [];
    this.MANY(() => {
      settings.push(this.SUBRULE(this.setting));
    });
    const close = this.CONSUME(RBrace);
    return this.ACTION(() => {
      if (!real(kw)) return null;
      const kept = present(settings);
      const end = real(close) ? tokenSpan(close).end : (kept[kept.length - 1]?.span.end ?? tokenSpan(kw).end);
      return {
        kind: 'train',
        span: span(kw.startOffset, end),
        target: real(target) ? ident(target) : null,
        settings: kept,
      };
    });
  });

  setting = this.RULE('setting', (): ast.Setting | null => {
    const path: IToken[] = [this.CONSUME(Identifier)];
    this.MANY(() => {
      this.CONSUME(Dot);
      path.push(this.CONSUME2(Identifier));
    });
    const value = this.SUBRULE(this.settingBody);
    return this.ACTION(() => {
      if (!path.every(real) || !value) return null;
      return {
        kind: 'setting',
        span: span(path[0]!.startOffset, value.span.end),
        path: path.map(ident),
        value,
      };
    });
  });

  settingBody = this.RULE('settingBody', (): ast.SettingValue | null => {
    return this.pick<ast.SettingValue>(
      (this.alts[6] ??= [
        {
          ALT: () => {
            this.CONSUME(Kw.in);
            return this.SUBRULE(this.space);
          },
        },
        { ALT: () => this.SUBRULE(this.settingBlock) },
        { ALT: () => this.SUBRULE(this.value) },
      ]),
    );
  });

  settingBlock = this.RULE('settingBlock', (): ast.SettingBlock | null => {
    const open = this.CONSUME(LBrace);
    const settings: Opt<ast.Setting>[] = [];
    this.MANY(() => {
      settings.push(this.SUBRULE(this.setting));
    });
    const close = this.CONSUME(RBrace);
    return this.ACTION(() =>
      real(open) && real(close)
        ? { kind: 'block', span: span(open.startOffset, tokenSpan(close).end), settings: present(settings) }
        : null,
    );
  });

  space = this.RULE('space', (): ast.SearchSpace | null => {
    return this.pick<ast.SearchSpace>(
      (this.alts[7] ??= [
        {
          ALT: () => {
            let scale: IToken | undefined;
            this.OPTION(() => {
              scale = this.CONSUME(Identifier);
            });
            const open = this.CONSUME(LBracket);
            const lo = this.SUBRULE(this.value);
            this.CONSUME(Comma);
            const hi = this.SUBRULE2(this.value);
            const close = this.CONSUME(RBracket);
            return this.ACTION((): ast.SearchSpace | null => {
              if (!real(open) || !lo || !hi || !real(close)) return null;
              let kind: ast.SearchSpace['scale'] = 'linear';
              if (real(scale)) {
                if (scale.image !== 'log') {
                  this.sink?.error(
                    ParseCodes.unknownScale,
                    tokenSpan(scale),
                    `unknown search scale '${scale.image}'`,
                    "write 'in [lo, hi]' for a linear range or 'in log [lo, hi]' for a log-uniform one",
                  );
                  return null;
                }
                kind = 'log';
              }
              const start = real(scale) ? scale.startOffset : open.startOffset;
              return {
                kind: 'space',
                span: span(start, tokenSpan(close).end),
                scale: kind,
                values: [lo, hi],
              };
            });
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(LBrace);
            const values: Opt<ast.Expr>[] = [this.SUBRULE3(this.value)];
            this.MANY(() => {
              this.CONSUME2(Comma);
              values.push(this.SUBRULE4(this.value));
            });
            this.OPTION2(() => this.CONSUME3(Comma));
            const close = this.CONSUME(RBrace);
            return this.ACTION((): ast.SearchSpace | null => {
              if (!real(open) || !real(close) || values.some((v) => !v)) return null;
              return {
                kind: 'space',
                span: span(open.startOffset, tokenSpan(close).end),
                scale: 'choice',
                values: present(values),
              };
            });
          },
        },
      ]),
    );
  });

  /** A setting value: a single primary, never a binary expression (keeps `key value key value` unambiguous). */
  value = this.RULE('value', (): ast.Expr | null => {
    return this.pick<ast.Expr>(
      (this.alts[8] ??= [
        {
          ALT: () => {
            const minus = this.CONSUME(Minus);
            const t = this.CONSUME(NumberLiteral);
            return this.ACTION((): ast.Expr | null => {
              if (!real(minus) || !real(t)) return null;
              const lit = numberLit(t);
              return { kind: 'unary', span: span(minus.startOffset, lit.span.end), op: '-', operand: lit };
            });
          },
        },
        { ALT: () => this.SUBRULE(this.literal) },
        { ALT: () => this.SUBRULE(this.nameOrCall) },
        {
          ALT: () => {
            const open = this.CONSUME(LBracket);
            const items: Opt<ast.Expr>[] = [];
            this.OPTION(() => {
              items.push(this.SUBRULE(this.value));
              this.MANY(() => {
                this.CONSUME(Comma);
                items.push(this.SUBRULE2(this.value));
              });
              this.OPTION2(() => this.CONSUME2(Comma));
            });
            const close = this.CONSUME(RBracket);
            return this.ACTION((): ast.Expr | null =>
              real(open) && real(close) && !items.some((x) => !x)
                ? { kind: 'list', span: span(open.startOffset, tokenSpan(close).end), items: present(items) }
                : null,
            );
          },
        },
      ]),
    );
  });

  /** A number, string or boolean literal (shared by expressions and setting values). */
  literal = this.RULE('literal', (): ast.Expr | null => {
    const t = this.OR(
      (this.alts[9] ??= [
        { ALT: () => this.CONSUME(NumberLiteral) },
        { ALT: () => this.CONSUME(StringLiteral) },
        { ALT: () => this.CONSUME(Kw.true) },
        { ALT: () => this.CONSUME(Kw.false) },
      ]),
    ) as IToken;
    return this.ACTION((): ast.Expr | null => {
      if (!real(t)) return null;
      if (t.tokenType === NumberLiteral) return numberLit(t);
      if (t.tokenType === StringLiteral) return stringLit(t);
      return { kind: 'bool', span: tokenSpan(t), value: t.image === 'true' };
    });
  });

  /** `name` or `name(args)`. */
  nameOrCall = this.RULE('nameOrCall', (): ast.Expr | null => {
    const id = this.CONSUME(Identifier);
    let open: IToken | undefined;
    let args: Opt<ast.Arg[]>;
    let close: IToken | undefined;
    this.OPTION(() => {
      open = this.CONSUME(LParen);
      args = this.SUBRULE(this.args);
      close = this.CONSUME(RParen);
    });
    return this.ACTION((): ast.Expr | null => {
      if (!real(id)) return null;
      if (open === undefined) return { kind: 'name', span: tokenSpan(id), name: id.image };
      if (!args || !real(close)) return null;
      return { kind: 'call', span: span(id.startOffset, tokenSpan(close).end), callee: ident(id), args };
    });
  });

  /** `if c then a else b`, or an operator expression. */
  expr = this.RULE('expr', (): ast.Expr | null => {
    const e = this.OR(
      (this.alts[10] ??= [
        { ALT: () => this.SUBRULE(this.ifExpr) },
        { ALT: () => this.SUBRULE(this.opExpr) },
      ]),
    ) as Opt<ast.Expr>;
    return this.ACTION(() => (e ? checkDepth(e, this.sink) : null));
  });

  ifExpr = this.RULE('ifExpr', (): ast.Expr | null => {
    const kw = this.CONSUME(Kw.if);
    const cond = this.SUBRULE(this.expr);
    this.CONSUME(Kw.then);
    const then = this.SUBRULE2(this.expr);
    this.CONSUME(Kw.else);
    const els = this.SUBRULE3(this.expr);
    return this.ACTION(() =>
      real(kw) && cond && then && els
        ? { kind: 'if', span: span(kw.startOffset, els.span.end), cond, then, else: els }
        : null,
    );
  });

  /**
   * Binary operators are parsed flat (operand (op operand)*) and given their precedence by
   * precedence climbing in the action: one rule level instead of seven keeps big models fast.
   */
  opExpr = this.RULE('opExpr', (): ast.Expr | null => {
    const operands: Opt<Operand>[] = [this.SUBRULE(this.operand)];
    const ops: IToken[] = [];
    this.MANY(() => {
      ops.push(this.CONSUME(BinaryOp));
      operands.push(this.SUBRULE2(this.operand));
    });
    return this.ACTION(() => {
      if (operands.some((o) => !o) || !ops.every(real)) return null;
      return climbOperators(operands as Operand[], ops, this.sink);
    });
  });

  /** `not`* `-`* primary: prefixes in that order (`not -x`, never `- not x`). */
  operand = this.RULE('operand', (): Operand | null => {
    const nots: IToken[] = [];
    this.MANY(() => {
      nots.push(this.CONSUME(Kw.not));
    });
    const minus: IToken[] = [];
    this.MANY2(() => {
      minus.push(this.CONSUME(Minus));
    });
    const value = this.SUBRULE(this.primary);
    return this.ACTION(() =>
      value && nots.every(real) && minus.every(real) ? { nots, minus, value } : null,
    );
  });

  primary = this.RULE('primary', (): ast.Expr | null => {
    return this.pick<ast.Expr>(
      (this.alts[11] ??= [
        { ALT: () => this.SUBRULE(this.literal) },
        { ALT: () => this.SUBRULE(this.nameOrCall) },
        {
          ALT: () => {
            const open = this.CONSUME(LBracket);
            const items: Opt<ast.Expr>[] = [];
            this.OPTION(() => {
              items.push(this.SUBRULE(this.expr));
              this.MANY(() => {
                this.CONSUME(Comma);
                items.push(this.SUBRULE2(this.expr));
              });
              this.OPTION2(() => this.CONSUME2(Comma));
            });
            const close = this.CONSUME(RBracket);
            return this.ACTION((): ast.Expr | null =>
              real(open) && real(close) && !items.some((x) => !x)
                ? { kind: 'list', span: span(open.startOffset, tokenSpan(close).end), items: present(items) }
                : null,
            );
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(LParen);
            const inner = this.SUBRULE3(this.expr);
            const close = this.CONSUME(RParen);
            return this.ACTION((): ast.Expr | null =>
              real(open) && inner && real(close)
                ? { kind: 'paren', span: span(open.startOffset, tokenSpan(close).end), inner }
                : null,
            );
          },
        },
      ]),
    );
  });

  /** `[name =] expr` separated by commas, an optional trailing comma. */
  args = this.RULE('args', (): ast.Arg[] | null => {
    const out: Opt<ast.Arg>[] = [];
    this.OPTION(() => {
      out.push(this.SUBRULE(this.arg));
      this.MANY(() => {
        this.CONSUME(Comma);
        out.push(this.SUBRULE2(this.arg));
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    return this.ACTION(() => (out.some((a) => !a) ? null : present(out)));
  });

  arg = this.RULE('arg', (): ast.Arg | null => {
    let name: IToken | undefined;
    this.OPTION(() => {
      name = this.CONSUME(Identifier);
      this.CONSUME(Equals);
    });
    const value = this.SUBRULE(this.expr);
    return this.ACTION((): ast.Arg | null => {
      if (!value || (name !== undefined && !real(name))) return null;
      const n = real(name) ? ident(name) : null;
      return { kind: 'arg', span: n ? span(n.span.start, value.span.end) : value.span, name: n, value };
    });
  });
}

/**
 * Precedence climbing over a flat `operand (op operand)*` list:
 * or 1 < and 2 < not 3 < comparisons 4 (non-associative) < + - 5 < * / 6 < unary minus 7.
 * `not` takes everything that binds tighter than `and`; where it would sit inside a tighter
 * operator (`a + not b`) it must be parenthesized, as the grammar in docs/dsl.md says.
 */
function climbOperators(list: Operand[], ops: IToken[], sink: DiagnosticSink | null): ast.Expr | null {
  const operands = list.map((o) => {
    let value = o.value;
    for (let k = o.minus.length - 1; k >= 0; k--) {
      const m = o.minus[k]!;
      value = { kind: 'unary', span: span(m.startOffset, value.span.end), op: '-', operand: value };
    }
    return { nots: [...o.nots], value };
  });
  let i = 0;
  let failed = false;
  const climb = (minPrec: number): ast.Expr => {
    let left = operand(minPrec);
    while (i < ops.length && BINARY_PREC[ops[i]!.image]! >= minPrec) {
      const opTok = ops[i]!;
      const p = BINARY_PREC[opTok.image]!;
      if (p === 4 && left.kind === 'binary' && BINARY_PREC[left.op] === 4 && !failed) {
        sink?.error(
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
        span: span(left.span.start, right.span.end),
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
      sink?.error(
        ParseCodes.syntax,
        tokenSpan(not),
        "'not' inside an arithmetic or comparison operand needs parentheses",
        `write '(not ...)'`,
      );
      failed = true;
    }
    const inner = climb(4);
    return { kind: 'unary', span: span(not.startOffset, inner.span.end), op: 'not', operand: inner };
  };
  const e = climb(0);
  return failed ? null : e;
}

/** Refuses expressions deeper than the later recursive stages can take. */
function checkDepth(e: ast.Expr, sink: DiagnosticSink | null): ast.Expr | null {
  // each level of nesting takes at least one character, so only long expressions can be too deep
  if (e.span.end - e.span.start > MAX_EXPR_DEPTH && depthOf(e) > MAX_EXPR_DEPTH) {
    sink?.error(
      ParseCodes.tooDeep,
      e.span,
      `expression nested more than ${MAX_EXPR_DEPTH} levels deep`,
      'split it into several features',
    );
    return null;
  }
  return e;
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
  parser.sink = sink;
  let model: ast.Model | null;
  try {
    model = parser.model() ?? null;
  } catch (e) {
    if (e instanceof RangeError) {
      sink.error(ParseCodes.tooDeep, { start: 0, end: 0 }, 'the model is nested too deeply to parse');
      return { model: null, comments };
    } else throw e;
  } finally {
    parser.sink = null;
  }
  reportParseErrors(parser, tokens, file, sink);
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

/** Tokens that can start an expression (for the "missing ','?" hint). */
const EXPR_START = new Set<TokenType>([
  Identifier,
  NumberLiteral,
  StringLiteral,
  LParen,
  LBracket,
  Minus,
  Kw.not,
  Kw.if,
  Kw.true,
  Kw.false,
]);

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
    } else if (!isEof && t.tokenType === Equals && !msg.startsWith("expected '='")) {
      hint = "use '==' to compare; '=' only names a feature, component or output";
    } else if (!isEof && msg.startsWith("expected ')'") && EXPR_START.has(t.tokenType)) {
      hint = "is a ',' missing between the arguments?";
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
