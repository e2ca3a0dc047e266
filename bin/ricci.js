#!/usr/bin/env node
// The `ricci` command: the compiled CLI in dist/ (built by `npm install` / `npm run build`).
import { enableRelaxedSimd, kernelInfo } from '../dist/index.js';
import { main } from '../dist/cli/main.js';

// Node 20 has relaxed SIMD (the FMA gemm kernel) behind a V8 flag that NODE_OPTIONS refuses:
// set it before the first product (a no-op where it is on already, or where it cannot be had).
enableRelaxedSimd();
// RICCI_KERNEL_INFO=1: what the kernels ran on, as JSON on stderr (a diagnostic for tests).
if (process.env.RICCI_KERNEL_INFO === '1') process.on('exit', () => process.stderr.write(`${JSON.stringify(kernelInfo())}\n`));
main(process.argv.slice(2));
