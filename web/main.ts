/**
 * The web calculator: state (in the URL) → requests to the worker → the page. Every control
 * changes the state and calls update(); typing is debounced, everything else is immediate. The
 * engine runs in a worker (worker.ts, through jobs.ts), so the page answers every keystroke at
 * once; work that is no longer wanted is abandoned, long work shows "working…" and "stop", and
 * work past the time limit (the user's to set, kept in the link) ends with a message.
 *
 * The Result tab's panel says in data-state whether what it shows answers the state: 'working'
 * from a change until the answer is on the page, then 'done' (a result, typeset or as text),
 * 'error' (an error, the time limit, "stop") or 'empty' (no input, or input not finished yet).
 */
import 'katex/dist/katex.min.css';
import './style.css';
import type { DeclaredType } from '../src/syntax/check.js';
import type { Computed, Problem } from './analysis.js';
import { LANG_NAMES } from './code.js';
import { byId, copyText, el } from './dom.js';
import { EXAMPLES } from './examples.js';
import { Jobs, requestKey, type Outcome, type WorkerLike } from './jobs.js';
import { renderMessage, problemParts, type MessageActions } from './messageview.js';
import { NumbersView } from './numbersview.js';
import type { CodeReply, ReplyOf, Request } from './protocol.js';
import { announce, renderResult, resultForms } from './resultview.js';
import {
  decodeLink,
  encodeState,
  isCodeLang,
  isDeclaredType,
  isLayout,
  isTimeLimit,
  MAX_LIMIT,
  MIN_LIMIT,
  type CodeLang,
  type Notation,
  type State,
  type Tab,
} from './state.js';
import { setUpTabs } from './tabs.js';
import { focusType, renderVars } from './vars.js';
import workerUrl from './worker.ts?worker&url';

/** Typing pauses this long before the expression is sent. */
const DEBOUNCE_MS = 150;
/** How long abandoned work may still answer before its worker is replaced. */
const GRACE_MS = 60;
/** "working…" shows when work takes longer than this. */
const BUSY_AFTER_MS = 150;

const ui = {
  expr: byId('expr', HTMLInputElement),
  backdrop: byId('expr-backdrop', HTMLDivElement),
  examples: byId('examples', HTMLSelectElement),
  error: byId('error', HTMLDivElement),
  quiet: byId('quiet', HTMLDivElement),
  notices: byId('notices', HTMLUListElement),
  varsBody: byId('vars-body', HTMLTableSectionElement),
  wrt: byId('wrt', HTMLSelectElement),
  order: byId('order', HTMLSelectElement),
  limit: byId('limit', HTMLInputElement),
  notation: byId('notation', HTMLFieldSetElement),
  layout: byId('layout', HTMLFieldSetElement),
  panel: byId('panel-result', HTMLDivElement),
  inputMath: byId('input-math', HTMLSpanElement),
  lhs: byId('lhs', HTMLSpanElement),
  result: byId('result', HTMLSpanElement),
  temps: byId('temps', HTMLDivElement),
  note: byId('note', HTMLParagraphElement),
  shape: byId('shape', HTMLParagraphElement),
  copyLatex: byId('copy-latex', HTMLButtonElement),
  copyText: byId('copy-text', HTMLButtonElement),
  copyLink: byId('copy-link', HTMLButtonElement),
  status: byId('status', HTMLParagraphElement),
  busy: byId('busy', HTMLDivElement),
  stop: byId('stop', HTMLButtonElement),
  tabs: byId('tabs', HTMLDivElement),
  tabResult: byId('tab-result', HTMLButtonElement),
  tabNumbers: byId('tab-numbers', HTMLButtonElement),
  tabCode: byId('tab-code', HTMLButtonElement),
  lang: byId('lang', HTMLSelectElement),
  copyCode: byId('copy-code', HTMLButtonElement),
  codeReturns: byId('code-returns', HTMLParagraphElement),
  codeError: byId('code-error', HTMLDivElement),
  codeBox: byId('code-box', HTMLPreElement),
  code: byId('code', HTMLElement),
  sizes: byId('sizes', HTMLFieldSetElement),
  newPoint: byId('new-point', HTMLButtonElement),
  check: byId('check', HTMLButtonElement),
  checkResult: byId('check-result', HTMLOutputElement),
  point: byId('point', HTMLTextAreaElement),
  usePoint: byId('use-point', HTMLButtonElement),
  randomPoint: byId('random-point', HTMLButtonElement),
  numbersError: byId('numbers-error', HTMLDivElement),
  numbersAbout: byId('numbers-about', HTMLParagraphElement),
  slices: byId('slices', HTMLDivElement),
  heatBox: byId('heatmap-box', HTMLDivElement),
  heatmap: byId('heatmap', HTMLCanvasElement),
  heatTip: byId('heat-tip', HTMLDivElement),
  heatReadout: byId('heat-readout', HTMLParagraphElement),
  legend: byId('legend', HTMLDivElement),
  legendMin: byId('legend-min', HTMLSpanElement),
  legendMax: byId('legend-max', HTMLSpanElement),
  legendBar: byId('legend-bar', HTMLCanvasElement),
};

