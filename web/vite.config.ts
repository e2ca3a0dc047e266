/**
 * Vite builds the calculator from ricci's own TypeScript sources (src/ imports end in .js and name
 * .ts files; Vite resolves those for TypeScript importers). base './' makes the bundle work from
 * any folder of any static host.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1000,
  },
  server: { port: 5173 },
  preview: { port: 4173 },
});
