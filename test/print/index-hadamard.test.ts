/**
 * Hadamard products in index notation: factors on the same indices, each tied to the others by δ,
 * print as one tensor in matrix notation where that is shorter — ((cos(x) - sin(x)).*exp(x))^p
 * rather than cos(x^q) exp(x^r) δ^p_{qr} …; the sign of a temporary that such a tensor holds stays
 * sound; terms that print the same are one term.
 */
import { describe, expect, test } from 'vitest';
import katex from 'katex';
import { derive } from '../../src/derive.js';
import { usedOnlyFreeIndex } from '../../src/print/indexSigns.js';
import type { IExpr } from '../../src/print/index.js';

const SYM = { S: 'symmetric matrix' };

describe('a Hadamard product is one tensor', () => {
  test.each([
    // vectors, a compound member, order 3 (one δ left with the free indices)
    ['sum(exp(x).*sin(x))', 'x', 3, {}, '2 ((cos(x) - sin(x)).*exp(x))^p δ^i_j^k_p'],
    ["u'*diag(x)*diag(x)*diag(x)*v", 'x', 3, {}, '6 (v.*u)^p δ^i_j^k_p'],
    ['sum((A*x).^2.*exp(A*x))', 'x', 3, {}, 'A^{pi} A^q_j A^{rk} (((A*x).^2 + 6*A*x + vector(6)).*exp(A*x))^s δ_{pqrs}'],
    // matrices: one tensor on two indices, each index through one δ
    ['sum(sigmoid(A).*A)', 'A', 2, {}, '((matrix(1) - t1).*((matrix(1) - 2*t1).*A.*t1 + 2*t1))^p_q δ^{ik}_p δ_{jl}^q where t1^i_j = sigmoid(A^i_j)'],
    // by a symmetric matrix, under the symmetrization
    ['sum(sigmoid(S).*S)', 'S', 2, SYM, 'sym_{(ij)(kl)}[((matrix(1) - t1).*(2*t1 + S.*(matrix(1) - 2*t1).*t1))^p_q δ^{ik}_p δ_{jl}^q] where t1^i_j = sigmoid(S^i_j)'],
  ] as const)('%s by %s, order %i', (expr, wrt, order, decls, want) => {
    const r = derive(expr, wrt, { order, let: decls });
    expect(r.index).toBe(want);
    expect(r.body.indexLatex).toContain('\\odot');
    expect(() => katex.renderToString(r.body.indexLatex, { throwOnError: true })).not.toThrow();
  });

  // A sum factor that is 0 off a diagonal, x^q δ^{pk}_q + 3 δ^{pk}, joins as its diagonal vector.
  test.each([
    ['x.*exp(x)', 'x', 2, '(exp(x).*(vector(2) + x))^p δ^i_j^k_p'],
    ['sum(x.*exp(x))', 'x', 3, '((vector(3) + x).*exp(x))^p δ^i_j^k_p'],
    ['sum(X.*exp(X))', 'X', 2, '(exp(X).*(matrix(2) + X))^p_q δ^{ik}_p δ_{jl}^q'],
    ['sum(X.*exp(X))', 'X', 3, '((matrix(3) + X).*exp(X))^p_q δ^{ikm}_p δ_{jln}^q'],
    ["X'./exp(X')*-vector(-0.5)", 'X', 3, '((matrix(1.5) - 0.5*X)./exp(X))^p_q δ_{jlnp} δ^{ikmoq}'],
  ] as const)('a diagonal sum: %s by %s, order %i', (expr, wrt, order, want) => {
    expect(derive(expr, wrt, { order }).body.index).toBe(want);
  });

  test('a member-by-member form that is shorter stays: tanh(x).*exp(y) by x, order 2', () => {
    const r = derive('tanh(x).*exp(y)', 'x', { order: 2 });
    expect(r.index).toBe('-2 exp(y^p) (1^q - tanh(x^q)^2) tanh(x^r) δ^i_j^k_{pqr}');
  });

  test('element-wise derivatives by a matrix that a fuzz run printed with one summed index per member', () => {
    // Before: sigmoid(S).^S by S twice named 9 summed indices (331 characters); the third
    // derivative of (softplus(S).^S')' 19 (p1 … p3 among them, 1,136 characters).
    for (const [expr, wrt, order, most] of [
      ['sigmoid(S).^S', 'S', 2, 2],
      ["(softplus(S).^S')'", 'S', 3, 3],
    ] as const) {
      const body = derive(expr, wrt, { order, let: SYM }).body.index;
      const summed = new Set([...body.matchAll(/(?<![\p{L}\w])(?:[pqrstuvwabcdefgh]|p[0-9]+)(?![\p{L}\w(])/gu)].map((m) => m[0]));
      expect(summed.size, `${expr}: ${body}`).toBeLessThanOrEqual(most);
    }
  });
});

test("a δ lists the result's indices in their order, then the summed ones", () => {
  for (const [expr, wrt, order] of [
    ['sum(X.*exp(X))', 'X', 3],
    ["X'./exp(X')*-vector(-0.5)", 'X', 3],
    ["log(sigmoid(X'.*X'))", 'X', 2],
    ["x''./exp(x + x)", 'x', 2],
    ['x.^a', 'x', 3],
  ] as const) {
    const body = derive(expr, wrt, { order }).body.index;
    for (const m of body.matchAll(/δ((?:[\^_](?:\{[^}]*\}|[a-z]))+)/g)) {
      const names = m[1]!.replace(/[\^_{}]/g, '').split('');
      const free = names.filter((x) => 'ijklmno'.includes(x));
      expect(free.join(''), `${expr}: ${m[0]}`).toBe([...free].sort().join(''));
      expect(names.slice(0, free.length).join(''), `${expr}: ${m[0]}`).toBe(free.join(''));
    }
  }
});