const TABS: ReadonlyMap<Tab, HTMLButtonElement> = new Map([
  ['result', ui.tabResult],
  ['numbers', ui.tabNumbers],
  ['code', ui.tabCode],
]);

const opened = decodeLink(location.hash);
let state: State = opened.state;
/** Notices about the link the page was opened with; they go at the first change the user makes. */
let linkNotices: readonly string[] = opened.notices;
/** Whether the state is still a link's that asks for the vec layout (a notice if it does not apply, see linkNoticesFor). */
let linkAsksVec = opened.state.layout === 'vec';
let current: Computed | undefined;
/** The request key current answers. */
let currentKey: string | undefined;
/** A point pasted as JSON, used instead of the random one until the user goes back to it. */
let pastedPoint: string | undefined;
/** What each output shows, so that it is asked for again only when its inputs change. */
const shownKeys = new Map<string, string>();

/**
 * Workers are replaced often (every abandoned computation), and a page that went offline must
 * still start them: the built worker (one self-contained script) is fetched once and later
 * workers start from that copy. Under the dev server (import.meta.hot) the worker is a module
 * with imports, started from its URL. (import.meta.env.DEV is no test: it follows NODE_ENV, which
 * is 'test' when the tests build the page.)
 */
const devServer = import.meta.hot !== undefined;
let workerCopy: string | undefined;
if (!devServer)
  void fetch(workerUrl)
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
    .then((b) => (workerCopy = URL.createObjectURL(new Blob([b], { type: 'text/javascript' }))))
    .catch(() => undefined);
const makeWorker = (): WorkerLike => new Worker(workerCopy ?? workerUrl, { type: devServer ? 'module' : 'classic' }) as unknown as WorkerLike;

const jobs = new Jobs(makeWorker, {
  limitMs: state.limit * 1000,
  graceMs: GRACE_MS,
  busyAfterMs: BUSY_AFTER_MS,
  onBusy: (busy) => {
    ui.busy.classList.toggle('on', busy);
    ui.busy.setAttribute('aria-hidden', String(!busy));
    ui.stop.tabIndex = busy ? 0 : -1;
    ui.panel.classList.toggle('working', busy);
    if (busy) ui.status.textContent = 'Working…';
  },
});

