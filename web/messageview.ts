/**
 * The message line under the input, in space reserved for one line so that typing never moves
 * the page: a quiet word while the input is merely unfinished or empty, notices about input that
 * is valid but probably not meant (and about a link that could not be followed as it was), and
 * errors with the offending part marked, in the message and under the input itself.
 */
import type { Span } from '../src/syntax/ast.js';
import type { Notice, Problem } from './analysis.js';
import { el, markedText } from './dom.js';

export interface MessageUi {
  readonly expr: HTMLInputElement;
  readonly backdrop: HTMLDivElement;
  readonly error: HTMLDivElement;
  readonly quiet: HTMLDivElement;
  readonly notices: HTMLUListElement;
}

export interface MessageActions {
  /** Selects a span of the input (a click on the marked part of a message). */
  readonly select: (span: Span) => void;
  /** Puts an example into the input (from the empty state). */
  readonly useExample: (expr: string) => void;
  /** Focuses the type menu of a variable. */
  readonly chooseType: (name: string) => void;
}

const EMPTY_EXAMPLE = "x'*A*x";

const LABEL: Record<Exclude<Problem['kind'], 'empty' | 'unfinished'>, string> = {
  error: 'Error: ',
  internal: 'Internal error: ',
  limit: 'Time limit: ',
  stopped: 'Stopped: ',
};

function fits(span: Span | undefined, text: string): span is Span {
  return span !== undefined && span.end <= text.length;
}

/** A message with, where it has a span, the input with that span marked (click: select it). */
export function problemParts(p: Problem, text: string, actions: MessageActions): Node[] {
  const label = p.kind === 'empty' || p.kind === 'unfinished' ? '' : LABEL[p.kind];
  const parts: Node[] = [el('p', { class: 'message-text' }, el('strong', {}, label), p.message)];
  if (fits(p.span, text) && p.kind === 'error') {
    const span = p.span;
    const snippet = el('code', { class: 'snippet', title: 'Select the marked part in the input' }, ...markedText(text, span));
    snippet.addEventListener('click', () => actions.select(span));
    parts.push(snippet);
  }
  if (p.variable !== undefined) {
    const name = p.variable;
    const go = el('button', { type: 'button', class: 'link-button', 'data-testid': 'choose-type' }, 'Choose its type');
    go.addEventListener('click', () => actions.chooseType(name));
    parts.push(go);
  }
  return parts;
}

/**
 * The backdrop behind the (transparent) input draws a mark under the error's span, or softly
 * under a notice's span. Without a mark it is empty: laying out a long input a second time on
 * every keystroke cost tens of milliseconds.
 */
function renderBackdrop(ui: MessageUi, text: string, problem: Problem | undefined, notices: readonly Notice[]): void {
  const marked = problem?.kind === 'error' && fits(problem.span, text) ? { span: problem.span, cls: '' } : undefined;
  const warn = notices.find((n) => fits(n.span, text));
  const mark = marked ?? (warn?.span ? { span: warn.span, cls: 'warn' } : undefined);
  if (!mark) {
    ui.backdrop.replaceChildren();
    return;
  }
  const parts = markedText(text, mark.span);
  if (mark.cls) (parts[1] as HTMLElement).classList.add(mark.cls);
  ui.backdrop.replaceChildren(...parts);
  ui.backdrop.scrollLeft = ui.expr.scrollLeft;
}

export function renderMessage(
  ui: MessageUi,
  text: string,
  problem: Problem | undefined,
  notices: readonly Notice[],
  linkNotices: readonly string[],
  actions: MessageActions,
): void {
  const loud = problem !== undefined && problem.kind !== 'empty' && problem.kind !== 'unfinished';
  ui.expr.setAttribute('aria-invalid', String(problem?.kind === 'error'));
  renderBackdrop(ui, text, problem, notices);

  ui.error.hidden = !loud;
  ui.error.classList.toggle('soft', problem?.kind === 'limit' || problem?.kind === 'stopped');
  ui.error.replaceChildren(...(loud ? problemParts(problem, text, actions) : []));

  if (problem?.kind === 'empty') {
    const example = el('button', { type: 'button', class: 'link-button', 'data-testid': 'use-example' }, el('code', {}, EMPTY_EXAMPLE));
    example.addEventListener('click', () => actions.useExample(EMPTY_EXAMPLE));
    ui.quiet.replaceChildren('Type an expression, for example ', example, ', or choose one of the examples.');
  } else if (problem?.kind === 'unfinished') {
    ui.quiet.replaceChildren(problem.message);
  } else {
    ui.quiet.replaceChildren();
  }
  ui.quiet.hidden = loud;

  const all = [...linkNotices, ...notices.map((n) => n.message)];
  ui.notices.hidden = all.length === 0;
  ui.notices.replaceChildren(...all.map((m) => el('li', {}, m)));
}
