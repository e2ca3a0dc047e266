/**
 * The kernels in a real browser (Debian's chromium through playwright-core): a test page built with
 * Vite from test/web/kernels/ and served by `vite preview` with web/vite.config.ts — so with the
 * calculator's cross-origin-isolation headers — runs products on the main thread and in a
 * dedicated worker, and reports kernelInfo(). Asserts the paths: relaxed-SIMD FMA and shared
 * memory where the browser has them, one thread on the main thread (it may not block on a
 * barrier), workers sharing the memory inside a worker — started by the first large product and
 * ready once that worker's event loop has run — and the numbers against naive loops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CheckResult } from './kernels/check.js';

const CHROMIUM = process.env['RICCI_CHROMIUM'] ?? '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '../..');
const PAGE = join(ROOT, 'test/web/kernels');

let outDir: string | undefined;
let server: PreviewServer | undefined;
let browser: Browser | undefined;
let result: { main?: CheckResult; worker?: CheckResult; error?: string; hardwareConcurrency: number; headers: Record<string, string> } | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Debian's chromium at ${CHROMIUM}; install it with "apt-get install chromium"`);
  outDir = mkdtempSync(join(tmpdir(), 'ricci-kernels-'));
  await build({ configFile: false, root: PAGE, base: './', logLevel: 'warn', build: { outDir, emptyOutDir: true, target: 'es2022' }, worker: { format: 'es' } });
  // The calculator's config, served from this page's bundle: its preview headers apply.
  server = await preview({ configFile: join(ROOT, 'web/vite.config.ts'), root: PAGE, logLevel: 'warn', build: { outDir }, preview: { port: 0, strictPort: false, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview has no local address');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await browser.newPage();
  const response = await page.goto(url);
  await page.waitForSelector('html[data-done="true"]', { timeout: 120_000 });
  result = await page.evaluate(() => ({ ...window.ricciKernels!, hardwareConcurrency: navigator.hardwareConcurrency, headers: {} as Record<string, string> }));
  result.headers = response!.headers();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('kernels in the browser', () => {
  it('the page is cross-origin isolated by the headers of web/vite.config.ts', () => {
    expect(result!.error).toBeUndefined();
    expect(result!.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(result!.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(result!.main!.crossOriginIsolated).toBe(true);
    expect(result!.worker!.crossOriginIsolated).toBe(true);
  });

  it('main thread: relaxed-SIMD FMA on shared memory, one thread (no blocking on a barrier there)', () => {
    const m = result!.main!;
    expect(m.before).toMatchObject({ kernel: 'fma', relaxedSimd: true, sharedMemory: true, workersAllowed: false, threads: 1 });
    expect(m.after.lastProduct).toMatchObject({ variant: 'fma', threads: 1, sharedMemory: true });
    expect(m.after.workersStarted).toBe(0);
    expect(m.maxError).toBeLessThan(1e-12);
    expect(m.hessianError).toBeLessThan(1e-12);
  });

  it('in a worker: products split across workers sharing the memory, FMA', () => {
    const w = result!.worker!;
    expect(w.before).toMatchObject({ kernel: 'fma', sharedMemory: true, workersAllowed: true });
    const threads = Math.min(result!.hardwareConcurrency, 8);
    expect(w.before.threads).toBe(threads);
    if (threads > 1) {
      expect(w.workersReady).toBe(true);
      expect(w.after.workerError).toBeNull();
      expect(w.after.workersReady).toBe(threads - 1);
      expect(w.after.lastProduct).toMatchObject({ kernel: 'syrk', variant: 'fma', threads, sharedMemory: true });
    }
    expect(w.maxError).toBeLessThan(1e-12);
    expect(w.hessianError).toBeLessThan(1e-12);
  });
});
