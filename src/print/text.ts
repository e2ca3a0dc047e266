/**
 * AST → text in the input language, with the fewest parentheses that keep the tree (so the text
 * parses back to the same AST), and the operation count used to compare forms.
 */
import type { Ast } from '../syntax/ast.js';
import { astChildren } from '../syntax/ast.js';
import { BINARY_OPS, PREC } from '../syntax/ops.js';
import { isFractionText } from './numbers.js';

export function precedence(a: Ast): number {
  switch (a.kind) {
    case 'num':
      // A printed fraction 16/81 binds like the quotient it reads as.
      return isFractionText(a.text) ? BINARY_OPS['/'].prec : a.value < 0 ? PREC.unary : PREC.atom;
    case 'name':
    case 'call':
      return PREC.atom;
    case 'neg':
      return PREC.unary;
    case 'transpose':
      return PREC.postfix;
    case 'binary':
      return BINARY_OPS[a.op].prec;
    case 'where':
      return 0;
  }
}

/** Texts of the trees printed so far (trees are never changed once made: a rewrite makes a new one). */
const TEXTS = new WeakMap<Ast, string>();

export function toText(a: Ast): string {
  let t = TEXTS.get(a);
  if (t === undefined) TEXTS.set(a, (t = textOnce(a)));
  return t;
}

function textOnce(a: Ast): string {
  switch (a.kind) {
    case 'num':
      return a.text;
    case 'name':
      return a.name;
    case 'call':
      return `${a.fn}(${a.args.map(toText).join(', ')})`;
    case 'neg': {
      const inner = toText(a.arg);
      return precedence(a.arg) >= PREC.unary ? `-${inner}` : `-(${inner})`;
    }
    case 'transpose':
      return `${wrap(a.arg, precedence(a.arg) < PREC.postfix || (a.arg.kind === 'num' && a.arg.value < 0))}'`;
    case 'binary': {
      const info = BINARY_OPS[a.op];
      const lp = precedence(a.left);
      const rp = precedence(a.right);
      const leftParens = lp < info.prec || (lp === info.prec && info.assoc === 'right');
      let rightParens = rp < info.prec || (rp === info.prec && info.assoc === 'left');
      // The exponent of ^ may be a negative number or a negated power: a^-1, a^-b^c.
      // (a fraction is enclosed: a^(-1/3)).
      if (a.op === '^' || a.op === '.^') {
        if (a.right.kind === 'num' && a.right.value < 0) rightParens = isFractionText(a.right.text);
        else if (a.right.kind === 'neg') rightParens = precedence(a.right.arg) < PREC.power;
      }
      const sep = a.op === '+' || a.op === '-' ? ` ${a.op} ` : a.op;
      return `${wrap(a.left, leftParens)}${sep}${wrap(a.right, rightParens)}`;
    }
    case 'where':
      return `${toText(a.body)} where ${a.bindings.map((b) => `${b.name} = ${toText(b.value)}`).join(', ')}`;
  }
}

function wrap(a: Ast, parens: boolean): string {
  const t = toText(a);
  return parens ? `(${t})` : t;
}

/** Operators and function calls in a tree (numbers and names are free). */
export function countOps(a: Ast): number {
  let n = a.kind === 'num' || a.kind === 'name' ? 0 : 1;
  for (const c of astChildren(a)) n += countOps(c);
  return n;
}
