import { describe, expect, it } from 'vitest';
import { checkNumerically, describeCheck, parsePoint, pointToJson, randomPoint, rng } from '../../web/numeric.js';
import { analyze } from '../../src/derive.js';

const CASES: [expr: string, wrt: string, order: number, lets: Record<string, string>][] = [
  ["x'*A*x", 'x', 2, {}],
  ["x'*A*x", 'x', 2, { A: 'symmetric matrix' }],
  ['log(det(X))', 'X', 1, {}],
  ['log(det(X))', 'X', 2, { X: 'symmetric matrix' }],
  ['logdet(S) + tr(S*A)', 'S', 1, { S: 'symmetric matrix' }],
  ["(x'*x)^2", 'x', 3, {}],
  ['norm2(A*x - y)^2', 'x', 1, {}],
  ['sum(log(exp(-y.*(X*w)) + vector(1)))', 'w', 2, {}],
  ["norm2(X - U*V')^2", 'U', 1, {}],
  ['tanh(A*x)', 'x', 1, {}],
  ["sin(x'*x)", 'x', 4, {}],
  ["a^2*x'*x", 'a', 2, {}],
];

describe('check numerically (web)', () => {
  it.each(CASES)('%s by %s, order %i %j', (expr, wrt, order, lets) => {
    const c = checkNumerically(expr, wrt, order, lets, { seed: 7 });
    expect(c.notFinite).toBe(false);
    expect(c.relError).toBeLessThan(1e-8);
  });

  it('chooses distinct sizes and says so', () => {
    const c = checkNumerically("norm2(X - U*V')^2", 'U', 1, {}, { seed: 1 });
    expect([...c.sizes]).toEqual([['n', 3], ['m', 4], ['p', 2]]);
    expect(c.directions).toBe(3 * 2);
    expect(describeCheck(c)).toMatch(/^relative error \d\.\de-\d+ at the point \(n = 3, m = 4, p = 2\)$/);
  });

  it('takes the sizes asked for, and defaults for the others', () => {
    const c = checkNumerically("norm2(X - U*V')^2", 'U', 1, {}, { seed: 1, sizes: new Map([['m', 1], ['p', 6]]) });
    expect([...c.sizes]).toEqual([['n', 3], ['m', 1], ['p', 6]]);
    expect(c.directions).toBe(3 * 6);
    expect(c.relError).toBeLessThan(1e-8);
  });

  it('compares a symmetric variable along symmetric directions', () => {
    expect(checkNumerically('log(det(X))', 'X', 1, { X: 'symmetric matrix' }, { seed: 3 }).directions).toBe(6);
  });

  it('notices a point outside the domain', () => {
    const c = checkNumerically('log(-x)', 'x', 1, {}, { seed: 2 });
    expect(c.notFinite).toBe(true);
    expect(describeCheck(c)).toMatch(/outside the domain/);
  });

  it('is repeatable with a seed', () => {
    const a = rng(42);
    const b = rng(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(checkNumerically("x'*A*x", 'x', 1, {}, { seed: 5 })).toEqual(checkNumerically("x'*A*x", 'x', 1, {}, { seed: 5 }));
  });

  it('a point written as JSON reads back exactly', () => {
    // Declarations as entries: an object literal { __proto__: … } would set the prototype instead.
    const cases: [string, [string, string][]][] = [
      ["x'*A*x + c", []],
      ['logdet(S) + tr(S*B)', [['S', 'symmetric matrix']]],
      ["__proto__'*constructor", [['__proto__', 'vector'], ['constructor', 'vector']]],
    ];
    for (const [expr, decl] of cases) {
      const checked = analyze(expr, Object.fromEntries(decl)).checked;
      const p = randomPoint(checked, new Map([['n', 3]]), 11);
      const json = pointToJson(p);
      const back = parsePoint(json, checked);
      expect([...back.values.keys()]).toEqual([...p.values.keys()]);
      for (const [k, v] of p.values) {
        expect(back.values.get(k)!.shape).toEqual(v.shape);
        expect([...back.values.get(k)!.data]).toEqual([...v.data]);
      }
      expect([...back.sizes]).toEqual([...p.sizes]);
    }
  });

  it('a pasted point: its sizes are its own, and each mistake has a message that names it', () => {
    const checked = analyze("x'*A*x", {}).checked;
    const p = parsePoint('{"x": [1, 2], "A": [[1, 2], [3, 4]]}', checked);
    expect([...p.sizes]).toEqual([['n', 2]]);
    const bad: [string, RegExp][] = [
      ['{"x": [1, 2]', /not valid JSON/],
      ['[1, 2]', /must be a JSON object/],
      ['{"x": [1, 2]}', /no value for A/],
      ['{"x": [1, 2], "A": [[1]], "q": 1}', /"q", which is not a variable/],
      ['{"x": [[1, 2]], "A": [[1]]}', /x is a vector, but the point gives it 2 axes/],
      ['{"x": [1, "a"], "A": [[1]]}', /x/],
    ];
    for (const [json, message] of bad) expect(() => parsePoint(json, checked), json).toThrow(message);
  });
});
