/**
 * The `ricci` command line: derive, eval (and code, check). stdout holds only the result;
 * messages go to stderr. Exit codes: 0 success, 1 usage error, 2 input error (syntax, types,
 * sizes, a bad point file), 3 valid input that is not supported, 4 an internal error (a bug).
 */
import { readFileSync } from 'node:fs';
import { RicciError, markSpan } from '../errors.js';
import { absentVariableError, derive, LAYOUTS, MAX_ORDER, matrixNamesOf, noMatrixReason, resultJson, sizeNamesOf, sizeRootsOf, validateWrt, vecMatrixForm, withSingularFallback, type Analysis, type Layout } from '../derive.js';
import type { Node } from '../ir/node.js';
import { compileNodes } from '../compile/compile.js';
import { fromNested, toNested, type Tensor } from '../tensor.js';
import { parseDeclaredType, DECLARED_TYPES } from '../syntax/check.js';
import { parseArgs, usageError, type OptionSpec } from './args.js';
import { inputError } from '../errors.js';
import { generateCode, CODE_LANGS, type CodeLang } from '../codegen/index.js';
import { runSelfCheck } from './selfcheck.js';
import { zeroDivisors } from '../divisors.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  readFile(path: string): string;
}

const nodeIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
};

export const EXIT = { ok: 0, usage: 1, input: 2, unsupported: 3, internal: 4, check: 5 } as const;

/** `ricci code --check` fails when a derivative's relative error against finite differences is above this. */
export const CHECK_TOLERANCE = 1e-6;

const MAIN_HELP = `ricci — symbolic matrix and tensor calculus

Usage:
  ricci derive EXPR --wrt NAME [--order K] [--let "NAME: TYPE"]... [--format matrix|index|latex|json] [--layout default|vec]
  ricci eval   EXPR --wrt NAME [--order K] --at POINT.json [--let "NAME: TYPE"]... [--layout default|vec]
  ricci code   EXPR --wrt NAME [--order K] [--let "NAME: TYPE"]... [--lang js|ts|python|torch] [--check]
  ricci help [COMMAND]          (or: ricci COMMAND --help)

Commands:
  derive   print the K-th derivative of EXPR with respect to NAME
  eval     evaluate the K-th derivative at a point (K = 0: EXPR itself)
  code     generate JS, TS, Python or PyTorch source for EXPR and its derivatives up to order K

Input language (matrixcalculus.org style):
  + -  * (matrix product, or scaling by a scalar)  / (by a scalar)  .* ./ (element-wise)
  ^ (scalar power, A^k integer matrix power, A^-1 inverse)  .^ (element-wise power)  ' (transpose)
  sin cos tan arcsin arccos arctan exp log tanh abs sign relu sqrt sigmoid softplus (element-wise)
  sum norm1 norm2 tr det logdet inv adj diag vector(c) matrix(c) eye kron(A, B) vec(X) rows cols len
  logsumexp(u) softmax(u) (over all entries of u; nothing overflows)
  EXPR where t1 = ..., t2 = ...  (named sub-expressions, as the printed forms use them)
  Types by name: a–g and Greek names (alpha, lambda, …) are scalars, h–z vectors, A–Z matrices;
  --let "A: symmetric matrix" (scalar | vector | matrix | symmetric matrix) overrides.

Examples:
  ricci derive "x'*A*x" --wrt x                      # (A + A')*x
  ricci derive "x'*A*x" --wrt x --order 2 --let "A: symmetric matrix"   # 2*A
  ricci derive "log(det(X))" --wrt X --format latex
  ricci eval "norm2(A*x - y)^2" --wrt x --at point.json
  ricci code "x'*A*x" --wrt x --order 2 --lang python > quad.py

Exit codes: 0 success, 1 usage error, 2 input error (syntax, types, sizes, point file),
3 valid but not supported, 4 internal error, 5 code --check found an error above tolerance.
`;

