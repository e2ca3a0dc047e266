/**
 * Before planning: each adj2(A) (the derivative of adj, see Adj2Node) is written in the parts one
 * factorisation of A gives (kernels/adjugateParts.ts),
 *
 *   adj2^i_j^p_q = Σ_(c, M, N) c·(M^i_j N^q_p − M^i_p N^q_j)   over (d, Q, Q), (1, Q, P), (1, P, Q), (k, R, R),
 *
 * and a product holding adj2 is distributed over those eight terms, so that the planner contracts
 * the n×n parts with the rest of the product (adj2 : ∂A costs what adj·tr(A⁻¹∂A) − adj·∂A·A⁻¹
 * does) instead of forming the n⁴ tensor.
 */
import { type AdjPart, type Factor, type Node, makeAdd, makeAdjPart, makeMul, mapChildren, topoOrder } from '../ir/node.js';

/** The roots with every adj2 written in its parts (the same roots where there is none). */
export function expandAdjugates(roots: readonly Node[]): readonly Node[] {
  const order = topoOrder(roots);
  if (!order.some((n) => n.kind === 'adj2')) return roots;
  const memo = new Map<Node, Node>();
  for (const n of order) memo.set(n, expanded(n, (c) => memo.get(c)!));
  return roots.map((r) => memo.get(r)!);
}

function expanded(n: Node, sub: (c: Node) => Node): Node {
  if (n.kind === 'adj2') return distribute([{ node: n, labels: [0, 1, 2, 3] }], 4);
  if (n.kind === 'mul' && n.factors.some((f) => f.node.kind === 'adj2')) {
    return distribute(
      n.factors.map((f) => (f.node.kind === 'adj2' ? { node: makeAdj2Of(sub(f.node.arg), f.node), labels: f.labels } : { node: sub(f.node), labels: f.labels })),
      n.shape.length,
    );
  }
  return mapChildren(n, sub);
}

/** adj2 of the expanded argument (the same node when its argument did not change). */
function makeAdj2Of(arg: Node, original: Node & { kind: 'adj2' }): Node {
  return arg === original.arg ? original : mapChildren(original, () => arg);
}

/** The product of the factors with its first adj2 factor written as the sum of its eight terms. */
function distribute(factors: readonly Factor[], rank: number): Node {
  const at = factors.findIndex((f) => f.node.kind === 'adj2');
  if (at < 0) return makeMul(factors, rank);
  const f = factors[at]!;
  if (f.node.kind !== 'adj2') return makeMul(factors, rank);
  const a = f.node.arg;
  const [i, j, p, q] = f.labels as [number, number, number, number];
  const others = factors.filter((_, k) => k !== at);
  const part = (x: AdjPart): Node => makeAdjPart(a, x);
  const pairs: [AdjPart | null, AdjPart, AdjPart][] = [
    ['d', 'Q', 'Q'],
    [null, 'Q', 'P'],
    [null, 'P', 'Q'],
    ['k', 'R', 'R'],
  ];
  const terms = pairs.flatMap(([c, m, n]) => {
    const scale: Factor[] = c === null ? [] : [{ node: part(c), labels: [] }];
    const term = (mLabels: number[], nLabels: number[]): Node =>
      distribute([...others, ...scale, { node: part(m), labels: mLabels }, { node: part(n), labels: nLabels }], rank);
    return [
      { coef: 1, node: term([i, j], [q, p]) },
      { coef: -1, node: term([i, p], [q, j]) },
    ];
  });
  return makeAdd(terms, terms[0]!.node.shape);
}
