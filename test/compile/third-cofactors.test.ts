/**
 * The third derivative of det, adj3(A)^i_j^p_q^r_s = ∂³det(A)/∂A^j_i ∂A^p_q ∂A^r_s, at every
 * matrix: the kernel (adjugates of (n−2)-submatrices) and the reference (minors of order n − 3)
 * against an oracle that knows neither minors nor signs — det is affine in each entry, so for
 * three distinct entries the mixed difference Σ_ε (−1)^(3−|ε|) det(M + ε₁E₁ + ε₂E₂ + ε₃E₃) is
 * the mixed partial exactly (BigInt) — at ranks n to n − 4, sizes 1…6, scaled by 2^±30 too; and
 * the evaluators' third derivatives of det, which stopped ("inv(y*y'): the matrix is singular")
 * or gave NaN (det(diag(v)) at a zero of v) wherever the matrix is singular, and now fall back to
 * adj3 there (derive.ts, withSingularFallback; fuzzer seeds 9–14: 2 to 5 such cases each).
 */
import { describe, expect, test } from 'vitest';
import { thirdCofactors } from '../../src/compile/kernels/thirdCofactors.js';
import { evaluateReference, thirdCofactorsByMinors } from '../../src/compile/reference.js';
import { resultSizes } from '../../src/derive.js';
import { derivative } from '../../src/index.js';
import { mulberry32 } from '../../src/random.js';
import { type ScaledInteger, exactDet, exponentSum, scaledIntegerMatrix } from '../helpers/exact.js';
import { type Node, topoOrder } from '../../src/ir/node.js';
import { nearRankMatrix } from '../helpers/matrices.js';

/** ∂³det/∂M_e1 ∂M_e2 ∂M_e3 (entries [row, col]) by the mixed difference; 0 where two coincide. */
function mixedPartial(m: bigint[][], es: readonly (readonly [number, number])[]): bigint {
  const key = (e: readonly [number, number]): string => `${e[0]},${e[1]}`;
  if (new Set(es.map(key)).size < 3) return 0n;
  let s = 0n;
  for (let mask = 0; mask < 8; mask++) {
    const b = m.map((row) => [...row]);
    let bits = 0;
    es.forEach(([r, c], k) => {
      if (mask & (1 << k)) {
        b[r]![c]! += 1n;
        bits++;
      }
    });
    s += ((3 - bits) % 2 === 0 ? 1n : -1n) * exactDet(b);
  }
  return s;
}

type Case = ScaledInteger;

const CASES: Case[] = (() => {
  const rand = mulberry32(33);
  const out: Case[] = [];
  for (let n = 1; n <= 6; n++)
    for (const scale of [0, 30])
      for (const r of new Set([n, n - 1, n - 2, n - 3, n - 4, 0])) if (r >= 0 && (r > 0 || scale === 0)) out.push(scaledIntegerMatrix(n, r, rand, scale, 3));
  return out;
})();

/** The entries to check: all of them up to n = 4, a sample beyond (the exact oracle is slow). */
function entries(n: number, rand: () => number): number[][] {
  const all = n <= 4;
  const out: number[][] = [];
  const total = n ** 6;
  for (let t = 0; t < (all ? total : 400); t++) {
    let k = all ? t : Math.floor(rand() * total);
    const idx: number[] = [];
    for (let d = 0; d < 6; d++) {
      idx.unshift(k % n);
      k = Math.floor(k / n);
    }
    out.push(idx);
  }
  return out;
}

/** Max over the entries of |got − exact| over the entry's natural size (max|M|^(n−3) × its scale). */
function error(got: ArrayLike<number>, c: Case, seed: number): number {
  const n = c.n;
  let e = 0;
  for (const [i, j, p, q, r, s] of entries(n, mulberry32(seed))) {
    const exact = Number(mixedPartial(c.m, [[j!, i!], [p!, q!], [r!, s!]]));
    const scale = 2 ** (exponentSum(c.e1, [j!, p!, r!]) + exponentSum(c.e2, [i!, q!, s!]));
    const at = ((((i! * n + j!) * n + p!) * n + q!) * n + r!) * n + s!;
    e = Math.max(e, Math.abs(got[at]! - exact * scale) / (c.big ** Math.max(n - 3, 0) * scale));
  }
  return e;
}

