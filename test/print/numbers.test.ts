/**
 * Numbers as a person writes them (src/print/numbers.ts): folded constants print as the shortest
 * decimal near their value (0.003, not 0.003000000000000001) or as a fraction of small integers
 * where that is shorter (16/81, not 0.19753086419753085), and read back within a few units in the
 * last place. Each printer (text, LaTeX, index notation) places a fraction as the quotient it is.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { numberLatex, numberText, shortestDecimal, smallFraction } from '../../src/print/numbers.js';
import { derive } from '../../src/derive.js';

/** The value a printed number reads back as. */
const readBack = (s: string): number => {
  const f = /^(-?[0-9]+)\/([0-9]+)$/.exec(s);
  return f ? Number(f[1]) / Number(f[2]) : Number(s);
};
const ulp = (v: number): number => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(v))), -1022) - 52);

describe('numbers print as a person writes them', () => {
  test.each([
    [0.1 * 0.03, '0.003'],
    [0.1 + 0.2, '0.3'],
    [1 / 1.5 ** 4, '16/81'],
    [-1 / 3, '-1/3'],
    [2 / 3, '2/3'],
    [4.000000000000001, '4'],
    [0.00006000000000000002, '0.00006'],
    [0.5, '0.5'],
    [-2.5, '-2.5'],
    [0.75, '0.75'],
    [1 / 16, '0.0625'],
    [1 / 64, '0.015625'],
    [0.0000225, '0.0000225'],
    [1 / 128, '0.0078125'],
    [1 / 1024, '1/1024'],
    [1e-7, '1e-7'],
    [1e21, '1e+21'],
    [-0, '0'],
    [Math.PI, '3.141592653589793'],
    [Math.E ** 2, '7.38905609893065'],
    // Chains of folds drift more than a few units from a short decimal.
    [0.1 ** 10, '1e-10'],
    [0.1 * 0.5 - 1 + 1, '0.05'],
    [1.100000000000001e-8, '1.1e-8'],
    [1 + 40 * Number.EPSILON, '1'],
    [1 + 80 * Number.EPSILON, '1.000000000000018'],
    [Math.PI + 8 * 4.440892098500626e-16, '3.141592653589797'],
  ])('%d prints %s', (v, text) => {
    expect(numberText(v)).toBe(text);
  });

  test('LaTeX: \\frac for fractions, powers of ten for exponents', () => {
    expect(numberLatex(-1 / 3)).toBe('-\\frac{1}{3}');
    expect(numberLatex(16 / 81)).toBe('\\frac{16}{81}');
    expect(numberLatex(1.5e-7)).toBe('1.5 \\cdot 10^{-7}');
  });

  test('any double reads back within 4 units in the last place (64 for up to 8 significant digits), and never prints longer than its shortest exact form', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const s = numberText(v);
        expect(s.length).toBeLessThanOrEqual(String(Object.is(v, -0) ? 0 : v).length);
        const digits = s.includes('/') ? 0 : s.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').length;
        if (v !== 0) expect(Math.abs(readBack(s) - v)).toBeLessThanOrEqual((digits <= 8 ? 64 : 4) * ulp(v));
        else expect(readBack(s)).toBe(0);
      }),
      { numRuns: 5000 },
    );
  });

  test('p/q with q ≤ 9999 is found in lowest terms; it is printed where the decimal has over 6 significant digits and the fraction is shorter', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100000, max: 100000 }), fc.integer({ min: 2, max: 9999 }), (p, q) => {
        const v = p / q;
        const f = smallFraction(v);
        if (Number.isInteger(v)) {
          expect(f).toBeUndefined();
          return;
        }
        const g = gcd(Math.abs(p), q);
        expect(f).toEqual([p / g, q / g]);
        const s = numberText(v);
        const d = shortestDecimal(v);
        const digits = d.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').length;
        expect(s).toBe(digits > 6 && `${p / g}/${q / g}`.length < d.length ? `${p / g}/${q / g}` : d);
        expect(s.length).toBeLessThanOrEqual(shortestDecimal(v).length);
      }),
      { numRuns: 3000 },
    );
  });
});

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

describe('printed derivatives carry short constants', () => {
  test.each([
    // Rational exponents and coefficients: fractions, enclosed where they are exponents.
    ["x'*x/3 + (x'*x)^(1/3)", 'x', 2, "2/3*(1 + norm2(x)^(-4/3))*eye - 8/9*x*x'/norm2(x)^(10/3)"],
    ['(S + B)/1.5^4', 'S', 1, undefined],
    // Products of decimals fold to the decimal a person would write.
    ["(0.1*x)'*(0.3*x)", 'x', 2, '0.06*eye'],
    // An exponent folded as 0.05 - 1 + 1 (0.05000000000000004), a fuzz draw of seed 1.
    ["sqrt(softplus(y'*B*vector(-3))*exp(norm1(x'))^0.1)", 'x', 1, "0.05*sqrt(softplus(-3*sum(B'*y)))*exp(norm1(x))^0.05*sign(x)"],
  ] as [string, string, number, string | undefined][])('%s by %s, order %i', (expr, wrt, order, expected) => {
    const r = derive(expr, wrt, { order });
    const text = r.matrix ?? r.index;
    if (expected !== undefined) expect(text).toBe(expected);
    expect(text).not.toMatch(/[0-9]\.?[0-9]{9,}/);
  });
});
