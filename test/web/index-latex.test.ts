/**
 * The reader of typeset index notation that the browser tests use (index-latex.ts): it accepts the
 * printer's forms and rejects each way the convention can be broken, so that a browser test
 * built on it can fail.
 */
import { describe, expect, test } from 'vitest';
import { derive } from '../../src/derive.js';
import { CORPUS, declarations } from '../helpers/corpus.js';
import { indexSignature, sameSignature } from './index-latex.js';

const sig = (latex: string): string => [...indexSignature(latex)].map(([k, up]) => `${k}${up ? '^' : '_'}`).join(' ');

describe('indexSignature', () => {
  test.each([
    ['\\left({A}^{i}{}_{p} + {A}_{p}{}^{i}\\right) {x}^{p}', 'i^'],
    ['2 {X}^{p i} {X}_{p}{}^{k} {\\delta}_{j l}', 'i^ k^ j_ l_'],
    ['12 {\\left(A\\right)^{11}}_{j}{}^{i}', 'j_ i^'],
    ['\\left({y}^{q}\\right)^{2} {t_{1}}^{r} \\left({\\mathbf{1}}^{s} + {t_{1}}^{s}\\right)^{-2} {X}^{t i} {X}^{u}{}_{j} {\\delta}_{q r s t u}', 'i^ j_'],
    ['\\exp\\left(-{y}^{q} {w}^{p} {X}^{r}{}_{p} {\\delta}^{i}{}_{q r}\\right)', 'i^'],
    ['2 \\cdot {\\mathbf{1}}^{i}', 'i^'],
    ['{A}^{p_{1}}{}_{p_{1}} + 3', ''],
    ['{A}^{p}{}_{p}', ''],
    ['\\operatorname{sym}_{(kl)}\\left[{\\delta}^{i k} {\\delta}_{j l}\\right]', 'i^ k^ j_ l_'],
  ])('%s', (latex, want) => {
    expect(sig(latex)).toBe(want);
  });

  test.each([
    ['\\left({A}^{i}{}_{p} + {A}^{p i}\\right) {x}^{p}', /different free indices/],
    ['{A}^{i p} {x}^{p}', /p occurs 2 times \(up, up\)/],
    ['{V}^{p}{}_{j} {X}_{p} {U}_{p}', /p occurs 3 times/],
    ['{A}^{p p}', /twice up on one tensor/],
    ['{A}^{i} + {B}_{i}', /different free indices/],
    ['{A}^{i} +', /unexpected end|empty product/],
    ['\\operatorname{sym}_{(ik)}\\left[{A}^{i}{}_{j}\\right]', /sym over ik: k is not free/],
  ])('rejects %s', (latex, why) => {
    expect(() => indexSignature(latex)).toThrow(why);
  });

  // By a symmetric matrix the index form may be sym_{(kl)}[…]: read with the printer's free indices.
  test.each([
    ['S', 1],
    ['inv(S)', 2],
    ['S^3', 3],
    ['det(S)', 3],
  ] as [string, number][])('%s by a symmetric S, order %i', (expr, order) => {
    const r = derive(expr, 'S', { order, let: { S: 'symmetric matrix' } });
    expect(r.body.indexLatex).toMatch(/^\\operatorname\{sym\}/);
    const main = r.indexForms[0]!;
    expect(sameSignature(indexSignature(r.body.indexLatex), new Map(main.free.map((name, k) => [name, k % 2 === 0]))), r.body.indexLatex).toBe(true);
  });

  // The reader reads every corpus result's typeset index form, with the printer's free indices.
  test.each(CORPUS.map((c) => [c.id, c] as const))('corpus %s', (_id, c) => {
    const r = derive(c.expr, c.wrt, { order: c.order, let: declarations(c) });
    const main = r.indexForms[0]!;
    if (main.tree.kind === 'num' && main.tree.value === 0) return; // a zero tensor is written 0, whatever its indices
    const want = new Map(main.free.map((name, k) => [name, k % 2 === 0]));
    expect(sameSignature(indexSignature(r.body.indexLatex), want), r.body.indexLatex).toBe(true);
  });
});
