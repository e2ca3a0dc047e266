/**
 * Which results must have a matrix form (issue 9): every derivative of order ≤ 2 by a scalar or a
 * vector whose result has at most two axes, and every first derivative by a matrix of a scalar
 * expression. Everything else (order ≥ 3 tensors, Jacobians of matrices by matrices in the default
 * layout, …) may print in index notation only. The fuzzer and the tests measure coverage with this.
 */
import type { Result } from '../derive.js';

export function matrixFormExpected(r: Result): boolean {
  const wrtRank = r.wrtNode.shape.length;
  const exprRank = r.analysis.lowered.root.shape.length;
  if (r.node.shape.length > 2) return false;
  if (wrtRank <= 1) return r.order <= 2;
  return r.order === 1 && exprRank === 0;
}
