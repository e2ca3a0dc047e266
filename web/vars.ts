/**
 * The table of variables (name, type, size) and the "differentiate by" menu. Rows are kept where
 * the names are unchanged, so that a menu being used keeps its focus. Names are user text: they
 * enter the page as text and as data attributes, looked up with CSS.escape, never as markup.
 */
import { DECLARED_TYPES } from '../src/syntax/check.js';
import type { VarRow } from './analysis.js';
import { el } from './dom.js';

export interface VarsUi {
  readonly body: HTMLTableSectionElement;
  readonly wrt: HTMLSelectElement;
}

function typeSelect(v: VarRow): HTMLSelectElement {
  const s = el('select', { 'data-testid': `var-type-${v.name}`, 'aria-label': `Type of ${v.name}`, 'data-name': v.name });
  if (v.type === undefined) s.append(el('option', { value: '', disabled: true }, 'choose a type…'));
  for (const t of DECLARED_TYPES) s.append(el('option', { value: t }, t + (t === v.conventional ? ' (by its name)' : '')));
  s.value = v.type ?? '';
  s.classList.toggle('untyped', v.type === undefined);
  return s;
}

function nameCell(name: string): HTMLTableCellElement {
  // A long name is cut with an ellipsis (CSS); the whole name is its title.
  return el('th', { scope: 'row' }, el('code', { title: name }, name));
}

export function renderVars(ui: VarsUi, vars: readonly VarRow[], wrt: string): void {
  const rows = [...ui.body.rows];
  const same = rows.length === vars.length && rows.every((r, i) => r.dataset['name'] === vars[i]!.name);
  if (!same) {
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset['name'] : undefined;
    ui.body.replaceChildren(...vars.map((v) => el('tr', { 'data-name': v.name }, nameCell(v.name), el('td', {}, typeSelect(v)), el('td', { class: 'size' }))));
    if (focused !== undefined) ui.body.querySelector<HTMLElement>(`select[data-name="${CSS.escape(focused)}"]`)?.focus();
  }
  vars.forEach((v, i) => {
    const row = ui.body.rows[i]!;
    const select = row.querySelector('select')!;
    if (select.value !== (v.type ?? '')) select.replaceWith(typeSelect(v));
    row.querySelector('.size')!.textContent = v.size ?? '';
    row.classList.toggle('wrt', v.name === wrt);
  });
  if (vars.length === 0) ui.body.replaceChildren(el('tr', {}, el('td', { colspan: '3', class: 'empty' }, 'no variables')));

  const names = vars.map((v) => v.name);
  const options = [...ui.wrt.options].map((o) => o.value);
  if (options.join('\n') !== names.join('\n')) ui.wrt.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
  ui.wrt.value = wrt;
  ui.wrt.disabled = names.length === 0;
}

/** Focuses the type menu of a variable (from the message about a name without a type). */
export function focusType(ui: VarsUi, name: string): void {
  const s = ui.body.querySelector<HTMLSelectElement>(`select[data-name="${CSS.escape(name)}"]`);
  s?.scrollIntoView({ block: 'center' });
  s?.focus();
}
