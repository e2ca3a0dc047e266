/**
 * Prints a generated tree as input-language text with the fewest parentheses the precedence rules
 * of the README allow (loosest first: + - · * / .* ./ · unary - · ^ .^ (right-associative) ·
 * postfix '), so that the parser's precedence is under test too: the oracle evaluates the tree,
 * not the text. The table is written here from the README, not read from src/syntax/ops.ts.
 */
import type { Ast, BinaryOp } from '../src/syntax/ast.js';

const PREC: Record<BinaryOp, number> = { '+': 1, '-': 1, '*': 2, '/': 2, '.*': 2, './': 2, '^': 4, '.^': 4 };
const UNARY = 3;
const POSTFIX = 5;
const ATOM = 6;

function prec(a: Ast): number {
  switch (a.kind) {
    case 'binary':
      return PREC[a.op];
    case 'neg':
      return UNARY;
    case 'transpose':
      return POSTFIX;
    default:
      return ATOM;
  }
}

const paren = (s: string, yes: boolean): string => (yes ? `(${s})` : s);

export function toInput(a: Ast): string {
  switch (a.kind) {
    case 'num':
      return a.text;
    case 'name':
      return a.name;
    case 'neg':
      return `-${paren(toInput(a.arg), prec(a.arg) < UNARY)}`;
    case 'transpose':
      return `${paren(toInput(a.arg), prec(a.arg) < POSTFIX)}'`;
    case 'call':
      return `${a.fn}(${a.args.map(toInput).join(', ')})`;
    case 'binary': {
      const p = PREC[a.op];
      const power = p === PREC['^'];
      // Left-associative operators need parentheses on the right at equal precedence, ^ on the left.
      const left = paren(toInput(a.left), prec(a.left) < p || (power && prec(a.left) === p));
      // A negative number as an exponent reads as A^-1; any other unary minus there gets parentheses.
      const negNum = power && a.right.kind === 'neg' && a.right.arg.kind === 'num';
      const right = paren(toInput(a.right), !negNum && (prec(a.right) < p || (!power && prec(a.right) === p)));
      const op = p === 1 ? ` ${a.op} ` : a.op;
      return `${left}${op}${right}`;
    }
    case 'where':
      return `${toInput(a.body)} where ${a.bindings.map((b) => `${b.name} = ${toInput(b.value)}`).join(', ')}`;
  }
}
