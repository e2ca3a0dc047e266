/**
 * The Result tab: the expression as read, the derivative (left-hand side and result, then one
 * line "where t1 = …" per temporary the result uses), a note, the shape. Every formula is a line
 * with its LaTeX and its text form; a line within budget.ts's limits is typeset (in steps, see
 * steps.ts), a larger one is shown as text with "show all", and so are the temporaries all
 * together where there are more than MAX_TEMP_LINES of them. The card keeps its place and size
 * while typing: an unfinished input leaves the last result dimmed, other problems empty it, and
 * its rows reserve their height (style.css).
 */
import type { Computed, Formula, Shown, TempLine } from './analysis.js';
import { count, tooBigToTypeset, MAX_TEMP_LINES, MAX_TYPESET_CHARS } from './budget.js';
import { el, renderMath, renderText } from './dom.js';
import type { State } from './state.js';
import { Steps } from './steps.js';

export interface ResultUi {
  readonly panel: HTMLDivElement;
  readonly inputMath: HTMLSpanElement;
  readonly lhs: HTMLSpanElement;
  readonly result: HTMLSpanElement;
  /** The lines of the temporaries, under the result. */
  readonly temps: HTMLDivElement;
  readonly note: HTMLParagraphElement;
  readonly shape: HTMLParagraphElement;
  readonly notation: HTMLFieldSetElement;
  readonly layout: HTMLFieldSetElement;
  readonly copyLatex: HTMLButtonElement;
  readonly copyText: HTMLButtonElement;
}

/** A formula of the result: where it goes, its LaTeX, and its text form. */
export interface Line {
  readonly target: HTMLElement;
  readonly latex: string;
  readonly text: string;
  /** Characters of the text form shown before "show all". */
  readonly preview?: number;
  /** Shown as text for this reason, whatever its size. */
  readonly asText?: string;
}

/** The index convention the printers follow (README, "Index notation"), in short; the Syntax summary has it in full. */
export const INDEX_NOTE =
  'Index (Ricci) notation: the free indices i, j, k, … follow the axes of the result, upper on even axes and lower on odd ones; ' +
  'a summed index occurs once up and once down. The metric is Euclidean, so a position only keeps that bookkeeping: ' +
  'A^p_q and A_p^q are both the entry A[p, q], and Aᵀ is A_j^i. δ is 1 where all its indices agree (see Syntax).';
const VEC_INDEX_NOTE = ' In the vec layout the index form is that of the tensor before vectorizing; a pair of axes that a vec or kron in the expression merges already stays one index.';
const LAYOUT_OFF = 'The vec layout applies where the variable or the expression is a matrix.';

const steps = new Steps(MAX_TYPESET_CHARS);

/** Shows lines: those over the limits as text at once, the others typeset in steps; then `done`. */
export function showLines(lines: readonly Line[], done?: () => void): void {
  const typeset = [];
  for (const line of lines) {
    const why = line.asText ?? tooBigToTypeset(line.latex);
    if (why !== undefined) {
      renderText(line.target, line.text, why, line.preview);
      continue;
    }
    typeset.push({
      cost: line.latex.length,
      run: () => {
        try {
          renderMath(line.target, line.latex, line.text);
        } catch (e) {
          renderText(line.target, line.text, 'KaTeX could not typeset it');
          console.warn('KaTeX could not typeset', line.latex, e);
        }
      },
    });
  }
  steps.start(typeset, done);
}

function useIndex(s: Shown, state: State): boolean {
  return state.notation === 'index' || s.matrixLatex === null;
}

/** The LaTeX and text of the whole result in the notation shown, with its temporaries: what is copied. */
export function resultForms(s: Shown, state: State): Formula {
  return useIndex(s, state) ? { latex: s.indexLatex, text: s.indexText } : { latex: s.matrixLatex!, text: s.matrixText! };
}

/** The result in the notation shown as the page lays it out: the body, and the temporaries it uses. */
export function shownForms(s: Shown, state: State): { body: Formula; temps: readonly TempLine[] } {
  return useIndex(s, state) ? { body: s.indexBody, temps: s.indexTemps } : { body: s.matrixBody!, temps: s.matrixTemps };
}

/**
 * The rows of the temporaries ("where t1 = …", then "t2 = …" aligned under it) and their lines:
 * one typeset line each, or, over MAX_TEMP_LINES of them, all as one text with "show all".
 */
