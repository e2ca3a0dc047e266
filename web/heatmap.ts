/**
 * A heat map of a derivative at a point: one cell per entry of the shown slice, on a canvas, in a
 * diverging colour scale symmetric about zero (blue negative, red positive, white zero), with
 * structural zeros (zero for every value of the variables, from the symbolic form) in grey apart
 * from small values, entries that are not finite in black, and the blocks of the vec layout
 * outlined. Hovering or moving with the arrow keys over a cell shows its indices and value.
 */
import { cellIndex, offsetOf, sliceOffsets, type View } from './tensorview.js';

/** ColorBrewer RdBu, reversed: -1 → dark blue, 0 → near white, +1 → dark red. */
const DIVERGING = ['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f'].map(
  (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)] as const,
);
const ZERO_RGB = [176, 180, 188] as const;
const NAN_RGB = [0, 0, 0] as const;
const MOVES: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['ArrowUp', [-1, 0]],
  ['ArrowDown', [1, 0]],
  ['ArrowLeft', [0, -1]],
  ['ArrowRight', [0, 1]],
]);
/** Largest cell drawn, and the height the drawing may take (or the width, if that is more). */
const MAX_CELL_PX = 28;
const TARGET_HEIGHT_PX = 520;

/** The colour of t ∈ [-1, 1] on the diverging scale. */
export function divergingColour(t: number): readonly [number, number, number] {
  const x = (Math.max(-1, Math.min(1, t)) + 1) * 0.5 * (DIVERGING.length - 1);
  const i = Math.min(DIVERGING.length - 2, Math.floor(x));
  const f = x - i;
  const a = DIVERGING[i]!;
  const b = DIVERGING[i + 1]!;
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

/** The scale at 1,023 levels, looked up while painting. */
const LEVELS = 1023;
const LUT: readonly (readonly [number, number, number])[] = Array.from({ length: LEVELS }, (_, i) => divergingColour((2 * i) / (LEVELS - 1) - 1));
function lookUp(t: number): readonly [number, number, number] {
  return LUT[Math.round(((Math.max(-1, Math.min(1, t)) + 1) / 2) * (LEVELS - 1))]!;
}

/** Largest |v| over the finite entries (1 where there are none, so that the scale is defined). */
export function scaleOf(data: Float64Array): number {
  let m = 0;
  for (const v of data) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m > 0 ? m : 1;
}

/** A value for people: 6 significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(5);
}

export interface HeatInput {
  readonly view: View;
  readonly data: Float64Array;
  readonly pattern: Uint8Array;
  /** Positions of the slice groups. */
  readonly slice: readonly number[];
  /** |value| that maps to the ends of the scale. */
  readonly scale: number;
  /** Name of the entries for the readout: "H" → "H[1, 2] = 0.5". */
  readonly name: string;
}

export interface Cell {
  readonly row: number;
  readonly col: number;
  /** 0-based multi-index into the tensor. */
  readonly index: readonly number[];
  readonly value: number;
  readonly structuralZero: boolean;
}

