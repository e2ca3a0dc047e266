/**
 * The Numbers tab: the sizes of the point (n, m, …; kept in the link), the point itself as JSON
 * (random from a seed, or pasted), "check numerically", and the heat map of the derivative at the
 * point with its legend, slice selectors (order 3 and up) and readout.
 */
import type { Problem } from './analysis.js';
import { count } from './budget.js';
import { el } from './dom.js';
import { divergingColour, formatValue, HeatMap, scaleOf } from './heatmap.js';
import { describeCheck, describeSizes } from './numeric.js';
import type { Numbers } from './protocol.js';
import { MAX_SIZE, isSize } from './state.js';
import { tensorView, unvec, type Group, type View } from './tensorview.js';

export interface NumbersUi {
  readonly sizes: HTMLFieldSetElement;
  readonly check: HTMLButtonElement;
  readonly checkResult: HTMLOutputElement;
  readonly point: HTMLTextAreaElement;
  readonly error: HTMLDivElement;
  readonly about: HTMLParagraphElement;
  readonly slices: HTMLDivElement;
  readonly box: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  readonly tip: HTMLDivElement;
  readonly readout: HTMLParagraphElement;
  readonly legend: HTMLDivElement;
  readonly legendMin: HTMLSpanElement;
  readonly legendMax: HTMLSpanElement;
  readonly legendBar: HTMLCanvasElement;
}

export interface NumbersActions {
  readonly setSize: (name: string, k: number) => void;
}

/** What the entries are called: g for a gradient, J for a Jacobian, H for a Hessian, D3, D4, … */
function entryName(n: Numbers): string {
  if (n.order === 1) return n.exprRank === 0 ? 'g' : 'J';
  if (n.order === 2 && n.exprRank === 0) return 'H';
  return `D${n.order}`;
}

function kindName(n: Numbers): string {
  if (n.order === 1) return n.exprRank === 0 ? 'gradient' : 'Jacobian';
  if (n.order === 2 && n.exprRank === 0) return 'Hessian';
  return `derivative of order ${n.order}`;
}

function vecNote(v: View): string {
  if (!v.vec) return '';
  const blocks = v.rowBlocks || v.colBlocks;
  return ` Matrix axes are flattened in the vec layout (columns stacked: entry (i, j) of an m×n matrix at i + m·(j − 1))${blocks ? `; blocks of ${blocks} are outlined` : ''}.`;
}

function sliceLabel(g: Group, at: number): string {
  const idx = unvec(g, at).map((k) => k + 1);
  return idx.length === 1 ? String(idx[0]) : `(${idx.join(', ')})`;
}

export class NumbersView {
  private readonly map: HeatMap;
  private shown: { n: Numbers; view: View; slice: number[]; scale: number } | undefined;

  constructor(
    private readonly ui: NumbersUi,
    private readonly actions: NumbersActions,
  ) {
    const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#000';
    this.map = new HeatMap(ui.canvas, ui.tip, ui.readout, () => ({ outline: css('--text'), cursor: css('--focus') }));
    ui.sizes.addEventListener('change', (ev) => {
      const input = ev.target;
      if (!(input instanceof HTMLInputElement)) return;
      const k = Number(input.value);
      if (isSize(k)) this.actions.setSize(input.dataset['name']!, k);
      else input.setCustomValidity(`a size from 1 to ${MAX_SIZE}`);
      input.reportValidity();
    });
    this.drawLegendBar();
  }

  /** Sizes inputs for the size names of the point; disabled where the point is pasted (its sizes are its own). */
  private renderSizes(sizes: ReadonlyMap<string, number>, pasted: boolean): void {
    const names = [...sizes.keys()];
    const inputs = [...this.ui.sizes.querySelectorAll('input')];
    if (inputs.map((i) => i.dataset['name']).join('\n') !== names.join('\n')) {
      const legend = this.ui.sizes.querySelector('legend')!;
      this.ui.sizes.replaceChildren(
        legend,
        ...names.map((name) =>
          el(
            'label',
            { class: 'size-field' },
            el('var', {}, name),
            ' = ',
            el('input', { type: 'number', min: '1', max: String(MAX_SIZE), step: '1', 'data-name': name, 'data-testid': `size-${name}`, 'aria-label': `Size ${name}` }),
          ),
        ),
      );
      if (names.length === 0) this.ui.sizes.append(el('span', { class: 'muted' }, 'none (all scalars)'));
    }
    for (const input of this.ui.sizes.querySelectorAll('input')) {
      const k = sizes.get(input.dataset['name']!)!;
      if (document.activeElement !== input || Number(input.value) !== k) input.value = String(k);
      input.setCustomValidity('');
      input.disabled = pasted;
    }
  }

