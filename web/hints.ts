/**
 * What the page adds to the engine's messages: whether a syntax error only means that the input is
 * unfinished (shown quietly while typing), what to write instead of a character the language does
 * not have (λ → lambda), and warnings about input that is valid but certainly not meant (x/0).
 */
import { parseAll } from '../src/syntax/parse.js';
import { GREEK } from '../src/syntax/ops.js';
import type { Ast, Span } from '../src/syntax/ast.js';
import { astChildren } from '../src/syntax/ast.js';

/**
 * Whether a text that failed to parse is a prefix of a valid expression (`x'*A*`, `exp(x`): the
 * parser consumed every token without meeting one it could not continue with.
 */
export function isUnfinished(text: string): boolean {
  if (text.trim() === '') return false;
  try {
    parseAll(text);
    return true;
  } catch {
    return false;
  }
}

/** Lower-case Greek letters in the order of GREEK (α … ω, without the final ς). */
const GREEK_LETTERS = 'αβγδεζηθικλμνξοπρστυφχψω';

/** What to write for characters that people paste from papers or type on phones. */
const CHARACTER_HINTS: ReadonlyMap<string, string> = new Map<string, string>([
  ...[...GREEK_LETTERS].map((c, i): [string, string] => [c, GREEK[i]!]),
  ['ς', 'sigma'],
  ['ϕ', 'phi'],
  ['ϵ', 'epsilon'],
  ['ϑ', 'theta'],
  ['×', '*'],
  ['·', '*'],
  ['⋅', '*'],
  ['∗', '*'],
  ['−', '-'],
  ['–', '-'],
  ['—', '-'],
  ['’', "'"],
  ['′', "'"],
  ['ᵀ', "'"],
  ['⊤', "'"],
  ['÷', '/'],
  ['∘', '.*'],
  ['⊙', '.*'],
  ['²', '^2'],
  ['³', '^3'],
  ['⁻', '^-'],
  ['∑', 'sum(…)'],
  ['Σ', 'sum(…)'],
  ['√', 'sqrt(…)'],
  ['‖', 'norm2(…)'],
]);

/** ": write lambda" for a character that has a spelling in the language, else ''. */
export function characterHint(char: string): string {
  const h = CHARACTER_HINTS.get(char);
  return h === undefined ? '' : `: write ${h}`;
}

/** The value of a sub-expression made of numbers alone (vector(c) and matrix(c) count as c). */
function constantValue(a: Ast): number | undefined {
  switch (a.kind) {
    case 'num':
      return a.value;
    case 'neg': {
      const v = constantValue(a.arg);
      return v === undefined ? undefined : -v;
    }
    case 'transpose':
      return constantValue(a.arg);
    case 'call':
      return a.fn === 'vector' || a.fn === 'matrix' ? constantValue(a.args[0]!) : undefined;
    case 'name':
      return undefined;
    case 'binary': {
      const l = constantValue(a.left);
      const r = constantValue(a.right);
      if (l === undefined || r === undefined) return undefined;
      switch (a.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
        case '.*':
          return l * r;
        case '/':
        case './':
          return l / r;
        case '^':
        case '.^':
          return l ** r;
      }
    }
  }
}

export interface Warning {
  readonly message: string;
  readonly span: Span;
}

/** Divisions by a constant zero, and zero to a negative power, anywhere in the expression. */
export function warnings(root: Ast): Warning[] {
  const out: Warning[] = [];
  const stack: Ast[] = [root];
  while (stack.length > 0) {
    const a = stack.pop()!;
    if (a.kind === 'binary') {
      if ((a.op === '/' || a.op === './') && constantValue(a.right) === 0)
        out.push({ message: 'division by zero: the expression and its derivatives are infinite or undefined (NaN)', span: a.right.span });
      if ((a.op === '^' || a.op === '.^') && constantValue(a.left) === 0 && (constantValue(a.right) ?? 0) < 0)
        out.push({ message: 'zero to a negative power is a division by zero: the values are infinite', span: a.span });
    }
    stack.push(...astChildren(a));
  }
  return out.sort((x, y) => x.span.start - y.span.start);
}
