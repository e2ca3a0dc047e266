/**
 * Divisors that simplify to exactly 0 (src/divisors.ts): found wherever the expression divides, takes
 * a negative power or an inverse; with the variables' declared types; not for divisors without
 * variables (the page warns of those as typed) or that use a name bound by `where`.
 */
import { describe, expect, test } from 'vitest';
import { analyze } from '../src/derive.js';
import { zeroDivisors } from '../src/divisors.js';

const found = (expr: string, decls: Record<string, string> = {}): string[] => zeroDivisors(analyze(expr, decls)).map((z) => z.text);

describe('zeroDivisors', () => {
  test('division, element-wise division, negative powers and inverses, in source order', () => {
    expect(found("y'*x/(x'*y - y'*x) + (a - a)^-2 + sum(x./(x - x))")).toEqual(["x'*y - y'*x", 'a - a', 'x - x']);
    expect(found("inv(norm2(X)^2*eye - tr(X'*X)*eye)*x")).toEqual(["norm2(X)^2*eye - tr(X'*X)*eye"]);
    expect(found("(x'*x - norm2(x)^2).^-0.5")).toEqual(["x'*x - norm2(x)^2"]);
  });

  test('the declared types of the whole apply: S - S\' is 0 only for a symmetric S', () => {
    expect(found("inv(S - S')*x", { S: 'symmetric matrix' })).toEqual(["S - S'"]);
    expect(found("inv(S - S')*x")).toEqual([]);
  });

  test('spans point at the divisor as written', () => {
    const text = "1 + b/(tr(A*B) - tr(B*A))";
    const [z] = zeroDivisors(analyze(text));
    expect(text.slice(z!.span.start, z!.span.end)).toBe('tr(A*B) - tr(B*A)');
  });

  test('divisors past 200 characters are not looked at, so that nested divisions stay linear', () => {
    const long = `${Array.from({ length: 30 }, () => "x'*x").join(' + ')} - 30*norm2(x)^2`;
    expect(long.length).toBeGreaterThan(200);
    expect(found(`y/(${long})`)).toEqual([]);
    expect(found("y/(x'*x - norm2(x)^2)")).toEqual(["x'*x - norm2(x)^2"]);
  });

  test('no finding: divisors that are not 0, without variables, or with where-bound names', () => {
    for (const e of ['x/(a - b)', "x/(x'*x)", 'x/0', 'x/(1 - 1)', 'x/(t1 - t1) where t1 = a', 'x*a^-2', "inv(A - A')*x"]) expect(found(e), e).toEqual([]);
  });
});
