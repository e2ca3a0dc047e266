/**
 * Which results must have a matrix form (issue 9): every derivative of order ≤ 2 by a scalar or a
 * vector whose result has at most two axes, and every first derivative by a matrix of a scalar
 * expression. Everything else (order ≥ 3 tensors, Jacobians of matrices by matrices in the default
 * layout, …) may print in index notation only. The fuzzer and the tests measure coverage with this.
 *
 * An expression written with vec or kron is outside these classes: its derivative may need a
 * reshape that matrix notation has no word for. kron(y', z')*vec(X) by X is the matrix whose vec
 * is kron(y, z); where all the expression fixes is that len(y)·len(z) = rows(X)·cols(X) (y of 6,
 * z of 2, X of 3×4 entries), no product of the variables has X's shape. Where the sizes do match
 * (vec(X)'*vec(X) by X is 2*X) the form is found all the same; the fuzzer counts those results
 * apart (`inOrders`).
 */
import type { Result } from '../derive.js';
import { topoOrder } from '../ir/node.js';

/** Whether the result is of an order and shape that the classes above cover (vec and kron aside). */
function inOrders(r: Result): boolean {
  const wrtRank = r.wrtNode.shape.length;
  const exprRank = r.analysis.lowered.root.shape.length;
  if (r.node.shape.length > 2) return false;
  if (wrtRank <= 1) return r.order <= 2;
  return r.order === 1 && exprRank === 0;
}

/** Whether the expression uses vec or kron (its IR merges axes). */
export function usesVecOrKron(r: Result): boolean {
  return topoOrder([r.analysis.lowered.root]).some((n) => n.kind === 'merge');
}

export function matrixFormExpected(r: Result): boolean {
  return inOrders(r) && !usesVecOrKron(r);
}

/** A result of those orders and shapes whose expression uses vec or kron (counted apart). */
export function matrixFormOfVecOrKron(r: Result): boolean {
  return inOrders(r) && usesVecOrKron(r);
}