const DERIVE_HELP = `ricci derive EXPR --wrt NAME [--order K] [--let "NAME: TYPE"]... [--format FORMAT]

Prints the K-th derivative (default K = 1) of EXPR with respect to the variable NAME.
The derivative of f with respect to X has shape shape(f) ++ shape(X): a gradient has the shape of
its variable, the Jacobian of a vector f(x) is J[i][j] = df_i/dx_j, a Hessian of f(X) with X m×n
has shape [m, n, m, n].

Options:
  --wrt NAME        the variable to differentiate by (required)
  --order K         0 (the expression itself), 1 (default), 2, … up to 8
  --let "N: TYPE"   declare a variable's type: scalar, vector, matrix or symmetric matrix
                    (repeatable; overrides the naming convention a–g scalar, h–z vector, A–Z matrix)
  --format F        matrix (default): the closed form in the input language; where none exists
                      (order ≥ 3 tensors and other patterns) the index form, with a note on stderr
                      (which gives the vec layout's matrix form where that layout has one).
                      Parts used more than once are named: "... where t1 = ..., t2 = ..."
                    index: Ricci notation, free indices i, j, k, … in the order of the axes
                    latex: LaTeX (of the matrix form where there is one)
                    json:  {"matrix": string|null, "index": string, "latex": string, "shape": [...],
                            "layout": "default"|"vec", "body": {...}, "temporaries": [{"name", "matrix",
                            "index", "latex"}, ...]} (body: the forms without their where clauses)
  --layout L        default: shape(f) ++ shape(X); vec: matrices vectorized column-major, the
                      derivative of vec(f) by vec(X) (Magnus–Neudecker), printed with kron

Examples:
  ricci derive "x'*A*x" --wrt x                 →  (A + A')*x
  ricci derive "x'*A*x" --wrt x --order 2       →  A + A'
  ricci derive "sum(log(exp(-y.*(X*w)) + vector(1)))" --wrt w --order 2
  ricci derive "(x'*x)^2" --wrt x --order 3 --format index
  ricci derive "tr(A*X)" --wrt X --format json
  ricci derive "norm2(X*W - Y)^2" --wrt W --order 2 --layout vec   →  2*kron(eye, X'*X)
`;

const EVAL_HELP = `ricci eval EXPR --wrt NAME [--order K] --at POINT.json [--let "NAME: TYPE"]...

Evaluates the K-th derivative (default 1; 0 is the expression itself) of EXPR with respect to NAME
at a point and prints {"shape": [...], "value": ...}: the value is a number, or nested arrays in
the layout shape(f) ++ shape(NAME) per order (row-major; vectors are 1-D).

POINT.json maps every variable to a number (scalar), an array (vector) or an array of rows
(matrix), e.g. {"A": [[1, 2], [3, 4]], "x": [1, -1]}. Use --at - to read it from stdin.

Examples:
  echo '{"A": [[2, 1], [1, 3]], "x": [1, 2]}' > p.json
  ricci eval "x'*A*x" --wrt x --at p.json            →  {"shape":[2],"value":[8,14]}
  ricci eval "x'*A*x" --wrt x --order 2 --at p.json  →  {"shape":[2,2],"value":[[4,2],[2,6]]}
`;

