/**
 * AST → LaTeX that KaTeX renders: juxtaposition for matrix products, \top for transposes,
 * \odot / \oslash for element-wise products and quotients, A^{-1}, \lVert x\rVert_2, \operatorname{diag}.
 */
import type { Ast } from '../syntax/ast.js';
import { isGreek, PREC } from '../syntax/ops.js';
import { precedence } from './text.js';
import { isFractionText, numberLatex, numberText } from './numbers.js';

/** A variable name in LaTeX: Greek letters as symbols, x1 as x_{1}, longer names upright-italic. */
export function latexName(n: string): string {
  if (isGreek(n)) return n === 'omicron' ? 'o' : `\\${n}`;
  const m = /^([A-Za-z])([0-9]+)$/.exec(n);
  if (m) return `${m[1]}_{${m[2]}}`;
  if (/^[A-Za-z]$/.test(n)) return n;
  return `\\mathit{${n.replace(/_/g, '\\_')}}`;
}

function paren(s: string): string {
  return `\\left(${s}\\right)`;
}

/** A number typeset as one symbol: not negative, not a fraction. */
const isPlainNumber = (a: Ast): boolean => a.kind === 'num' && a.value >= 0 && !isFractionText(a.text);

/** Typeset as one symbol that takes a superscript: not 1 1^⊤ (matrix(c)), nor c 1 (vector(c), c ≠ 1). */
function isAtomic(a: Ast): boolean {
  if (a.kind === 'call' && (a.fn === 'matrix' || (a.fn === 'vector' && !(a.args[0]!.kind === 'num' && a.args[0]!.value === 1)))) return false;
  return a.kind === 'name' || isPlainNumber(a) || (a.kind === 'call' && !['inv', 'kron'].includes(a.fn));
}

const isKron = (a: Ast): boolean => a.kind === 'call' && a.fn === 'kron';

/** Precedence as typeset: kron is the infix A \otimes B, which a product or power must enclose. */
function typesetPrecedence(a: Ast): number {
  return isKron(a) ? PREC.sum : precedence(a);
}

/** Whether a factor printed next to a number needs \cdot to be read right (2 \cdot 3). */
function startsWithDigit(s: string): boolean {
  return /^[0-9.]/.test(s);
}

export function toLatex(a: Ast): string {
  switch (a.kind) {
    case 'num':
      return numberLatex(a.value);
    case 'name':
      return a.name === 'eye' ? '\\mathbf{I}' : latexName(a.name);
    case 'neg':
      // -(A ⊗ B) reads the same without parentheses, as does 2 A ⊗ B: a scalar commutes with ⊗.
      return `-${isKron(a.arg) ? toLatex(a.arg) : sub(a.arg, PREC.unary)}`;
    case 'transpose':
      // inv(X)' is X^{-⊤}.
      if (a.arg.kind === 'call' && a.arg.fn === 'inv') return `${supBase(a.arg.args[0]!)}^{-\\top}`;
      return `${supBase(a.arg)}^\\top`;
    case 'call':
      return callLatex(a.fn, a.args);
    case 'where':
      return whereLatex(toLatex(a.body), a.bindings.map((b) => [latexName(b.name), toLatex(b.value)]));
    case 'binary': {
      switch (a.op) {
        case '+':
          return `${sub(a.left, PREC.sum)} + ${subRight(a.right, PREC.sum)}`;
        case '-':
          return `${sub(a.left, PREC.sum)} - ${subRight(a.right, PREC.sum)}`;
        case '*': {
          const l = sub(a.left, PREC.product);
          const r = a.left.kind === 'num' && isKron(a.right) ? toLatex(a.right) : subRight(a.right, PREC.product);
          const sep = startsWithDigit(r) || (a.right.kind === 'neg') ? ' \\cdot ' : ' ';
          return `${l}${sep}${r}`;
        }
        case '/': {
          // A fraction in front of the numerator stands before the quotient: 8/9*u/v is \frac{8}{9} \frac{u}{v}.
          const lead = leadingFraction(a.left);
          if (lead) return `${toLatex(lead[0])} \\frac{${toLatex(lead[1])}}{${toLatex(a.right)}}`;
          return `\\frac{${toLatex(a.left)}}{${toLatex(a.right)}}`;
        }
        case '.*':
          return `${sub(a.left, PREC.product)} \\odot ${subRight(a.right, PREC.product)}`;
        case './':
          return `${sub(a.left, PREC.product)} \\oslash ${subRight(a.right, PREC.product)}`;
        case '^':
          return `${supBase(a.left)}^{${toLatex(a.right)}}`;
        case '.^':
          return `${supBase(a.left)}^{\\circ ${toLatex(a.right)}}`;
      }
    }
  }
}

