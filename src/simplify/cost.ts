/**
 * The cost of a form: roughly the number of operators and function calls its matrix notation
 * would print, counting a shared sub-expression at each use (printed text has no sharing).
 * The simplifier keeps a rewrite only when it lowers this cost.
 */
import type { Node } from '../ir/node.js';

const cache = new WeakMap<Node, number>();

export function cost(n: Node): number {
  const hit = cache.get(n);
  if (hit !== undefined) return hit;
  let c: number;
  switch (n.kind) {
    case 'var':
    case 'delta':
      c = 0;
      break;
    case 'const':
      c = n.shape.length === 0 ? 0 : 1;
      break;
    case 'add':
      c = n.terms.length - 1;
      for (const t of n.terms) c += cost(t.node) + (Math.abs(t.coef) === 1 ? 0 : 1);
      break;
    case 'mul': {
      c = n.factors.length - 1;
      for (const f of n.factors) {
        c += cost(f.node);
        // A transpose or a diag/trace pattern costs an operator when printed.
        if (f.labels.length === 2 && f.labels[0]! > f.labels[1]!) c += 0.5;
      }
      break;
    }
    case 'elem':
    case 'merge':
    case 'inv':
    case 'det':
    case 'logdet':
    case 'logsumexp':
    case 'adj':
    case 'adj2':
    case 'adj3':
    case 'adjpart':
      c = 1 + cost(n.arg);
      break;
    case 'pow':
      c = 1 + cost(n.base);
      break;
    case 'powv':
      c = 1 + cost(n.base) + cost(n.exponent);
      break;
    case 'mpow':
      // A^k and dpow(A, k, E) print as one operator or call.
      c = 1 + cost(n.base) + n.dirs.reduce((s, d) => s + cost(d), 0);
      break;
  }
  cache.set(n, c);
  return c;
}
