/**
 * The closed forms of issue 9 on the real page (see browser.ts): temporaries as "where" lines
 * under the result, the vec layout with kron and its link, folded matrix powers, and index
 * notation that keeps the convention the page states. Screenshots go to test-results/.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { derivative, type Values } from '../../src/index.js';
import { compact, messages, open, pageUrl, RESULT, RESULTS, resultLatex, setExpr, useBrowser, waitForResult } from './browser.js';
import { expectedFree, indexSignature, sameSignature } from './index-latex.js';

useBrowser();

const LOGISTIC = 'sum(log(exp(-y.*(X*w)) + vector(1)))';
const LEAST_SQUARES = 'norm2(X*W - Y)^2';

/** Sets the expression, the variable and the order, and waits until the result answers them. */
async function ask(page: Page, expr: string, wrt: string, order: number): Promise<void> {
  await setExpr(page, expr);
  await page.selectOption('[data-testid=order]', String(order));
  await page.waitForFunction((want) => Array.from(document.querySelectorAll<HTMLOptionElement>('[data-testid=wrt] option')).some((o) => o.value === want), wrt);
  await page.selectOption('[data-testid=wrt]', wrt);
  await page.locator('#panel-result[data-state=done]').waitFor({ state: 'attached' });
}

/** The temporaries' lines under the result: their names, LaTeX and whether KaTeX typeset them. */
function tempLines(page: Page): Promise<{ name: string | undefined; latex: string | undefined; typeset: boolean; visible: boolean }[]> {
  return page.$$eval('[data-testid=temps] [data-testid=temp]', (spans) =>
    spans.map((s) => ({
      name: (s as HTMLElement).dataset['name'],
      latex: (s as HTMLElement).dataset['latex'],
      typeset: s.querySelector('.katex-html') !== null,
      visible: (s as HTMLElement).offsetWidth > 0,
    })),
  );
}

/** Random values for the logistic case at sizes m×p (y ∈ {−1, 1}); a seeded generator, so a failure repeats. */
function logisticValues(m: number, p: number): Values {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return {
    X: { shape: [m, p], data: Float64Array.from({ length: m * p }, rnd) },
    y: Float64Array.from({ length: m }, (_, k) => (k % 3 === 0 ? -1 : 1)),
    w: Float64Array.from({ length: p }, rnd),
  };
}