export class HeatMap {
  private input: HeatInput | undefined;
  private cell = 1;
  private base: HTMLCanvasElement | undefined;
  private cursor: { row: number; col: number } | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly tip: HTMLElement,
    private readonly readout: HTMLElement,
    private readonly colours: () => { outline: string; cursor: string },
  ) {
    canvas.addEventListener('mousemove', (ev) => this.hover(ev));
    canvas.addEventListener('mouseleave', () => (this.tip.hidden = true));
    canvas.addEventListener('keydown', (ev) => this.key(ev));
  }

  /** Draws a slice; the width available sets the cell size (at least one pixel per entry). */
  show(input: HeatInput, availableWidth: number): void {
    this.input = input;
    const { view } = input;
    this.cell = Math.max(1, Math.min(MAX_CELL_PX, Math.floor(availableWidth / view.nCols), Math.floor(Math.max(TARGET_HEIGHT_PX, availableWidth) / view.nRows)));
    this.base = this.paint(input);
    const w = view.nCols * this.cell;
    const h = view.nRows * this.cell;
    const dpr = Math.max(1, Math.round(globalThis.devicePixelRatio || 1));
    this.canvas.width = w * dpr + 1;
    this.canvas.height = h * dpr + 1;
    this.canvas.style.width = `${w + 1 / dpr}px`;
    this.canvas.style.height = `${h + 1 / dpr}px`;
    // The grid, for whoever reads the map by position (assistive tools, tests).
    this.canvas.dataset['rows'] = String(view.nRows);
    this.canvas.dataset['cols'] = String(view.nCols);
    this.canvas.dataset['cell'] = String(this.cell);
    this.canvas.setAttribute('aria-label', `Heat map of ${input.name}: ${view.nRows} rows by ${view.nCols} columns; use the arrow keys to read entries`);
    if (this.cursor && (this.cursor.row >= view.nRows || this.cursor.col >= view.nCols)) this.cursor = undefined;
    this.redraw();
    this.tip.hidden = true;
    this.describe(this.cursor ? this.cellAt(this.cursor.row, this.cursor.col) : undefined);
  }

  clear(): void {
    this.input = undefined;
    delete this.canvas.dataset['rows'];
    delete this.canvas.dataset['cols'];
    this.canvas.width = 0;
    this.canvas.height = 0;
    this.canvas.style.width = '0';
    this.canvas.style.height = '0';
    this.tip.hidden = true;
    this.readout.textContent = '';
  }

  /** The entry at a display cell of the slice shown. */
  cellAt(row: number, col: number): Cell {
    const { view, data, pattern, slice } = this.input!;
    const index = cellIndex(view, slice, row, col);
    const at = offsetOf(view.shape, index);
    return { row, col, index, value: data[at]!, structuralZero: pattern[at] === 0 };
  }

  /** One pixel per entry, then scaled up without smoothing. */
  private paint(input: HeatInput): HTMLCanvasElement {
    const { view, scale, data, pattern } = input;
    const small = document.createElement('canvas');
    small.width = view.nCols;
    small.height = view.nRows;
    const ctx = small.getContext('2d')!;
    const img = ctx.createImageData(view.nCols, view.nRows);
    const { base, rows, cols } = sliceOffsets(view, input.slice);
    for (let r = 0; r < view.nRows; r++)
      for (let c = 0; c < view.nCols; c++) {
        const at = base + rows[r]! + cols[c]!;
        const v = data[at]!;
        const rgb = pattern[at] === 0 ? ZERO_RGB : Number.isFinite(v) ? lookUp(v / scale) : NAN_RGB;
        const p = (r * view.nCols + c) * 4;
        img.data[p] = rgb[0];
        img.data[p + 1] = rgb[1];
        img.data[p + 2] = rgb[2];
        img.data[p + 3] = 255;
      }
    ctx.putImageData(img, 0, 0);
    return small;
  }

  private redraw(): void {
    const input = this.input;
    if (!input || !this.base) return;
    const { view } = input;
    const ctx = this.canvas.getContext('2d')!;
    const dpr = this.canvas.width > 1 ? (this.canvas.width - 1) / (view.nCols * this.cell) : 1;
    const px = this.cell * dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.base, 0, 0, view.nCols * px, view.nRows * px);
    const { outline, cursor } = this.colours();
    ctx.strokeStyle = outline;
    ctx.lineWidth = Math.max(1, Math.round(dpr));
    ctx.beginPath();
    const line = (x0: number, y0: number, x1: number, y1: number): void => {
      ctx.moveTo(x0 + 0.5, y0 + 0.5);
      ctx.lineTo(x1 + 0.5, y1 + 0.5);
    };
    for (let r = view.rowBlocks; view.rowBlocks > 0 && r < view.nRows; r += view.rowBlocks) line(0, r * px, view.nCols * px, r * px);
    for (let c = view.colBlocks; view.colBlocks > 0 && c < view.nCols; c += view.colBlocks) line(c * px, 0, c * px, view.nRows * px);
    ctx.rect(0.5, 0.5, view.nCols * px, view.nRows * px);
    ctx.stroke();
    if (this.cursor) {
      ctx.strokeStyle = cursor;
      ctx.lineWidth = Math.max(2, Math.round(2 * dpr));
      ctx.strokeRect(this.cursor.col * px + 1, this.cursor.row * px + 1, Math.max(px - 2, 1), Math.max(px - 2, 1));
    }
  }

  private text(c: Cell): string {
    const at = c.index.map((k) => k + 1).join(', ');
    const what = c.structuralZero ? ' (structural zero)' : Number.isFinite(c.value) ? '' : ' (not finite)';
    // Where matrix axes are flattened, the cell is also the entry (row, column) of the derivative in the vec layout.
    const vec = this.input!.view.vec ? `; vec layout: row ${c.row + 1}, column ${c.col + 1}` : '';
    return `${this.input!.name}[${at}] = ${formatValue(c.value)}${what}${vec}`;
  }

  /** The readout under the map (and its data attributes, which hold the exact value). */
  private describe(c: Cell | undefined): void {
    if (!c) {
      this.readout.textContent = 'Point at a cell, or focus the map and use the arrow keys, to read an entry.';
      delete this.readout.dataset['index'];
      delete this.readout.dataset['value'];
      return;
    }
    this.readout.textContent = this.text(c);
    this.readout.dataset['index'] = c.index.join(',');
    this.readout.dataset['value'] = String(c.value);
  }

  private hover(ev: MouseEvent): void {
    const input = this.input;
    if (!input) return;
    const rect = this.canvas.getBoundingClientRect();
    const col = Math.floor((ev.clientX - rect.left) / this.cell);
    const row = Math.floor((ev.clientY - rect.top) / this.cell);
    if (row < 0 || col < 0 || row >= input.view.nRows || col >= input.view.nCols) {
      this.tip.hidden = true;
      return;
    }
    const c = this.cellAt(row, col);
    this.tip.textContent = this.text(c);
    this.tip.dataset['index'] = c.index.join(',');
    this.tip.dataset['value'] = String(c.value);
    this.tip.hidden = false;
    // Beside the pointer, inside the box: the canvas's offset in its positioned parent.
    const x = this.canvas.offsetLeft + (col + 1) * this.cell + 8;
    const y = this.canvas.offsetTop + row * this.cell;
    this.tip.style.left = `${x}px`;
    this.tip.style.top = `${y}px`;
  }

  private key(ev: KeyboardEvent): void {
    const input = this.input;
    const move = MOVES.get(ev.key);
    if (!input || (!move && ev.key !== 'Home')) return;
    ev.preventDefault();
    const clamp = (k: number, n: number): number => Math.max(0, Math.min(n - 1, k));
    // The first key shows the first cell; Home goes back to it.
    this.cursor =
      this.cursor && move
        ? { row: clamp(this.cursor.row + move[0], input.view.nRows), col: clamp(this.cursor.col + move[1], input.view.nCols) }
        : { row: 0, col: 0 };
    this.redraw();
    this.describe(this.cellAt(this.cursor.row, this.cursor.col));
  }
}
