/**
 * The simplifier: named phases of rules, each run to a fixed point, in this order:
 *   expand   — sin(u)^2 + cos(u)^2 → 1 (trig.ts); a sum over a merged axis (vec, kron) becomes a
 *              sum over the axes it merges, where both merges merge the same sizes; cancel A·A⁻¹
 *              (also between powers, and where A is a product whose factors stand in the product:
 *              inv(A*B)*A*B) and A·adj(A), before a sum A is distributed; distribute a product
 *              over the terms of a sum factor that carry deltas (the others stay one sum),
 *              in a product of rank 1 to 3 only where every term of the sum is vector-like
 *              (diag(u), u*v', eye: A + b*eye stays one factor of a layer's Jacobian), and
 *              over sums that have no matrix form (order > 2) or whose terms cancel once
 *              distributed (X·(P1 - P2) with X·P1 = X·P2), and the terms constant along a
 *              softmax's entries of a sum contracted with it (s'·(u - c·1) → s'·u - c, the
 *              softmax summing to 1), and the broadcast terms of a sum contracted with a vector
 *              along their ones (y'·(W - 1·s'·W) → y'·W - sum(y)·s'·W); move the directions
 *              of matrix-power derivatives to where their deltas contract and collapse those that
 *              commute with the base;
 *   factor   — join terms that are one product but for their weights on one axis (A'*diag(u)*A
 *              - A'*diag(v)*A → A'*diag(u - v)*A) where the factoring that follows ends shorter,
 *              pull shared factors out of sums (2*A'*A*x - 2*A'*y → 2*A'*(A*x - y)), and shared
 *              powers of one base, up to its sign and entry-wise ((t - 1)^2*t - t^2*(1 - t) →
 *              (1 - 2*t)*t*(1 - t), sigmoid's second derivative in t = sigmoid(b)), and multiply
 *              out polynomials whose like terms collect ((2*t - 1)^2 - 2*t*(1 - t) →
 *              1 - 6*t + 6*t^2; entry-wise (1 - t).*y - t.*(1 - y) → y - t), and
 *              sin(u)^2 + cos(u)^2 → 1 again on the sums that factoring leaves, and write a
 *              root at ±1 of a polynomial in one atom as a factor
 *              ((1 - t)^2*(1 + 2*t) for 1 - 3*t^2 + 2*t^3), which a saturated sigmoid or tanh
 *              needs to keep its digits; and distribute a product over a sum factor whose
 *              terms cancel once distributed, as in expand, where factoring formed that sum
 *              (the Hessian of det(c(X)·𝟏𝟏' + I) sums adj⊗inv − adj⊗inv over every entry);
 *   rational — bring element-wise sums over a common denominator and cancel;
 *   factor   — once more, on what the rational phase produced.
 * A derivative that no layout prints in matrix notation skips distribute-tensor-sum (INDEX_FORM_PHASES).
 * Canonicalization (flattening, collecting like terms, symmetric slots, merging powers) happens in
 * the node constructors, so every intermediate is already canonical.
 */
import type { Node } from '../ir/node.js';
import { type Phase, type RewriteStep, runPhase } from './rewrite.js';
import { cancelAdjugate, cancelInverse, cancelInverseProduct, distributeCancelling, distributeDeltas, distributeFewDeltas, distributeOverSoftmax, distributeOverVector } from './rules/expand.js';
import { distributeTensorSums } from './rules/tensorSums.js';
import { factorCommon, factorPowers } from './rules/factor.js';
import { collectWeights as collectWeightsAhead } from './rules/weights.js';
import { collectPolynomial, factorUnitRoots } from './rules/polynomial.js';
import { absorbIntoDirection, collapseCommutingPower, movePowerAdjoint } from './rules/power.js';
import { rationalTogether } from './rules/rational.js';
import { pythagorean } from './rules/trig.js';
import { unmergeContraction } from './rules/merge.js';

const FACTOR_RULES = [factorCommon, factorPowers, collectPolynomial, pythagorean, factorUnitRoots, distributeCancelling];
const collectWeights = collectWeightsAhead({ name: 'factor', rules: FACTOR_RULES });

export const PHASES: readonly Phase[] = [
  { name: 'expand', rules: [pythagorean, unmergeContraction, cancelInverse, cancelInverseProduct, cancelAdjugate, distributeDeltas, distributeOverSoftmax, distributeOverVector, distributeTensorSums, distributeCancelling, absorbIntoDirection, movePowerAdjoint, collapseCommutingPower] },
  { name: 'factor', rules: [collectWeights, ...FACTOR_RULES] },
  { name: 'rational', rules: [rationalTogether] },
  { name: 'factor', rules: [collectWeights, ...FACTOR_RULES] },
];

export const ALL_RULES = [pythagorean, unmergeContraction, cancelInverse, cancelInverseProduct, cancelAdjugate, distributeDeltas, distributeOverSoftmax, distributeOverVector, distributeTensorSums, distributeCancelling, absorbIntoDirection, movePowerAdjoint, collapseCommutingPower, collectWeights, factorCommon, factorPowers, collectPolynomial, factorUnitRoots, rationalTogether];

/**
 * The phases for a derivative that has a matrix form in no layout (a tensor of order 3 or more by
 * a vector or a matrix even as vec(f) by vec(X): a third derivative, the second of a vector or
 * matrix function): they leave out distribute-tensor-sum, which writes a product over a sum of
 * tensors as a sum of products so that each term has a matrix form. Where none is printed, the
 * index form prints the sum as it is; and distributed, a tangent that several products use (the
 * layers' rank-3 tangents of a network's Hessian) is spelled out again in each of them, and so are
 * the tangents below it: the third derivative of six layers norm2(t)*t simplified from 348 nodes to
 * 3,430, twice as many with each layer, and printed 200,243 characters at eight layers. For the
 * same reason a product of rank 4 or more is distributed over the delta terms of its sums only
 * into a few products (distributeFewDeltas): the layers' Jacobians of a matrix chain such as
 * sin(t') + t, δδ·cos(t) + δδ (a transpose), multiplied out into 2^k products.
 */
export const INDEX_FORM_PHASES: readonly Phase[] = PHASES.map((p) => ({ name: p.name, rules: p.rules.filter((r) => r !== distributeTensorSums).map((r) => (r === distributeDeltas ? distributeFewDeltas : r)) }));

export function simplify(root: Node, trace?: RewriteStep[], phases: readonly Phase[] = PHASES): Node {
  let cur = root;
  for (const phase of phases) cur = runPhase(cur, phase, trace);
  return cur;
}
