/**
 * The simplifier: named phases of rules, each run to a fixed point, in this order:
 *   expand   — distribute sums that carry deltas and cancel A·A⁻¹ and A·adj(A), so deltas contract;
 *   factor   — pull shared factors out of sums (2*A'*A*x - 2*A'*y → 2*A'*(A*x - y));
 *   rational — bring element-wise sums over a common denominator and cancel;
 *   factor   — once more, on what the rational phase produced.
 * Canonicalization (flattening, collecting like terms, symmetric slots, merging powers) happens in
 * the node constructors, so every intermediate is already canonical.
 */
import type { Node } from '../ir/node.js';
import { type Phase, type RewriteStep, runPhase } from './rewrite.js';
import { cancelAdjugate, cancelInverse, distributeDeltas } from './rules/expand.js';
import { factorCommon } from './rules/factor.js';
import { rationalTogether } from './rules/rational.js';

export const PHASES: readonly Phase[] = [
  { name: 'expand', rules: [distributeDeltas, cancelInverse, cancelAdjugate] },
  { name: 'factor', rules: [factorCommon] },
  { name: 'rational', rules: [rationalTogether] },
  { name: 'factor', rules: [factorCommon] },
];

export const ALL_RULES = [distributeDeltas, cancelInverse, cancelAdjugate, factorCommon, rationalTogether];

export function simplify(root: Node, trace?: RewriteStep[]): Node {
  let cur = root;
  for (const phase of PHASES) cur = runPhase(cur, phase, trace);
  return cur;
}