/** The problem an outcome other than 'done' stands for (undefined for 'superseded'). */
function outcomeProblem(o: Outcome<unknown>): Problem | undefined {
  switch (o.status) {
    case 'limit':
      return {
        kind: 'limit',
        message: `this took longer than ${o.ms / 1000} s in the browser and was stopped. Try a lower order or a simpler expression, or a longer time limit (under the input); the command line (ricci derive) has no time limit.`,
        span: undefined,
      };
    case 'stopped':
      return { kind: 'stopped', message: 'you stopped the work. Change the input, or press Enter in it, to start again.', span: undefined };
    case 'failed':
      return { kind: 'internal', message: `the worker failed: ${o.message} (this is a bug in ricci)`, span: undefined };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- state → requests → page

type ResultState = 'empty' | 'working' | 'done' | 'error';

/** Counts changes of the state, so that a result that finishes rendering late says 'done' only if it still answers the state. */
let turn = 0;

/** The state changed: until its answer is on the page, the Result tab is 'working'. */
function pending(): void {
  turn++;
  ui.panel.dataset['state'] = 'working' satisfies ResultState;
}

function update(): void {
  pending();
  jobs.setLimit(state.limit * 1000);
  writeUrl();
  renderControls();
  const req = { kind: 'derive', state } as const;
  const key = keyOf(req);
  const answer = (c: Computed): void => {
    currentKey = key;
    // An answer that comes while a newer input waits for its debounce is shown, but is not the answer.
    showComputed(c, key === keyOf({ kind: 'derive', state }));
  };
  const sent = request(req, (r) => answer(r.computed), (p) => answer({ vars: undefined, wrt: state.wrt, shown: undefined, problem: p, notices: [] }), false, (r) =>
    showChecked(r.computed),
  );
  // The same expression, variable, order and types, answered: only the presentation changed.
  if (!sent && current && currentKey === key) showComputed(current, true);
  requestTab();
}

/** The request's identity: what it is about, so that it is sent again only when that changes. */
function keyOf(req: Request): string {
  // The numbers and the code are those of the default layout (the heat map draws matrices in the vec layout anyway).
  const extra = req.kind === 'code' ? req.state.lang : req.kind === 'numbers' ? [[...req.state.sizes], req.state.seed, req.point] : req.state.layout;
  return JSON.stringify([req.kind, requestKey(req), extra]);
}

/**
 * Sends a request unless the same one was sent last (force: send anyway); returns whether it was
 * sent. Outcomes other than the answer become problems, except 'superseded' (a newer request
 * answers instead).
 */
function request<R extends Request>(
  req: R,
  done: (reply: ReplyOf<R>) => void,
  failed: (p: Problem) => void,
  force = false,
  partial?: (reply: ReplyOf<R>) => void,
): boolean {
  const key = keyOf(req);
  if (!force && shownKeys.get(req.kind) === key) return false;
  shownKeys.set(req.kind, key);
  void jobs.run(req, partial).then((o) => {
    if (o.status === 'done') return done(o.reply);
    if (shownKeys.get(req.kind) === key) shownKeys.delete(req.kind);
    const p = outcomeProblem(o);
    if (p) failed(p);
  });
  return true;
}

function requestTab(): void {
  if (state.tab === 'code') request({ kind: 'code', state }, showCode, showCodeProblem);
  if (state.tab === 'numbers') requestNumbers(false);
}

/** The key of the last numbers that were checked: a check result stays while the numbers are the same. */
let checkedKey: string | undefined;

function requestNumbers(check: boolean, force = false): void {
  const req = { kind: 'numbers', state, point: pastedPoint, check } as const;
  const key = keyOf(req);
  if (check) numbersView.checking();
  request(
    req,
    (r) => {
      if (check) checkedKey = key;
      else if (checkedKey !== key) numbersView.clearCheck();
      if (r.numbers) numbersView.show(r.numbers, pastedPoint !== undefined);
      else numbersView.problem(r.problem!);
    },
    (p) => numbersView.problem(p),
    force || check,
  );
}

const messageActions: MessageActions = {
  select: (span) => {
    ui.expr.focus();
    ui.expr.setSelectionRange(span.start, Math.max(span.start, span.end));
  },
  useExample: (expr) => {
    ui.expr.value = expr;
    setState({ expr });
    ui.expr.focus();
  },
  chooseType: (name) => focusType({ body: ui.varsBody, wrt: ui.wrt }, name),
};

/**
 * The notices about the link: those of its fields, and, where it asks for the vec layout and the
 * answer says that the layout does not apply, one that says so (the layout is known only then).
 */
function linkNoticesFor(c: Computed | undefined): readonly string[] {
  if (!linkAsksVec || c?.layoutApplies !== false) return linkNotices;
  return [...linkNotices, `The link asks for the vec layout, which applies where the variable or the expression is a matrix; neither ${c.wrt} nor f is one, so the derivative is shown in the default layout.`];
}

/** Shows an answer; `answers`: it answers the state (else the Result tab stays 'working'). */
function showComputed(c: Computed, answers: boolean): void {
  current = c;
  // Empty input clears the table; a text that does not parse keeps the last variables, and so
  // does work that ended without an answer (time limit, stop).
  if (c.vars) renderVars({ body: ui.varsBody, wrt: ui.wrt }, c.vars, c.wrt);
  writeUrl();
  renderMessage(ui, state.expr, c.problem, c.notices, linkNoticesFor(c), messageActions);
  const at = turn;
  const settle = (s: ResultState): void => {
    if (answers && at === turn) ui.panel.dataset['state'] = s;
  };
  renderResult(ui, c, state, () => settle('done'));
  if (!c.shown) settle(c.problem === undefined || c.problem.kind === 'empty' || c.problem.kind === 'unfinished' ? 'empty' : 'error');
  if (state.tab === 'result') ui.status.textContent = c.shown ? announce(c, state) : c.problem && c.problem.kind !== 'unfinished' ? c.problem.message : '';
}

/** The variables of an expression that checks, while its derivative is still being computed. */
function showChecked(c: Computed): void {
  if (c.vars) renderVars({ body: ui.varsBody, wrt: ui.wrt }, c.vars, c.wrt);
  renderMessage(ui, state.expr, undefined, c.notices, linkNoticesFor(c), messageActions);
}

function writeUrl(): void {
  const names = new Set([...ui.varsBody.rows].map((r) => r.dataset['name']).filter((n): n is string => n !== undefined));
  const hash = '#' + encodeState(state, names);
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

function renderControls(): void {
  if (ui.expr.value !== state.expr) ui.expr.value = state.expr;
  ui.order.value = String(state.order);
  // Not while the user edits it (an unfinished number is theirs).
  if (document.activeElement !== ui.limit || Number(ui.limit.value) !== state.limit) ui.limit.value = String(state.limit);
  ui.limit.setCustomValidity('');
  ui.lang.value = state.lang;
  const tab = TABS.get(state.tab)!;
  if (tab.getAttribute('aria-selected') !== 'true') selectTab(tab);
  // The notation and the layout belong to the Result tab. Their radios say what is asked for until
  // a result says what is shown (renderResult), so that a link's choice shows at once.
  ui.notation.hidden = state.tab !== 'result';
  ui.layout.hidden = state.tab !== 'result';
  if (!current?.shown) {
    checkRadio(ui.notation, 'notation', state.notation);
    checkRadio(ui.layout, 'layout', state.layout);
  }
}

function checkRadio(fieldset: HTMLFieldSetElement, name: string, value: string): void {
  for (const r of fieldset.querySelectorAll<HTMLInputElement>(`input[name=${name}]`)) r.checked = r.value === value;
}

function showCode(r: CodeReply): void {
  ui.code.textContent = r.code;
  ui.code.className = r.code ? `language-${LANG_NAMES[state.lang].toLowerCase()}` : '';
  ui.codeBox.hidden = !r.code;
  ui.codeReturns.textContent = r.returns;
  ui.codeError.hidden = !r.problem;
  ui.codeError.replaceChildren(...(r.problem ? problemParts(r.problem, state.expr, messageActions) : []));
  ui.copyCode.disabled = !r.code;
}

function showCodeProblem(p: Problem): void {
  showCode({ kind: 'code', code: '', returns: `No ${LANG_NAMES[state.lang]} code.`, problem: p });
}

// ---------------------------------------------------------------- page → state

let timer: ReturnType<typeof setTimeout> | undefined;

function setState(next: Partial<State>, debounce = false): void {
  state = { ...state, ...next };
  linkNotices = [];
  linkAsksVec = false;
  pending();
  clearTimeout(timer);
  if (debounce) timer = setTimeout(update, DEBOUNCE_MS);
  else update();
}

ui.expr.addEventListener('input', () => {
  // The old mark no longer fits the text: drop it at once, the new one comes with the result.
  ui.backdrop.replaceChildren();
  setState({ expr: ui.expr.value }, true);
});
ui.expr.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    ev.preventDefault();
    shownKeys.clear();
    setState({ expr: ui.expr.value });
  }
});
/** The marked span is drawn on a layer behind the transparent input; it follows the input's scrolling. */
const syncBackdrop = (): void => {
  if (ui.backdrop.firstChild) ui.backdrop.scrollLeft = ui.expr.scrollLeft;
};
for (const ev of ['scroll', 'keyup', 'click', 'select', 'focus']) ui.expr.addEventListener(ev, syncBackdrop);

