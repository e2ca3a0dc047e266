/** The browser test page: the checks on the main thread, then in a dedicated worker. */
import { check, type CheckResult } from './check.js';

declare global {
  interface Window {
    ricciKernels?: { main?: CheckResult; worker?: CheckResult; error?: string };
  }
}

const out: NonNullable<Window['ricciKernels']> = {};
window.ricciKernels = out;
try {
  out.main = await check(false);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<CheckResult | { error: string }>) => {
    if ('error' in e.data) out.error = e.data.error;
    else out.worker = e.data;
    document.documentElement.dataset.done = 'true';
  };
  worker.onerror = (e) => {
    out.error = `worker: ${e.message}`;
    document.documentElement.dataset.done = 'true';
  };
} catch (e) {
  out.error = String(e);
  document.documentElement.dataset.done = 'true';
}
