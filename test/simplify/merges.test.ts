/**
 * Derivatives through vec and kron (merged axes), and powers of outer products: the forms the
 * fuzzer found missing once it drew vec and kron (seed 1: 78 results of the orders that must have a
 * matrix form had none, 59 after unmerge-contraction, the rest needing a reshape) and the Hessian
 * of logdet((x*x')^4*((x*x')^4)' + eye), whose matrix power of an outer product had no form.
 */
import { describe, expect, test } from 'vitest';
import { derivative, matrixFormExpected, matrixFormOfVecOrKron } from '../../src/index.js';
import { mulberry32 } from '../../src/random.js';

const rand = mulberry32(44);
const vector = (n: number): number[] => Array.from({ length: n }, () => 2 * rand() - 1);
const matrix = (m: number, n: number): number[][] => Array.from({ length: m }, () => vector(n));

describe('sums over merged axes', () => {
  test('where only the products of sizes agree, no form is claimed and the value is right', () => {
    // kron(y', z')*vec(X) = Σ y_j z_i X(i + len(z)·j) needs len(y)·len(z) = rows(X)·cols(X) only.
    const d = derivative("kron(y', z')*vec(X)", 'X');
    expect(d.matrix).toBeNull();
    expect(matrixFormExpected(d.result)).toBe(false);
    expect(matrixFormOfVecOrKron(d.result)).toBe(true);
    for (const [ny, nz, m, n] of [
      [6, 2, 3, 4],
      [2, 3, 3, 2],
      [1, 4, 2, 2],
    ] as const) {
      const y = vector(ny);
      const z = vector(nz);
      const X = matrix(m, n);
      const g = d.compile()({ y, z, X });
      expect(g.shape).toEqual([m, n]);
      const ref = d.evaluate({ y, z, X });
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          const p = i + m * j; // vec(X)'s index of X(i, j)
          const want = y[Math.floor(p / nz)]! * z[p % nz]!;
          expect(g.data[i * n + j]!).toBeCloseTo(want, 14);
          expect(ref.data[i * n + j]!).toBeCloseTo(want, 14);
        }
    }
  });

  test('where the sizes match, the form a person writes', () => {
    const cases: [string, string, number, string][] = [
      ["vec(X)'*vec(X)", 'X', 1, '2*X'],
      ["vec(X)'*vec(X)", 'X', 2, '2*eye'],
      ["norm2(vec(X*W - Y))^2", 'W', 1, "2*X'*(X*W - Y)"],
      ['sum(kron(X, X))', 'X', 1, "2*sum(X)*vector(1)*vector(1)'"],
      ["vector(1)'*kron(z, X)*vector(alpha)", 'X', 1, "alpha*sum(z)*vector(1)*vector(1)'"],
    ];
    for (const [expr, wrt, order, want] of cases) {
      const d = derivative(expr, wrt, { order, ...(order === 2 ? { layout: 'vec' as const } : {}) });
      expect(d.matrix, `${expr} by ${wrt}, order ${order}`).toBe(want);
    }
  });
});

describe('powers of outer products', () => {
  test('(u*v\')^k is (v\'*u)^(k−1)*u*v\', so its derivatives have matrix forms', () => {
    expect(derivative("tr((x*y')^3)", 'x').matrix).toBe("3*(x'*y)^2*y");
    expect(derivative("x'*(x*x')^2*x", 'x', { order: 2 }).matrix).toBe("x'*x*(24*x*x' + 6*x'*x*eye)");
    const h = derivative("logdet((x*x')^4*((x*x')^4)' + eye)", 'x', { order: 2 });
    expect(h.matrix).not.toBeNull();
    expect(h.matrix).not.toMatch(/dpow|\^8/);
    for (const n of [1, 2, 4]) {
      const x = vector(n).map((v) => v / 2);
      const got = h.compile()({ x }).data;
      const want = h.evaluate({ x }).data;
      for (let k = 0; k < want.length; k++) expect(got[k]!).toBeCloseTo(want[k]!, 10);
    }
  });

  test('values equal the repeated products at sizes 1 to 4, scaled and not', () => {
    for (const k of [2, 3, 5]) {
      const p = derivative(`(diag(a*x)*vector(1)*y')^${k}`, 'x', { order: 0 }).compile();
      for (const n of [1, 2, 4]) {
        const x = vector(n);
        const y = vector(n);
        const a = -1.5;
        const u = x.map((v) => a * v);
        let M = u.map((ui) => y.map((yj) => ui * yj));
        const base = M;
        for (let t = 1; t < k; t++) M = M.map((row) => base[0]!.map((_, j) => row.reduce((s, v, q) => s + v * base[q]![j]!, 0)));
        const got = p({ a, x, y }).data;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(got[i * n + j]!).toBeCloseTo(M[i]![j]!, 10);
      }
    }
  });
});
