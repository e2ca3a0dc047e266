/** The examples menu: each loads an expression, the variable to differentiate by and the order. */
import type { State } from './state.js';

export interface Example {
  readonly title: string;
  /** The layout is the default one unless an example names it. */
  readonly state: Pick<State, 'expr' | 'wrt' | 'order' | 'lets'> & Partial<Pick<State, 'layout'>>;
}

const none = new Map<string, never>();

export const EXAMPLES: readonly Example[] = [
  { title: 'Quadratic form', state: { expr: "x'*A*x", wrt: 'x', order: 1, lets: none } },
  { title: 'Least squares', state: { expr: 'norm2(A*x - y)^2', wrt: 'x', order: 1, lets: none } },
  { title: 'Logistic regression (Hessian)', state: { expr: 'sum(log(exp(-y.*(X*w)) + vector(1)))', wrt: 'w', order: 2, lets: none } },
  { title: 'Softmax cross-entropy (Hessian, vec layout)', state: { expr: "logsumexp(W*x) - y'*W*x", wrt: 'W', order: 2, lets: none, layout: 'vec' } },
  { title: 'Log-determinant', state: { expr: 'log(det(X))', wrt: 'X', order: 1, lets: none } },
  { title: 'Matrix factorization', state: { expr: "norm2(X - U*V')^2", wrt: 'U', order: 1, lets: none } },
  { title: 'Jacobian of tanh(A*x)', state: { expr: 'tanh(A*x)', wrt: 'x', order: 1, lets: none } },
  { title: 'Third-order derivative', state: { expr: "(x'*x)^2", wrt: 'x', order: 3, lets: none } },
  { title: 'Symmetric quadratic form (Hessian)', state: { expr: "x'*A*x", wrt: 'x', order: 2, lets: new Map([['A', 'symmetric matrix']]) } },
  { title: 'Least squares by a matrix (Hessian, vec layout)', state: { expr: 'norm2(X*W - Y)^2', wrt: 'W', order: 2, lets: none, layout: 'vec' } },
  { title: 'Layer log-likelihood (Hessian, vec layout)', state: { expr: 'sum(log(sigmoid(W*X)))', wrt: 'W', order: 2, lets: none, layout: 'vec' } },
  { title: "Jacobian of X'*X (vec layout)", state: { expr: "X'*X", wrt: 'X', order: 1, lets: none, layout: 'vec' } },
];
