/**
 * The web calculator: state (in the URL) → compute (ricci's pipeline) → the page. Every control
 * changes the state and calls update(); typing is debounced, everything else is immediate.
 */
import 'katex/dist/katex.min.css';
import './style.css';
import { DECLARED_TYPES, type DeclaredType } from '../src/syntax/check.js';
import { generateCode } from '../src/index.js';
import { compute, toProblem, type Computed, type Problem, type VarRow } from './analysis.js';
import { codeOutputs, describeReturns, LANG_NAMES } from './code.js';
import { byId, copyText, el, markedText, renderMath } from './dom.js';
import { EXAMPLES } from './examples.js';
import { checkNumerically, describeCheck } from './numeric.js';
import { decodeState, encodeState, isCodeLang, isDeclaredType, type CodeLang, type Notation, type State } from './state.js';
import { setUpTabs } from './tabs.js';

const DEBOUNCE_MS = 200;

const ui = {
  expr: byId('expr', HTMLInputElement),
  backdrop: byId('expr-backdrop', HTMLDivElement),
  examples: byId('examples', HTMLSelectElement),
  error: byId('error', HTMLDivElement),
  varsBody: byId('vars-body', HTMLTableSectionElement),
  wrt: byId('wrt', HTMLSelectElement),
  order: byId('order', HTMLSelectElement),
  notation: byId('notation', HTMLFieldSetElement),
  panel: byId('panel-result', HTMLDivElement),
  inputMath: byId('input-math', HTMLSpanElement),
  lhs: byId('lhs', HTMLSpanElement),
  result: byId('result', HTMLSpanElement),
  note: byId('note', HTMLParagraphElement),
  shape: byId('shape', HTMLParagraphElement),
  copyLatex: byId('copy-latex', HTMLButtonElement),
  copyText: byId('copy-text', HTMLButtonElement),
  copyLink: byId('copy-link', HTMLButtonElement),
  check: byId('check', HTMLButtonElement),
  checkResult: byId('check-result', HTMLOutputElement),
  status: byId('status', HTMLParagraphElement),
  tabs: byId('tabs', HTMLDivElement),
  tabResult: byId('tab-result', HTMLButtonElement),
  tabCode: byId('tab-code', HTMLButtonElement),
  lang: byId('lang', HTMLSelectElement),
  copyCode: byId('copy-code', HTMLButtonElement),
  codeReturns: byId('code-returns', HTMLParagraphElement),
  codeError: byId('code-error', HTMLDivElement),
  codeBox: byId('code-box', HTMLPreElement),
  code: byId('code', HTMLElement),
};

let state: State = decodeState(location.hash);
let current: Computed | undefined;
/** Names in the expression the last time it parsed: the table keeps them while the text is broken. */
let lastVars: readonly VarRow[] = [];
/** What the Code tab shows: the inputs it was generated for, and the code ('' where there is none). */
let shownCode: { key: string; code: string; lang: CodeLang } | undefined;

// ---------------------------------------------------------------- state → page

function update(): void {
  current = compute(state);
  if (current.vars) lastVars = current.vars;
  // state.wrt stays the user's choice while it is missing from a half-typed expression; the page
  // differentiates by current.wrt, which the same rule picks again when a permalink is opened.
  writeUrl();
  renderControls();
  renderVars(lastVars, current.wrt);
  renderProblem(current);
  renderResult(current);
  renderCode(current);
}