describe('adj3 against exact mixed differences of det', () => {
  test('the cases cover ranks n to n − 4 and 0 at every size 1…6, scaled and not', () => {
    for (const name of ['rank ≤ 2, n = 5', 'rank ≤ 3, n = 6', 'rank ≤ 1, n = 4', 'regular, n = 6', 'zero, n = 3', 'rank ≤ 2, n = 6, scaled by 2^±30'])
      expect(CASES.some((c) => c.name === name), name).toBe(true);
  });

  test.each(CASES.map((c, k) => [c.name, c, k] as const))('kernel and reference: %s', (_name, c, k) => {
    const got = new Float64Array(c.n ** 6);
    thirdCofactors(c.n, c.a, 0, got, 0);
    expect(error(got, c, k), 'kernel').toBeLessThan(1e-12);
    expect(error(thirdCofactorsByMinors(c.a, c.n), c, k), 'reference').toBeLessThan(1e-12);
  });

  test('kernel and reference agree on real matrices a rounding away from rank n − 1 … n − 3', () => {
    const rand = mulberry32(8);
    for (let n = 3; n <= 7; n++)
      for (const deficit of [1, 2, 3]) {
        const a = nearRankMatrix(n, n - deficit, rand);
        const want = thirdCofactorsByMinors(a, n);
        const got = new Float64Array(n ** 6);
        thirdCofactors(n, a, 0, got, 0);
        let scale = 1;
        for (const w of want) scale = Math.max(scale, Math.abs(w));
        let e = 0;
        for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
        expect(e / scale, `n = ${n}, rank n − ${deficit}`).toBeLessThan(1e-12);
      }
  });
});