for (const [i, ex] of EXAMPLES.entries()) ui.examples.append(el('option', { value: String(i) }, ex.title));
ui.examples.addEventListener('change', () => {
  const ex = EXAMPLES[Number(ui.examples.value)];
  ui.examples.value = '';
  if (ex) setState({ layout: 'default', ...ex.state, notation: state.notation });
});

ui.varsBody.addEventListener('change', (ev) => {
  const select = ev.target;
  if (!(select instanceof HTMLSelectElement)) return;
  const name = select.dataset['name'];
  const type = select.value;
  if (name === undefined || !isDeclaredType(type)) return;
  const conventional = current?.vars?.find((v) => v.name === name)?.conventional;
  const lets = new Map<string, DeclaredType>(state.lets);
  if (type === conventional) lets.delete(name);
  else lets.set(name, type);
  setState({ lets });
});
ui.wrt.addEventListener('change', () => setState({ wrt: ui.wrt.value }));
ui.order.addEventListener('change', () => setState({ order: Number(ui.order.value) }));
ui.limit.addEventListener('change', () => {
  const seconds = Number(ui.limit.value);
  if (ui.limit.value !== '' && isTimeLimit(seconds)) setState({ limit: seconds });
  else ui.limit.setCustomValidity(`a time limit from ${MIN_LIMIT} to ${MAX_LIMIT} seconds`);
  ui.limit.reportValidity();
});
ui.lang.addEventListener('change', () => {
  if (isCodeLang(ui.lang.value)) setState({ lang: ui.lang.value });
});
ui.notation.addEventListener('change', (ev) => {
  const r = ev.target;
  if (r instanceof HTMLInputElement && (r.value === 'matrix' || r.value === 'index')) setState({ notation: r.value as Notation });
});
ui.layout.addEventListener('change', (ev) => {
  const r = ev.target;
  if (r instanceof HTMLInputElement && isLayout(r.value)) setState({ layout: r.value });
});

