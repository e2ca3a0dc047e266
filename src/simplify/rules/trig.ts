/**
 * Trigonometric identities that the canonical constructors cannot see, because they relate
 * different functions of one argument.
 */
import { type Factor, type Node, type Term, makeAdd, makeElem, makeMul, makePow, ones } from '../../ir/node.js';
import type { Rule } from '../rewrite.js';
import { view } from './factor.js';

/** A factor sin(u)^2 or cos(u)^2 of a term of a sum. */
interface Square {
  readonly fn: 'sin' | 'cos';
  readonly term: number;
  readonly coef: number;
  /** The term with that factor replaced by ones (F in c·F·sin(u)^2). */
  readonly rest: Node;
  /** u's id, F's id and the coefficient: a sin and a cos square with the same key add up to c·F. */
  readonly key: string;
  /** The term with the other function squared in that factor's place. */
  swapped(): Node;
}

function squares(terms: readonly Term[], rank: number): Square[] {
  const out: Square[] = [];
  terms.forEach((t, term) => {
    const fs = view(t.node, t.coef, rank).factors;
    fs.forEach((f, k) => {
      const p = f.node;
      if (p.kind !== 'pow' || p.exp !== 2 || p.base.kind !== 'elem' || (p.base.fn !== 'sin' && p.base.fn !== 'cos')) return;
      const { fn, arg } = p.base;
      const replaced = (node: Node): Node => makeMul(fs.map((g, j): Factor => (j === k ? { node, labels: f.labels } : g)), rank);
      // A term that is the square alone leaves ones of its shape (as the sum writes them, a constant).
      const rest = t.node.kind === 'mul' ? replaced(ones(p.shape)) : ones(t.node.shape);
      const swapped = (): Node => replaced(makePow(makeElem(fn === 'sin' ? 'cos' : 'sin', arg), 2));
      out.push({ fn, term, coef: t.coef, rest, key: `${arg.id}|${rest.id}|${t.coef}`, swapped });
    });
  });
  return out;
}

/**
 * sin(u)^2 + cos(u)^2 = 1, entry-wise, in a sum: two terms c·F·sin(u)^2 and c·F·cos(u)^2 (the same
 * coefficient and the same other factors, on the same indices) become c·F, so that the second
 * derivative of arccos(sin(k)), sin(k)*(1 - cos(k)^2 - sin(k)^2)/(1 - sin(k)^2)^1.5, is 0; and
 * c·F - c·F·cos(u)^2 becomes c·F·sin(u)^2 (sin and cos either way round).
 */
export const pythagorean: Rule = {
  name: 'pythagorean',
  math: 'c·F·sin(u)^2 + c·F·cos(u)^2 → c·F,   c·F − c·F·cos(u)^2 → c·F·sin(u)^2   (entry-wise)',
  apply(n) {
    if (n.kind !== 'add') return undefined;
    const found = squares(n.terms, n.shape.length);
    const replace = (drop: readonly number[], term: Term): Node =>
      makeAdd([...n.terms.filter((_, i) => !drop.includes(i)), term], n.shape);
    const cosines = new Map(found.filter((s) => s.fn === 'cos').map((s) => [s.key, s]));
    for (const s of found) {
      const c = s.fn === 'sin' ? cosines.get(s.key) : undefined;
      if (c && c.term !== s.term) return replace([s.term, c.term], { coef: s.coef, node: s.rest });
    }
    for (const s of found) {
      const f = n.terms.findIndex((t) => t.node === s.rest && t.coef === -s.coef);
      if (f >= 0) return replace([s.term, f], { coef: -s.coef, node: s.swapped() });
    }
    return undefined;
  },
};
