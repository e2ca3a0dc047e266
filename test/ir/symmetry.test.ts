/**
 * isSymmetric of a product rejects at once where the two output labels sit at different nodes or
 * slots, and otherwise compares the product with its transpose built in full. Both must agree
 * with the full comparison on every square product that derivatives build: symmetric ones
 * (x*x', A*S*A', (A + A')*(A + A'), S*S with S a symmetric sum), and ones that are not.
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { isSymmetric, makeMul, topoOrder, type Node } from '../../src/ir/node.js';

const EXPRS: [string, string, number, Record<string, string>][] = [
  ["x'*A*x", 'x', 2, {}],
  ["x'*S*x", 'x', 2, { S: 'symmetric matrix' }],
  ["norm2(A*S*A' - B)^2", 'A', 1, { S: 'symmetric matrix' }],
  ["tr((A + A')*(A + A')*B)", 'B', 1, {}],
  ["sum(log(exp(-y.*(X*w)) + vector(1)))", 'w', 2, {}],
  ["logdet(x*x' + S)", 'x', 2, { S: 'symmetric matrix' }],
  ["norm2(T - U*V')^2", 'U', 2, {}],
  ["tr(inv(S + A*A')*B)", 'A', 1, { S: 'symmetric matrix' }],
  ["sum(tanh(A*tanh(A*x)))", 'x', 2, {}],
  ["x'*diag(B*x)*x", 'x', 2, {}],
  ["exp(-norm2(x - y)^2)", 'x', 2, {}],
];

const swapped = (n: Node & { kind: 'mul' }): Node =>
  makeMul(n.factors.map((f) => ({ node: f.node, labels: f.labels.map((l) => (l === 0 ? 1 : l === 1 ? 0 : l)) })), 2);

describe('isSymmetric of products', () => {
  test('agrees with the product built with its two labels swapped, on every square product of the derivatives', () => {
    let symmetric = 0;
    let not = 0;
    for (const [expr, wrt, order, decls] of EXPRS) {
      for (let k = 0; k <= order; k++) {
        const r = derive(expr, wrt, { order: k, let: decls });
        for (const n of topoOrder([r.node])) {
          if (n.kind !== 'mul' || n.shape.length !== 2 || n.shape[0] !== n.shape[1]) continue;
          const full = swapped(n) === n;
          expect(isSymmetric(n), `${expr} (order ${k})`).toBe(full);
          if (full) symmetric++;
          else not++;
        }
      }
    }
    expect(symmetric).toBeGreaterThan(10);
    expect(not).toBeGreaterThan(10);
  });
});
