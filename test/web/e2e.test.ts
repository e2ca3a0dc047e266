/**
 * End-to-end tests of the web calculator in a real browser: the page is built with Vite into a
 * temporary folder (so that parallel runs in one working tree do not share web/dist), served from
 * 127.0.0.1 on an ephemeral port, and driven with playwright-core through Debian's chromium.
 * Screenshots go to test-results/ for a person to look at.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveStatic, type StaticServer } from './serve.js';
import { generateCode } from '../../src/index.js';

/** Debian's chromium (.ci/run installs it); RICCI_CHROMIUM names another build of it. */
const CHROMIUM = process.env['RICCI_CHROMIUM'] ?? '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '../..');
const RESULTS = join(ROOT, 'test-results');

let outDir: string | undefined;
let server: StaticServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the browser tests need Debian's chromium at ${CHROMIUM}; install it with "apt-get install chromium" (.ci/run does this)`,
    );
  if (!existsSync(join(ROOT, 'src/syntax/generated/grammar.ts'))) execFileSync('npm', ['run', 'grammar'], { cwd: ROOT, stdio: 'inherit' });
  // Type-check the page's sources (npm test's tsc run covers src/ and test/, not web/).
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'web/tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  outDir = mkdtempSync(join(tmpdir(), 'ricci-web-'));
  await build({ configFile: join(ROOT, 'web/vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
  server = await serveStatic(outDir);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  mkdirSync(RESULTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

interface Opened {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Uncaught exceptions and console errors of the page. */
  readonly errors: string[];
  /** Requests that left the local server (there must be none: the page works offline). */
  readonly external: string[];
}

const opened: Opened[] = [];

async function open(hash = '', viewport = { width: 1100, height: 900 }): Promise<Opened> {
  const context = await browser!.newContext({ viewport });
  const errors: string[] = [];
  const external: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server!.url)) return route.continue();
    external.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(server!.url + hash);
  await page.waitForSelector('html[data-ready="true"]');
  const o = { page, context, errors, external };
  opened.push(o);
  return o;
}

afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.context.close();
    expect(o.errors, 'errors in the page').toEqual([]);
    expect(o.external, 'requests that left the local server').toEqual([]);
  }
});

const RESULT = '[data-testid=result]';

/** The LaTeX source of the typeset result, as KaTeX recorded it in its MathML annotation. */
async function resultLatex(page: Page): Promise<string> {
  return (await page.locator(`${RESULT} annotation`).textContent({ timeout: 100 }).catch(() => null)) ?? '';
}

/** Waits until the typeset result satisfies ok; the error names what was there instead. */
async function waitForResult(page: Page, ok: (latex: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let latex = '';
  while (Date.now() < until) {
    latex = await resultLatex(page);
    if (latex && ok(latex)) return latex;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected the result to be ${what}, but it is ${JSON.stringify(latex)}`);
}

const compact = (s: string): string => s.replace(/\s+/g, '');

/** Visible text of the typeset result (KaTeX's HTML, not the MathML copy). */
async function resultText(page: Page): Promise<string> {
  return compact((await page.locator(`${RESULT} .katex-html`).textContent()) ?? '');
}

async function setExpr(page: Page, expr: string): Promise<void> {
  await page.fill('[data-testid=expr]', expr);
}

const CODE = '[data-testid=code]';

/** Waits until the Code tab's text satisfies ok; the error shows the start of what was there instead. */
async function waitForCode(page: Page, ok: (code: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let code = '';
  while (Date.now() < until) {
    code = (await page.locator(CODE).textContent()) ?? '';
    if (ok(code)) return code;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected the code to be ${what}, but it starts ${JSON.stringify(code.slice(0, 200))}`);
}

/** The id of the focused element (or its data-testid). */
function focusedOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    return a?.dataset['testid'] ?? a?.id ?? '';
  });
}

/** Visible controls without an accessible name. */
function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('input, select, button, textarea, [role=tab]'))
      .filter((e) => !e.closest('[hidden]') && !e.classList.contains('offscreen'))
      .filter((e) => {
        const labelled = 'labels' in e && (e as HTMLInputElement).labels !== null && (e as HTMLInputElement).labels!.length > 0;
        return !labelled && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !(e.textContent ?? '').trim();
      })
      .map((e) => e.outerHTML.slice(0, 80)),
  );
}