describe('third derivatives of det where the matrix is singular', () => {
  const third = derivative('det(A)', 'A', { order: 3 });
  const compiled = third.compile();

  // The result's entry [a, b, c, d, e, f] is ∂³det/∂A_ab ∂A_cd ∂A_ef = adj3[b, a, c, d, e, f].
  // Regular matrices scaled by 2^±30 are left out: there the form with A⁻¹ runs, whose entries
  // that are 0 (a repeated row) are sums that cancel at the scale of the others.
  const singularOrPlain = CASES.filter((c) => c.n >= 2 && c.n <= 5 && !(c.name.startsWith('regular') && c.name.includes('scaled')));
  test.each(singularOrPlain.map((c) => [c.name, c, CASES.indexOf(c)] as const))('det(A) by A, order 3, both evaluators: %s', (_name, c, k) => {
    const n = c.n;
    const A = Array.from({ length: n }, (_, i) => Array.from(c.a.subarray(i * n, (i + 1) * n)));
    const asAdj3 = (t: Float64Array): Float64Array => {
      const out = new Float64Array(t.length);
      const w = n ** 4;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) out.set(t.subarray((a * n + b) * w, (a * n + b + 1) * w), (b * n + a) * w);
      return out;
    };
    const tolerance = c.name.startsWith('regular') ? 1e-9 : 1e-12;
    expect(error(asAdj3(compiled({ A }).data), c, k), 'compiled').toBeLessThan(tolerance);
    expect(error(asAdj3(third.evaluate({ A }).data), c, k), 'reference').toBeLessThan(tolerance);
  });

  test("det(z*z') by z is 0 for every z of length ≥ 2, and 0 at length 1 (z² has no third derivative)", () => {
    const d = derivative("det(z*z')", 'z', { order: 3 });
    const f = d.compile();
    const rand = mulberry32(12);
    for (let n = 1; n <= 6; n++) {
      const z = Array.from({ length: n }, () => 4 * rand() - 2);
      for (const out of [f({ z }).data, d.evaluate({ z }).data]) {
        expect(out.length).toBe(n ** 3);
        for (const v of out) expect(Math.abs(v)).toBeLessThan(1e-11);
      }
    }
  });

  test('det(diag(v)) by v at zeros of v: the products of the other entries, not NaN', () => {
    const d = derivative('det(diag(v))', 'v', { order: 3 });
    const f = d.compile();
    for (const v of [
      [0, 2, 0],
      [0, 0, 0, 1.5],
      [-1, 0, 3, 2],
    ]) {
      const n = v.length;
      // ∂³Π v / ∂v_a ∂v_b ∂v_c = Π of the others for distinct a, b, c, else 0
      const want = new Float64Array(n ** 3);
      for (let a = 0; a < n; a++)
        for (let b = 0; b < n; b++)
          for (let c = 0; c < n; c++)
            if (a !== b && b !== c && a !== c) want[(a * n + b) * n + c] = v.reduce((p, x, k) => (k === a || k === b || k === c ? p : p * x), 1);
      for (const out of [f({ v }).data, d.evaluate({ v }).data]) out.forEach((x, k) => expect(x, `${v}: entry ${k}`).toBeCloseTo(want[k]!, 13));
    }
  });

  test("det(X'*X) by X, order 3: 0 for a wide X; into out buffers too", () => {
    const d = derivative("det(X'*X)", 'X', { order: 3 });
    const f = d.compile();
    const X = [
      [1, -2, 0.5],
      [0.3, 1, -1],
    ];
    const out = new Float64Array(6 ** 3);
    const r = f({ X }, { out });
    expect(r.data).toBe(out);
    for (const v of out) expect(Math.abs(v)).toBeLessThan(1e-12);
    for (const v of d.evaluate({ X }).data) expect(Math.abs(v)).toBeLessThan(1e-12);
  });

  test('at a regular matrix the form with A⁻¹ is evaluated, and agrees with adj3', () => {
    const A = [
      [2, -1, 0.5, 1],
      [0.3, 1, -1, 2],
      [1, 0, 3, -0.5],
      [0.2, 0.4, -1, 1],
    ];
    const d = derivative('det(A)', 'A', { order: 3 });
    const got = d.compile()({ A }).data;
    const adj3 = thirdCofactorsByMinors(Float64Array.from(A.flat()), 4);
    const n = 4;
    const w = n ** 4;
    let e = 0;
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) for (let k = 0; k < w; k++) e = Math.max(e, Math.abs(got[(a * n + b) * w + k]! - adj3[(b * n + a) * w + k]!));
    expect(e).toBeLessThan(1e-12);
    // The result node holds no adj3: only the fallback does.
    const kinds = (n: Node | undefined): string[] => (n ? topoOrder([n]).map((m) => m.kind) : []);
    expect(kinds(d.result.evalNode)).not.toContain('adj3');
    expect(kinds(d.result.singularNode)).toContain('adj3');
  });

  test("a fourth derivative through adj3 (adj3's form with A⁻¹) equals the one through adj2's, at a regular A", () => {
    const d = derivative("det(A*A' + B)", 'A', { order: 4 });
    const rand = mulberry32(17);
    const n = 3;
    const values = new Map(
      ['A', 'B'].map((k) => [k, { shape: [n, n], data: Float64Array.from({ length: n * n }, () => 2 * rand() - 1) }] as const),
    );
    const sizes = resultSizes(d.result, values);
    const want = evaluateReference(d.result.evalNode, values, sizes).data;
    const got = evaluateReference(d.result.singularNode!, values, sizes).data;
    let scale = 1;
    for (const w of want) scale = Math.max(scale, Math.abs(w));
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!) / scale).toBeLessThan(1e-10);
  });

  test('past n = 20 (n⁶ minors) a singular matrix still stops, with the message that names it', () => {
    const d = derivative("det(z*z')", 'z', { order: 3 });
    const z = Array.from({ length: 21 }, (_, k) => k - 10);
    for (const run of [() => d.compile()({ z }), () => d.evaluate({ z })]) expect(run).toThrow(/^inv\(z\*z'\): the matrix is singular/);
  });

  test('a fourth derivative at a singular matrix still stops, with the message that names the matrix', () => {
    const d = derivative("det(z*z')", 'z', { order: 4 });
    expect(() => d.evaluate({ z: [1, 2, 3] })).toThrow(/singular/);
  });
});
