/**
 * Running generated code in tests: JS through `new Function` (the module's `export` dropped),
 * TS transpiled by the TypeScript compiler API first, Python in one `python3` process (with NumPy)
 * for a whole batch of modules.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import type { Tensor } from '../../src/tensor.js';

export type Outputs = Record<string, Tensor>;
type JsResult = Record<string, { shape: number[]; data: Float64Array }>;

/** The evaluate function of a generated JS module. */
export function loadJs(src: string): (input: unknown) => JsResult {
  if (!/^export function evaluate\(/m.test(src)) throw new Error('no exported evaluate function');
  return new Function(`${src.replace(/^export /gm, '')}\nreturn evaluate;`)() as (input: unknown) => JsResult;
}

/** TS → JS with the compiler API; throws on syntax errors. */
export function transpileTs(src: string): string {
  const out = ts.transpileModule(src, {
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, strict: true },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new Error(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  return out.outputText;
}

/** Type errors of TS modules under --strict (no DOM, no Node types), as "file: message" lines. */
export function typeCheckTs(sources: readonly string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'ricci-ts-'));
  const files = sources.map((s, i) => {
    const f = join(dir, `case${i}.ts`);
    writeFileSync(f, s);
    return f;
  });
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    noUnusedLocals: false,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

let python: string | null | undefined;

/** An interpreter that has NumPy: python3 on the PATH, else /usr/bin/python3; null if none. */
export function findPython(): string | null {
  if (python !== undefined) return python;
  python = null;
  for (const p of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(p, ['-c', 'import numpy'], { stdio: 'ignore' });
    if (r.status === 0) {
      python = p;
      break;
    }
  }
  return python;
}

const DRIVER = `
import importlib.util, json, math, sys, traceback
import numpy as np

def flat(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [x if math.isfinite(x) else None for x in a.ravel().tolist()]}

jobs = json.load(sys.stdin)
out = []
for job in jobs:
    try:
        spec = importlib.util.spec_from_file_location("m%d" % len(out), job["file"])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        res = mod.evaluate(job["point"])
        out.append({"ok": {k: flat(v) for k, v in res.items()}})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e), "trace": traceback.format_exc()})
json.dump(out, sys.stdout)
`;

export interface PythonJob {
  readonly src: string;
  /** The point, as a JSON object text (keys are variable names). */
  readonly point: string;
}

export type PythonResult = { ok: Outputs } | { error: string };

/** Runs every module on its point in one Python process. */
export function runPython(jobs: readonly PythonJob[]): PythonResult[] {
  const py = findPython();
  if (!py) throw new Error('no python3 with NumPy found (CI installs python3-numpy; see .ci/run)');
  const dir = mkdtempSync(join(tmpdir(), 'ricci-py-'));
  writeFileSync(join(dir, 'driver.py'), DRIVER);
  const input = `[${jobs
    .map((j, i) => {
      const file = join(dir, `case${i}.py`);
      writeFileSync(file, j.src);
      return `{"file": ${JSON.stringify(file)}, "point": ${j.point}}`;
    })
    .join(',')}]`;
  const stdout = execFileSync(py, [join(dir, 'driver.py')], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
  const raw = JSON.parse(stdout) as ({ ok: Record<string, { shape: number[]; data: (number | null)[] }> } | { error: string })[];
  return raw.map((r) => {
    if ('error' in r) return { error: r.error };
    const ok: Outputs = {};
    for (const [k, v] of Object.entries(r.ok)) ok[k] = { shape: v.shape, data: Float64Array.from(v.data, (x) => (x === null ? NaN : x)) };
    return { ok };
  });
}
