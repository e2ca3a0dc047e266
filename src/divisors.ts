/**
 * Divisors that are identically zero: a division, a negative power or an inverse of a
 * sub-expression that simplifies to exactly 0 (1/(norm2(x)^2 - x'*x), inv(S - S')). The
 * expression and all its derivatives are then undefined everywhere, which the CLI and the page
 * say, pointing at the divisor. A divisor without variables (x/0, x/(1 - 1)) is the page's
 * syntax-level warning's; one that uses a name bound by `where` is not looked at.
 */
import { analyze, type Analysis } from './derive.js';
import { isZero } from './ir/node.js';
import { simplify } from './simplify/phases.js';
import { type Ast, type Span, astChildren } from './syntax/ast.js';

/**
 * Longest divisor looked at, in characters: nested divisions would otherwise make the work
 * quadratic in the input (each divisor holding the next); with the bound it is linear.
 */
const MAX_DIVISOR = 200;

export interface ZeroDivisor {
  readonly span: Span;
  /** The divisor as written. */
  readonly text: string;
}

/** The divisors of an analysed expression that simplify to exactly zero, in source order. */
export function zeroDivisors(a: Analysis): ZeroDivisor[] {
  const root = a.checked.ast;
  const bound = new Set(root.kind === 'where' ? root.bindings.map((b) => b.name) : []);
  const decls = Object.fromEntries([...a.checked.vars].map(([name, v]) => [name, v.declared]));
  const variables = new Set(a.checked.vars.keys());
  const out: ZeroDivisor[] = [];
  const stack: Ast[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    stack.push(...astChildren(n));
    const d = divisorOf(n);
    if (!d || !usesAny(d, variables) || usesAny(d, bound)) continue;
    const text = a.text.slice(d.span.start, d.span.end);
    if (text.length <= MAX_DIVISOR && simplifiesToZero(text, decls)) out.push({ span: d.span, text });
  }
  return out.sort((x, y) => x.span.start - y.span.start);
}

/** What a node divides by: the right of / and ./, the base of a negative power, inv's argument. */
function divisorOf(n: Ast): Ast | undefined {
  if (n.kind === 'binary' && (n.op === '/' || n.op === './')) return n.right;
  if (n.kind === 'binary' && (n.op === '^' || n.op === '.^') && isNegativeNumber(n.right)) return n.left;
  if (n.kind === 'call' && n.fn === 'inv') return n.args[0];
  return undefined;
}

const isNegativeNumber = (a: Ast): boolean => (a.kind === 'neg' && a.arg.kind === 'num' && a.arg.value > 0) || (a.kind === 'num' && a.value < 0);

/** Whether the sub-expression names any of `names`. */
function usesAny(a: Ast, names: ReadonlySet<string>): boolean {
  if (names.size === 0) return false;
  if (a.kind === 'name') return names.has(a.name);
  return astChildren(a).some((c) => usesAny(c, names));
}

/** Whether the sub-expression, with the variables' types of the whole, simplifies to exactly 0. */
function simplifiesToZero(text: string, decls: Record<string, string>): boolean {
  let sub: Analysis;
  try {
    sub = analyze(text, decls);
  } catch {
    // Alone, the sub-expression may not check (a size only the whole fixes): nothing to say.
    return false;
  }
  return isZero(simplify(sub.lowered.root));
}