describe('web calculator: closed forms', () => {
  it('the logistic Hessian: its body, then "where t1 = …" typeset; "copy as input" copies text that reads back as the same value', async () => {
    const { page, context } = await open();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: pageUrl() });
    await ask(page, LOGISTIC, 'w', 2);
    const body = await waitForResult(page, (l) => l.includes('t_{1}') && l.includes('\\operatorname{diag}'), 'a body that uses t1');
    // The body alone: the definition is on its own line, not repeated in the body.
    expect(body).not.toContain('sigmoid');
    expect(body).not.toContain('where');
    const temps = await tempLines(page);
    expect(temps).toHaveLength(1);
    expect(temps[0]!.name).toBe('t1');
    expect(compact(temps[0]!.latex ?? '')).toBe(compact('t_{1} = \\operatorname{sigmoid}\\left(-y \\odot \\left(X w\\right)\\right)'));
    expect(temps[0]!.typeset).toBe(true);
    expect(temps[0]!.visible).toBe(true);
    expect(await page.locator('[data-testid=temps] .where-word').first().textContent()).toBe('where');
    await page.screenshot({ path: join(RESULTS, 'web-temporaries.png'), fullPage: true });

    // Copy as input: the whole result with its where clause.
    await page.click('#copy-text');
    await page.waitForFunction(() => document.querySelector('#copy-text')?.textContent === 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(/^[^\n]* where t1 = sigmoid\(-y\.\*\(X\*w\)\)$/);
    // Read back by the library (order 0: the expression's value), it is the Hessian, at sizes 1 and larger.
    const hessian = derivative(LOGISTIC, 'w', { order: 2 }).compile();
    const reread = derivative(copied, 'w', { order: 0 }).compile();
    for (const [m, p] of [[1, 1], [5, 3], [9, 4]] as const) {
      const values = logisticValues(m, p);
      const want = hessian(values);
      const got = reread(values);
      expect(got.shape).toEqual(want.shape);
      const scale = Math.max(...want.data.map(Math.abs));
      for (let k = 0; k < want.data.length; k++) expect(Math.abs(got.data[k]! - want.data[k]!)).toBeLessThanOrEqual(1e-12 * scale + 1e-300);
    }

    // The index notation has its own temporaries' lines, each of which keeps the convention.
    await page.check('input[name=notation][value=index]');
    const index = await waitForResult(page, (l) => l.includes('{t_{1}}^{'), 'an index form that uses t1');
    expect(sameSignature(indexSignature(index), expectedFree(2))).toBe(true);
    const indexTemps = await tempLines(page);
    expect(indexTemps.map((t) => [t.name, t.typeset])).toEqual([['t1', true]]);
    const [lhs, rhs] = (indexTemps[0]!.latex ?? '').split(' = ');
    expect(sameSignature(indexSignature(rhs!), indexSignature(lhs!))).toBe(true);
  });

  it('norm2(X*W - Y)^2 by W, order 2: the vec layout writes it with kron; the choice survives a reload through the link', async () => {
    const { page } = await open();
    await ask(page, LEAST_SQUARES, 'W', 2);
    // The default layout: a tensor of order 4, with no matrix form and no kron.
    expect(await page.isDisabled('input[name=layout][value=vec]')).toBe(false);
    expect(await page.isChecked('input[name=layout][value=default]')).toBe(true);
    expect(await resultLatex(page)).not.toContain('\\otimes');

    await page.check('input[name=layout][value=vec]');
    const latex = await waitForResult(page, (l) => l.includes('\\otimes'), 'a Kronecker product');
    expect(compact(latex)).toBe(compact('2 \\mathbf{I} \\otimes \\left(X^\\top X\\right)'));
    expect(await page.locator(`${RESULT} .katex-html`).textContent()).toContain('⊗');
    expect(compact((await page.locator('#lhs').getAttribute('data-latex')) ?? '')).toContain('\\operatorname{vec}');
    expect(await page.textContent('[data-testid=shape]')).toBe('Shape of the result: (m·p)×(m·p) (a matrix)');
    expect(page.url()).toContain('layout=vec');
    await page.screenshot({ path: join(RESULTS, 'web-vec-kron.png'), fullPage: true });
    // In index notation, the tensor before vectorizing (four free indices), and the note says so.
    await page.check('input[name=notation][value=index]');
    const index = await waitForResult(page, (l) => l.includes('\\delta'), 'the index form');
    expect(sameSignature(indexSignature(index), expectedFree(4))).toBe(true);
    expect(await page.textContent('[data-testid=note]')).toContain('In the vec layout the index form is that of the tensor before vectorizing; a pair of axes that a vec or kron in the expression merges already stays one index.');
    await page.check('input[name=notation][value=matrix]');
    await waitForResult(page, (l) => l.includes('\\otimes'), 'the Kronecker product again');

    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    expect(await page.isChecked('input[name=layout][value=vec]')).toBe(true);
    await waitForResult(page, (l) => compact(l) === compact(latex), 'the kron form again');
    expect((await messages(page)).notices).toEqual([]);

    // Back to the default layout, and the link says nothing of the layout.
    await page.check('input[name=layout][value=default]');
    await waitForResult(page, (l) => !l.includes('\\otimes'), 'the default layout');
    expect(page.url()).not.toContain('layout=');
  });

  it("X'*X by X: the note gives the vec layout's form, which writes the transpose with the commutation matrix", async () => {
    const { page } = await open();
    await ask(page, "X'*X", 'X', 1);
    expect(await page.textContent('[data-testid=note]')).toContain(
      "The vec layout writes it as kron(X', eye)*commutation(rows(X), cols(X)) + kron(eye, X').",
    );
    await page.check('input[name=layout][value=vec]');
    const latex = await waitForResult(page, (l) => l.includes('\\mathbf{K}'), 'the commutation matrix');
    expect(compact(latex)).toBe(
      compact('\\left(X^\\top \\otimes \\mathbf{I}\\right) \\mathbf{K}_{\\operatorname{rows}\\left(X\\right), \\operatorname{cols}\\left(X\\right)} + \\mathbf{I} \\otimes X^\\top'),
    );
    expect(await page.locator(`${RESULT} .katex-html`).textContent()).toContain('K');
    await page.screenshot({ path: join(RESULTS, 'web-vec-commutation.png'), fullPage: true });
  });

  it('a link asking for the vec layout where neither the variable nor the expression is a matrix: a notice, the default layout', async () => {
    const { page } = await open(`#expr=${encodeURIComponent("x'*A*x")}&wrt=x&order=2&layout=vec`);
    await waitForResult(page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=notices] li').length > 0);
    expect((await messages(page)).notices).toEqual([
      'The link asks for the vec layout, which applies where the variable or the expression is a matrix; neither x nor f is one, so the derivative is shown in the default layout.',
    ]);
    expect(await page.isDisabled('input[name=layout][value=vec]')).toBe(true);
    expect(await page.isChecked('input[name=layout][value=default]')).toBe(true);
    // Where the layout applies (A is a matrix), the same link shows the vec form and no notice.
    const applies = await open(`#expr=${encodeURIComponent("x'*A*x")}&wrt=A&order=1&layout=vec`);
    // ∂f/∂vec(A) = vec(x xᵀ): a vector of n·n entries.
    const vecLatex = await waitForResult(applies.page, (l) => l.includes('\\operatorname{vec}'), 'vec(x xᵀ)');
    expect(compact(vecLatex)).toBe(compact('\\operatorname{vec}\\left(x x^\\top\\right)'));
    expect(await applies.page.textContent('[data-testid=shape]')).toBe('Shape of the result: n·n (a vector)');
    expect(await applies.page.isChecked('input[name=layout][value=vec]')).toBe(true);
    expect((await messages(applies.page)).notices).toEqual([]);
  });

  it('tr(A^12) by A: a folded power 12·(A¹¹)ᵀ, not eleven factors, in both notations', async () => {
    const { page } = await open();
    await ask(page, 'tr(A^12)', 'A', 1);
    const latex = await waitForResult(page, (l) => l.includes('11'), 'a power of 11');
    expect(compact(latex)).toBe(compact('12 \\left(A^{11}\\right)^\\top'));
    expect(compact(await page.locator(`${RESULT} .katex-html`).textContent() ?? '')).toBe('12(A11)⊤');
    await page.check('input[name=notation][value=index]');
    const index = await waitForResult(page, (l) => l.includes('{11}') && l.includes('{i}'), 'the index form of the power');
    expect((index.match(/\{A\}|\bA\b/g) ?? []).length).toBe(1);
    expect(sameSignature(indexSignature(index), expectedFree(2))).toBe(true);
  });

  it("index notation keeps the stated convention (x'*A*x by x: no index twice up or twice down), and the page states it", async () => {
    const { page } = await open();
    await page.check('input[name=notation][value=index]');
    const cases: [string, string, number, number][] = [
      ["x'*A*x", 'x', 1, 1],
      ["x'*A*x", 'x', 2, 2],
      ['norm2(X - U*V\')^2', 'U', 1, 2],
      ["p'*A*q", 'q', 1, 1],
      ['sum(exp(A*x))', 'x', 2, 2],
      ["(x'*x)^2", 'x', 3, 3],
      [LOGISTIC, 'w', 1, 1],
      ['sum(tanh(A*tanh(A*x)))', 'x', 2, 2],
    ];
    let temps = 0;
    for (const [expr, wrt, order, rank] of cases) {
      await ask(page, expr, wrt, order);
      const latex = await waitForResult(page, (l) => l.includes('^{') || l.includes('_{'), `an index form of ${expr}`);
      expect(sameSignature(indexSignature(latex), expectedFree(rank)), `${expr} by ${wrt}, order ${order}: ${latex}`).toBe(true);
      // Each temporary's line: its definition has the free indices its name shows.
      for (const t of await tempLines(page)) {
        expect(t.typeset).toBe(true);
        const [lhs, rhs, ...more] = (t.latex ?? '').split(' = ');
        expect(more).toEqual([]);
        expect(sameSignature(indexSignature(rhs!), indexSignature(lhs!)), `${t.latex} in the result of ${expr}`).toBe(true);
        temps++;
      }
    }
    expect(temps).toBeGreaterThanOrEqual(3);
    const note = page.locator('[data-testid=note]');
    expect(await note.isVisible()).toBe(true);
    expect(await note.textContent()).toContain('a summed index occurs once up and once down');
    expect(await note.textContent()).toContain('upper on even axes and lower on odd ones');
    await page.screenshot({ path: join(RESULTS, 'web-index-convention.png'), fullPage: true });
  });
});
