/**
 * Text → AST with spans. Wraps the generated nearley parser, checks that the input has exactly
 * one parse, and turns nearley's failures into errors that point at the offending token.
 */
import nearley from 'nearley';
import grammar from './generated/grammar.js';
import { tokenize } from './lexer.js';
import { characterAdvice } from './suggest.js';
import type { Ast } from './ast.js';
import { astChildren } from './ast.js';
import { syntaxError } from '../errors.js';

/** Longer inputs are refused rather than parsed slowly. */
export const MAX_INPUT_LENGTH = 20000;
/** Deeper nesting is refused so that no later stage can run out of stack. */
export const MAX_DEPTH = 2500;

const compiled = nearley.Grammar.fromCompiled(grammar);

function describe(value: string | undefined): string {
  if (value === undefined) return 'end of input';
  return `'${value}'`;
}

/** All parses of a text (for tests of the grammar's unambiguity). */
export function parseAll(text: string): Ast[] {
  const parser = new nearley.Parser(compiled);
  parser.feed(text);
  return parser.results as Ast[];
}

export function parse(text: string): Ast {
  if (text.length > MAX_INPUT_LENGTH)
    throw syntaxError(`input is too long (${text.length} characters; at most ${MAX_INPUT_LENGTH})`);
  const tokens = tokenize(text);
  if (tokens.length === 0) throw syntaxError('empty expression', { start: 0, end: 0 });

  // Lexical problems and parenthesis balance first: they give the clearest messages.
  let depth = 0;
  const open: number[] = [];
  for (const t of tokens) {
    const span = { start: t.offset, end: t.offset + t.text.length };
    if (t.type === 'invalid') {
      const advice = characterAdvice(text, t.offset);
      throw syntaxError(`unexpected character '${t.text}'${advice ? `: ${advice}` : ''}`, span);
    }
    if (t.value === '(') {
      open.push(t.offset);
      depth++;
      if (depth > MAX_DEPTH) throw syntaxError(`expression is nested too deeply (more than ${MAX_DEPTH} levels of parentheses)`, span);
    } else if (t.value === ')') {
      if (depth === 0) throw syntaxError("unmatched ')'", span);
      open.pop();
      depth--;
    }
  }
  if (open.length > 0) {
    const at = open[open.length - 1]!;
    throw syntaxError("unmatched '(': missing ')'", { start: at, end: at + 1 });
  }

  const parser = new nearley.Parser(compiled);
  try {
    parser.feed(text);
  } catch (e) {
    const tok = (e as { token?: { value: string; offset: number; text: string } }).token;
    if (tok) {
      const span = { start: tok.offset, end: tok.offset + tok.text.length };
      throw syntaxError(`unexpected ${describe(tok.value)}${hint(text, tok.offset, tok.value)}`, span);
    }
    throw syntaxError('cannot parse the expression');
  }
  const results = parser.results as Ast[];
  if (results.length === 0) {
    const last = tokens[tokens.length - 1]!;
    throw syntaxError('unexpected end of input: the expression is incomplete', {
      start: last.offset,
      end: last.offset + last.text.length,
    });
  }
  if (results.length > 1) throw new Error(`internal: ambiguous grammar (${results.length} parses)`);
  const ast = results[0]!;
  checkDepth(ast);
  return ast;
}

function hint(text: string, offset: number, value: string): string {
  const before = text.slice(0, offset).trimEnd();
  const prev = before[before.length - 1];
  if (value === '*' && prev === '*') return ': ** is no operator here; write x.^2 (element-wise) or A^2 (matrix power)';
  if (value === '=') return ': = names parts only after where (EXPR where t1 = ...); write the expression alone';
  if (value === '(' && prev !== undefined && /[A-Za-z0-9_)']/.test(prev))
    return ': a function name or an operator is missing before it';
  if (/^[A-Za-z_0-9.]/.test(value) && prev !== undefined && /[A-Za-z0-9_)']/.test(prev))
    return ': an operator is missing (write * for products)';
  if (value === ')' || value === ',') return ': an operand is missing before it';
  return '';
}

function checkDepth(root: Ast): void {
  const stack: [Ast, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [a, d] = stack.pop()!;
    if (d > MAX_DEPTH) throw syntaxError(`expression is nested too deeply (more than ${MAX_DEPTH} levels of operators)`, a.span);
    for (const c of astChildren(a)) stack.push([c, d + 1]);
  }
}
