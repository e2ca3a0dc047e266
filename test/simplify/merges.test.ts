/**
 * Derivatives through vec and kron (merged axes), and powers of outer products: the forms the
 * fuzzer found missing once it drew vec and kron (seed 1: 78 results of the orders that must have a
 * matrix form had none, 59 after unmerge-contraction, the rest needing a reshape) and the Hessian
 * of logdet((x*x')^4*((x*x')^4)' + eye), whose matrix power of an outer product had no form.
 */
import { describe, expect, test } from 'vitest';
import { derivative, matrixFormExpected, matrixFormOfVecOrKron, type Derivative } from '../../src/index.js';
import { mulberry32 } from '../../src/random.js';
import { resultSizes } from '../../src/derive.js';
import { evaluateReference } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';

const toTensor = (v: number | number[] | number[][]): Tensor =>
  typeof v === 'number'
    ? { shape: [], data: Float64Array.of(v) }
    : Array.isArray(v[0])
      ? { shape: [v.length, (v[0] as number[]).length], data: Float64Array.from((v as number[][]).flat()) }
      : { shape: [v.length], data: Float64Array.from(v as number[]) };

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
      ['sum(kron(X, X))', 'X', 1, '2*sum(X)*matrix(1)'],
      ["vector(1)'*kron(z, X)*vector(alpha)", 'X', 1, 'alpha*sum(z)*matrix(1)'],
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
    expect(derivative("x'*(x*x')^2*x", 'x', { order: 2 }).matrix).toBe("6*x'*x*(4*x*x' + x'*x*eye)");
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

describe('sizes that vec and kron fix', () => {
  // x./x of a kron is a tensor of ones whose size is a product: the merge that related it to the
  // variables' sizes cancels, so the evaluators bind it from the expression's size witnesses, and
  // the printer names it from theirs (fuzzer, seeds 2, 4 and 6 with vec and kron drawn).
  test('a product size whose merge cancelled: both evaluators, every order', () => {
    for (const order of [0, 1]) {
      const d = derivative("kron(y', B)./kron(y', B)*vector(1)", 'y', { order });
      const y = vector(3);
      const B = matrix(2, 2);
      // the ones are 2 × (3·2): each row sums to 6; the derivative by y is 0 (2 × 3)
      const want = order === 0 ? [6, 6] : [0, 0, 0, 0, 0, 0];
      expect(Array.from(d.compile()({ y, B }).data)).toEqual(want);
      expect(Array.from(d.evaluate({ y, B }).data)).toEqual(want);
    }
  });

  test('printed as products and quotients of the variables\' sizes, read back with the same value', () => {
    const cases: [string, string, string][] = [
      ["vector(1)'*(kron(z, eye)./kron(z, eye))*z", 'z', 'len(z)^2*vector(1)'],
      ["vector(1)'*(kron(y', X)./kron(y', X).*kron(y', matrix(a)))*vector(1)", 'a', 'rows(X)*sum(y)*cols(X)'],
      // The vector(1) in kron(vector(1), A) has k·rows(A) = len(x)·cols(A): a quotient, which a
      // value may be (it printed sum(vector(1)), which has no size; fuzzer, seed 9).
      ["b*sum(kron(x', A)./kron(x', A)*kron(vector(1), A))", 'b', 'cols(A)*len(x)/rows(A)*rows(A)*sum(A)'],
    ];
    for (const [expr, wrt, want] of cases) {
      const d = derivative(expr, wrt);
      expect(d.matrix, expr).toBe(want);
      const values = { z: vector(3), y: vector(2), X: matrix(2, 3), B: matrix(2, 2), a: 0.7, b: -1.3, x: vector(2), A: matrix(2, 3) };
      const ref = d.evaluate(values);
      // Read back as the fuzzer reads it: the result's sizes are the derivative's shape.
      const back = derivative(d.matrix!, wrt, { order: 0 }).result;
      const vals = new Map(Object.entries(values).map(([k, v]) => [k, toTensor(v)]));
      const known = new Map(back.node.shape.map((dim, i) => [dim, ref.shape[i]!]));
      const got = evaluateReference(back.node, vals, resultSizes(back, vals, known));
      expect(Array.from(got.data)).toEqual(Array.from(ref.data));
    }
  });
});

/**
 * The printed matrix form read back (as the fuzzer reads it: the result's sizes are the
 * derivative's shape) has the derivative's value at these values.
 */
