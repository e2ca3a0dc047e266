/** The CLI's interface: formats, help, exit codes, stdout/stderr separation, the installed bin. */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import katex from 'katex';
import { run } from '../../src/cli/main.js';

function cli(args: string[], file?: string): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(args, { out: (s) => (out += s), err: (s) => (err += s), readFile: () => file ?? '' });
  return { code, out, err };
}

describe('ricci derive', () => {
  test('matrix form by default; the order and declarations apply', () => {
    expect(cli(['derive', "x'*A*x", '--wrt', 'x'])).toEqual({ code: 0, out: "(A + A')*x\n", err: '' });
    expect(cli(['derive', "x'*A*x", '--wrt', 'x', '--order', '2']).out).toBe("A + A'\n");
    expect(cli(['derive', "x'*A*x", '--wrt', 'x', '--order=2', '--let', 'A: symmetric matrix']).out).toBe('2*A\n');
    expect(cli(['derive', "x'*A*x", '--wrt', 'x', '--order', '0']).out).toBe("x'*A*x\n");
  });

  test('no matrix form: index form on stdout, a one-line note on stderr', () => {
    const r = cli(['derive', "(x'*x)^2", '--wrt', 'x', '--order', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('8 (x^i δ_j^k + x^k δ^i_j + x_j δ^{ik})\n');
    expect(r.err).toBe('note: no matrix form: the result is a tensor of order 3 (shape n×n×n); shown in index notation\n');
    // Where the vec layout has a matrix form, the note gives it.
    const h = cli(['derive', "X'*X", '--wrt', 'X']);
    expect(h.code).toBe(0);
    expect(h.err).toBe(
      "note: no matrix form: the result is a tensor of order 4 (shape m×m×n×m); shown in index notation; the vec layout (--layout vec) writes it as kron(X', eye)*commutation(rows(X), cols(X)) + kron(eye, X')\n",
    );
  });

  // A divisor that simplifies to exactly 0 makes the expression undefined everywhere: the result
  // is 0/0 (it was 0 before: 1/(norm2(x)^2 - x'*x) by x printed vector(0)), and a note marks it.
  test('a divisor that is identically 0: a note that marks it, the result undefined', () => {
    const r = cli(['derive', "1/(norm2(x)^2 - x'*x)", '--wrt', 'x']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\/0\n$/);
    expect(r.err).toBe("note: the divisor norm2(x)^2 - x'*x is identically 0, so the expression and its derivatives are undefined everywhere\n  1/(norm2(x)^2 - x'*x)\n     ^^^^^^^^^^^^^^^^^\n");
    const s = cli(['derive', "inv(S - S')*x + x./(a - a)", '--wrt', 'x', '--let', 'S: symmetric matrix']);
    expect(s.err.match(/^note: the divisor (\S+ - \S+) is identically 0/gm)).toEqual(["note: the divisor S - S' is identically 0", 'note: the divisor a - a is identically 0']);
    // Divisors that are not zero, or zero as written (the page warns of x/0 as typed): no note.
    for (const e of ["x/(x'*y)", 'x/(a - b)', "inv(A - A')*x", 'x/0']) expect(cli(['derive', e, '--wrt', 'x']).err, e).toBe('');
  });

  test('--format index, latex and json', () => {
    expect(cli(['derive', "x'*A*x", '--wrt', 'x', '--format', 'index']).out).toBe('(A^i_p + A_p^i) x^p\n');
    const latex = cli(['derive', 'log(det(X))', '--wrt', 'X', '--format', 'latex']).out.trim();
    expect(latex).toBe('X^{-\\top}');
    expect(() => katex.renderToString(latex, { throwOnError: true })).not.toThrow();
    const j = JSON.parse(cli(['derive', 'A*x', '--wrt', 'A', '--format', 'json']).out);
    expect(j).toMatchObject({ matrix: null, index: 'δ^i_j x^k', latex: expect.any(String), shape: ['n', 'n', 'm'], layout: 'default', temporaries: [] });
    const k = JSON.parse(cli(['derive', 'tr(A*X)', '--wrt', 'X', '--format', 'json']).out);
    expect(k.matrix).toBe("A'");
    expect(k.shape).toEqual(['m', 'n']);
  });

  test('declarations of names that are also JavaScript object properties', () => {
    expect(cli(['derive', "__proto__'*__proto__", '--wrt', '__proto__', '--let', '__proto__: vector']).out).toBe('2*__proto__\n');
    expect(cli(['derive', 'constructor*x', '--wrt', 'x', '--let', 'constructor: scalar']).out).toBe('constructor*eye\n');
    expect(cli(['derive', "x'*x", '--wrt', 'x', '--let', 'x: vector', '--let', 'x: vector']).err).toMatch(/declares x twice/);
  });

  test('an expression may start with a minus sign, and -- ends the options', () => {
    expect(cli(['derive', "-x'*x", '--wrt', 'x']).out).toBe('-2*x\n');
    expect(cli(['derive', '--wrt', 'x', '--', "-x'*x"]).out).toBe('-2*x\n');
  });

  test('help explains every command with examples', () => {
    const main = cli(['--help']);
    expect(main.code).toBe(0);
    for (const s of ['ricci derive', 'ricci eval', '--wrt', '--order', '--let', '--format', 'Examples', 'Exit codes']) expect(main.out).toContain(s);
    const d = cli(['derive', '--help']);
    expect(d.code).toBe(0);
    for (const s of ['--format F', 'json', 'index', 'latex', 'symmetric matrix', 'Examples']) expect(d.out).toContain(s);
    expect(cli(['help', 'eval']).out).toContain('--at POINT.json');
    expect(cli(['eval', '--help']).out).toContain('"shape"');
    const none = cli([]);
    expect(none.code).toBe(1);
    expect(none.err).toContain('Usage:');
  });
});

describe('ricci eval', () => {
  const point = '{"A": [[2, 1], [1, 3]], "x": [1, 2]}';
  test('prints shape and value in the layout of the design', () => {
    expect(cli(['eval', "x'*A*x", '--wrt', 'x', '--at', 'p.json'], point).out).toBe('{"shape":[2],"value":[8,14]}\n');
    expect(cli(['eval', "x'*A*x", '--wrt', 'x', '--order', '2', '--at', 'p.json'], point).out).toBe('{"shape":[2,2],"value":[[4,2],[2,6]]}\n');
    expect(cli(['eval', "x'*A*x", '--wrt', 'x', '--order', '0', '--at', 'p.json'], point).out).toBe('{"shape":[],"value":18}\n');
    const r = JSON.parse(cli(['eval', 'A*x', '--wrt', 'A', '--at', 'p.json'], point).out);
    expect(r.shape).toEqual([2, 2, 2]);
    expect(r.value).toEqual([[[1, 2], [0, 0]], [[0, 0], [1, 2]]]);
  });

  test('values outside a function\'s domain are reported, not hidden', () => {
    const r = cli(['eval', 'sum(log(x))', '--wrt', 'x', '--at', 'p.json'], '{"x": [-1, 2]}');
    expect(r.code).toBe(0);
    expect(r.out).toBe('{"shape":[2],"value":[-1,0.5]}\n');
    const v = cli(['eval', 'sum(log(x))', '--wrt', 'x', '--order', '0', '--at', 'p.json'], '{"x": [-1, 2]}');
    expect(v.out).toBe('{"shape":[],"value":null}\n');
    expect(v.err).toMatch(/not finite/);
  });
});

describe('the installed command', () => {
  test('bin/ricci.js runs the built CLI (npx ricci)', () => {
    const bin = fileURLToPath(new URL('../../bin/ricci.js', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'ricci-'));
    const file = join(dir, 'point.json');
    writeFileSync(file, '{"x": [1, 2], "A": [[2, 1], [1, 3]]}');
    const d = spawnSync(process.execPath, [bin, 'derive', "x'*A*x", '--wrt', 'x', '--order', '2'], { encoding: 'utf8' });
    expect(d.status).toBe(0);
    expect(d.stdout).toBe("A + A'\n");
    const e = spawnSync(process.execPath, [bin, 'eval', "x'*A*x", '--wrt', 'x', '--at', file], { encoding: 'utf8' });
    expect(e.stdout).toBe('{"shape":[2],"value":[8,14]}\n');
    const s = spawnSync(process.execPath, [bin, 'eval', "x'*A*x", '--wrt', 'x', '--at', '-'], { encoding: 'utf8', input: '{"x": [1, 2], "A": [[2, 1], [1, 3]]}' });
    expect(s.stdout).toBe('{"shape":[2],"value":[8,14]}\n');
  });
});