function writeUrl(): void {
  const names = new Set(lastVars.map((v) => v.name));
  const hash = '#' + encodeState(state, names);
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

function renderControls(): void {
  if (ui.expr.value !== state.expr) ui.expr.value = state.expr;
  ui.order.value = String(state.order);
  ui.lang.value = state.lang;
  const tab = state.tab === 'code' ? ui.tabCode : ui.tabResult;
  if (tab.getAttribute('aria-selected') !== 'true') selectTab(tab);
  // The notation belongs to the Result tab.
  ui.notation.hidden = state.tab !== 'result';
}

function typeSelect(v: VarRow): HTMLSelectElement {
  const s = el('select', { 'data-testid': `var-type-${v.name}`, 'aria-label': `Type of ${v.name}`, 'data-name': v.name });
  if (v.type === undefined) s.append(el('option', { value: '', disabled: true }, 'choose a type…'));
  for (const t of DECLARED_TYPES) s.append(el('option', { value: t }, t + (t === v.conventional ? ' (by its name)' : '')));
  s.value = v.type ?? '';
  return s;
}

function renderVars(vars: readonly VarRow[], wrt: string): void {
  // Rows are kept where the names are unchanged, so a select being used keeps its focus.
  const rows = [...ui.varsBody.rows];
  const same = rows.length === vars.length && rows.every((r, i) => r.dataset['name'] === vars[i]!.name);
  if (!same) {
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset['name'] : undefined;
    ui.varsBody.replaceChildren(
      ...vars.map((v) =>
        el('tr', { 'data-name': v.name }, el('th', { scope: 'row' }, el('code', {}, v.name)), el('td', {}, typeSelect(v)), el('td', { class: 'size' })),
      ),
    );
    if (focused) ui.varsBody.querySelector<HTMLElement>(`select[data-name="${CSS.escape(focused)}"]`)?.focus();
  }
  vars.forEach((v, i) => {
    const row = ui.varsBody.rows[i]!;
    const select = row.querySelector('select')!;
    if (select.value !== (v.type ?? '')) select.replaceWith(typeSelect(v));
    row.querySelector('.size')!.textContent = v.size ?? '';
    row.classList.toggle('wrt', v.name === wrt);
  });
  if (vars.length === 0) ui.varsBody.replaceChildren(el('tr', {}, el('td', { colspan: '3', class: 'empty' }, 'no variables')));

  const names = vars.map((v) => v.name);
  const options = [...ui.wrt.options].map((o) => o.value);
  if (options.join('\n') !== names.join('\n')) ui.wrt.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
  ui.wrt.value = wrt;
  ui.wrt.disabled = names.length === 0;
}

function renderProblem(c: Computed): void {
  const p = c.problem;
  ui.error.hidden = !p;
  ui.expr.setAttribute('aria-invalid', String(!!p));
  ui.backdrop.replaceChildren(document.createTextNode(state.expr));
  if (!p) {
    ui.error.replaceChildren();
    return;
  }
  if (p.span && p.span.end <= state.expr.length) {
    ui.backdrop.replaceChildren(...markedText(state.expr, p.span));
    syncBackdrop();
  }
  ui.error.replaceChildren(...problemParts(p));
}

/** The message of a problem and, where it has a span, the input with that span marked (click: select it). */
function problemParts(p: Problem): Node[] {
  const parts: Node[] = [el('p', { class: 'message' }, el('strong', {}, p.isInputError ? 'Error: ' : 'Internal error: '), p.message)];
  if (p.span && p.span.end <= state.expr.length) {
    const snippet = el('code', { class: 'snippet', title: 'Select the marked part in the input' }, ...markedText(state.expr, p.span));
    const span = p.span;
    snippet.addEventListener('click', () => {
      ui.expr.focus();
      ui.expr.setSelectionRange(span.start, Math.max(span.start, span.end));
    });
    parts.push(snippet);
  }
  return parts;
}

function renderResult(c: Computed): void {
  const s = c.shown;
  const radios = ui.notation.querySelectorAll<HTMLInputElement>('input[name=notation]');
  const matrixRadio = [...radios].find((r) => r.value === 'matrix')!;
  const indexRadio = [...radios].find((r) => r.value === 'index')!;
  ui.checkResult.textContent = '';
  delete ui.checkResult.dataset['relError'];
  ui.panel.classList.toggle('stale', !s);
  for (const b of [ui.copyLatex, ui.copyText, ui.check]) b.disabled = !s;
  if (!s) {
    for (const e of [ui.inputMath, ui.lhs, ui.result]) e.replaceChildren();
    delete ui.result.dataset['latex'];
    ui.note.hidden = true;
    ui.shape.textContent = '';
    if (state.tab === 'result') ui.status.textContent = c.problem ? '' : 'No result';
    return;
  }
  const useIndex = state.notation === 'index' || s.matrixLatex === null;
  matrixRadio.disabled = s.matrixLatex === null;
  matrixRadio.checked = !useIndex;
  indexRadio.checked = useIndex;
  const latex = useIndex ? s.indexLatex : s.matrixLatex!;
  try {
    renderMath(ui.inputMath, `f = ${s.inputLatex}`);
    renderMath(ui.lhs, `${s.lhsLatex} =`);
    renderMath(ui.result, latex);
  } catch (e) {
    ui.result.replaceChildren(el('code', {}, useIndex ? s.indexText : s.matrixText ?? ''));
    console.error('KaTeX could not typeset', latex, e);
  }
  const note = s.noMatrixForm ?? (useIndex ? 'Index (Ricci) notation: an upper index counts rows, a lower index columns; an index repeated up and down is summed; the free indices i, j, … follow the axes of the result.' : undefined);
  ui.note.hidden = note === undefined;
  ui.note.textContent = note ?? '';
  ui.shape.textContent = `Shape of the result: ${s.shapeText}`;
  ui.copyText.textContent = s.matrixText !== null ? 'Copy as input' : 'Copy index form';
  // The Code tab announces its own updates (its line on what the code returns is a live region).
  if (state.tab === 'result') ui.status.textContent = `Result: ${s.matrixText ?? s.indexText}. ${s.noMatrixForm ?? ''} Shape: ${s.shapeText}.`;
}

/**
 * The Code tab: generateCode's source for the state, generated only while the tab is shown (it
 * derives every order up to the one chosen) and again only when its inputs change. The code is a
 * text node in <pre><code>; an expression with an error has no code, and the error is the one
 * under the input.
 */
function renderCode(c: Computed): void {
  if (state.tab !== 'code') return;
  const { expr, order, lets, lang } = state;
  const wrt = c.wrt;
  const key = JSON.stringify([expr, wrt, order, lets, lang, !!c.shown]);
  if (shownCode?.key === key) return;
  let code = '';
  let returns = '';
  let problem: Problem | undefined;
  if (!c.shown) {
    returns = c.problem ? 'No code: the expression has an error (shown under the input).' : 'No code: nothing to differentiate.';
  } else {
    try {
      code = generateCode(expr, wrt, { order, lang, let: lets });
      returns = describeReturns(lang, wrt, codeOutputs(c.shown.exprShape, c.shown.wrtShape, order));
    } catch (e) {
      problem = toProblem(e);
      returns = `No ${LANG_NAMES[lang]} code for this expression.`;
    }
  }
  shownCode = { key, code, lang };
  ui.code.textContent = code;
  ui.code.className = code ? `language-${LANG_NAMES[lang].toLowerCase()}` : '';
  ui.codeBox.hidden = !code;
  ui.codeReturns.textContent = returns;
  ui.codeError.hidden = !problem;
  ui.codeError.replaceChildren(...(problem ? problemParts(problem) : []));
  ui.copyCode.disabled = !code;
}

// ---------------------------------------------------------------- backdrop that marks the input

/** The marked span is drawn on a layer behind the transparent input; it follows the input's scrolling. */
function syncBackdrop(): void {
  ui.backdrop.scrollLeft = ui.expr.scrollLeft;
}

// ---------------------------------------------------------------- page → state

let timer: ReturnType<typeof setTimeout> | undefined;

function setState(next: Partial<State>, debounce = false): void {
  state = { ...state, ...next };
  clearTimeout(timer);
  if (debounce) timer = setTimeout(update, DEBOUNCE_MS);
  else update();
}

ui.expr.addEventListener('input', () => {
  // The old mark no longer fits the text: drop it at once, the new one comes with the result.
  ui.backdrop.replaceChildren(document.createTextNode(ui.expr.value));
  setState({ expr: ui.expr.value }, true);
});
ui.expr.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    ev.preventDefault();
    setState({ expr: ui.expr.value });
  }
});
for (const ev of ['scroll', 'keyup', 'click', 'select', 'focus']) ui.expr.addEventListener(ev, syncBackdrop);