describe('web calculator', () => {
  it("x'*A*x, order 2: the Hessian is A + Aᵀ, and 2A once A is marked symmetric", async () => {
    const { page } = await open();
    await setExpr(page, "x'*A*x");
    await page.selectOption('[data-testid=order]', '2');
    await waitForResult(page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    expect(await resultText(page)).toBe('A+A⊤');
    expect(await page.inputValue('[data-testid=wrt]')).toBe('x');
    expect(await page.inputValue('[data-testid=var-type-x]')).toBe('vector');
    expect(await page.inputValue('[data-testid=var-type-A]')).toBe('matrix');
    await expect(page.locator('[data-testid=shape]').textContent()).resolves.toBe('Shape of the result: n×n (a matrix)');
    await page.screenshot({ path: join(RESULTS, 'web-hessian.png'), fullPage: true });

    await page.selectOption('[data-testid=var-type-A]', 'symmetric matrix');
    await waitForResult(page, (l) => compact(l) === '2A', '2 A');
    expect(await resultText(page)).toBe('2A');
    await page.screenshot({ path: join(RESULTS, 'web-hessian-symmetric.png'), fullPage: true });
  });

  it('log(det(X)), order 1: X⁻ᵀ', async () => {
    const { page } = await open();
    await setExpr(page, 'log(det(X))');
    await page.selectOption('[data-testid=order]', '1');
    const forms = ['X^{-\\top}', '\\left(X^{-1}\\right)^\\top', '\\left(X^{-1}\\right)^{\\top}', '\\left(X^\\top\\right)^{-1}', '\\left(X^{\\top}\\right)^{-1}', 'X^{-T}'];
    await waitForResult(page, (l) => forms.includes(compact(l)), `one of ${forms.join(', ')}`);
    expect(await page.inputValue('[data-testid=wrt]')).toBe('X');
  });

  it('x*A: an error that names both sizes, marked in the input', async () => {
    const { page } = await open();
    await setExpr(page, 'x*A');
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible' });
    const text = (await error.textContent()) ?? '';
    expect(text).toContain('n×1');
    expect(text).toContain('m×p');
    expect(await error.locator('mark').textContent()).toBe('*');
    // The mark under the input itself, and the input flagged for assistive technology.
    expect(await page.locator('.expr-field mark').textContent()).toBe('*');
    expect(await page.getAttribute('[data-testid=expr]', 'aria-invalid')).toBe('true');
    expect(await resultLatex(page)).toBe('');
    await page.screenshot({ path: join(RESULTS, 'web-error.png') });
    // Clicking the marked text selects it in the input.
    await error.locator('mark').click();
    expect(await page.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>('[data-testid=expr]')!;
      return [input.selectionStart, input.selectionEnd, document.activeElement === input];
    })).toEqual([1, 2, true]);

    await setExpr(page, "x'*A");
    await error.waitFor({ state: 'hidden' });
    expect(await page.getAttribute('[data-testid=expr]', 'aria-invalid')).toBe('false');
  });

  it('an order-3 derivative is shown in index notation, with upper and lower indices', async () => {
    const { page } = await open();
    await setExpr(page, "(x'*x)^2");
    await page.selectOption('[data-testid=order]', '3');
    const latex = await waitForResult(page, (l) => l.includes('delta'), 'an index form with δ');
    expect(latex).toMatch(/\^\{[a-z]\}/);
    expect(latex).toMatch(/_\{[a-z]\}/);
    expect(await page.locator(`${RESULT} .katex-html .msupsub`).count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=note]').textContent()).toMatch(/no matrix form.*order 3/i);
    expect(await page.isChecked('input[name=notation][value=index]')).toBe(true);
    expect(await page.isDisabled('input[name=notation][value=matrix]')).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'web-order3.png') });
  });

  it('index notation on request, for a result that has a matrix form', async () => {
    const { page } = await open();
    await setExpr(page, "x'*A*x");
    await page.selectOption('[data-testid=order]', '2');
    await waitForResult(page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    await page.check('input[name=notation][value=index]');
    const latex = await waitForResult(page, (l) => l.includes('{A}^{'), 'index notation');
    expect(latex).toMatch(/_\{[a-z]\}/);
    expect(await page.locator('[data-testid=note]').textContent()).toMatch(/index/i);
  });

  it('a permalink restores expression, types and order', async () => {
    const first = await open();
    await setExpr(first.page, "x'*A*x");
    await first.page.selectOption('[data-testid=order]', '2');
    await first.page.selectOption('[data-testid=var-type-A]', 'symmetric matrix');
    await waitForResult(first.page, (l) => compact(l) === '2A', '2 A');
    const url = first.page.url();
    expect(url).toContain('#');

    const second = await open(url.slice(server!.url.length));
    const page = second.page;
    expect(await page.inputValue('[data-testid=expr]')).toBe("x'*A*x");
    expect(await page.inputValue('[data-testid=order]')).toBe('2');
    expect(await page.inputValue('[data-testid=var-type-A]')).toBe('symmetric matrix');
    expect(await page.inputValue('[data-testid=wrt]')).toBe('x');
    await waitForResult(page, (l) => compact(l) === '2A', '2 A');

    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    expect(await page.inputValue('[data-testid=var-type-A]')).toBe('symmetric matrix');
    await waitForResult(page, (l) => compact(l) === '2A', '2 A');
  });

  it('"check numerically" agrees with finite differences (relative error < 1e-6)', async () => {
    const { page } = await open();
    for (const [expr, order, wrt] of [["x'*A*x", '2', 'x'], ['log(det(X))', '1', 'X'], ["(x'*x)^2", '3', 'x']] as const) {
      await setExpr(page, expr);
      await page.selectOption('[data-testid=order]', order);
      await page.waitForFunction((want) => document.querySelector<HTMLSelectElement>('[data-testid=wrt]')?.value === want, wrt);
      await waitForResult(page, () => true, 'rendered');
      await page.click('[data-testid=check]');
      const out = page.locator('[data-testid=check-result][data-rel-error]');
      await out.waitFor();
      const rel = Number(await out.getAttribute('data-rel-error'));
      expect(await out.textContent()).toMatch(/^relative error \d\.\de-\d+ at a random point \(n = \d/);
      expect(rel, `${expr}, order ${order}`).toBeLessThan(1e-6);
    }
  });

  it('the examples menu loads an example with its variable and order', async () => {
    const { page } = await open();
    const label = await page.locator('#examples option', { hasText: 'Logistic regression' }).textContent();
    await page.selectOption('#examples', { label: label! });
    await waitForResult(page, (l) => l.includes('\\operatorname{diag}'), "X'*diag(…)*X");
    expect(await page.inputValue('[data-testid=wrt]')).toBe('w');
    expect(await page.inputValue('[data-testid=order]')).toBe('2');
    expect(await page.inputValue('#examples')).toBe('');
    await page.click('[data-testid=check]');
    const out = page.locator('[data-testid=check-result][data-rel-error]');
    await out.waitFor();
    expect(Number(await out.getAttribute('data-rel-error'))).toBeLessThan(1e-6);
  });

  it('user text never becomes markup', async () => {
    const { page } = await open();
    await setExpr(page, 'x + <img src=q onerror="window.pwned=1">');
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toContain("unexpected character '<'");
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => [document.querySelectorAll('img').length, 'pwned' in window])).toEqual([0, false]);
  });

  it('is usable with the keyboard alone, and every control has a name', async () => {
    const { page } = await open();
    const focused = (): Promise<string> => focusedOf(page);
    // Tab past the skip link into the expression.
    for (let i = 0; i < 5 && (await focused()) !== 'expr'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('expr');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type("x'*A*x");
    await page.keyboard.press('Enter');
    await waitForResult(page, (l) => compact(l).includes('A+A^\\top'), '(A + A^\\top) x');
    for (let i = 0; i < 12 && (await focused()) !== 'order'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('order');
    await page.keyboard.press('ArrowDown');
    await waitForResult(page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    for (let i = 0; i < 12 && (await focused()) !== 'check'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('check');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=check-result][data-rel-error]').waitFor();

    expect(await unnamedControls(page)).toEqual([]);
    expect(await page.getAttribute('#status', 'aria-live')).toBe('polite');
    expect(await page.getAttribute('[data-testid=error]', 'aria-live')).toBe('polite');
  });

  it('works offline once loaded', async () => {
    const { page, context } = await open();
    // Every KaTeX font is fetched after load, not only those the first formula needed.
    await page.waitForFunction(() => {
      const faces: FontFace[] = [];
      document.fonts.forEach((f) => {
        if (f.family.replace(/["']/g, '').startsWith('KaTeX')) faces.push(f);
      });
      return faces.length > 0 && faces.every((f) => f.status === 'loaded');
    });
    await context.setOffline(true);
    await setExpr(page, 'sum(log(exp(-y.*(X*w)) + vector(1)))');
    await page.selectOption('[data-testid=wrt]', 'w');
    await page.selectOption('[data-testid=order]', '2');
    await waitForResult(page, (l) => l.includes('\\operatorname{diag}'), "X'*diag(…)*X");
    await page.click('[data-testid=check]');
    await page.locator('[data-testid=check-result][data-rel-error]').waitFor();
  });

  it('fits a phone-width screen (375 px) without sideways scrolling of the page', async () => {
    const { page } = await open('', { width: 375, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await setExpr(page, 'sum(log(exp(-y.*(X*w)) + vector(1)))');
    await page.selectOption('[data-testid=wrt]', 'w');
    await page.selectOption('[data-testid=order]', '2');
    await waitForResult(page, (l) => l.includes('\\operatorname{diag}'), "X'*diag(…)*X");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(RESULTS, 'web-phone-dark.png'), fullPage: true });
  });
});

describe('web calculator: the Code tab', () => {
  const QUAD = "x'*A*x";

  it("x'*A*x, order 2: generateCode's JavaScript and Python, generated only while the tab is shown", async () => {
    const { page, context } = await open();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server!.url });
    await setExpr(page, QUAD);
    await page.selectOption('[data-testid=order]', '2');
    await waitForResult(page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    // Hidden, the tab has generated nothing.
    expect(await page.isHidden('#panel-code')).toBe(true);
    expect(await page.locator(CODE).textContent()).toBe('');

    await page.click('#tab-code');
    expect(await page.getAttribute('#tab-code', 'aria-selected')).toBe('true');
    expect(await page.isHidden('#panel-result')).toBe(true);
    expect(await page.isHidden('#notation')).toBe(true);
    const js = await waitForCode(page, (c) => c.includes('export function evaluate('), 'a JavaScript module');
    expect(js).toContain(`// Generated by ricci from: ${QUAD}\n`);
    expect(js).toBe(generateCode(QUAD, 'x', { order: 2, lang: 'js' }));
    expect(await page.inputValue('[data-testid=lang]')).toBe('js');
    const returns = page.locator('[data-testid=code-returns]');
    expect(await returns.textContent()).toBe(
      'evaluate(inputs) returns { value, gradient, hessian }: f (scalar), its gradient (n) and its Hessian (n×n) with respect to x, each { shape, data } with row-major Float64Array data.',
    );
    expect(await returns.getAttribute('aria-live')).toBe('polite');
    expect(page.url()).toContain('tab=code');
    expect(page.url()).not.toContain('lang=');
    // The code is one text node: nothing in it is markup.
    expect(await page.locator(CODE).evaluate((c) => [c.childNodes.length, c.firstChild?.nodeType])).toEqual([1, 3]); // one Text node
    await page.screenshot({ path: join(RESULTS, 'web-code-js.png'), fullPage: true });

    await page.click('[data-testid=copy-code]');
    await page.waitForFunction(() => document.querySelector('[data-testid=copy-code]')?.textContent !== 'Copy code');
    expect(await page.textContent('[data-testid=copy-code]')).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(js);

    await page.selectOption('[data-testid=lang]', 'python');
    const py = await waitForCode(page, (c) => c.includes('import numpy as np'), 'a Python module');
    expect(py).toContain('\ndef evaluate(inputs):\n');
    expect(py).toContain(`# Generated by ricci from: ${QUAD}\n`);
    expect(py).toBe(generateCode(QUAD, 'x', { order: 2, lang: 'python' }));
    expect(await returns.textContent()).toMatch(/^evaluate\(inputs\) returns a dict with "value", "gradient", "hessian": .*NumPy float64 arrays/);
    expect(page.url()).toContain('lang=python');
    await page.screenshot({ path: join(RESULTS, 'web-code-python.png'), fullPage: true });

    // A change of the inputs while the tab is shown regenerates it, with the declared types.
    await page.selectOption('[data-testid=var-type-A]', 'symmetric matrix');
    await waitForCode(page, (c) => c.includes('A: symmetric matrix'), 'code for a symmetric A');
    expect(await page.locator(CODE).textContent()).toBe(generateCode(QUAD, 'x', { order: 2, lang: 'python', let: { A: 'symmetric matrix' } }));

    // Back on the Result tab the code is left as it was; shown again, it follows the new inputs.
    await page.click('#tab-result');
    expect(await page.isVisible('#notation')).toBe(true);
    await setExpr(page, 'tanh(A*x)');
    await page.selectOption('[data-testid=order]', '1');
    await waitForResult(page, (l) => l.includes('tanh'), 'the Jacobian of tanh(A*x)');
    expect(await page.locator(CODE).textContent()).toBe(generateCode(QUAD, 'x', { order: 2, lang: 'python', let: { A: 'symmetric matrix' } }));
    await page.click('#tab-code');
    await waitForCode(page, (c) => c.includes('# Generated by ricci from: tanh(A*x)'), 'code for tanh(A*x)');
    expect(await page.locator(CODE).textContent()).toBe(generateCode('tanh(A*x)', 'x', { order: 1, lang: 'python', let: { A: 'symmetric matrix' } }));
    expect(await returns.textContent()).toContain('"value", "jacobian": f (n) and its Jacobian (n×n) with respect to x');
  });

  it('the tabs work with the keyboard: arrows switch tabs, Tab reaches the language, arrows change it', async () => {
    const { page } = await open();
    await setExpr(page, QUAD);
    await page.selectOption('[data-testid=order]', '2');
    await waitForResult(page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    await page.focus('[data-testid=order]');
    for (let i = 0; i < 5 && (await focusedOf(page)) !== 'tab-result'; i++) await page.keyboard.press('Tab');
    expect(await focusedOf(page)).toBe('tab-result');
    await page.keyboard.press('ArrowRight');
    expect(await focusedOf(page)).toBe('tab-code');
    expect(await page.getAttribute('#tab-code', 'aria-selected')).toBe('true');
    expect(await page.getAttribute('#tab-code', 'tabindex')).toBe('0');
    expect(await page.getAttribute('#tab-result', 'tabindex')).toBe('-1');
    expect(await page.isVisible('#panel-code')).toBe(true);
    await waitForCode(page, (c) => c.includes('export function evaluate('), 'JavaScript');

    // Into the panel: the language first; arrows pick TypeScript, then Python.
    for (let i = 0; i < 3 && (await focusedOf(page)) !== 'lang'; i++) await page.keyboard.press('Tab');
    expect(await focusedOf(page)).toBe('lang');
    await page.keyboard.press('ArrowDown');
    await waitForCode(page, (c) => c.includes('export function evaluate(input: Inputs): Result'), 'TypeScript');
    await page.keyboard.press('ArrowDown');
    await waitForCode(page, (c) => c.includes('import numpy as np'), 'Python');
    await page.keyboard.press('Tab');
    expect(await focusedOf(page)).toBe('copy-code');
    // The code box scrolls, so it takes the focus too.
    await page.keyboard.press('Tab');
    expect(await focusedOf(page)).toBe('code-box');
    expect(await unnamedControls(page)).toEqual([]);

    // Back to the tabs: Home and End, Left and Right wrap around.
    await page.focus('#tab-code');
    await page.keyboard.press('Home');
    expect(await focusedOf(page)).toBe('tab-result');
    expect(await page.isVisible('[data-testid=result]')).toBe(true);
    await page.keyboard.press('End');
    expect(await focusedOf(page)).toBe('tab-code');
    await page.keyboard.press('ArrowRight');
    expect(await focusedOf(page)).toBe('tab-result');
    await page.keyboard.press('ArrowLeft');
    expect(await focusedOf(page)).toBe('tab-code');
    expect(await page.isVisible('#panel-code')).toBe(true);
    expect(await page.inputValue('[data-testid=lang]')).toBe('python');
  });

  it("a permalink restores the Code tab and its language; an older link shows JavaScript", async () => {
    const first = await open();
    await setExpr(first.page, QUAD);
    await first.page.selectOption('[data-testid=order]', '2');
    await first.page.click('#tab-code');
    await first.page.selectOption('[data-testid=lang]', 'python');
    await waitForCode(first.page, (c) => c.includes('import numpy as np'), 'Python');
    const url = first.page.url();

    const { page } = await open(url.slice(server!.url.length));
    expect(await page.getAttribute('#tab-code', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#panel-code')).toBe(true);
    expect(await page.inputValue('[data-testid=lang]')).toBe('python');
    expect(await page.inputValue('[data-testid=order]')).toBe('2');
    await waitForCode(page, (c) => c === generateCode(QUAD, 'x', { order: 2, lang: 'python' }), 'the Python for the link');

    // A TypeScript link, typed by hand.
    const ts = await open(`#expr=${encodeURIComponent(QUAD)}&wrt=x&order=2&tab=code&lang=ts`);
    await waitForCode(ts.page, (c) => c === generateCode(QUAD, 'x', { order: 2, lang: 'ts' }), 'the TypeScript for the link');

    // A link from before the Code tab opens the Result tab; its Code tab is in JavaScript.
    const old = await open(`#expr=${encodeURIComponent(QUAD)}&wrt=x&order=2`);
    expect(await old.page.getAttribute('#tab-result', 'aria-selected')).toBe('true');
    await waitForResult(old.page, (l) => compact(l) === 'A+A^\\top', 'A + A^\\top');
    await old.page.click('#tab-code');
    expect(await old.page.inputValue('[data-testid=lang]')).toBe('js');
    await waitForCode(old.page, (c) => c.includes('export function evaluate('), 'JavaScript');
  });

  it('an invalid expression shows the inline error and no code; its text never becomes markup', async () => {
    const { page } = await open(`#expr=${encodeURIComponent(QUAD)}&wrt=x&order=2&tab=code`);
    await waitForCode(page, (c) => c.includes('export function evaluate('), 'JavaScript');
    const error = page.locator('[data-testid=error]');
    // A comment end that the parser rejects, then markup that the lexer rejects.
    await setExpr(page, `${QUAD} */ x`);
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toContain("unexpected '/'");
    await waitForCode(page, (c) => c === '', 'empty');
    await setExpr(page, `${QUAD} */ </script><script>window.pwned=1</script><img src=q onerror="window.pwned=1">`);
    await page.waitForFunction(() => document.querySelector('[data-testid=error]')?.textContent?.includes("'<'"));
    expect(await page.getAttribute('[data-testid=expr]', 'aria-invalid')).toBe('true');
    await waitForCode(page, (c) => c === '', 'empty');
    expect(await page.isHidden('#code-box')).toBe(true);
    expect(await page.isDisabled('[data-testid=copy-code]')).toBe(true);
    expect(await page.textContent('[data-testid=code-returns]')).toMatch(/^No code: the expression has an error/);
    await page.selectOption('[data-testid=lang]', 'python');
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => [document.querySelectorAll('img, main script').length, 'pwned' in window])).toEqual([0, false]);
    await page.screenshot({ path: join(RESULTS, 'web-code-error.png') });

    // Fixed, the code is back, in the language chosen meanwhile.
    await setExpr(page, QUAD);
    await error.waitFor({ state: 'hidden' });
    await waitForCode(page, (c) => c === generateCode(QUAD, 'x', { order: 2, lang: 'python' }), 'the Python');
    expect(await page.isVisible('#code-box')).toBe(true);
    expect(await page.locator(CODE).evaluate((c) => c.childElementCount)).toBe(0);
  });

  it('fits a phone-width screen (375 px): the code scrolls inside its box', async () => {
    const { page } = await open(`#expr=${encodeURIComponent('sum(log(exp(-y.*(X*w)) + vector(1)))')}&wrt=w&order=2&tab=code&lang=python`, { width: 375, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await waitForCode(page, (c) => c.includes('import numpy as np'), 'Python');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const box = await page.locator('#code-box').evaluate((b) => [b.scrollWidth > b.clientWidth, b.getBoundingClientRect().right]);
    expect(box[0]).toBe(true);
    expect(box[1]).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(RESULTS, 'web-code-phone-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: join(RESULTS, 'web-code-phone-light.png') });
  });
});
