/**
 * A WAI-ARIA tablist: click or arrow keys (Left/Right, Home/End) select a tab and show its panel.
 * Tabs are the [role=tab] buttons inside the list, each naming its panel in aria-controls, so a
 * new tab is one button and one panel in index.html. onSelect hears the user's choices; the
 * function returned selects a tab from code (the state in the URL) without calling it.
 */
export function setUpTabs(list: HTMLElement, onSelect?: (tab: HTMLElement) => void): (tab: HTMLElement) => void {
  const tabs = (): HTMLElement[] => [...list.querySelectorAll<HTMLElement>('[role=tab]')];
  const show = (tab: HTMLElement): void => {
    for (const t of tabs()) {
      const selected = t === tab;
      t.setAttribute('aria-selected', String(selected));
      t.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(t.getAttribute('aria-controls') ?? '');
      if (panel) panel.hidden = !selected;
    }
  };
  const choose = (tab: HTMLElement, focus: boolean): void => {
    show(tab);
    if (focus) tab.focus();
    onSelect?.(tab);
  };
  list.addEventListener('click', (ev) => {
    const tab = (ev.target as Element).closest<HTMLElement>('[role=tab]');
    if (tab && list.contains(tab)) choose(tab, false);
  });
  list.addEventListener('keydown', (ev) => {
    const all = tabs();
    const at = all.indexOf(document.activeElement as HTMLElement);
    if (at < 0) return;
    const next =
      ev.key === 'ArrowRight' ? (at + 1) % all.length
      : ev.key === 'ArrowLeft' ? (at - 1 + all.length) % all.length
      : ev.key === 'Home' ? 0
      : ev.key === 'End' ? all.length - 1
      : -1;
    if (next < 0) return;
    ev.preventDefault();
    choose(all[next]!, true);
  });
  const initial = tabs().find((t) => t.getAttribute('aria-selected') === 'true') ?? tabs()[0];
  if (initial) show(initial);
  return show;
}