function tempRows(container: HTMLDivElement, temps: readonly TempLine[]): Line[] {
  const row = (first: boolean, name: string | undefined): { row: HTMLDivElement; target: HTMLSpanElement } => {
    const target = el('span', { class: 'math temp', 'data-testid': 'temp', ...(name !== undefined ? { 'data-name': name } : {}) });
    // "where" on the first row; the others keep its width, so that the definitions align.
    const where = el('span', { class: first ? 'where-word' : 'where-word spacer', 'aria-hidden': first ? false : 'true' }, 'where');
    return { row: el('div', { class: 'math-row temp-row' }, where, target), target };
  };
  if (temps.length > MAX_TEMP_LINES) {
    const r = row(true, undefined);
    container.replaceChildren(r.row);
    const text = temps.map((t) => t.text).join(',\n');
    return [{ target: r.target, latex: '', text, asText: `${count(temps.length)} definitions` }];
  }
  const rows = temps.map((t, k) => ({ ...row(k === 0, t.name), t }));
  container.replaceChildren(...rows.map((r) => r.row));
  return rows.map((r) => ({ target: r.target, latex: r.t.latex, text: r.t.text }));
}

function clear(ui: ResultUi): void {
  steps.cancel();
  for (const e of [ui.inputMath, ui.lhs, ui.result]) {
    e.replaceChildren();
    delete e.dataset['latex'];
    e.removeAttribute('aria-label');
  }
  ui.temps.replaceChildren();
  ui.note.textContent = '';
  ui.shape.textContent = '';
}

/** The layout radios: the layout shown; disabled where the choice does not apply. */
function renderLayout(fieldset: HTMLFieldSetElement, s: Shown, applies: boolean): void {
  for (const r of fieldset.querySelectorAll<HTMLInputElement>('input[name=layout]')) {
    r.checked = r.value === s.layout;
    r.disabled = !applies;
  }
  if (applies) fieldset.removeAttribute('title');
  else fieldset.title = LAYOUT_OFF;
}

/** Shows the result of c; `shown` hears when all of it is on the page (not where there is none). */
export function renderResult(ui: ResultUi, c: Computed, state: State, shown?: () => void): void {
  const s = c.shown;
  const radios = [...ui.notation.querySelectorAll<HTMLInputElement>('input[name=notation]')];
  for (const b of [ui.copyLatex, ui.copyText]) b.disabled = !s;
  if (!s) {
    // Unfinished input keeps the last result, dimmed, where it was.
    ui.panel.classList.add('stale');
    if (c.problem?.kind !== 'unfinished') clear(ui);
    return;
  }
  ui.panel.classList.remove('stale');
  const index = useIndex(s, state);
  radios.find((r) => r.value === 'matrix')!.disabled = s.matrixLatex === null;
  for (const r of radios) r.checked = r.value === (index ? 'index' : 'matrix');
  renderLayout(ui.layout, s, c.layoutApplies === true);
  const { body, temps } = shownForms(s, state);
  showLines([
    { target: ui.lhs, latex: s.lhs.latex, text: s.lhs.text },
    { target: ui.result, latex: body.latex, text: body.text },
    ...tempRows(ui.temps, temps),
    { target: ui.inputMath, latex: `f = ${s.inputLatex}`, text: `f = ${s.inputText}`, preview: 160 },
  ], shown);
  ui.note.textContent = s.noMatrixForm ?? (index ? INDEX_NOTE + (s.layout === 'vec' ? VEC_INDEX_NOTE : '') : '');
  ui.shape.textContent = `Shape of the result: ${s.shapeText}`;
  ui.copyText.textContent = s.matrixText !== null ? 'Copy as input' : 'Copy index form';
}

/** Longest result read out in full by the live region. */
const ANNOUNCE_CHARS = 300;

/** One sentence for the live region: what the result is (the beginning of a long one, and its length). */
export function announce(c: Computed, state: State): string {
  const s = c.shown;
  if (!s) return '';
  const text = resultForms(s, state).text;
  const said = text.length <= ANNOUNCE_CHARS ? text : `${text.slice(0, ANNOUNCE_CHARS)}… (${count(text.length)} characters)`;
  return `Result: ${said}. ${s.noMatrixForm ?? ''} Shape: ${s.shapeText}.`;
}
