/**
 * The scalars of a product in the order a person writes them: the number, then the scalar
 * variables (and their powers) by name, then the other scalars, then the rest — 2*a*b*eye, not
 * 2*b*a*eye; 2*a*c*cos(a*x'*x)*x, not 2*c*cos(a*x'*x)*a*x. Matrix text, LaTeX and index notation
 * alike; the matrix forms still read back with the derivative's value (roundtrip.test.ts).
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { drawCase } from '../../fuzz/draw.js';
import { CORPUS, PRINTING, declarations } from '../helpers/corpus.js';

const GOLDEN: readonly [string, string, number, string, string][] = [
  ["x'*x*a*b", 'x', 2, '2*a*b*eye', '2 a b δ^i_j'],
  ["alpha*beta*x'*x", 'x', 1, '2*alpha*beta*x', '2 alpha beta x^i'],
  ["a*exp(-b*x'*x)", 'x', 2, "2*a*b*exp(-b*x'*x)*(2*b*x*x' - eye)", '2 a b exp(-b x^p x_p) (2 b x^i x_j - δ^i_j)'],
  ["c*sin(a*x'*x)", 'x', 1, "2*a*c*cos(a*x'*x)*x", '2 a c x^i cos(a x^p x_p)'],
  ["b^2*a*x'*x", 'x', 2, '2*a*b^2*eye', '2 a b^2 δ^i_j'],
  ["-b*a*x'*A*x", 'x', 1, "-a*b*(A + A')*x", '-a b (A^i_p + A_p^i) x^p'],
  ["sin(x'*x)*b*c", 'x', 1, "2*b*c*cos(x'*x)*x", '2 b c x^i cos(x^p x_p)'],
  ['sum(x.^a)', 'x', 2, 'a*(a - 1)*diag(x.^(a - 2))', 'a (a - 1) (x^p)^(a - 2) δ^i_{jp}'],
];

describe('scalar factors in a person’s order', () => {
  test.each(GOLDEN)('%s by %s, order %i => %s', (expr, wrt, order, matrix, index) => {
    const d = derive(expr, wrt, { order });
    expect(d.matrix).toBe(matrix);
    expect(d.index).toBe(index);
  });

  test('LaTeX follows the matrix form', () => {
    expect(derive("x'*x*a*b", 'x', { order: 2 }).latex).toBe('2 a b \\mathbf{I}');
  });
});

// Two scalar variables next to each other out of order (b*a), or a scalar variable after a
// parenthesis or call in a product (cos(…)*a*x, (A + A')*a), in a printed matrix form. A name
// that a declaration makes something else is not a scalar here.
const GREEK = 'alpha|beta|gamma|delta|epsilon|lambda|mu|sigma|theta|tau|rho|eta|kappa|nu|omega|phi|psi|chi|xi|zeta';
const SCALAR = `(?:[a-g]|${GREEK})`;
const PAIR = new RegExp(`(?<![\\w.'^/])(${SCALAR})\\*(${SCALAR})(?![\\w(.'^])`, 'g');
const AFTER = new RegExp(`\\)\\*(${SCALAR})(?![\\w(.'^])`, 'g');

function misplaced(text: string, declared: Readonly<Record<string, string>>): string[] {
  const scalar = (name: string): boolean => !(name in declared);
  const out: string[] = [];
  for (const m of text.matchAll(PAIR)) if (m[1]! > m[2]! && scalar(m[1]!) && scalar(m[2]!)) out.push(m[0]);
  for (const m of text.matchAll(AFTER)) if (scalar(m[1]!)) out.push(m[0]);
  return out;
}

describe('no printed matrix form has a scalar variable out of place', () => {
  test('the corpus', () => {
    const bad: string[] = [];
    for (const c of [...CORPUS, ...PRINTING]) {
      const d = derive(c.expr, c.wrt, { order: c.order, let: declarations(c), layout: c.layout });
      if (d.matrix && misplaced(d.matrix, declarations(c)).length > 0) bad.push(`${c.id}: ${d.matrix}`);
    }
    expect(bad).toEqual([]);
  });

  test('2,000 fuzzer draws (seed 1)', () => {
    const bad: string[] = [];
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const c = drawCase(1, i);
      if (!('spec' in c) || !c.spec) continue;
      const s = c.spec;
      let matrix: string | null;
      try {
        matrix = derive(s.text, s.wrt, { order: s.order, let: s.decls }).matrix;
      } catch {
        continue;
      }
      if (!matrix) continue;
      checked++;
      const hits = misplaced(matrix, s.decls ?? {});
      if (hits.length > 0) bad.push(`${s.text} by ${s.wrt}: ${hits.join(', ')}`);
    }
    expect(checked).toBeGreaterThan(700);
    expect(bad).toEqual([]);
  });
});
