/**
 * The Result tab: the expression as read, the derivative (left-hand side and result), a note,
 * the shape. Every formula is a line with its LaTeX and its text form; a line within budget.ts's
 * limits is typeset (in steps, see steps.ts), a larger one is shown as text with "show all".
 * The card keeps its place and size while typing: an unfinished input leaves the last result
 * dimmed, other problems empty it, and its rows reserve their height (style.css).
 * Later forms of the result (temporaries "where t1 = …", a layout choice) are more lines.
 */
import type { Computed, Shown } from './analysis.js';
import { count, tooBigToTypeset, MAX_TYPESET_CHARS } from './budget.js';
import { renderMath, renderText } from './dom.js';
import type { State } from './state.js';
import { Steps } from './steps.js';

export interface ResultUi {
  readonly panel: HTMLDivElement;
  readonly inputMath: HTMLSpanElement;
  readonly lhs: HTMLSpanElement;
  readonly result: HTMLSpanElement;
  readonly note: HTMLParagraphElement;
  readonly shape: HTMLParagraphElement;
  readonly notation: HTMLFieldSetElement;
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
}

const INDEX_NOTE =
  'Index (Ricci) notation: an upper index counts rows, a lower index columns; an index repeated up and down is summed; the free indices i, j, … follow the axes of the result.';

const steps = new Steps(MAX_TYPESET_CHARS);

/** Shows lines: those over the limits as text at once, the others typeset in steps. */
export function showLines(lines: readonly Line[]): void {
  const typeset = [];
  for (const line of lines) {
    const why = tooBigToTypeset(line.latex);
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
  steps.start(typeset);
}

function useIndex(s: Shown, state: State): boolean {
  return state.notation === 'index' || s.matrixLatex === null;
}

/** The LaTeX and text of the result in the notation shown. */
export function resultForms(s: Shown, state: State): { latex: string; text: string } {
  return useIndex(s, state) ? { latex: s.indexLatex, text: s.indexText } : { latex: s.matrixLatex!, text: s.matrixText! };
}

function clear(ui: ResultUi): void {
  steps.cancel();
  for (const e of [ui.inputMath, ui.lhs, ui.result]) {
    e.replaceChildren();
    delete e.dataset['latex'];
    e.removeAttribute('aria-label');
  }
  ui.note.textContent = '';
  ui.shape.textContent = '';
}

export function renderResult(ui: ResultUi, c: Computed, state: State): void {
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
  const result = resultForms(s, state);
  const order = state.order;
  showLines([
    { target: ui.lhs, latex: `${s.lhsLatex} =`, text: order === 1 ? `∂f/∂${c.wrt} =` : `∂^${order} f/∂${c.wrt}^${order} =` },
    { target: ui.result, latex: result.latex, text: result.text },
    { target: ui.inputMath, latex: `f = ${s.inputLatex}`, text: `f = ${s.inputText}`, preview: 160 },
  ]);
  ui.note.textContent = s.noMatrixForm ?? (index ? INDEX_NOTE : '');
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
