/**
 * One order of differentiation on the tensor level: walks the DAG once (memoized, so shared
 * sub-expressions are differentiated once) and applies the rule of each node kind. The result is
 * in canonical form but not simplified; derivative() in src/index.ts simplifies after every order.
 */
import { type Node, type NodeKind, type NodeOf, type VarNode, freeVars, holdsZeroPole, makeMul, makePow, zeros } from '../ir/node.js';
import { DERIVATIVE_RULES, type DiffContext } from './rules.js';

export interface DifferentiateOptions {
  /** Keep the derivative of adj as the node adj2, defined at singular matrices (for the evaluators). */
  readonly singularSafe?: boolean;
  /** Keep the derivative of adj2 as the node adj3 (signed minors; the fallback at singular matrices). */
  readonly cofactors?: boolean;
  /** Differentiate by a symmetric variable as by a general one (see DiffContext.unsymmetrized). */
  readonly unsymmetrized?: boolean;
  /** Told whether the rule of adj ran (the printed and the singular-safe derivative then differ). */
  readonly onAdj?: () => void;
  /** Told whether the rule of adj2 ran (a third derivative of det, which adj3 can write). */
  readonly onAdj2?: () => void;
}

export function differentiate(root: Node, wrt: VarNode, opts: DifferentiateOptions = {}): Node {
  const memo = new Map<Node, Node>();
  const ctx: DiffContext = {
    wrt,
    singularSafe: opts.singularSafe === true,
    cofactors: opts.cofactors === true,
    unsymmetrized: opts.unsymmetrized === true,
    usedAdj: false,
    usedAdj2: false,
    d(n: Node): Node {
      const hit = memo.get(n);
      if (hit) return hit;
      const r = freeVars(n).has(wrt.name)
        ? (DERIVATIVE_RULES[n.kind] as (n: NodeOf<NodeKind>, c: DiffContext) => Node)(n, ctx)
        : constantDerivative(n, wrt);
      memo.set(n, r);
      return r;
    },
  };
  const r = ctx.d(root);
  if (ctx.usedAdj) opts.onAdj?.();
  if (ctx.usedAdj2) opts.onAdj2?.();
  return r;
}

/**
 * The derivative of a node that does not depend on the variable: zero, unless the node is
 * undefined everywhere (it holds a pole of an exact zero: 1/(x'*x - x'*x) is 0^-1, inv(A - A) is
 * inv(matrix(0))); then so is its derivative, 0·0^-1 (0/0), not 0.
 */
function constantDerivative(n: Node, wrt: VarNode): Node {
  const shape = [...n.shape, ...wrt.shape];
  if (!holdsZeroPole(n)) return zeros(shape);
  const pole = { node: makePow(zeros([]), -1), labels: [] };
  return makeMul([pole, { node: zeros(shape), labels: shape.map((_, i) => i) }], shape.length);
}