/** [c, rest] where a product a is c*rest (as written: c leftmost) with c a printed fraction. */
function leadingFraction(a: Ast): readonly [Ast, Ast] | undefined {
  if (a.kind !== 'binary' || a.op !== '*') return undefined;
  if (a.left.kind === 'num' && isFractionText(a.left.text)) return [a.left, a.right];
  const inner = leadingFraction(a.left);
  return inner && [inner[0], { ...a, left: inner[1] }];
}

/** The result, then one aligned line per temporary: `where t_1 = …`. */
export function whereLatex(body: string, temps: readonly (readonly [string, string])[]): string {
  if (temps.length === 0) return body;
  const lines = temps.map(([n, v], k) => `${k === 0 ? '\\text{where}\\quad ' : ''}${n} &= ${v}`);
  return `\\begin{aligned} & ${body} \\\\ ${lines.join(' \\\\ ')} \\end{aligned}`;
}

function sub(a: Ast, prec: number): string {
  const s = toLatex(a);
  return typesetPrecedence(a) < prec ? paren(s) : s;
}

function subRight(a: Ast, prec: number): string {
  const s = toLatex(a);
  return typesetPrecedence(a) <= prec && a.kind === 'binary' ? paren(s) : typesetPrecedence(a) < prec ? paren(s) : s;
}

/** The base of a superscript (x^\top, x^2): anything but a plain symbol gets parentheses. */
function supBase(a: Ast): string {
  const s = toLatex(a);
  if (a.kind === 'name' || isPlainNumber(a)) return s;
  if (a.kind === 'call' && isAtomic(a) && !['norm2', 'norm1'].includes(a.fn)) return s;
  if (a.kind === 'call' && ['norm2', 'norm1'].includes(a.fn)) return s;
  return paren(s);
}

function callLatex(fn: string, args: readonly Ast[]): string {
  const x = args[0]!;
  const inner = toLatex(x);
  switch (fn) {
    case 'eye':
      return '\\mathbf{I}';
    case 'kron':
      return `${sub(x, PREC.product + 1)} \\otimes ${sub(args[1]!, PREC.product + 1)}`;
    case 'commutation':
      // Magnus and Neudecker's K_{mn}, its sizes as subscripts.
      return `\\mathbf{K}_{${inner}, ${toLatex(args[1]!)}}`;
    case 'norm2':
      return `\\left\\lVert ${inner} \\right\\rVert_2`;
    case 'norm1':
      return `\\left\\lVert ${inner} \\right\\rVert_1`;
    case 'inv':
      return `${supBase(x)}^{-1}`;
    case 'sqrt':
      return `\\sqrt{${inner}}`;
    case 'vector':
      return x.kind === 'num' && x.value === 1 ? '\\mathbf{1}' : `${sub(x, PREC.product)}\\,\\mathbf{1}`;
    case 'matrix':
      return x.kind === 'num' && x.value === 1 ? '\\mathbf{1}\\mathbf{1}^\\top' : `${sub(x, PREC.product)}\\,\\mathbf{1}\\mathbf{1}^\\top`;
    case 'det':
      return `\\det${paren(inner)}`;
    case 'dpow': {
      // dpow(A, k, E) = Σ_{j=0}^{k-1} A^j E A^(k-1-j); with more directions D^m(A^k)[E1, …, Em]
      const [, k, e, ...more] = args as [Ast, Ast, Ast, ...Ast[]];
      if (more.length > 0)
        return paren(`\\mathrm{D}^{${more.length + 1}}\\!\\left(${supBase(x)}^{${toLatex(k)}}\\right)\\left[${[e, ...more].map((d) => toLatex(d)).join(', ')}\\right]`);
      const top = k.kind === 'num' ? numberText(k.value - 1) : `${toLatex(k)} - 1`;
      const base = supBase(x);
      return paren(`\\sum_{j=0}^{${top}} ${base}^{j} ${sub(e, PREC.product)} ${base}^{${top} - j}`);
    }
    case 'logdet':
      return `\\log\\det${paren(inner)}`;
    case 'exp':
    case 'log':
    case 'sin':
    case 'cos':
    case 'tan':
    case 'tanh':
    case 'arcsin':
    case 'arccos':
    case 'arctan':
      return `\\${fn}${paren(inner)}`;
    default:
      return `\\operatorname{${fn}}${paren(inner)}`;
  }
}