const CODE_HELP = `ricci code EXPR --wrt NAME [--order K] [--let "NAME: TYPE"]... [--lang js|ts|python|torch] [--check]

Prints self-contained source for a function evaluate(inputs) that returns EXPR and its derivatives
with respect to NAME up to order K (default 1): value, gradient and hessian for a scalar EXPR
(jacobian for a vector or matrix EXPR; derivative3, derivative4, … beyond order 2). Sub-expressions
shared by the value and the derivatives are computed once, as temporaries t1, t2, …. The function
checks the shapes of its inputs (every size must agree across variables) and declared symmetry; a
header comment states the expression, the variable types and each result in matrix notation.
Every module also has a self-check, check_gradient(sizes=None, seed=0) (checkGradient in JS/TS):
at a random point (drawn where the expression is defined: positive under log and sqrt, invertible
under inv and logdet, symmetric where declared) it compares each derivative with central finite
differences of the order below and returns the relative errors.

Options:
  --wrt NAME        the variable to differentiate by (required)
  --order K         0 (value only), 1 (default: value and gradient), 2 (and Hessian), … up to 8
  --let "N: TYPE"   declare a variable's type (repeatable), as for ricci derive
  --lang L          js (default): an ES module, no dependencies; inputs are numbers, arrays,
                      Float64Arrays or { shape, data }; results are { shape, data: Float64Array }
                    ts: the same with type annotations
                    python: a module that needs only NumPy; results are float64 arrays
                      (np.einsum for products of order 3 or more)
                    torch: a module that needs only PyTorch; results are tensors on the inputs'
                      device and dtype (float32 or float64); runs under vmap and torch.compile;
                      check_inputs(inputs) checks values (finite, declared symmetry)
  --check           instead of printing the code, run its self-check (node for js and ts; for
                      python and torch $RICCI_PYTHON if set, else the first of python3 and
                      /usr/bin/python3 that has NumPy and torch) and print each derivative's
                      relative error; exit code 5 if one is above ${CHECK_TOLERANCE.toExponential()} or not a number
  Layout: row-major; the derivative of f with respect to X has shape shape(f) ++ shape(X).

Examples:
  ricci code "x'*A*x" --wrt x --order 2 --lang python > quad.py
      python3 -c 'import quad; print(quad.evaluate({"x": [1, 2], "A": [[2, 1], [1, 3]]}))'
  ricci code "norm2(A*x - y)^2" --wrt x --order 2 --lang ts > lsq.ts
  ricci code "logdet(X)" --wrt X --let "X: symmetric matrix" > logdet.mjs
  ricci code "sum(log(exp(-y.*(X*w)) + vector(1)))" --wrt w --order 2 --lang torch > logistic.py
  ricci code "x'*inv(A)*x" --wrt A --lang torch --check
`;

const HELP: Record<string, string> = { derive: DERIVE_HELP, eval: EVAL_HELP, code: CODE_HELP };

const COMMON: Record<string, OptionSpec> = {
  wrt: { takesValue: true },
  order: { takesValue: true },
  let: { takesValue: true, repeatable: true },
  help: { takesValue: false },
};

const SPECS: Record<string, Record<string, OptionSpec>> = {
  derive: { ...COMMON, format: { takesValue: true }, layout: { takesValue: true } },
  eval: { ...COMMON, at: { takesValue: true }, layout: { takesValue: true } },
  code: { ...COMMON, lang: { takesValue: true }, check: { takesValue: false } },
};

function parseLets(lets: readonly string[]): Record<string, string> {
  // No prototype: a variable may be called __proto__ or constructor.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const l of lets) {
    const m = /^\s*([^:\s]+)\s*:\s*(.+?)\s*$/.exec(l);
    if (!m) throw usageError(`--let "${l}": write NAME: TYPE, e.g. --let "A: symmetric matrix"`);
    const [, name, type] = m as unknown as [string, string, string];
    if (!parseDeclaredType(type)) throw usageError(`--let "${l}": unknown type '${type}'; use ${DECLARED_TYPES.join(', ')}`);
    if (Object.hasOwn(out, name)) throw usageError(`--let declares ${name} twice`);
    out[name] = type;
  }
  return out;
}

function parseOrder(s: string | undefined): number {
  if (s === undefined) return 1;
  if (!/^[0-9]+$/.test(s) || Number(s) > MAX_ORDER) throw usageError(`--order must be a whole number from 0 to ${MAX_ORDER}, not '${s}'`);
  return Number(s);
}

interface Common {
  expr: string;
  wrt: string;
  order: number;
  lets: Record<string, string>;
  layout: Layout;
}

function parseLayout(s: string | undefined): Layout {
  if (s === undefined) return 'default';
  if (!(LAYOUTS as readonly string[]).includes(s)) throw usageError(`--layout must be ${LAYOUTS.join(' or ')}, not '${s}'`);
  return s as Layout;
}

