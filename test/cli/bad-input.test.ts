/**
 * Bad input: malformed, ill-typed and unsupported expressions, CLI misuse and bad point files.
 * Each gets its message fragment and exit code; nothing crashes, hangs or prints a stack trace.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, EXIT } from '../../src/cli/main.js';

interface Case {
  readonly args: readonly string[];
  readonly code: number;
  readonly message: RegExp;
  /** Contents of the point file for eval cases (absent: the file does not exist). */
  readonly point?: string;
}

const d = (expr: string, ...rest: string[]): string[] => ['derive', expr, '--wrt', 'x', ...rest];
const e = (expr: string, ...rest: string[]): string[] => ['eval', expr, '--wrt', 'x', '--at', 'p.json', ...rest];
const { usage, input, unsupported } = EXIT;

const CASES: readonly Case[] = [
  // syntax
  { args: d('x +* y'), code: input, message: /unexpected '\*'/ },
  { args: d('2x'), code: input, message: /operator is missing/ },
  { args: d("(x'*x"), code: input, message: /unmatched '\('/ },
  { args: d("x'*x)"), code: input, message: /unmatched '\)'/ },
  { args: d('x $ y'), code: input, message: /unexpected character '\$'/ },
  { args: d(''), code: input, message: /empty expression/ },
  { args: d('sin()'), code: input, message: /unexpected '\)'/ },
  { args: d('x*'), code: input, message: /unexpected end of input/ },
  { args: d("2. * x'*x"), code: input, message: /unexpected character '\.'/ },
  { args: d('1e999*x'), code: input, message: /out of range/ },
  // types and sizes
  { args: d('x*A'), code: input, message: /\*: inner sizes 1 and m differ: x is n×1 \(a vector\), A is m×p \(a matrix\)/ },
  { args: d("A*x + y'"), code: input, message: /\+: shapes differ.*transpose one side/ },
  { args: d('det(x)'), code: input, message: /det needs a square matrix, but x is n×1/ },
  { args: d('x^2'), code: input, message: /use \.\^ for element-wise powers/ },
  { args: d("X/Y*x"), code: input, message: /\/: divides by a scalar, but Y is/ },
  { args: d('foo(x)'), code: input, message: /unknown function 'foo'/ },
  // another tool's name, or a typing slip: what ricci writes instead
  { args: d('norm(x)'), code: input, message: /unknown function 'norm': write norm2\(x\) or norm1\(x\)/ },
  { args: d('sigmod(x)'), code: input, message: /unknown function 'sigmod': did you mean sigmoid\?/ },
  { args: d("Tr(x*x')"), code: input, message: /unknown function 'Tr': did you mean tr\? \(names are case-sensitive\)/ },
  // other tools' syntax: what ricci writes instead
  { args: d('inv(A)\\x'), code: input, message: /unexpected character '\\': write inv\(A\)\*b for MATLAB's A\\b/ },
  { args: d('A.T*x'), code: input, message: /unexpected character '\.': write A' for the transpose \(NumPy's \.T\)/ },
  { args: d('A@x'), code: input, message: /unexpected character '@': write \* for the matrix product/ },
  { args: d('x**2'), code: input, message: /unexpected '\*': \*\* is no operator here; write x\.\^2/ },
  { args: d('x[1]'), code: input, message: /unexpected character '\[': ricci has no indexing/ },
  { args: d('|x|'), code: input, message: /unexpected character '\|': write abs\(x\) or norm2\(x\)/ },
  { args: d('sum(x);'), code: input, message: /unexpected character ';': an expression needs no ;/ },
  { args: d('f = sum(x)'), code: input, message: /unexpected '=': = names parts only after where/ },
  { args: d('x^T*A*x'), code: input, message: /\^: the exponent must be a scalar, but T is .*; for a transpose write x'/ },
  { args: d('(A*x)^T*y'), code: input, message: /for a transpose write \(A\*x\)'/ },
  { args: d('exp + x'), code: input, message: /exp is a function: write exp\(\.\.\.\)/ },
  // a name typed by the convention alone: how to declare it; a declared one: how to broadcast
  { args: d('a + x'), code: input, message: /shapes differ.*a is a scalar by the naming convention .*: declare "a: vector" to make it a vector, or write a\*vector\(1\) to add it to every entry/ },
  { args: d('norm2(A*x - b)^2'), code: input, message: /A\*x is n×1 \(a vector\), b is a scalar; b is a scalar by the naming convention .*declare "b: vector"/ },
  { args: d('c + A'), code: input, message: /declare "c: matrix" to make it a matrix, or write c\*matrix\(1\)/ },
  { args: d('a + x', '--let', 'a: scalar'), code: input, message: /shapes differ.*; to add a scalar s to every entry write s\*vector\(1\)/ },
  // a transposed scalar of the convention (b' is b) was meant as a vector, on either side of the sum
  { args: d("x'*A*x + b'*x + c"), code: input, message: /x'\*A\*x is a scalar, b'\*x is n×1 \(a vector\); b is a scalar by the naming convention .*so b' is that scalar: declare "b: vector"/ },
  { args: d("x'*x - x'*A*(2*b')'"), code: input, message: /so b' is that scalar: declare "b: vector"/ },
  // a vector or matrix of the convention that a scalar scales (y*(w'*x)) in a sum with a scalar: declare it a scalar
  { args: ['derive', "log(1 + exp(-y*(w'*x)))", '--wrt', 'w'], code: input, message: /1 is a scalar, exp\(-y\*\(w'\*x\)\) is n×1 \(a vector\); y is a vector by the naming convention .*: declare "y: scalar" to make it a scalar, or write s\*vector\(1\)/ },
  { args: ['derive', "1 + (w'*x)*-y", '--wrt', 'w'], code: input, message: /y is a vector by the naming convention .*declare "y: scalar"/ },
  { args: ['derive', 'X/2 + 1', '--wrt', 'X'], code: input, message: /X is a matrix by the naming convention .*declare "X: scalar" to make it a scalar, or write s\*matrix\(1\)/ },
  // no hint where the declaration would not make the expression check, or where the name is transposed
  { args: ['derive', "1 + (w'*x)*y'", '--wrt', 'w'], code: input, message: /1 is a scalar, \(w'\*x\)\*y' is 1×p \(a row vector\); to add a scalar s to every entry/ },
  { args: d("x'*x - 2*x"), code: input, message: /shapes differ: x'\*x is a scalar, 2\*x is n×1 \(a vector\); to add a scalar s to every entry/ },
  { args: d("x'*x - x'*A*(2*b')"), code: input, message: /shapes differ: x'\*x is a scalar, x'\*A\*\(2\*b'\) is 1×p \(a row vector\); to add a scalar s to every entry/ },
  { args: d("x'*A*x + b'*x", '--let', 'b: scalar'), code: input, message: /shapes differ.*; to add a scalar s to every entry write s\*vector\(1\)/ },
  { args: d('x .* A'), code: input, message: /\.\*: shapes differ/ },
  { args: d('sum(x, x)'), code: input, message: /sum takes 1 argument, not 2/ },
  { args: d('dpow(A, 2)*x'), code: input, message: /dpow takes 3 or more arguments, not 2/ },
  { args: d('dpow(A, 2, x)*x'), code: input, message: /dpow: the direction E of dpow\(A, k, E\) must have the size of A/ },
  { args: d("_q'*x"), code: input, message: /cannot tell the type of '_q'.*--let/ },
  { args: d('eye(3)*x'), code: input, message: /a size is written rows\(X\), cols\(X\), len\(x\), or a product or quotient of those, not 3/ },
  { args: d('vector(x)'), code: input, message: /vector\(c\) takes a scalar c/ },
  { args: d('tr(x)'), code: input, message: /tr needs a square matrix/ },
  { args: d("A(x)'*A*x"), code: input, message: /unknown function 'A': A is a variable \(write \* for a product\)/ },
  { args: d("det(A)*x'*x", '--let', 'A: vector'), code: input, message: /det needs a square matrix, but A is n×1 \(a vector\)/ },
  { args: d("x'*x", '--wrt', 'y'), code: usage, message: /--wrt given more than once/ },
  // the variable differentiated by does not occur: a silent zero would hide the typo
  { args: ['derive', "x'*x", '--wrt', 'y'], code: input, message: /y does not occur in the expression \(its variables are x\); the derivative by y would be 0/ },
  { args: ['derive', "x'*A*x + b", '--wrt', 'X', '--order', '2'], code: input, message: /X does not occur in the expression \(its variables are x, A, b\)/ },
  { args: ['derive', '2*eye', '--wrt', 'A'], code: input, message: /A does not occur in the expression \(it has no variables\)/ },
  // an error in the expression comes first: x(1) calls an unknown function x, it does not lack x
  { args: ['derive', 'x(1)', '--wrt', 'x'], code: input, message: /unknown function 'x'/ },
  { args: ['code', "sum(x) + _w'*_w", '--wrt', 'y'], code: input, message: /cannot tell the type of '_w'/ },
  { args: ['eval', "x'*A*x", '--wrt', 'y', '--at', 'p.json'], point: '{"x": [1, 2], "A": [[1, 0], [0, 1]]}', code: input, message: /y does not occur in the expression/ },
  { args: ['code', "x'*A*x", '--wrt', 'a'], code: input, message: /a does not occur in the expression/ },
  // valid but unsupported
  { args: d('A^b*x'), code: unsupported, message: /integer constant exponent/ },
  { args: d('A^0.5*x'), code: unsupported, message: /integer constant exponent/ },
  { args: d('A^1e300*x'), code: unsupported, message: /exponent must be below 2\^53/ },
  { args: d('dpow(A, -1, B)*x'), code: unsupported, message: /dpow: the exponent k of dpow\(A, k, E\) must be a constant integer ≥ 0/ },
  // CLI misuse
  { args: ['derive', "x'*x"], code: usage, message: /needs --wrt NAME/ },
  { args: ['derive', '--wrt', 'x'], code: usage, message: /needs an expression/ },
  { args: d("x'*x", '--order', 'two'), code: usage, message: /--order must be a whole number/ },
  { args: d("x'*x", '--order', '99'), code: usage, message: /--order must be a whole number from 0 to 8/ },
  { args: d("x'*x", '--format', 'pdf'), code: usage, message: /--format must be matrix, index, latex or json/ },
  { args: ['frobnicate'], code: usage, message: /unknown command 'frobnicate'/ },
  { args: d("x'*x", '--bogus'), code: usage, message: /unknown option '--bogus'/ },
  { args: d("x'*x", '--let', 'x vector'), code: usage, message: /write NAME: TYPE/ },
  { args: d("x'*x", '--let', 'x: tensor'), code: usage, message: /unknown type 'tensor'/ },
  { args: ['derive', "x'*x", 'y', '--wrt', 'x'], code: usage, message: /takes one expression/ },
  { args: ['eval', "x'*x", '--wrt', 'x'], code: usage, message: /needs --at POINT\.json/ },
  { args: ['derive', "x'*x", '--wrt', 'sin'], code: input, message: /'sin' is a function name/ },
  { args: ['derive', "x'*x", '--wrt', '2x'], code: input, message: /'2x' is not a variable name/ },
  { args: ['derive', "x'*x", '--wrt'], code: usage, message: /--wrt needs a value/ },
  { args: ['help', 'nothing'], code: usage, message: /no help for 'nothing'/ },
  // bad point files
  { args: e("x'*x"), code: input, message: /cannot read the point file p\.json: no such file/ },
  { args: e("x'*x"), point: '{"x": [1, 2', code: input, message: /not valid JSON/ },
  { args: e("x'*x"), point: '[1, 2]', code: input, message: /must hold a JSON object/ },
  { args: e("x'*A*x"), point: '{"x": [1, 2]}', code: input, message: /no value given for A/ },
  { args: e("x'*x"), point: '{"x": [[1, 2], [3, 4]]}', code: input, message: /x must be a vector, but the value given is a 2×2 array/ },
  { args: e("x'*A*x"), point: '{"x": [1, 2], "A": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}', code: input, message: /sizes must agree/ },
  { args: e("x'*x"), point: '{"x": [1, "two"]}', code: input, message: /x\[1\]: expected a finite number, got the string "two"/ },
  { args: e("x'*A*x"), point: '{"x": [1, 2], "A": [[1, 2], [3]]}', code: input, message: /rows of different lengths/ },
  { args: e("x'*A*x", '--let', 'A: symmetric matrix'), point: '{"x": [1, 2], "A": [[1, 2], [3, 4]]}', code: input, message: /declared symmetric, but entries \(2,1\) and \(1,2\) differ/ },
  { args: e("x'*inv(A)*x"), point: '{"x": [1, 2], "A": [[1, 2], [2, 4]]}', code: input, message: /singular/ },
  { args: e("x'*A^-3*x"), point: '{"x": [1, 2], "A": [[1, 2], [2, 4]]}', code: input, message: /singular/ },
  { args: e("x'*x"), point: '{"x": []}', code: input, message: /empty array/ },
  // nothing hangs: deep nesting and very long inputs
  { args: d('('.repeat(5000) + 'x' + ')'.repeat(5000)), code: input, message: /nested too deeply/ },
  { args: ['derive', '--wrt', 'x', '--', '-'.repeat(5000) + 'x'], code: input, message: /nested too deeply/ },
  { args: d('x+'.repeat(15000) + 'x'), code: input, message: /too long/ },
];

function runCase(c: Case): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(c.args, {
    out: (s) => (out += s),
    err: (s) => (err += s),
    readFile: () => {
      if (c.point === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return c.point;
    },
  });
  return { code, out, err };
}

describe('bad input', () => {
  test('the table has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  test.each(CASES.map((c, i) => [i, c.args.slice(0, 2).join(' ').slice(0, 60), c] as const))('#%i %s', (_i, _label, c) => {
    const t0 = Date.now();
    const r = runCase(c);
    expect(r.err).toMatch(c.message);
    expect(r.code).toBe(c.code);
    expect(r.out).toBe('');
    expect(r.err).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('errors in the expression are marked with a caret under the offending text', () => {
    const r = runCase({ args: d('x*A'), code: input, message: /./ });
    expect(r.err).toContain('  x*A\n   ^\n');
  });

  test('a long valid input is handled quickly', () => {
    const t0 = Date.now();
    const r = runCase({ args: d(Array(1500).fill("x'*x").join(' + ')), code: 0, message: /./ });
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe('3000*x');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test('the installed command prints messages without stack traces (subprocess)', () => {
    const bin = fileURLToPath(new URL('../../bin/ricci.js', import.meta.url));
    for (const [args, code] of [
      [d('x*A'), input],
      [['derive', "x'*x"], usage],
      [d('A^b*x'), unsupported],
      [d('('.repeat(5000) + 'x' + ')'.repeat(5000)), input],
    ] as const) {
      const p = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(p.status).toBe(code);
      expect(p.stdout).toBe('');
      expect(p.stderr).toMatch(/^ricci: /);
      expect(p.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
