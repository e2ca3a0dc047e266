/**
 * Compiled functions writing into caller buffers (`f(values, { out })`): the same numbers as a
 * new buffer, no sizeable allocation per call, clear errors for a wrong size or a buffer that
 * shares memory with an input, and valueGradHessian's three buffers.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { hessian, gradient, valueGradHessian, RicciError } from '../../src/index.js';

afterEach(() => vi.unstubAllGlobals());

const point = (n: number) => ({
  A: { shape: [n, n], data: Float64Array.from({ length: n * n }, (_, i) => Math.sin(i)) },
  x: Float64Array.from({ length: n }, (_, i) => Math.cos(i)),
});

describe('f(values, { out })', () => {
  test('the result is written into the buffer given (a Float64Array or a { data } tensor), garbage overwritten', () => {
    for (const [expr, wrt] of [["x'*A*x", 'x'], ['sum(exp(x))', 'x'], ["x'*A*x + sum(exp(x))", 'x'], ['A*x', 'x']] as const) {
      const f = (expr === 'A*x' ? gradient('sum(A*x)', wrt) : hessian(expr, wrt)).compile();
      for (const n of [1, 3, 17, 70]) {
        const fresh = f(point(n));
        const out = new Float64Array(fresh.data.length).fill(NaN);
        const r = f(point(n), { out });
        expect(r.data).toBe(out);
        expect(r.shape).toEqual(fresh.shape);
        expect(Array.from(out)).toEqual(Array.from(fresh.data));
        const t = { data: new Float64Array(fresh.data.length).fill(7) };
        expect(f(point(n), { out: t }).data).toBe(t.data);
        expect(Array.from(t.data)).toEqual(Array.from(fresh.data));
      }
    }
  });

  test('a diagonal Hessian (written onto the diagonal of a zeroed buffer) clears the caller buffer first', () => {
    const f = hessian('sum(exp(x))', 'x').compile();
    const out = new Float64Array(16).fill(5);
    f({ x: [0, 1, 2, 3] }, { out });
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(out[i * 4 + j]).toBe(i === j ? Math.exp(i) : 0);
  });

  test('repeated calls with out allocate no buffer of the result size (plan and scratch are kept)', () => {
    const n = 64;
    // Count new Float64Arrays of at least n·n entries with a buffer of their own while the
    // compiled function runs (views of an existing buffer, such as subarray, allocate none).
    let big = 0;
    class Counting extends Float64Array {
      constructor(...args: unknown[]) {
        super(...(args as [number]));
        if (this.length >= n * n && (typeof args[0] === 'number' || ArrayBuffer.isView(args[0]) || Array.isArray(args[0]))) big++;
      }
    }
    vi.stubGlobal('Float64Array', Counting);
    const p = point(n);
    const f = hessian("x'*A*x + sum(exp(A*x))", 'x').compile();
    const out = new Counting(n * n);
    f(p, { out }); // plans (allocates its scratch once)
    big = 0;
    for (let r = 0; r < 10; r++) f(p, { out });
    expect(big).toBe(0);
    for (let r = 0; r < 10; r++) f(p);
    expect(big).toBeGreaterThanOrEqual(10);
  });

  test('a buffer of the wrong size, or sharing memory with an input, is an input error', () => {
    const f = hessian("x'*A*x", 'x').compile();
    const p = point(3);
    expect(() => f(p, { out: new Float64Array(8) })).toThrow(RicciError);
    expect(() => f(p, { out: new Float64Array(8) })).toThrow('out: the result has 9 entries, but the buffer given has 8');
    expect(() => f(p, { out: p.A.data })).toThrow('out: the buffer shares memory with the input A');
    const shared = new Float64Array(20);
    expect(() => f({ A: { shape: [3, 3], data: shared.subarray(0, 9) }, x: p.x }, { out: shared.subarray(5, 14) })).toThrow('shares memory with the input A');
    expect(() => f(p, { out: [1, 2, 3] as unknown as Float64Array })).toThrow('out: expected a Float64Array or { data: Float64Array }');
  });

  test('valueGradHessian: any of the three results into caller buffers', () => {
    const f = valueGradHessian("x'*A*x + sum(exp(x))", 'x');
    const p = point(5);
    const fresh = f(p);
    const value = new Float64Array(1).fill(NaN);
    const hess = new Float64Array(25).fill(NaN);
    const r = f(p, { out: { value, hessian: hess } });
    expect(r.value.data).toBe(value);
    expect(r.hessian.data).toBe(hess);
    expect(r.gradient.data).not.toBe(fresh.gradient.data);
    expect(Array.from(value)).toEqual(Array.from(fresh.value.data));
    expect(Array.from(hess)).toEqual(Array.from(fresh.hessian.data));
    expect(Array.from(r.gradient.data)).toEqual(Array.from(fresh.gradient.data));
    expect(() => f(p, { out: { gradient: hess.subarray(0, 5), hessian: hess } })).toThrow('two results share one buffer');
  });

  test('a node that is several results (exp(a): value, gradient and Hessian) fills each buffer', () => {
    const f = valueGradHessian('exp(a)', 'a');
    const bufs = { value: new Float64Array(1), gradient: new Float64Array(1), hessian: new Float64Array(1) };
    const r = f({ a: 1 }, { out: bufs });
    for (const k of ['value', 'gradient', 'hessian'] as const) {
      expect(r[k].data).toBe(bufs[k]);
      expect(bufs[k][0]).toBe(Math.E);
    }
  });
});
