/**
 * One order of differentiation on the tensor level: walks the DAG once (memoized, so shared
 * sub-expressions are differentiated once) and applies the rule of each node kind. The result is
 * in canonical form but not simplified; derivative() in src/index.ts simplifies after every order.
 */
import { type Node, type NodeKind, type NodeOf, type VarNode, freeVars, zeros } from '../ir/node.js';
import { DERIVATIVE_RULES, type DiffContext } from './rules.js';

export function differentiate(root: Node, wrt: VarNode): Node {
  const memo = new Map<Node, Node>();
  const ctx: DiffContext = {
    wrt,
    d(n: Node): Node {
      const hit = memo.get(n);
      if (hit) return hit;
      const r = freeVars(n).has(wrt.name)
        ? (DERIVATIVE_RULES[n.kind] as (n: NodeOf<NodeKind>, c: DiffContext) => Node)(n, ctx)
        : zeros([...n.shape, ...wrt.shape]);
      memo.set(n, r);
      return r;
    },
  };
  return ctx.d(root);
}
