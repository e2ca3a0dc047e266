/**
 * The browser behind the end-to-end tests: the page is built with Vite into a temporary folder
 * (so that parallel runs in one working tree do not share web/dist), served from 127.0.0.1 on an
 * ephemeral port, and driven with playwright-core through Debian's chromium. Helpers read the
 * page the way a person does (the typeset result, the message line, the code).
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
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
/** Screenshots for a person to look at. */
export const RESULTS = join(ROOT, 'test-results');

let outDir: string | undefined;
let server: StaticServer | undefined;
let browser: Browser | undefined;

export interface Opened {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Uncaught exceptions and console errors of the page. */
  readonly errors: string[];
  /** Requests that left the local server (there must be none: the page works offline). */
  readonly external: string[];
}

const opened: Opened[] = [];

/** Builds and serves the page and starts the browser for the tests of the calling file. */
export function useBrowser(): void {
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

  afterEach(async () => {
    for (const o of opened.splice(0)) {
      await o.context.close();
      expect(o.errors, 'errors in the page').toEqual([]);
      expect(o.external, 'requests that left the local server').toEqual([]);
    }
  });
}

/** The address of the page. */
export function pageUrl(): string {
  return server!.url;
}

export async function open(hash = '', viewport = { width: 1100, height: 900 }): Promise<Opened> {
  const context = await browser!.newContext({ viewport });
  const errors: string[] = [];
  const external: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server!.url) || url.startsWith('blob:')) return route.continue();
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

export const RESULT = '[data-testid=result]';

export const compact = (s: string): string => s.replace(/\s+/g, '');

/** The LaTeX of the typeset result ('' where it is not typeset). */
export async function resultLatex(page: Page): Promise<string> {
  return (await page.getAttribute(RESULT, 'data-latex')) ?? '';
}

/** Waits until the typeset result satisfies ok; the error names what was there instead. */
export async function waitForResult(page: Page, ok: (latex: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let latex = '';
  while (Date.now() < until) {
    latex = await resultLatex(page);
    if (latex && ok(latex)) return latex;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected the result to be ${what}, but it is ${JSON.stringify(latex)}`);
}

/** Visible text of the typeset result. */
export async function resultText(page: Page): Promise<string> {
  return compact((await page.locator(`${RESULT} .katex-html`).textContent()) ?? '');
}

export async function setExpr(page: Page, expr: string): Promise<void> {
  await page.fill('[data-testid=expr]', expr);
}

export const CODE = '[data-testid=code]';

/** Waits until the Code tab's text satisfies ok; the error shows the start of what was there instead. */
export async function waitForCode(page: Page, ok: (code: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
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
export function focusedOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    return a?.dataset['testid'] ?? a?.id ?? '';
  });
}

/** Visible controls without an accessible name. */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('input, select, button, textarea, [role=tab], canvas[tabindex]'))
      .filter((e) => !e.closest('[hidden]') && !e.classList.contains('offscreen'))
      .filter((e) => {
        const labelled = 'labels' in e && (e as HTMLInputElement).labels !== null && (e as HTMLInputElement).labels!.length > 0;
        return !labelled && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !(e.textContent ?? '').trim();
      })
      .map((e) => e.outerHTML.slice(0, 80)),
  );
}

/** The message line's parts: the error box (if shown), the quiet line, the notices. */
export async function messages(page: Page): Promise<{ error: string | null; quiet: string; notices: string[] }> {
  return page.evaluate(() => {
    const error = document.querySelector<HTMLElement>('[data-testid=error]')!;
    return {
      error: error.hidden ? null : (error.textContent ?? ''),
      quiet: document.querySelector('[data-testid=quiet]')!.textContent ?? '',
      notices: Array.from(document.querySelectorAll('[data-testid=notices] li'), (li) => li.textContent ?? ''),
    };
  });
}
