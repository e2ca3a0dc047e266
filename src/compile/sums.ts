/**
 * Sums of a matrix and its transposes (A + A', 2·B - B' + C) as one tiled pass over the result
 * instead of one pass per term (kernels/transposeSum.ts); A + A' computes each pair of entries
 * once. Called by the planner for every matrix-valued sum; declines (false) where a term is not
 * a plain or transposed view of a dense value.
 */
import type { Node, NodeOf } from '../ir/node.js';
import { symmetricSum, transposeSum, type TransposeTerm } from './kernels/index.js';
import type { PlanContext, Slot } from './plan.js';

interface ViewTerm {
  readonly coef: number;
  readonly slot: Slot;
  readonly trans: boolean;
  /** Leading dimension of the stored matrix. */
  readonly ld: number;
}

/** A term as c·X or c·X' of a materialised matrix, or undefined. */
function viewOf(ctx: PlanContext, coef: number, node: Node, inline: ReadonlySet<Node>): ViewTerm | undefined {
  if (node.kind === 'delta' || node.kind === 'const' || ctx.distributed.has(node)) return undefined;
  if (node.kind === 'mul' && inline.has(node)) {
    // Written into the sum: only a transpose (one factor, labels swapped) is a view.
    if (node.factors.length !== 1) return undefined;
    const f = node.factors[0]!;
    const g = f.node;
    // (A sum the product distributes over is not materialised: no view of it.)
    if (g.shape.length !== 2 || g.kind === 'delta' || g.kind === 'const' || ctx.distributed.has(g) || f.labels.length !== 2) return undefined;
    const [a, b] = f.labels as [number, number];
    if (a === 1 && b === 0) return { coef, slot: ctx.slot(g), trans: true, ld: ctx.shape(g)[1]! };
    if (a === 0 && b === 1) return { coef, slot: ctx.slot(g), trans: false, ld: ctx.shape(g)[1]! };
    return undefined;
  }
  return { coef, slot: ctx.slot(node), trans: false, ld: ctx.shape(node)[1]! };
}

/** Plans out = Σ terms of a matrix-valued sum with a transposed term as one pass; false where it does not apply. */
export function planTransposeSum(ctx: PlanContext, n: NodeOf<'add'>, out: Slot, inline: ReadonlySet<Node>): boolean {
  const shape = ctx.shape(n);
  if (shape.length !== 2) return false;
  const views: ViewTerm[] = [];
  for (const t of n.terms) {
    const v = viewOf(ctx, t.coef, t.node, inline);
    if (!v || v.slot === out) return false;
    views.push(v);
  }
  if (!views.some((v) => v.trans)) return false;
  const [m, cols] = shape as [number, number];
  const [p, q] = views;
  if (views.length === 2 && m === cols && p!.slot === q!.slot && p!.trans !== q!.trans && p!.coef === q!.coef) {
    // c·(X + X'): symmetric, each pair of entries once.
    const X = p!.slot;
    const c = p!.coef;
    const ld = p!.ld;
    ctx.steps.push(() => symmetricSum(m, c, X.buf, 0, ld, out.buf, 0, cols));
    return true;
  }
  ctx.steps.push(() => {
    // Slots are rebound per call (inputs, results): read the buffers now.
    const terms: TransposeTerm[] = views.map((v) => ({ coef: v.coef, buf: v.slot.buf, off: 0, ld: v.ld, trans: v.trans }));
    transposeSum(m, cols, terms, out.buf, 0, cols, false);
  });
  return true;
}
