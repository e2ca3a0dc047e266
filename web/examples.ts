/** The examples menu: each loads an expression, the variable to differentiate by and the order. */
import type { State } from './state.js';

export interface Example {
  readonly title: string;
  readonly state: Pick<State, 'expr' | 'wrt' | 'order' | 'lets'>;
}

export const EXAMPLES: readonly Example[] = [
  { title: 'Quadratic form', state: { expr: "x'*A*x", wrt: 'x', order: 1, lets: {} } },
  { title: 'Least squares', state: { expr: 'norm2(A*x - y)^2', wrt: 'x', order: 1, lets: {} } },
  { title: 'Logistic regression (Hessian)', state: { expr: 'sum(log(exp(-y.*(X*w)) + vector(1)))', wrt: 'w', order: 2, lets: {} } },
  { title: 'Log-determinant', state: { expr: 'log(det(X))', wrt: 'X', order: 1, lets: {} } },
  { title: 'Matrix factorization', state: { expr: "norm2(X - U*V')^2", wrt: 'U', order: 1, lets: {} } },
  { title: 'Jacobian of tanh(A*x)', state: { expr: 'tanh(A*x)', wrt: 'x', order: 1, lets: {} } },
  { title: 'Third-order derivative', state: { expr: "(x'*x)^2", wrt: 'x', order: 3, lets: {} } },
  { title: 'Symmetric quadratic form (Hessian)', state: { expr: "x'*A*x", wrt: 'x', order: 2, lets: { A: 'symmetric matrix' } } },
];
