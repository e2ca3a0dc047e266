import { describe, expect, it } from 'vitest';
import { count, latexDepth, MAX_TYPESET_CHARS, MAX_TYPESET_DEPTH, tooBigToTypeset } from '../../web/budget.js';
import { compute } from '../../web/analysis.js';
import { DEFAULT_STATE } from '../../web/state.js';

describe('what the page hands KaTeX', () => {
  it('measures nesting: braces and \\left…\\right pairs, not escaped braces or \\leftarrow', () => {
    expect(latexDepth('x')).toBe(0);
    expect(latexDepth('{x}^{2}')).toBe(1);
    expect(latexDepth('\\frac{\\partial f}{\\partial {x}^{2}}')).toBe(2);
    expect(latexDepth('\\left(\\left(x\\right)\\right)')).toBe(2);
    expect(latexDepth('\\{ \\} \\leftarrow \\rightarrow x')).toBe(0);
    expect(latexDepth('\\left\\{ x \\right\\}')).toBe(1);
    expect(latexDepth('\\\\{x}')).toBe(1);
  });

  it('typesets what is within the limits, and says why not otherwise', () => {
    expect(tooBigToTypeset('A + A^\\top')).toBeUndefined();
    expect(tooBigToTypeset('x'.repeat(MAX_TYPESET_CHARS))).toBeUndefined();
    expect(tooBigToTypeset('x'.repeat(MAX_TYPESET_CHARS + 1))).toBe(`${count(MAX_TYPESET_CHARS + 1)} characters of LaTeX`);
    const deep = '{'.repeat(MAX_TYPESET_DEPTH + 1) + 'x' + '}'.repeat(MAX_TYPESET_DEPTH + 1);
    expect(tooBigToTypeset(deep)).toBe(`nested ${MAX_TYPESET_DEPTH + 1} levels deep`);
    expect(tooBigToTypeset('{'.repeat(MAX_TYPESET_DEPTH) + 'x' + '}'.repeat(MAX_TYPESET_DEPTH))).toBeUndefined();
  });

  it('sends deep and long results of the engine to text: nested transposes, exp chains', () => {
    let t = 'x';
    for (let i = 0; i < 100; i++) t = `(${t})'`;
    const c = compute({ ...DEFAULT_STATE, expr: `${t}'*y`, wrt: 'y' });
    expect(c.shown!.inputLatex.length).toBeLessThan(MAX_TYPESET_CHARS);
    expect(tooBigToTypeset(c.shown!.inputLatex)).toMatch(/^nested \d+ levels deep$/);
    let e = "x'*x";
    for (let i = 0; i < 60; i++) e = `exp(${e})`;
    expect(tooBigToTypeset(compute({ ...DEFAULT_STATE, expr: e, wrt: 'x' }).shown!.matrixLatex!)).toMatch(/characters of LaTeX|levels deep/);
    // An everyday result is typeset.
    expect(tooBigToTypeset(compute({ ...DEFAULT_STATE, expr: 'sum(log(exp(-y.*(X*w)) + vector(1)))', wrt: 'w', order: 2 }).shown!.matrixLatex!)).toBeUndefined();
  });
});
