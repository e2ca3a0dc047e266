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
import { derivative } from '../../src/index.js';
import { outputKey } from '../../src/codegen/plan.js';

/** An expression with the shape of each variable, for tests that draw their own point. */
export interface ShapedCase {
  readonly expr: string;
  readonly wrt: string;
  readonly order: number;
  readonly shapes: Record<string, number[]>;
}

/**
 * The value and every derivative up to order from the compiled evaluator at point, with the keys
 * generated code returns them under (value, gradient, hessian, …).
 */
export function compiledOutputs(expr: string, wrt: string, order: number, point: Record<string, Tensor>): { keys: string[]; expected: Tensor[] } {
  const rank = derivative(expr, wrt, { order: 0 }).shape.length;
  const keys: string[] = [];
  const expected: Tensor[] = [];
  for (let k = 0; k <= order; k++) {
    keys.push(outputKey(k, rank));
    expected.push(derivative(expr, wrt, { order: k }).compile()(point));
  }
  return { keys, expected };
}

export type Outputs = Record<string, Tensor>;
type JsResult = Record<string, { shape: number[]; data: Float64Array }>;

/** The evaluate function of a generated JS module. */
export function loadJs(src: string): (input: unknown) => JsResult {
  if (!/^export function evaluate\(/m.test(src)) throw new Error('no exported evaluate function');
  return new Function(`${src.replace(/^export /gm, '')}\nreturn evaluate;`)() as (input: unknown) => JsResult;
}

/** The exported functions of a generated JS module: evaluate and its self-check. */
export function loadJsModule(src: string): {
  evaluate: (input: unknown) => JsResult;
  checkGradient: (sizes?: Record<string, number>, seed?: number) => Record<string, number>;
} {
  if (!/^export function checkGradient\(/m.test(src)) throw new Error('no exported checkGradient function');
  return new Function(`${src.replace(/^export /gm, '')}\nreturn { evaluate, checkGradient };`)() as ReturnType<typeof loadJsModule>;
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

let torchPython: string | null | undefined;

/** An interpreter that has PyTorch (and NumPy): python3 on the PATH, else /usr/bin/python3; null if none. */
export function findTorchPython(): string | null {
  if (torchPython !== undefined) return torchPython;
  torchPython = null;
  for (const p of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    if (r.status === 0) {
      torchPython = p;
      break;
    }
  }
  return torchPython;
}

/** torch.__version__ of findTorchPython's interpreter, and whether it has torch.compile and torch.func.vmap. */
export function torchInfo(): { version: string; compile: boolean; funcVmap: boolean } {
  const py = findTorchPython();
  if (!py) throw new Error('no python3 with PyTorch found (CI installs python3-torch; see .ci/run)');
  const out = execFileSync(py, ['-c', 'import json, torch\nprint(json.dumps([torch.__version__, hasattr(torch, "compile"), hasattr(getattr(torch, "func", None), "vmap")]))'], {
    encoding: 'utf8',
  });
  const [version, compile, funcVmap] = JSON.parse(out) as [string, boolean, boolean];
  return { version, compile, funcVmap };
}

const JOB_DRIVER = `
import importlib.util, json, math, sys, traceback
import numpy as np

def flat(a):
    if not isinstance(a, np.ndarray):
        a = a.detach().cpu().to(dtype=__import__("torch").float64).numpy()
    return {"shape": list(a.shape), "data": [x if math.isfinite(x) else None for x in a.ravel().tolist()]}

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

def tensors(point, dtype):
    import torch
    return {k: torch.tensor(v, dtype=getattr(torch, dtype)) for k, v in point.items()}

def run(job, mod):
    kind = job["kind"]
    if kind == "check":
        return {k: (v if math.isfinite(v) else None) for k, v in mod.check_gradient(job.get("sizes"), job.get("seed", 0)).items()}
    if kind == "torch":
        res = mod.evaluate(tensors(job["point"], job["dtype"]))
        return {"dtypes": sorted({str(v.dtype) for v in res.values()}), "out": {k: flat(v) for k, v in res.items()}}
    if kind == "vmap":
        import torch
        try:
            from torch.func import vmap
        except ImportError:
            from functorch import vmap
        points = [tensors(p, "float64") for p in job["points"]]
        batch = {k: torch.stack([p[k] for p in points]) for k in points[0]}
        batched = vmap(mod.evaluate)(batch)
        loop = [mod.evaluate(p) for p in points]
        return {"batched": {k: flat(v) for k, v in batched.items()}, "loop": {k: flat(torch.stack([r[k] for r in loop])) for k in loop[0]}}
    if kind == "script":
        scope = {"mod": mod}
        exec(job["code"], scope)
        return scope["result"]
    if kind == "compile":
        import torch
        f = torch.compile(mod.evaluate)
        res = f(tensors(job["point"], "float64"))
        return {"out": {k: flat(v) for k, v in res.items()}}
    raise ValueError("unknown job kind " + kind)

jobs = json.load(sys.stdin)
out = []
for job in jobs:
    try:
        out.append({"ok": run(job, load(job["file"], "m%d" % len(out)))})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e), "trace": traceback.format_exc()})
json.dump(out, sys.stdout)
`;

/** A job for runJobs: a generated Python or torch module and what to do with it. */
export type Job =
  | { readonly kind: 'check'; readonly src: string; readonly sizes?: Record<string, number>; readonly seed?: number }
  | { readonly kind: 'torch'; readonly src: string; readonly point: string; readonly dtype: 'float64' | 'float32' }
  | { readonly kind: 'vmap'; readonly src: string; readonly points: readonly string[] }
  | { readonly kind: 'compile'; readonly src: string; readonly point: string }
  /** Python code run with the module as `mod`; it sets `result` (anything JSON can hold). */
  | { readonly kind: 'script'; readonly src: string; readonly code: string };

type FlatOut = Record<string, { shape: number[]; data: (number | null)[] }>;

export function toOutputs(o: FlatOut): Outputs {
  const out: Outputs = {};
  for (const [k, v] of Object.entries(o)) out[k] = { shape: v.shape, data: Float64Array.from(v.data, (x) => (x === null ? NaN : x)) };
  return out;
}

/** Runs every job in one Python process (with torch when a job needs it); each result is { ok } or { error }. */
export function runJobs(jobs: readonly Job[]): ({ ok: unknown } | { error: string })[] {
  const needsTorch = jobs.some((j) => /^import torch$/m.test(j.src));
  const py = needsTorch ? findTorchPython() : findPython();
  if (!py) throw new Error(`no python3 with ${needsTorch ? 'PyTorch' : 'NumPy'} found (CI installs python3-numpy and python3-torch; see .ci/run)`);
  const dir = mkdtempSync(join(tmpdir(), 'ricci-jobs-'));
  writeFileSync(join(dir, 'driver.py'), JOB_DRIVER);
  // Points stay JSON texts, so that keys such as __proto__ are plain keys.
  const fields = (j: Job): string => {
    switch (j.kind) {
      case 'check':
        return `"sizes": ${JSON.stringify(j.sizes ?? null)}, "seed": ${j.seed ?? 0}`;
      case 'torch':
        return `"point": ${j.point}, "dtype": "${j.dtype}"`;
      case 'vmap':
        return `"points": [${j.points.join(', ')}]`;
      case 'compile':
        return `"point": ${j.point}`;
      case 'script':
        return `"code": ${JSON.stringify(j.code)}`;
    }
  };
  const input = `[${jobs
    .map((j, i) => {
      const file = join(dir, `case${i}.py`);
      writeFileSync(file, j.src);
      return `{"file": ${JSON.stringify(file)}, "kind": "${j.kind}", ${fields(j)}}`;
    })
    .join(',')}]`;
  const stdout = execFileSync(py, [join(dir, 'driver.py')], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(stdout) as ({ ok: unknown } | { error: string })[];
}
