/**
 * The moo lexer for the input language. Whitespace is dropped here so that the grammar holds only
 * the syntax. Anything that is not a token becomes an `invalid` token, which the grammar never
 * accepts, so the parser reports it at its position.
 */
import moo from 'moo';

const RULES: moo.Rules = {
  ws: { match: /[ \t\r\n]+/, lineBreaks: true },
  // Digits are required after a decimal point, so that `2.*x` reads as `2 .* x`.
  number: /(?:\d+\.\d+|\d+|\.\d+)(?:[eE][+-]?\d+)?/,
  // `where` is a keyword (it opens the list of temporaries), so it is never a variable name.
  name: { match: /[A-Za-z_][A-Za-z0-9_]*/, type: moo.keywords({ where: 'where' }) },
  op: ['.*', './', '.^', '+', '-', '*', '/', '^', "'", '(', ')', ',', '='],
  invalid: { match: /[^]/, lineBreaks: true },
};

const base = moo.compile(RULES);

export interface Token {
  readonly type?: string | undefined;
  readonly value: string;
  readonly offset: number;
  readonly text: string;
}

/** A nearley-compatible lexer: moo without the whitespace tokens. */
export const lexer = {
  reset(chunk: string, state?: moo.LexerState): void {
    base.reset(chunk, state);
  },
  next(): moo.Token | undefined {
    let tok = base.next();
    while (tok && tok.type === 'ws') tok = base.next();
    return tok;
  },
  save(): moo.LexerState {
    return base.save();
  },
  formatError(token: moo.Token, message?: string): string {
    return base.formatError(token, message);
  },
  has(name: string): boolean {
    return base.has(name);
  },
};

/** All tokens of a text (no whitespace), for tools that need them without parsing. */
export function tokenize(text: string): moo.Token[] {
  const l = moo.compile(RULES);
  l.reset(text);
  const out: moo.Token[] = [];
  for (let t = l.next(); t; t = l.next()) if (t.type !== 'ws') out.push(t);
  return out;
}