function common(cmd: string, args: ReturnType<typeof parseArgs>): Common {
  if (args.positional.length === 0) throw usageError(`${cmd} needs an expression (see ricci ${cmd} --help)`);
  if (args.positional.length > 1)
    throw usageError(`${cmd} takes one expression; got ${args.positional.length} arguments (quote the expression: "x'*A*x")`);
  const wrt = args.options.get('wrt')?.[0];
  if (wrt === undefined) throw usageError(`${cmd} needs --wrt NAME, the variable to differentiate by`);
  const c = {
    expr: args.positional[0]!,
    wrt,
    order: parseOrder(args.options.get('order')?.[0]),
    lets: parseLets(args.options.get('let') ?? []),
    layout: parseLayout(args.options.get('layout')?.[0]),
  };
  // A misspelled --wrt would otherwise give a silent zero derivative.
  validateWrt(wrt);
  const absent = c.order > 0 ? absentVariableError(c.expr, wrt, c.lets) : null;
  if (absent) throw absent;
  return c;
}

function runDerive(args: ReturnType<typeof parseArgs>, io: Io): number {
  const c = common('derive', args);
  const format = args.options.get('format')?.[0] ?? 'matrix';
  if (!['matrix', 'index', 'latex', 'json'].includes(format)) throw usageError(`--format must be matrix, index, latex or json, not '${format}'`);
  const r = derive(c.expr, c.wrt, { order: c.order, let: c.lets, layout: c.layout });
  noteZeroDivisors(r.analysis, io);
  switch (format) {
    case 'matrix':
      if (r.matrix !== null) io.out(r.matrix + '\n');
      else {
        io.out(r.index + '\n');
        const vec = r.layout === 'default' ? vecMatrixForm(c.expr, c.wrt, { order: c.order, let: c.lets }) : null;
        const hint = vec === null ? '' : `; the vec layout (--layout vec) writes it as ${vec}`;
        io.err(`note: ${noMatrixReason(r.shape, r.layout)}; shown in index notation${hint}\n`);
      }
      break;
    case 'index':
      io.out(r.index + '\n');
      break;
    case 'latex':
      io.out(r.latex + '\n');
      break;
    case 'json':
      io.out(JSON.stringify(resultJson(r)) + '\n');
      break;
  }
  return EXIT.ok;
}

/** A note, with the place marked, for each divisor that is identically zero. */
function noteZeroDivisors(a: Analysis, io: Io): void {
  for (const z of zeroDivisors(a)) {
    io.err(`note: the divisor ${z.text} is identically 0, so the expression and its derivatives are undefined everywhere\n`);
    io.err(markSpan(a.text, z.span).replace(/^/gm, '  ') + '\n');
  }
}

