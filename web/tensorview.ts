/**
 * How a derivative of any order is laid out as a 2-D picture. Its axes fall into groups: the
 * expression's axes (if any), then the variable's axes once per order. Each group becomes one
 * display axis; a matrix group (m×n) is flattened in the vec layout (column-major, as in
 * Magnus–Neudecker: entry (i, j) at i + m·j), so its display axis falls into n blocks of m.
 * The last two groups are rows and columns; groups before them are chosen by slice selectors.
 * A single group is shown in its own shape: a gradient by a matrix looks like the matrix.
 */

export interface Group {
  /** The tensor axes of the group, in order. */
  readonly axes: readonly number[];
  /** Their sizes. */
  readonly sizes: readonly number[];
  /** Entries in the group (the product of its sizes). */
  readonly length: number;
}

export interface View {
  readonly shape: readonly number[];
  /** Slice groups (each picked by a selector), then the row group and the column group. */
  readonly slices: readonly Group[];
  readonly rows: Group | undefined;
  readonly cols: Group | undefined;
  readonly nRows: number;
  readonly nCols: number;
  /** Display rows (columns) after which a vec block ends: block outlines. */
  readonly rowBlocks: number;
  readonly colBlocks: number;
  /** Whether a matrix group is flattened in the vec layout. */
  readonly vec: boolean;
}

function group(shape: readonly number[], from: number, rank: number): Group {
  const axes = Array.from({ length: rank }, (_, i) => from + i);
  const sizes = axes.map((a) => shape[a]!);
  return { axes, sizes, length: sizes.reduce((p, k) => p * k, 1) };
}

/** Block length along a display axis: m for a vec'd m×n group with n > 1, else none (0). */
function blocks(g: Group | undefined): number {
  return g && g.axes.length === 2 && g.sizes[1]! > 1 && g.sizes[0]! > 1 ? g.sizes[0]! : 0;
}

/**
 * The view of a tensor of shape shape(f) ++ shape(x)^order, where f has exprRank axes and x has
 * wrtRank axes.
 */
export function tensorView(shape: readonly number[], exprRank: number, wrtRank: number, order: number): View {
  const groups: Group[] = [];
  if (exprRank > 0) groups.push(group(shape, 0, exprRank));
  if (wrtRank > 0) for (let k = 0; k < order; k++) groups.push(group(shape, exprRank + k * wrtRank, wrtRank));
  if (groups.length === 0) return { shape, slices: [], rows: undefined, cols: undefined, nRows: 1, nCols: 1, rowBlocks: 0, colBlocks: 0, vec: false };
  if (groups.length === 1) {
    // One group in its own shape: a vector is a column, a matrix a matrix.
    const g = groups[0]!;
    const rows = group(shape, g.axes[0]!, 1);
    const cols = g.axes.length === 2 ? group(shape, g.axes[1]!, 1) : undefined;
    return { shape, slices: [], rows, cols, nRows: rows.length, nCols: cols?.length ?? 1, rowBlocks: 0, colBlocks: 0, vec: false };
  }
  const rows = groups[groups.length - 2]!;
  const cols = groups[groups.length - 1]!;
  const vec = groups.some((g) => g.axes.length === 2);
  return { shape, slices: groups.slice(0, -2), rows, cols, nRows: rows.length, nCols: cols.length, rowBlocks: blocks(rows), colBlocks: blocks(cols), vec };
}

/** The indices of a group's axes at a position along its display axis (vec layout: first axis fastest). */
export function unvec(g: Group, at: number): number[] {
  if (g.axes.length === 1) return [at];
  const m = g.sizes[0]!;
  return [at % m, Math.floor(at / m)];
}

/** The tensor's multi-index at a display cell, for the given slice positions. */
export function cellIndex(v: View, slice: readonly number[], row: number, col: number): number[] {
  const index = new Array<number>(v.shape.length).fill(0);
  const put = (g: Group | undefined, at: number): void => {
    if (!g) return;
    unvec(g, at).forEach((k, i) => (index[g.axes[i]!] = k));
  };
  v.slices.forEach((g, i) => put(g, slice[i] ?? 0));
  put(v.rows, row);
  put(v.cols, col);
  return index;
}

/** Row-major offset of a multi-index. */
export function offsetOf(shape: readonly number[], index: readonly number[]): number {
  let o = 0;
  for (let a = 0; a < shape.length; a++) o = o * shape[a]! + index[a]!;
  return o;
}

/**
 * Row-major offsets of a slice's cells, as base + rows[r] + cols[c] (the offset is linear in the
 * index, and rows, columns and slices own disjoint axes): a whole slice without allocating per cell.
 */
export function sliceOffsets(v: View, slice: readonly number[]): { base: number; rows: Int32Array; cols: Int32Array } {
  const base = offsetOf(v.shape, cellIndex(v, slice, 0, 0));
  const rows = Int32Array.from({ length: v.nRows }, (_, r) => offsetOf(v.shape, cellIndex(v, slice, r, 0)) - base);
  const cols = Int32Array.from({ length: v.nCols }, (_, c) => offsetOf(v.shape, cellIndex(v, slice, 0, c)) - base);
  return { base, rows, cols };
}
