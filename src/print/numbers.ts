/**
 * Numbers as a person writes them. Constants are folded in floating point, so 0.1·0.03 is
 * 0.003000000000000001 and 1/1.5^4 is 0.19753086419753085. A printed number is the shortest
 * decimal within a few units in the last place of the value (0.003), or a fraction of small
 * integers where that decimal has over six significant digits and the fraction is shorter
 * (16/81). Read back, a printed number differs from the value by at most NEAR_ULPS units in the
 * last place, or SHORT_NEAR_ULPS where it has at most SHORT_NEAR_DIGITS significant digits.
 */

/** How far (in units in the last place) a printed number may be from the value. */
const NEAR_ULPS = 4;
/**
 * How far a short decimal (up to SHORT_NEAR_DIGITS significant digits) may be: a chain of folds
 * drifts further (0.1^10 is 1.000000000000001e-10; 0.1·0.5 - 1 + 1 is 0.05000000000000004), and
 * a double that close to a short decimal and not meant to be it is rare: 64 ulps are 1.4e-14 of
 * the value, 8 digits space decimals 1e-8 to 1e-7 of it apart, so a few in 10^6.
 */
const SHORT_NEAR_ULPS = 64;
const SHORT_NEAR_DIGITS = 8;
/** The largest denominator of a printed fraction. */
const MAX_DENOMINATOR = 999_999;

/** The spacing of doubles at v. */
function ulp(v: number): number {
  const a = Math.abs(v);
  if (a === 0 || !Number.isFinite(a)) return 0;
  return 2 ** (Math.max(Math.floor(Math.log2(a)), -1022) - 52);
}

const near = (a: number, v: number, ulps = NEAR_ULPS): boolean => Math.abs(a - v) <= ulps * ulp(v);

/**
 * The shortest decimal text near v (JavaScript's own form of the number it stands for): within
 * SHORT_NEAR_ULPS where it has up to SHORT_NEAR_DIGITS significant digits, else within NEAR_ULPS.
 */
export function shortestDecimal(v: number): string {
  if (Object.is(v, -0)) return '0';
  if (!Number.isFinite(v)) return String(v);
  for (let digits = 1; digits < 17; digits++) {
    const d = Number(v.toPrecision(digits));
    if (near(d, v, digits <= SHORT_NEAR_DIGITS ? SHORT_NEAR_ULPS : NEAR_ULPS)) return String(d);
  }
  return String(v);
}

/** [p, q] with q > 1 the smallest denominator such that p/q is near v, if q ≤ MAX_DENOMINATOR. */
export function smallFraction(v: number): readonly [number, number] | undefined {
  if (!Number.isFinite(v) || Number.isInteger(v)) return undefined;
  // The convergents of v's continued fraction are its best rational approximations.
  let x = Math.abs(v);
  let [p0, p1, q0, q1] = [0, 1, 1, 0];
  for (;;) {
    const a = Math.floor(x);
    const [p2, q2] = [a * p1 + p0, a * q1 + q0];
    if (q2 > MAX_DENOMINATOR) return undefined;
    [p0, p1, q0, q1] = [p1, p2, q1, q2];
    if (near(Math.sign(v) * (p1 / q1), v)) return q1 > 1 ? [Math.sign(v) * p1, q1] : undefined;
    const rest = x - a;
    if (rest === 0) return undefined;
    x = 1 / rest;
  }
}

/** Decimals of up to this many significant digits are kept as they are (0.75, 0.015625, 0.0000225; not 3/4, 1/64, 9/400000). */
const SHORT_DECIMAL_DIGITS = 6;

/** The significant digits of a decimal text (0.0000225 has 3). */
const significantDigits = (d: string): number => d.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').length;

/** How v is printed: a decimal, or a fraction p/q where the decimal has many digits and the fraction is shorter. */
export function numberText(v: number): string {
  const d = shortestDecimal(v);
  if (significantDigits(d) <= SHORT_DECIMAL_DIGITS) return d;
  const f = smallFraction(v);
  const text = f ? `${f[0]}/${f[1]}` : undefined;
  return text !== undefined && text.length < d.length ? text : d;
}

/** Whether a printed number is a fraction (it binds like a quotient, not like an atom). */
export const isFractionText = (text: string): boolean => text.includes('/');

/** v in LaTeX: \frac{p}{q} for a fraction, 1.5 \cdot 10^{-7} for an exponent. */
export function numberLatex(v: number): string {
  const s = numberText(v);
  const f = /^(-?)([0-9]+)\/([0-9]+)$/.exec(s);
  if (f) return `${f[1]}\\frac{${f[2]}}{${f[3]}}`;
  const m = /^(-?[0-9.]+)e([+-]?)([0-9]+)$/.exec(s);
  if (m) return `${m[1]} \\cdot 10^{${m[2] === '-' ? '-' : ''}${m[3]}}`;
  return s;
}