function readPoint(path: string, io: Io): Map<string, Tensor> {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw inputError(`cannot read the point file ${path}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw inputError(`the point file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw inputError(`the point file ${path} must hold a JSON object from variable names to values`);
  const out = new Map<string, Tensor>();
  for (const [k, v] of Object.entries(json)) out.set(k, fromNested(v, `${path}: ${k}`));
  return out;
}

function runEval(args: ReturnType<typeof parseArgs>, io: Io): number {
  const c = common('eval', args);
  const at = args.options.get('at')?.[0];
  if (at === undefined) throw usageError('eval needs --at POINT.json (a JSON object from variable names to values)');
  const r = derive(c.expr, c.wrt, { order: c.order, let: c.lets, layout: c.layout });
  noteZeroDivisors(r.analysis, io);
  const values = readPoint(at, io);
  const vars = [...r.analysis.lowered.vars.values()];
  const evaluateAt = (root: Node): Tensor[] => compileNodes({ roots: [root], vars, sizeRoots: sizeRootsOf(r), sizeNames: sizeNamesOf(r), matrixName: matrixNamesOf(r) })(values);
  const [v] = withSingularFallback([r], () => evaluateAt(r.evalNode), () => evaluateAt(r.singularNode!), (ts) => ts) as [Tensor];
  const bad = v.data.filter((x) => !Number.isFinite(x)).length;
  if (bad > 0)
    io.err(`note: ${bad} entr${bad === 1 ? 'y is' : 'ies are'} not finite (printed as null): the point is outside the domain of a function (log, sqrt, inv, …)\n`);
  io.out(JSON.stringify({ shape: v.shape, value: toNested(v) }) + '\n');
  return EXIT.ok;
}

function runCode(args: ReturnType<typeof parseArgs>, io: Io): number {
  const c = common('code', args);
  const lang = args.options.get('lang')?.[0] ?? 'js';
  if (!(CODE_LANGS as readonly string[]).includes(lang)) throw usageError(`--lang must be ${CODE_LANGS.join(', ')}, not '${lang}'`);
  const opts = { order: c.order, lang: lang as CodeLang, let: c.lets };
  if (!args.flags.has('check')) {
    io.out(generateCode(c.expr, c.wrt, opts));
    return EXIT.ok;
  }
  generateCode(c.expr, c.wrt, opts); // input errors first, before anything runs
  const r = runSelfCheck(c.expr, c.wrt, opts);
  if ('failure' in r) {
    io.err(`ricci: error: check failed: ${r.failure}\n`);
    return EXIT.check;
  }
  for (const n of r.notes) io.err(`note: ${n}\n`);
  if (r.errors.length === 0) io.err('note: order 0: no derivative to check\n');
  const width = Math.max(0, ...r.errors.map(([k]) => k.length));
  for (const [k, e] of r.errors) io.out(`${k.padEnd(width)}  ${e === null ? 'not a number' : e.toExponential(1)}\n`);
  const bad = r.errors.filter(([, e]) => e === null || !(e < CHECK_TOLERANCE));
  if (bad.length === 0) return EXIT.ok;
  io.err(`ricci: error: check failed: ${bad.map(([k]) => k).join(', ')} above the tolerance ${CHECK_TOLERANCE.toExponential()} (${lang}, seed 0)\n`);
  if (bad.some(([, e]) => e === null))
    io.err('(not a number: the random point is outside the domain of the expression, e.g. log of a difference, which the check cannot draw around)\n');
  return EXIT.check;
}

export function run(argv: readonly string[], io: Io = nodeIo): number {
  let expr: string | undefined;
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      const topic = cmd === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !HELP[topic]) throw usageError(`no help for '${topic}'; commands: ${Object.keys(HELP).join(', ')}`);
      (cmd === undefined ? io.err : io.out)(topic ? HELP[topic]! : MAIN_HELP);
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    }
    if (cmd === '--version') {
      io.out('ricci 0.1.0\n');
      return EXIT.ok;
    }
    const spec = SPECS[cmd];
    if (!spec) throw usageError(`unknown command '${cmd}'; commands: ${Object.keys(SPECS).join(', ')} (ricci --help)`);
    const args = parseArgs(rest, spec);
    expr = args.positional[0];
    if (args.flags.has('help')) {
      io.out(HELP[cmd]!);
      return EXIT.ok;
    }
    if (cmd === 'derive') return runDerive(args, io);
    if (cmd === 'code') return runCode(args, io);
    return runEval(args, io);
  } catch (e) {
    return report(e, expr, io);
  }
}

function report(e: unknown, expr: string | undefined, io: Io): number {
  if (e instanceof RicciError) {
    const code = e.category === 'usage' ? EXIT.usage : e.category === 'unsupported' ? EXIT.unsupported : EXIT.input;
    io.err(`ricci: ${e.category === 'usage' ? 'usage' : 'error'}: ${e.message}\n`);
    if (e.span && expr !== undefined && e.span.end <= expr.length && (e.category === 'syntax' || e.category === 'type' || e.category === 'unsupported'))
      io.err(markSpan(expr, e.span).replace(/^/gm, '  ') + '\n');
    if (e.category === 'usage') io.err('(ricci --help for usage)\n');
    return code;
  }
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    io.err('ricci: error: the expression is too deeply nested to process\n');
    return EXIT.input;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(`ricci: internal error: ${msg}\nThis is a bug in ricci; please report it with the command line above.\n`);
  return EXIT.internal;
}

export function main(argv: readonly string[]): void {
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  process.exitCode = run(argv);
}

/**
 * A reader that closed the pipe early (ricci … | head -c 100) ends the program quietly with the
 * command's own exit code, as Unix tools do; any other failure to write ends it with a message
 * (on stderr, if that still works) and code 4.
 */
function onOutputError(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE') {
    process.exitCode = EXIT.internal;
    try {
      process.stderr.write(`ricci: error: cannot write the output: ${e.message}\n`);
    } catch {
      // stderr is gone too: the exit code says it.
    }
  }
  process.exit();
}