for (const [i, ex] of EXAMPLES.entries()) ui.examples.append(el('option', { value: String(i) }, ex.title));
ui.examples.addEventListener('change', () => {
  const ex = EXAMPLES[Number(ui.examples.value)];
  ui.examples.value = '';
  if (ex) setState({ ...ex.state, notation: state.notation });
});

ui.varsBody.addEventListener('change', (ev) => {
  const select = ev.target;
  if (!(select instanceof HTMLSelectElement)) return;
  const name = select.dataset['name'];
  const type = select.value;
  if (!name || !isDeclaredType(type)) return;
  const conventional = lastVars.find((v) => v.name === name)?.conventional;
  const lets: Record<string, DeclaredType> = { ...state.lets };
  if (type === conventional) delete lets[name];
  else lets[name] = type;
  setState({ lets });
});
ui.wrt.addEventListener('change', () => setState({ wrt: ui.wrt.value }));
ui.order.addEventListener('change', () => setState({ order: Number(ui.order.value) }));
ui.lang.addEventListener('change', () => {
  if (isCodeLang(ui.lang.value)) setState({ lang: ui.lang.value });
});
ui.notation.addEventListener('change', (ev) => {
  const r = ev.target;
  if (r instanceof HTMLInputElement && (r.value === 'matrix' || r.value === 'index')) setState({ notation: r.value as Notation });
});