describe('the sign of a temporary inside a tensor in matrix notation', () => {
  test('a temporary that is a member of a Hadamard product still turns to the written order', () => {
    for (const [expr, want] of [
      ['norm2(exp(x) - y)', 't1 = exp(x) - y'],
      ['norm2(exp(x) - X*y)', 't1 = exp(x) - X*y'],
      ['norm2(exp(x) - vector(1))', 't1 = exp(x) - vector(1)'],
    ] as const) {
      const r = derive(expr, 'x', { order: 2 });
      expect(r.matrix).toContain(want);
      expect(r.body.index).toContain('(t1.*exp(x))');
    }
  });

  const t = (text: string, names: string[], members?: Map<string, number>): IExpr => ({
    kind: 'tensor',
    text,
    latex: text,
    indices: names.map((name, k) => ({ name, up: k % 2 === 0 })),
    flexible: false,
    ...(members ? { members } : {}),
  });
  const prod = (...factors: IExpr[]): IExpr => ({ kind: 'prod', factors });

  test('a use is free only where negating the name keeps the value', () => {
    // t1^p t1_p: twice in one product.
    expect(usedOnlyFreeIndex(prod(t('t1', ['p']), t('t1', ['p'])), 't1')).toBe(true);
    // t1^p (t1.*x)_p: a member of a Hadamard product counts as a factor t1.
    expect(usedOnlyFreeIndex(prod(t('t1', ['p']), t('(t1.*x)', ['p'], new Map([['t1', 1]]))), 't1')).toBe(true);
    // (t1.*x)^p alone: once.
    expect(usedOnlyFreeIndex(prod(t('(t1.*x)', ['p'], new Map([['t1', 1]])), t('y', ['p'])), 't1')).toBe(false);
    // t1^p (exp(t1).*x)_p: t1 inside a function of the tensor, never free.
    expect(usedOnlyFreeIndex(prod(t('t1', ['p']), t('(exp(t1).*x)', ['p'], new Map())), 't1')).toBe(false);
    // t1^p inv(t1 + A)_p^q …: inside a matrix argument, never free.
    expect(usedOnlyFreeIndex(prod(t('t1', ['p']), t('t1', ['q']), t('inv(t1 + A)', ['p', 'q'])), 't1')).toBe(false);
    // t12 is not t1.
    expect(usedOnlyFreeIndex(prod(t('t1', ['p']), t('t1', ['p']), t('inv(t12)', ['q', 'r'])), 't1')).toBe(true);
  });
});

describe('terms that print the same are one term', () => {
  /** The terms of a sum at the top of an index form. */
  const topTerms = (text: string): string[] => {
    const out: string[] = [];
    let [depth, cur] = [0, ''];
    for (let k = 0; k < text.length; k++) {
      const c = text[k]!;
      depth += '([{'.includes(c) ? 1 : ')]}'.includes(c) ? -1 : 0;
      if (depth === 0 && (text.startsWith(' + ', k) || text.startsWith(' - ', k))) {
        out.push(cur);
        cur = '';
        k += 2;
      } else cur += c;
    }
    return [...out, cur].map((t) => t.replace(/^-?[0-9.]* ?/, ''));
  };

  test.each([
    ["x'*diag(B*x)*x", 3, '2 B^p_j δ^{ik}_p + 2 B^{pi} δ_j^k_p + 2 B^{pk} δ^i_{jp}'],
    ["x'*diag(B*x)*x", 2, '2 B^p_j x^q δ^i_{pq} + 2 B^q_p x^p δ^i_{jq} + 2 B^{pi} x^q δ_{jpq}'],
    ["x'*diag(-B*x)*x", 3, '-2 B^p_j δ^{ik}_p - 2 B^{pi} δ_j^k_p - 2 B^{pk} δ^i_{jp}'],
    // 1/3 + 1/3 is 2/3, as the other terms print it.
    ["x'*diag(B*x)*x/3", 3, '2/3 B^p_j δ^{ik}_p + 2/3 B^{pi} δ_j^k_p + 2/3 B^{pk} δ^i_{jp}'],
  ] as const)('%s by x, order %i', (expr, order, want) => {
    expect(derive(expr, 'x', { order }).body.index).toBe(want);
  });

  test('a class of cubic forms, orders 2 and 3: no term twice', () => {
    for (const expr of ["x'*diag(B*x)*x", "x'*diag(B'*x)*x", "(x.*(B*x))'*x", "x'*diag(B*x)*x + a", "x'*diag(2*B*x)*x", "x'*diag(B*x)*x/3"])
      for (const order of [2, 3]) {
        const terms = topTerms(derive(expr, 'x', { order }).body.index);
        expect(new Set(terms).size, `${expr}, order ${order}: ${terms.join(' | ')}`).toBe(terms.length);
      }
  });
});