window.addEventListener('hashchange', () => {
  const d = decodeLink(location.hash, state);
  state = d.state;
  linkNotices = d.notices;
  linkAsksVec = d.state.layout === 'vec';
  update();
});

ui.stop.addEventListener('click', () => {
  jobs.stop();
  ui.expr.focus();
});

// ---------------------------------------------------------------- the Numbers tab

const numbersView = new NumbersView(
  {
    sizes: ui.sizes,
    check: ui.check,
    checkResult: ui.checkResult,
    point: ui.point,
    error: ui.numbersError,
    about: ui.numbersAbout,
    slices: ui.slices,
    box: ui.heatBox,
    canvas: ui.heatmap,
    tip: ui.heatTip,
    readout: ui.heatReadout,
    legend: ui.legend,
    legendMin: ui.legendMin,
    legendMax: ui.legendMax,
    legendBar: ui.legendBar,
  },
  {
    setSize: (name, k) => {
      const sizes = new Map(state.sizes);
      sizes.set(name, k);
      setState({ sizes });
    },
  },
);

ui.check.addEventListener('click', () => requestNumbers(true));
ui.newPoint.addEventListener('click', () => {
  pastedPoint = undefined;
  setState({ seed: (state.seed % 0xffffffff) + 1 });
});
ui.usePoint.addEventListener('click', () => {
  pastedPoint = ui.point.value;
  requestNumbers(false, true);
});
ui.randomPoint.addEventListener('click', () => {
  pastedPoint = undefined;
  ui.point.blur();
  requestNumbers(false, true);
});
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => numbersView.relayout(), 100);
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
  if (s) void copy(ui.copyLatex, resultForms(s, state).latex, 'LaTeX');
});
ui.copyText.addEventListener('click', () => {
  const s = current?.shown;
  if (s) void copy(ui.copyText, s.matrixText ?? s.indexText, 'Text');
});
ui.copyLink.addEventListener('click', () => void copy(ui.copyLink, location.href, 'Link'));
ui.copyCode.addEventListener('click', () => {
  const code = ui.code.textContent ?? '';
  if (code) void copy(ui.copyCode, code, `${LANG_NAMES[state.lang as CodeLang]} code`);
});

// KaTeX loads a font when a formula first needs it; fetch them all once the page has loaded, so
// that typesetting keeps working without a network.
window.addEventListener('load', () => {
  for (const face of document.fonts) if (face.family.replace(/["']/g, '').startsWith('KaTeX')) face.load().catch(() => undefined);
});

const selectTab = setUpTabs(ui.tabs, (tab) => {
  const chosen = [...TABS].find(([, b]) => b === tab)?.[0] ?? 'result';
  setState({ tab: chosen });
  if (chosen === 'numbers') numbersView.relayout();
});
renderMessage(ui, state.expr, undefined, [], linkNoticesFor(undefined), messageActions);
update();
document.documentElement.dataset['ready'] = 'true';
