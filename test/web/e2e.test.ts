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
    const focused = (): Promise<string> => page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return a?.dataset['testid'] ?? a?.id ?? '';
    });
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

    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('input, select, button, textarea, [role=tab]'))
        .filter((e) => !e.closest('[hidden]') && !e.classList.contains('offscreen'))
        .filter((e) => {
          const labelled = 'labels' in e && (e as HTMLInputElement).labels !== null && (e as HTMLInputElement).labels!.length > 0;
          return !labelled && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !(e.textContent ?? '').trim();
        })
        .map((e) => e.outerHTML.slice(0, 80)),
    );
    expect(unnamed).toEqual([]);
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
