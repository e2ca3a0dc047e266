/**
 * Like terms of a printed sum collected where they meet: a sum whose terms include sums (the
 * printer's passes build them, diag(u)*M + diag(v)*M as diag(u + v)*M with v a difference) reads
 * with those sums opened and its equal terms added, vector(1) - (vector(1) - t) as t and
 * 2*u - (u - v) as u + v. A sum is rewritten only where two terms meet (a - (b - c) with nothing to
 * add stays as it was written). Terms are equal by their text after their leading number;
 * constants vector(c) and matrix(c) add their values. A sum that cancels whole stays as it is (its
 * zero would need a size).
 */
import type { Ast } from '../syntax/ast.js';
import { call, num } from './build.js';
import { constantDims, constantOf, keepTyping, mapChildren } from './mexpr.js';
import { toText } from './text.js';
import { negate, typed } from './chains.js';
import { buildSum, isSum, sumTerms, type SignedTerm } from './signs.js';

interface Collected {
  /** The term without its number (for a constant, the constant of value 1). */
  readonly body: Ast;
  /** The constant the body stands for (vector(c): the sum adds c's), or undefined. */
  readonly constant: Ast | undefined;
  coef: number;
}

export function collectSums(a: Ast): Ast {
  if (!isSum(a)) return mapChildren(a, collectSums);
  const b = mapTerms(a, collectSums);
  return collected(b) ?? b;
}

/** The sum with f applied to each of its terms (the chain of + and - as it was). */
function mapTerms(a: Ast, f: (term: Ast) => Ast): Ast {
  if (a.kind !== 'binary' || !isSum(a)) return f(a);
  const left = mapTerms(a.left, f);
  const right = f(a.right);
  return left === a.left && right === a.right ? a : keepTyping(a, { ...a, left, right });
}

/** The sum b with its nested sums opened and its like terms added, or undefined where no two terms meet. */
function collected(b: Ast): Ast | undefined {
  const terms = sumTerms(b)!;
  if (!terms.some((t) => isSum(numbered(t.ast).body))) return undefined;
  const groups = new Map<string, Collected>();
  let met = false;
  const add = (ast: Ast, coef: number, open: boolean): void => {
    const { value, body } = numbered(ast);
    if (open && isSum(body)) {
      for (const t of sumTerms(body)!) add(t.ast, coef * value * (t.positive ? 1 : -1), false);
      return;
    }
    const c = constantValue(body);
    const key = c ? `#${c.fn}` : toText(body);
    const g = groups.get(key);
    if (g) {
      g.coef += coef * value * (c?.value ?? 1);
      met = true;
    } else groups.set(key, { body, constant: c ? body : undefined, coef: coef * value * (c?.value ?? 1) });
  };
  for (const t of terms) add(t.ast, t.positive ? 1 : -1, true);
  if (!met) return undefined;
  const out: SignedTerm[] = [];
  for (const g of groups.values()) {
    // (Numbers added in floating point keep 12 digits: 0.1*u + 0.2*u is 0.3*u.)
    g.coef = Number(g.coef.toPrecision(12));
    if (g.coef === 0) continue;
    const positive = g.coef > 0;
    out.push({ ast: g.constant ? constantTimes(g.constant, Math.abs(g.coef)) : times(Math.abs(g.coef), g.body), positive });
  }
  if (out.length === 0) return undefined;
  if (!out.some((t) => t.positive)) return negate(buildSum(out.map((t) => ({ ...t, positive: true }))));
  return keepTyping(b, buildSum(out));
}

/** A term as its leading number (1 where it has none) and the rest. */
function numbered(a: Ast): { value: number; body: Ast } {
  if (a.kind === 'binary' && a.op === '*' && a.left.kind === 'num') return { value: a.left.value, body: a.right };
  return { value: 1, body: a };
}

/** A number, vector(c) or matrix(c): its kind and c. */
function constantValue(a: Ast): { fn: string; value: number } | undefined {
  if (a.kind === 'num') return { fn: 'num', value: a.value };
  if (a.kind !== 'call' || (a.fn !== 'vector' && a.fn !== 'matrix') || a.args.length !== 1 || a.args[0]!.kind !== 'num') return undefined;
  return { fn: a.fn, value: a.args[0]!.value };
}

function constantTimes(c: Ast, value: number): Ast {
  if (c.kind === 'num') return num(value);
  const dims = constantDims(c);
  return dims ? constantOf(value, dims).ast : keepTyping(c, call((c as Ast & { kind: 'call' }).fn, num(value)));
}

function times(k: number, body: Ast): Ast {
  return k === 1 ? body : typed('*', num(k), body);
}