window.addEventListener('hashchange', () => {
  state = decodeState(location.hash, state);
  update();
});

// ---------------------------------------------------------------- actions

async function copy(button: HTMLButtonElement, text: string, what: string): Promise<void> {
  const label = button.textContent;
  try {
    await copyText(text);
    button.textContent = 'Copied';
    ui.status.textContent = `${what} copied to the clipboard`;
  } catch {
    button.textContent = 'Copy failed';
    ui.status.textContent = `Could not copy the ${what.toLowerCase()}`;
  }
  setTimeout(() => (button.textContent = label), 1500);
}

ui.copyLatex.addEventListener('click', () => {
  const s = current?.shown;
  if (s) void copy(ui.copyLatex, ui.result.dataset['latex'] ?? s.indexLatex, 'LaTeX');
});
ui.copyText.addEventListener('click', () => {
  const s = current?.shown;
  if (s) void copy(ui.copyText, s.matrixText ?? s.indexText, 'Text');
});
ui.copyLink.addEventListener('click', () => void copy(ui.copyLink, location.href, 'Link'));
ui.copyCode.addEventListener('click', () => {
  if (shownCode?.code) void copy(ui.copyCode, shownCode.code, `${LANG_NAMES[shownCode.lang]} code`);
});

ui.check.addEventListener('click', () => {
  if (!current?.shown) return;
  const { expr, order, lets } = state;
  const wrt = current.wrt;
  ui.checkResult.textContent = 'checking…';
  delete ui.checkResult.dataset['relError'];
  // Let the browser paint "checking…" before the work starts.
  setTimeout(() => {
    try {
      const outcome = checkNumerically(expr, wrt, order, lets);
      ui.checkResult.textContent = describeCheck(outcome);
      ui.checkResult.dataset['relError'] = String(outcome.relError);
      ui.checkResult.classList.toggle('bad', !(outcome.relError < 1e-6));
    } catch (e) {
      ui.checkResult.textContent = `could not check: ${e instanceof Error ? e.message : String(e)}`;
      ui.checkResult.classList.add('bad');
    }
  }, 0);
});

// KaTeX loads a font when a formula first needs it; fetch them all once the page has loaded, so
// that typesetting keeps working without a network.
window.addEventListener('load', () => {
  for (const face of document.fonts) if (face.family.replace(/["']/g, '').startsWith('KaTeX')) face.load().catch(() => undefined);
});

const selectTab = setUpTabs(ui.tabs, (tab) => setState({ tab: tab === ui.tabCode ? 'code' : 'result' }));
update();
document.documentElement.dataset['ready'] = 'true';
