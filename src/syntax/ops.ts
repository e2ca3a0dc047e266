/**
 * The one table of the input language's operators and functions. The grammar encodes the same
 * precedence levels (a test checks the two agree); the printers read this table to decide where
 * parentheses go and how each construct is typeset; the simplifier reads the algebraic flags.
 */
import type { BinaryOp } from './ast.js';

export interface BinaryOpInfo {
  /** Higher binds tighter. */
  readonly prec: number;
  readonly assoc: 'left' | 'right';
  /** Commutative over all operand types (matrix products are not). */
  readonly commutative: boolean;
  /** Linear in each argument separately (bilinear) or in the pair (linear). */
  readonly linearity: 'linear' | 'bilinear' | 'none';
  readonly latex: string;
}

/** Precedence levels, loosest first: + -  ·  * / .* ./  ·  unary -  ·  ^ .^  ·  postfix ' */
export const PREC = {
  sum: 1,
  product: 2,
  unary: 3,
  power: 4,
  postfix: 5,
  atom: 6,
} as const;

export const BINARY_OPS: Readonly<Record<BinaryOp, BinaryOpInfo>> = {
  '+': { prec: PREC.sum, assoc: 'left', commutative: true, linearity: 'linear', latex: '+' },
  '-': { prec: PREC.sum, assoc: 'left', commutative: false, linearity: 'linear', latex: '-' },
  '*': { prec: PREC.product, assoc: 'left', commutative: false, linearity: 'bilinear', latex: '' },
  '/': { prec: PREC.product, assoc: 'left', commutative: false, linearity: 'none', latex: '/' },
  '.*': { prec: PREC.product, assoc: 'left', commutative: true, linearity: 'bilinear', latex: '\\odot' },
  './': { prec: PREC.product, assoc: 'left', commutative: false, linearity: 'none', latex: '\\oslash' },
  '^': { prec: PREC.power, assoc: 'right', commutative: false, linearity: 'none', latex: '^' },
  '.^': { prec: PREC.power, assoc: 'right', commutative: false, linearity: 'none', latex: '^' },
};

/** Element-wise functions: applied to every entry; their derivative rules live in diff/rules.ts. */
export const ELEMENTWISE_FNS = [
  'sin', 'cos', 'tan', 'arcsin', 'arccos', 'arctan', 'exp', 'log', 'tanh',
  'abs', 'sign', 'relu', 'sqrt', 'sigmoid', 'softplus',
] as const;
export type ElementwiseFn = (typeof ELEMENTWISE_FNS)[number];

/** Functions that are not element-wise. */
export const STRUCTURAL_FNS = [
  'sum', 'norm1', 'norm2', 'tr', 'det', 'logdet', 'logsumexp', 'softmax', 'inv', 'adj', 'diag', 'vector', 'matrix', 'dpow',
  'kron', 'vec', 'commutation', 'rows', 'cols', 'len', 'eye',
] as const;
export type StructuralFn = (typeof STRUCTURAL_FNS)[number];

export type FnName = ElementwiseFn | StructuralFn;

export interface FnInfo {
  readonly arity: number;
  /** Optional trailing size arguments (rows(X), cols(X), len(x), products and quotients of those): vector(c, k), matrix(c, k, l), eye(k). */
  readonly sizes?: number;
  /** Takes any number of arguments from `arity` on (dpow's directions). */
  readonly variadic?: boolean;
  readonly elementwise: boolean;
  /** LaTeX for the function name (structural functions with special typesetting are handled by the printer). */
  readonly latex: string;
  readonly doc: string;
}

const ew = (latex: string, doc: string): FnInfo => ({ arity: 1, elementwise: true, latex, doc });
const st = (latex: string, doc: string, arity = 1): FnInfo => ({ arity, elementwise: false, latex, doc });