function expectReadsBack(d: Derivative, wrt: string, values: Record<string, number | number[] | number[][]>, decls: Record<string, string> = {}): void {
  const ref = d.evaluate(values);
  const back = derivative(d.matrix!, wrt, { order: 0, let: decls }).result;
  const vals = new Map(Object.entries(values).map(([k, v]) => [k, toTensor(v)]));
  const known = new Map(back.node.shape.map((dim, i) => [dim, ref.shape[i]!]));
  const got = evaluateReference(back.node, vals, resultSizes(back, vals, known));
  expect(got.shape).toEqual(ref.shape);
  for (let i = 0; i < ref.data.length; i++) expect(got.data[i]).toBeCloseTo(ref.data[i]!, 10);
}

describe('sizes in nested krons', () => {
  // kron(vector(1), kron(vector(1), eye)): the evaluators divide one factor's size out of the
  // product's, not two; both vectors take their sizes (fuzzer, seed 25: "the size cannot be inferred").
  test('where two factors of a nested kron are open, both are given, and the vec form reads back', () => {
    const d = derivative("inv(diag(kron(vector(1)', z')*kron(y, X)))", 'z', { layout: 'vec' });
    expect(d.matrix).toContain('kron(vector(1, cols(X)), kron(vector(1, rows(X)*len(y)/len(z)), eye))');
    expectReadsBack(d, 'z', { z: vector(6), y: vector(2), X: matrix(3, 2) });
  });
});

describe('sizes that only a kron\'s product could fix', () => {
  // kron(vector(1), S)'*kron(vector(1), eye): each kron has one open factor, but the two products
  // are only tied to each other (len·rows(S) = len·cols(eye)), so neither size can be divided out;
  // both are given (fuzzer, seed 34: "a size that no variable fixes").
  test.each([
    ["kron(diag(eye), S)'*kron(diag(S^0), y)", 'y', 'kron(vector(1, len(y)), S)\'*kron(vector(1, rows(S)), eye)'],
    ["kron(diag(eye), A)'*kron(diag(B^0), y)", 'y', 'kron(vector(1, len(y)*rows(B)/rows(A)), A)\'*kron(vector(1, rows(B)), eye)'],
  ])('%s by %s reads back with the same value, sizes 1 to 3', (expr, wrt, want) => {
    const d = derivative(expr, wrt, { let: { S: 'symmetric matrix' } });
    expect(d.matrix).toBe(want);
    for (const [n, m] of [[1, 1], [2, 3], [3, 2]] as const) {
      const sym = matrix(n, n);
      const S = sym.map((row, i) => row.map((_, j) => sym[Math.min(i, j)]![Math.max(i, j)]!));
      expectReadsBack(d, wrt, { S, A: matrix(n, n), B: matrix(n, n), y: vector(m) }, { S: 'symmetric matrix' });
    }
  });

  test('a kron whose one open factor the product fixes keeps it unsized', () => {
    expect(derivative('norm2(X*W - Y)^2', 'W', { order: 2, layout: 'vec' }).matrix).toBe("2*kron(eye, X'*X)");
  });
});

