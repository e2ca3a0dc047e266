import { describe, expect, it } from 'vitest';
import { cellIndex, offsetOf, sliceOffsets, tensorView, type View } from '../../web/tensorview.js';

/** Every display cell of every slice, as row-major offsets into the tensor. */
function allOffsets(v: View): number[] {
  const out: number[] = [];
  const slices = v.slices.map((g) => g.length);
  const total = slices.reduce((p, k) => p * k, 1);
  for (let s = 0; s < total; s++) {
    const pos: number[] = [];
    let rest = s;
    for (const k of [...slices].reverse()) {
      pos.unshift(rest % k);
      rest = Math.floor(rest / k);
    }
    for (let r = 0; r < v.nRows; r++) for (let c = 0; c < v.nCols; c++) out.push(offsetOf(v.shape, cellIndex(v, pos, r, c)));
  }
  return out;
}

describe('the 2-D layout of a derivative for the heat map', () => {
  it('a gradient has the shape of its variable: a column for a vector, the matrix for a matrix', () => {
    expect(tensorView([4], 0, 1, 1)).toMatchObject({ nRows: 4, nCols: 1, slices: [], vec: false });
    const g = tensorView([3, 4], 0, 2, 1);
    expect(g).toMatchObject({ nRows: 3, nCols: 4, rowBlocks: 0, colBlocks: 0, vec: false });
    expect(cellIndex(g, [], 2, 1)).toEqual([2, 1]);
  });

  it('a Hessian by a matrix is (mn)×(mn) in the vec layout, blocks of m outlined', () => {
    const h = tensorView([3, 4, 3, 4], 0, 2, 2);
    expect(h).toMatchObject({ nRows: 12, nCols: 12, rowBlocks: 3, colBlocks: 3, vec: true, slices: [] });
    // Row i + 3j, column k + 3l is entry (i, j, k, l): columns of X stacked.
    expect(cellIndex(h, [], 2 + 3 * 1, 0 + 3 * 3)).toEqual([2, 1, 0, 3]);
  });

  it('a Jacobian: rows follow f, columns the variable', () => {
    expect(tensorView([5, 4], 1, 1, 1)).toMatchObject({ nRows: 5, nCols: 4, vec: false });
    const j = tensorView([5, 3, 4], 1, 2, 1);
    expect(j).toMatchObject({ nRows: 5, nCols: 12, rowBlocks: 0, colBlocks: 3, vec: true });
    expect(cellIndex(j, [], 4, 5)).toEqual([4, 2, 1]);
    // A matrix by a scalar looks like the matrix.
    expect(tensorView([2, 3], 2, 0, 1)).toMatchObject({ nRows: 2, nCols: 3 });
  });

  it('order 3 and up: slices over the leading groups', () => {
    const t = tensorView([3, 3, 3], 0, 1, 3);
    expect(t.slices.map((g) => g.length)).toEqual([3]);
    expect([t.nRows, t.nCols]).toEqual([3, 3]);
    expect(cellIndex(t, [2], 0, 1)).toEqual([2, 0, 1]);
    const f = tensorView([2, 2, 2, 2, 2, 2], 0, 2, 3);
    expect(f.slices.map((g) => g.length)).toEqual([4]);
    expect(cellIndex(f, [3], 1, 2)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(tensorView([4, 3, 3, 3], 1, 1, 3).slices.map((g) => g.length)).toEqual([4, 3]);
  });

  it('a scalar is one cell; sizes of 1 have no blocks', () => {
    expect(tensorView([], 0, 0, 2)).toMatchObject({ nRows: 1, nCols: 1 });
    expect(tensorView([1, 4, 1, 4], 0, 2, 2)).toMatchObject({ nRows: 4, nCols: 4, rowBlocks: 0, colBlocks: 0 });
    expect(tensorView([4, 1, 4, 1], 0, 2, 2)).toMatchObject({ nRows: 4, nCols: 4, rowBlocks: 0, colBlocks: 0 });
  });

  it('shows every entry exactly once', () => {
    const cases: [number[], number, number, number][] = [
      [[4], 0, 1, 1],
      [[3, 4], 0, 2, 1],
      [[3, 4, 3, 4], 0, 2, 2],
      [[5, 3, 4], 1, 2, 1],
      [[2, 3, 2, 3], 2, 2, 1],
      [[3, 3, 3], 0, 1, 3],
      [[2, 3, 2, 3, 2, 3], 0, 2, 3],
      [[4, 3, 3, 3], 1, 1, 3],
      [[2, 3, 3, 3, 3], 1, 1, 4],
      [[], 0, 0, 1],
      [[1, 1, 1, 1], 0, 2, 2],
    ];
    for (const [shape, e, w, k] of cases) {
      const offsets = allOffsets(tensorView(shape, e, w, k));
      const n = shape.reduce((p, s) => p * s, 1);
      expect(offsets.length, JSON.stringify(shape)).toBe(n);
      expect(new Set(offsets).size, JSON.stringify(shape)).toBe(n);
    }
  });
});

describe('slice offsets', () => {
  it('equal the offsets of cellIndex, cell by cell', () => {
    const cases: [number[], number, number, number, number[]][] = [
      [[3, 4, 3, 4], 0, 2, 2, []],
      [[5, 3, 4], 1, 2, 1, []],
      [[2, 3, 2, 3, 2, 3], 0, 2, 3, [4]],
      [[4, 3, 3, 3], 1, 1, 3, [2, 1]],
      [[3, 4], 0, 2, 1, []],
    ];
    for (const [shape, e, w, k, slice] of cases) {
      const v = tensorView(shape, e, w, k);
      const { base, rows, cols } = sliceOffsets(v, slice);
      for (let r = 0; r < v.nRows; r++) for (let c = 0; c < v.nCols; c++) expect(base + rows[r]! + cols[c]!).toBe(offsetOf(shape, cellIndex(v, slice, r, c)));
    }
  });
});