export const FUNCTIONS: Readonly<Record<FnName, FnInfo>> = {
  sin: ew('\\sin', 'sine, element-wise'),
  cos: ew('\\cos', 'cosine, element-wise'),
  tan: ew('\\tan', 'tangent, element-wise'),
  arcsin: ew('\\arcsin', 'inverse sine, element-wise'),
  arccos: ew('\\arccos', 'inverse cosine, element-wise'),
  arctan: ew('\\arctan', 'inverse tangent, element-wise'),
  exp: ew('\\exp', 'exponential, element-wise'),
  log: ew('\\log', 'natural logarithm, element-wise'),
  tanh: ew('\\tanh', 'hyperbolic tangent, element-wise'),
  abs: ew('\\operatorname{abs}', 'absolute value, element-wise (derivative sign)'),
  sign: ew('\\operatorname{sign}', 'sign, element-wise (derivative 0 almost everywhere)'),
  relu: ew('\\operatorname{relu}', 'max(x, 0), element-wise (derivative sign(relu(x)))'),
  sqrt: ew('\\sqrt', 'square root, element-wise'),
  sigmoid: ew('\\operatorname{sigmoid}', '1/(1+exp(-x)), element-wise'),
  softplus: ew('\\operatorname{softplus}', 'log(1+exp(x)), element-wise'),
  sum: st('\\operatorname{sum}', 'sum of all entries'),
  norm1: st('\\lVert', 'sum of absolute values of all entries'),
  norm2: st('\\lVert', 'Euclidean norm of a vector, Frobenius norm of a matrix'),
  tr: st('\\operatorname{tr}', 'trace of a square matrix'),
  det: st('\\det', 'determinant of a square matrix'),
  logdet: st('\\log\\det', 'log(det(X)) of a square matrix'),
  logsumexp: st('\\operatorname{logsumexp}', 'log(sum(exp(u))) over all entries, without overflow'),
  softmax: st('\\operatorname{softmax}', 'exp(u)/sum(exp(u)) over all entries, without overflow'),
  inv: st('^{-1}', 'inverse of a square matrix'),
  adj: st('\\operatorname{adj}', 'adjugate (transposed cofactor matrix) of a square matrix: det(X)*inv(X) where X is invertible'),
  diag: st('\\operatorname{diag}', 'vector → diagonal matrix; square matrix → vector of its diagonal'),
  vector: { ...st('\\mathbf{1}', 'vector(c): constant vector of the size the context needs; vector(c, len(x)) of that size'), sizes: 1 },
  matrix: { ...st('\\mathbf{1}', 'matrix(c): constant matrix of the size the context needs; matrix(c, rows(A), cols(B))'), sizes: 2 },
  eye: { ...st('\\mathbf{I}', 'eye(k): the identity of size k (rows(X), cols(X), len(x), or a product or quotient of those); plain eye takes the size from the context', 1), arity: 0, sizes: 1 },
  kron: st('\\otimes', 'Kronecker product kron(A, B): blocks A[i,j]*B', 2),
  vec: st('\\operatorname{vec}', 'the columns of a matrix stacked into one vector (column-major)'),
  commutation: st('\\mathbf{K}', "commutation(m, n): the mn×mn permutation with commutation(m, n)*vec(A) = vec(A') for every m×n A (m, n sizes: rows(X), cols(X), len(x) or products of those)", 2),
  rows: st('\\operatorname{rows}', 'number of rows (the length of a vector)'),
  cols: st('\\operatorname{cols}', 'number of columns (1 for a vector)'),
  len: st('\\operatorname{len}', 'number of entries of a vector'),
  dpow: {
    arity: 3,
    variadic: true,
    elementwise: false,
    latex: '\\sum',
    doc: 'dpow(A, k, E) = Σ_{j=0}^{k-1} A^j*E*A^(k-1-j), the derivative of A^k in the direction E (k a constant integer ≥ 0); dpow(A, k, E1, …, Em), the m-th derivative of A^k in the directions E1, …, Em',
  },
};

export function isFnName(name: string): name is FnName {
  return Object.prototype.hasOwnProperty.call(FUNCTIONS, name);
}

/** Names that cannot be variables. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set<string>([...Object.keys(FUNCTIONS), 'eye', 'where']);

/** Greek letter names: scalars by the naming convention (lower case). */
export const GREEK = [
  'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda',
  'mu', 'nu', 'xi', 'omicron', 'pi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'chi', 'psi', 'omega',
] as const;
const GREEK_SET: ReadonlySet<string> = new Set(GREEK);
export function isGreek(name: string): boolean {
  return GREEK_SET.has(name);
}
