/**
 * `ricci code … --check`: runs the generated module's own self-check (check_gradient /
 * checkGradient, see codegen/selfcheck.ts) in the language it is written in and reads back the
 * relative error of each derivative. JS runs in this Node; TS is transpiled with the TypeScript
 * compiler where one can be found, else its JavaScript twin runs (the same code without the type
 * annotations: both come from one emitter); Python and torch run in $RICCI_PYTHON if it is set,
 * else in the first of python3, /usr/bin/python3 that imports NumPy (and torch).
 *
 * The module is written to a fresh temporary directory and run from there; nothing of the user's
 * text reaches the command line of the child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCode, type CodeLang } from '../codegen/index.js';
import { unsupported } from '../errors.js';

/** A derivative's key and its relative error (null where it is not a finite number). */
export type CheckErrors = readonly (readonly [string, number | null])[];

export interface SelfCheckOptions {
  readonly order: number;
  readonly lang: CodeLang;
  readonly let: Record<string, string>;
}

/** What the run gave: the errors, or the message of what stopped the module. */
export type SelfCheckRun = { readonly errors: CheckErrors; readonly notes: readonly string[] } | { readonly failure: string };

const TIMEOUT_MS = 300_000;

// Each driver reports what stops the module as one line on stderr, with its exit code 1.
const JS_DRIVER = `import { checkGradient } from './module.mjs';
try {
  process.stdout.write(JSON.stringify(Object.entries(checkGradient()).map(([k, v]) => [k, Number.isFinite(v) ? v : null])));
} catch (e) {
  process.stderr.write((e instanceof Error ? e.name + ': ' + e.message : String(e)).replace(/\\s+/g, ' ') + '\\n');
  process.exitCode = 1;
}
`;

const PY_DRIVER = `import importlib.util, json, math, sys
spec = importlib.util.spec_from_file_location("ricci_generated", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
try:
    errors = mod.check_gradient()
except Exception as e:
    sys.stderr.write(" ".join((type(e).__name__ + ": " + str(e)).split()) + "\\n")
    sys.exit(1)
sys.stdout.write(json.dumps([[k, v if math.isfinite(v) else None] for k, v in errors.items()]))
`;

export function runSelfCheck(expr: string, wrt: string, opts: SelfCheckOptions): SelfCheckRun {
  const dir = mkdtempSync(join(tmpdir(), 'ricci-check-'));
  try {
    return opts.lang === 'python' || opts.lang === 'torch' ? runPython(expr, wrt, opts, dir) : runJs(expr, wrt, opts, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runJs(expr: string, wrt: string, opts: SelfCheckOptions, dir: string): SelfCheckRun {
  const notes: string[] = [];
  let js: string;
  if (opts.lang === 'ts') {
    const ts = loadTypeScript();
    const source = generateCode(expr, wrt, { ...opts, lang: 'ts' });
    if (ts) js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    else {
      notes.push('no TypeScript compiler found: ran the JavaScript twin of the module (the same code without type annotations)');
      js = generateCode(expr, wrt, { ...opts, lang: 'js' });
    }
  } else js = generateCode(expr, wrt, { ...opts, lang: 'js' });
  writeFileSync(join(dir, 'module.mjs'), js);
  writeFileSync(join(dir, 'driver.mjs'), JS_DRIVER);
  const r = read(spawnSync(process.execPath, [join(dir, 'driver.mjs')], { cwd: dir, encoding: 'utf8', timeout: TIMEOUT_MS }));
  return 'errors' in r ? { errors: r.errors, notes } : r;
}

function runPython(expr: string, wrt: string, opts: SelfCheckOptions, dir: string): SelfCheckRun {
  const needs = opts.lang === 'torch' ? ['numpy', 'torch'] : ['numpy'];
  const py = findPython(needs);
  if (!py)
    throw unsupported(
      `cannot run the check: no Python with ${needs.join(' and ')} found (tried ${pythonCandidates().join(', ')}; set RICCI_PYTHON to an interpreter that has ${needs.join(' and ')})`,
    );
  writeFileSync(join(dir, 'module.py'), generateCode(expr, wrt, opts));
  writeFileSync(join(dir, 'driver.py'), PY_DRIVER);
  return read(spawnSync(py, [join(dir, 'driver.py'), join(dir, 'module.py')], { cwd: dir, encoding: 'utf8', timeout: TIMEOUT_MS }));
}

/** The errors the driver printed, or the last line of what the child wrote to stderr. */
function read(r: ReturnType<typeof spawnSync>): SelfCheckRun {
  const stderr = String(r.stderr ?? '');
  if (r.error) return { failure: `the check did not run: ${r.error.message}` };
  if (r.status !== 0) {
    const last = stderr.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? `exit code ${r.status}`;
    return { failure: `the generated module failed: ${last.trim()}` };
  }
  return { errors: JSON.parse(String(r.stdout)) as [string, number | null][], notes: [] };
}

function pythonCandidates(): string[] {
  const env = process.env['RICCI_PYTHON'];
  return env ? [env] : ['python3', '/usr/bin/python3'];
}

function findPython(modules: readonly string[]): string | undefined {
  return pythonCandidates().find((p) => spawnSync(p, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore', timeout: 60_000 }).status === 0);
}

type TypeScriptApi = typeof import('typescript');

/** The TypeScript compiler, if this installation (or the directory above it) has one. */
function loadTypeScript(): TypeScriptApi | undefined {
  const require = createRequire(import.meta.url);
  try {
    return require('typescript') as TypeScriptApi;
  } catch {
    return undefined;
  }
}