describe('sizes that products make equal', () => {
  // len(y)·len(z) columns times rows(B)·len(z) rows: len(z) cancels, so rows(B) = len(y), the two
  // merges split their axis alike, and the contraction runs over its factors (fuzzer, seed 1: such
  // products had only an index form with merge(…) in it).
  const norm2 = (v: readonly number[]): number => v.reduce((a, b) => a + b * b, 0);
  const outer = (u: readonly number[], v: readonly number[], c: number): number[] => u.flatMap((a) => v.map((b) => c * a * b));
  const cases: { expr: string; wrt: string; want: string; sizes: (n: number) => Record<string, number[] | number[][]>; value: (v: Record<string, number[] | number[][]>) => number[] }[] = [
    {
      expr: "kron(y', z')*kron(B*y, z)",
      wrt: 'B',
      want: "z'*z*y*y'",
      sizes: (n) => ({ y: vector(n), z: vector(n + 1), B: matrix(n, n) }),
      value: (v) => outer(v.y as number[], v.y as number[], norm2(v.z as number[])),
    },
    {
      // len(y)·len(z) = len(u)·len(z): u and y are the same length.
      expr: "kron(y', z')*kron(u, z)",
      wrt: 'u',
      want: "z'*z*y",
      sizes: (n) => ({ y: vector(n), z: vector(n + 1), u: vector(n) }),
      value: (v) => (v.y as number[]).map((a) => a * norm2(v.z as number[])),
    },
    {
      // vec(X) has rows(X)·cols(X) entries, vec(B*X) rows(B)·cols(X): rows(B) = rows(X).
      expr: "vec(X)'*vec(B*X)",
      wrt: 'X',
      want: "(B + B')*X",
      sizes: (n) => ({ X: matrix(n, 3), B: matrix(n, n) }),
      value: (v) => {
        const X = v.X as number[][];
        const B = v.B as number[][];
        const n = X.length;
        return X.flatMap((_, i) => X[0]!.map((_, j) => Array.from({ length: n }, (_, k) => (B[i]![k]! + B[k]![i]!) * X[k]![j]!).reduce((a, b) => a + b, 0)));
      },
    },
  ];

  test.each(cases.map((c) => [c.expr, c] as const))('%s: a matrix form, with the value at sizes 1, 2 and 4', (_e, c) => {
    const d = derivative(c.expr, c.wrt);
    expect(d.matrix).toBe(c.want);
    const back = derivative(d.matrix!, c.wrt, { order: 0 });
    for (const n of [1, 2, 4]) {
      const values = c.sizes(n);
      const want = c.value(values);
      for (const got of [d.compile()(values).data, d.evaluate(values).data, back.evaluate(values).data])
        want.forEach((w, k) => expect(got[k]!).toBeCloseTo(w, 12));
    }
  });

  test('the size the products fix is checked: B must be square', () => {
    const d = derivative("kron(y', z')*kron(B*y, z)", 'B');
    expect(() => d.evaluate({ y: vector(2), z: vector(3), B: matrix(2, 3) })).toThrow(/B/);
    expect(() => d.compile()({ y: vector(2), z: vector(3), B: matrix(2, 3) })).toThrow(/B/);
  });

  test('where more than one factor is left, nothing is assumed (a reshape, no form)', () => {
    // len(y)·len(z) = rows(X)·cols(X) says nothing about either factor alone.
    expect(derivative("kron(y', z')*vec(X)", 'X').matrix).toBeNull();
    expect(derivative("kron(y', z')*vec(X)", 'X').evaluate({ y: vector(3), z: vector(2), X: matrix(2, 3) }).shape).toEqual([2, 3]);
  });
});

describe('products of the same sizes', () => {
  // Each vec and kron had a size symbol of its own, so a sub-expression written twice made two
  // nodes that differ in that symbol only, and u/u, u - u and det(inv(M))*det(M) did not cancel
  // (zero scan, fuzzer seed 7: #1163, #3664, #4392).
  const cases: { expr: string; wrt: string; zero: string }[] = [
    { expr: "(x'*kron(z', A)*vec(B))/(x'*kron(z', A)*vec(B))", wrt: 'B', zero: 'matrix(0)' },
    { expr: "arctan(kron(z', vector(3)')*kron(eye, X)*kron(z, y)/(kron(z', vector(3)')*kron(eye, X)*kron(z, y)))", wrt: 'y', zero: 'vector(0)' },
    { expr: "det(inv(kron(z', A)*vec(B)*vec(B)'*kron(z', A)' + eye))*det(kron(z', A)*vec(B)*vec(B)'*kron(z', A)' + eye)", wrt: 'z', zero: 'vector(0)' },
    // Before, an index form with t1 = kron(A, B) and t2 = kron(A, B), two temporaries of one text.
    { expr: "(vec(X)'*kron(A, B)*vec(X))/(vec(X)'*kron(A, B)*vec(X))", wrt: 'X', zero: 'matrix(0)' },
    // kron(y, z) and kron(z, y) have the same length, in either order of the factors.
    { expr: "kron(y, z)'*kron(z, y)/(kron(z, y)'*kron(y, z))", wrt: 'z', zero: 'vector(0)' },
  ];
  test.each(cases.map((c) => [c.expr, c.zero, c] as const))('%s: the derivative is %s', (_e, _z, c) => {
    expect(derivative(c.expr, c.wrt).matrix).toBe(c.zero);
  });

  test('products of different sizes stay apart', () => {
    // len(y)·len(z) and len(y)·len(x) are not made one: x and z keep their own lengths.
    const d = derivative("kron(y, z)'*kron(y, z) + kron(y, x)'*kron(y, x)", 'x');
    const g = d.evaluate({ y: vector(2), z: vector(3), x: vector(4) });
    expect(g.shape).toEqual([4]);
  });
});