  /** The numbers at a point: sizes, the point's JSON, the check (if run) and the heat map. */
  show(n: Numbers, pasted: boolean): void {
    this.ui.error.hidden = true;
    this.renderSizes(n.sizes, pasted);
    if (document.activeElement !== this.ui.point) this.ui.point.value = n.pointJson;
    if (n.check) this.showCheck(describeCheck(n.check), n.check.relError, !(n.check.relError < 1e-6));
    const view = tensorView(n.shape, n.exprRank, n.wrtRank, n.order);
    const previous = this.shown;
    const slice = view.slices.map((g, i) => Math.min(previous?.slice[i] ?? 0, g.length - 1));
    this.shown = { n, view, slice, scale: scaleOf(n.data) };
    this.renderSlices(view, slice);
    let zeros = 0;
    for (const p of n.pattern) if (p === 0) zeros++;
    const dims = n.shape.length === 0 ? 'a scalar' : `${n.shape.join('×')}`;
    const sizes = describeSizes(n.sizes);
    this.ui.about.textContent =
      `The ${kindName(n)} of f by ${n.wrt} at the point${sizes ? ` (${sizes})` : ''}: ${dims}, drawn as ${view.nRows}×${view.nCols}` +
      `${view.slices.length ? ' per slice' : ''}. ${count(zeros)} of ${count(n.pattern.length)} entries are structural zeros (zero at every point).${vecNote(view)}`;
    this.ui.legendMin.textContent = formatValue(-this.shown.scale);
    this.ui.legendMax.textContent = formatValue(this.shown.scale);
    this.draw();
  }

  private renderSlices(view: View, slice: readonly number[]): void {
    this.ui.slices.hidden = view.slices.length === 0;
    this.ui.slices.replaceChildren(
      ...view.slices.map((g, i) => {
        const axes = g.axes.map((a) => a + 1).join(', ');
        const select = el('select', { 'data-testid': `slice-${i}`, 'aria-label': `Slice: index ${axes}` });
        for (let k = 0; k < g.length; k++) select.append(el('option', { value: String(k) }, sliceLabel(g, k)));
        select.value = String(slice[i]);
        select.addEventListener('change', () => {
          if (!this.shown) return;
          this.shown.slice[i] = Number(select.value);
          this.draw();
        });
        return el('label', { class: 'slice' }, `Slice: index ${axes} = `, select);
      }),
    );
  }

  private draw(): void {
    const s = this.shown;
    if (!s) return;
    const width = Math.max(120, this.ui.box.clientWidth - 4);
    this.map.show({ view: s.view, data: s.n.data, pattern: s.n.pattern, slice: s.slice, scale: s.scale, name: entryName(s.n) }, width);
    this.ui.legend.hidden = false;
  }

  /** Redraws at the width now available (the tab was shown, the window resized). */
  relayout(): void {
    this.draw();
  }

  showCheck(text: string, relError: number, bad: boolean): void {
    this.ui.checkResult.textContent = text;
    this.ui.checkResult.dataset['relError'] = String(relError);
    this.ui.checkResult.classList.toggle('bad', bad);
  }

  clearCheck(): void {
    this.ui.checkResult.textContent = '';
    delete this.ui.checkResult.dataset['relError'];
    this.ui.checkResult.classList.remove('bad');
  }

  checking(): void {
    this.ui.checkResult.textContent = 'checking…';
    delete this.ui.checkResult.dataset['relError'];
    this.ui.checkResult.classList.remove('bad');
  }

  /** No numbers: why (the error of the expression, of a pasted point, sizes too large, the time limit). */
  problem(p: Problem): void {
    this.shown = undefined;
    this.map.clear();
    this.ui.legend.hidden = true;
    this.ui.slices.hidden = true;
    this.ui.about.textContent = '';
    this.ui.error.hidden = false;
    this.ui.error.replaceChildren(el('p', { class: 'message-text' }, el('strong', {}, p.kind === 'limit' ? 'Time limit: ' : 'No numbers: '), p.message));
    if (this.ui.checkResult.textContent === 'checking…') this.ui.checkResult.textContent = '';
  }

  private drawLegendBar(): void {
    const c = this.ui.legendBar;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    for (let x = 0; x < c.width; x++) {
      const [r, g, b] = divergingColour((2 * x) / (c.width - 1) - 1);
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(x, 0, 1, c.height);
    }
  }
}
