#!/usr/bin/env node
// The `ricci` command: the compiled CLI in dist/ (built by `npm install` / `npm run build`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2));