describe('zeros that vec and kron keep', () => {
  // kron(z', z' - z') is a merge of zeros (kept a merge for its product size); a product with it
  // is zero. It stayed a product, kron(vector(1), X)'*vector(0, len(z)^2), whose vector(1) nothing
  // sizes, so the printed form did not read back (fuzzer, seed 11).
  test.each([
    ["kron(z', z' - z')*kron(vector(b), X)*vector(1)", 'b', [] as number[]],
    ["sum(kron(z', 0*X)*kron(vector(b), X))", 'b', []],
    ["b*vec(z*(y - y)')'*kron(y, z)", 'b', []],
    ["kron(z - z, X)'*kron(vector(b), y)", 'b', [2, 1]],
  ])('%s by %s: 0, printed and evaluated', (expr, wrt, shape) => {
    const values = { z: vector(2), y: vector(2), X: matrix(2, 2), b: 0.4 };
    for (const order of [0, 1]) {
      const d = derivative(expr, wrt, { order });
      expect(d.matrix, expr).toMatch(/^(0|vector\(0\)|matrix\(0\))$/);
      const size = shape.reduce((a, b) => a * b, 1);
      expect(Array.from(d.evaluate(values).data)).toEqual(new Array(size).fill(0));
      expect(Array.from(d.compile()(values).data)).toEqual(new Array(size).fill(0));
    }
  });

  test('a merge of a non-zero constant stays a factor', () => {
    const d = derivative("kron(vector(2, len(x)), vector(1, len(y)))'*kron(x, y)", 'x', { order: 1 });
    const values = { x: vector(3), y: vector(2) };
    // Σ_ij 2·x_i·y_j by x_i is 2·Σ_j y_j for every i
    const want = 2 * values.y.reduce((a, b) => a + b, 0);
    for (const v of d.evaluate(values).data) expect(v).toBeCloseTo(want, 14);
  });
});

describe('products of sizes as size arguments', () => {
  test('rows(X)*len(z) and len(z)^2 are sizes: checked, evaluated, and printed where vec and kron need them', () => {
    const X = matrix(3, 2);
    const z = vector(2);
    const value = (expr: string): number[] => Array.from(derivative(expr, 'z', { order: 0 }).evaluate({ X, z }).data);
    expect(value('sum(vector(1, rows(X)*len(z)*cols(X)))')).toEqual([12]);
    expect(value('tr(eye(len(z)^2))')).toEqual([4]);
    expect(value('sum(commutation(rows(X), len(z)*cols(X)))')).toEqual([12]);
    // kron(y', matrix(1))*kron(z, X) fixes the size of that matrix(1) only through products: the
    // vec layout's form names it rows(X)*len(z) (it wrote sum(vector(1)), which does not read
    // back; fuzzer, seed 1, with z for y).
    const d = derivative("(kron(y', matrix(1))*kron(z, X))'*diag(S*S)", 'S', { let: { S: 'symmetric matrix' }, layout: 'vec' });
    expect(d.matrix).toContain('matrix(1, rows(X)*len(z), rows(S))');
    expect(() => derivative(d.matrix!, 'S', { let: { S: 'symmetric matrix' }, order: 0 })).not.toThrow();
    // With kron(z', matrix(1)) the products fix that matrix(1)'s columns: rows(X) (len(z) cancels).
    const e = derivative("(kron(z', matrix(1))*kron(z, X))'*diag(S*S)", 'S', { let: { S: 'symmetric matrix' }, layout: 'vec' });
    expect(e.matrix).toBe("2*z'*z*X'*vector(1)*vec(S)'");
    const S = [[1, 0.5], [0.5, -2]];
    const back = derivative(e.matrix!, 'S', { let: { S: 'symmetric matrix' }, order: 0 }).evaluate({ X, z, S });
    expect(Array.from(back.data)).toEqual(Array.from(e.evaluate({ X, z, S }).data));
  });

  test('anything else is refused, at its place', () => {
    expect(() => derivative('sum(vector(1, len(z)*2))', 'z')).toThrow(/a size is written rows\(X\), cols\(X\), len\(x\), or a product or quotient of those, not 2/);
    expect(() => derivative('sum(vector(1, len(z)^0.5))', 'z')).toThrow(/a size is written/);
  });
});
