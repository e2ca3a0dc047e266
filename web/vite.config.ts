/**
 * Vite builds the calculator from ricci's own TypeScript sources (src/ imports end in .js and name
 * .ts files; Vite resolves those for TypeScript importers). base './' makes the bundle work from
 * any folder of any static host.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * Cross-origin isolation: with these two headers a page may use SharedArrayBuffer, which the
 * compiled evaluator's kernels need to share their memory with workers (large products on every
 * core; without them products run on one thread). A static host serving the built page should
 * send the same two headers.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1000,
  },
  server: { port: 5173, headers: ISOLATION_HEADERS },
  preview: { port: 4173, headers: ISOLATION_HEADERS },
});
