/**
 * What to write instead of what another tool (NumPy, MATLAB, LaTeX, textbooks) would accept and
 * ricci does not: a function ricci does not have mapped to ricci's spelling, else a known function
 * within a typing slip of the name (sigmod → sigmoid); a character or operator of another syntax
 * (A\b, A.T, x.', A@B, x**2, x[1], |x|) mapped to ricci's.
 */
import { ELEMENTWISE_FNS, STRUCTURAL_FNS } from './ops.js';

/** A replacement: the forms to write (valid input), and what sets them apart. */
export interface Spelling {
  readonly write: readonly string[];
  readonly note?: string;
}

/** Other tools' names, lower-cased, and what ricci writes for them. */
export const SPELLINGS: Readonly<Record<string, Spelling>> = {
  norm: { write: ['norm2(x)', 'norm1(x)'], note: 'norm2 is Euclidean, and Frobenius for a matrix' },
  fro: { write: ['norm2(X)'], note: 'Frobenius' },
  trace: { write: ['tr(A)'] },
  transpose: { write: ["A'"], note: "a transpose is a postfix '" },
  inverse: { write: ['inv(A)'] },
  pinv: { write: ['inv(A)'], note: 'the inverse of a square matrix; no pseudo-inverse is built in' },
  determinant: { write: ['det(A)'] },
  slogdet: { write: ['logdet(A)'] },
  log_det: { write: ['logdet(A)'] },
  ln: { write: ['log(x)'] },
  log2: { write: ['log(x)/log(2)'] },
  log10: { write: ['log(x)/log(10)'] },
  sinh: { write: ['(exp(x) - exp(-x))/2'] },
  cosh: { write: ['(exp(x) + exp(-x))/2'] },
  asin: { write: ['arcsin(x)'] },
  acos: { write: ['arccos(x)'] },
  atan: { write: ['arctan(x)'] },
  logistic: { write: ['sigmoid(x)'] },
  expit: { write: ['sigmoid(x)'] },
  square: { write: ['x.^2'] },
  pow: { write: ['x.^p', 'A^3'], note: 'element-wise, or a matrix power' },
  power: { write: ['x.^p', 'A^3'], note: 'element-wise, or a matrix power' },
  dot: { write: ["x'*y"] },
  inner: { write: ["x'*y"] },
  outer: { write: ["x*y'"] },
  ones: { write: ['vector(1)', 'matrix(1)', 'vector(1, len(x))'], note: 'sized by where they stand, or by a size argument' },
  zeros: { write: ['vector(0)', 'matrix(0)'] },
  identity: { write: ['eye'] },
  diagonal: { write: ['diag(A)'] },
  mean: { write: ['sum(x)/len(x)'] },
  log1p: { write: ['log(x + vector(1))'] },
  kronecker: { write: ['kron(A, B)'] },
};

const KNOWN: readonly string[] = [...ELEMENTWISE_FNS, ...STRUCTURAL_FNS];

/** The advice for an unknown function name, to follow "unknown function 'name'", or undefined. */
export function functionAdvice(name: string): string | undefined {
  const lower = name.toLowerCase();
  const spelled = Object.prototype.hasOwnProperty.call(SPELLINGS, lower) ? SPELLINGS[lower] : undefined;
  if (spelled !== undefined) return `write ${spelled.write.join(' or ')}${spelled.note ? ` (${spelled.note})` : ''}`;
  if (lower !== name && KNOWN.includes(lower)) return `did you mean ${lower}? (names are case-sensitive)`;
  const near = KNOWN.filter((k) => editDistance(lower, k) <= (k.length <= 4 ? 1 : 2));
  if (near.length > 0) return `did you mean ${near.join(' or ')}?`;
  return undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** Characters of other syntaxes, and what ricci writes for them. */
const CHARACTERS: Readonly<Record<string, string>> = {
  '\\': "write inv(A)*b for MATLAB's A\\b",
  '@': 'write * for the matrix product',
  '[': 'ricci has no indexing or brackets: it works on whole vectors and matrices; write ( ) to group',
  ']': 'ricci has no indexing or brackets: it works on whole vectors and matrices; write ( ) to group',
  '{': 'write ( ) to group',
  '}': 'write ( ) to group',
  '|': 'write abs(x) or norm2(x)',
  ';': 'an expression needs no ;',
};

/**
 * The advice for a character the lexer does not take at text[offset], or undefined. A '.' that
 * starts no element-wise operator is NumPy's .T where a T follows, MATLAB's .' where a ' does.
 */
export function characterAdvice(text: string, offset: number): string | undefined {
  const c = text[offset]!;
  if (c === '.') {
    const rest = text.slice(offset);
    if (/^\.T\b/.test(rest)) return "write A' for the transpose (NumPy's .T)";
    if (rest.startsWith(".'")) return "write A' for the transpose (MATLAB's .')";
    return "a '.' starts only the element-wise operators .* ./ .^";
  }
  return Object.prototype.hasOwnProperty.call(CHARACTERS, c) ? CHARACTERS[c] : undefined;
}
