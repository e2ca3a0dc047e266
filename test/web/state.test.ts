import { describe, expect, it } from 'vitest';
import { decodeState, DEFAULT_STATE, encodeState, type State } from '../../web/state.js';

describe('web state in the URL fragment', () => {
  it('round-trips', () => {
    const s: State = {
      expr: "x'*A*x + tr(B)",
      wrt: 'x',
      order: 3,
      lets: { A: 'symmetric matrix', c: 'scalar' },
      notation: 'index',
      tab: 'code',
      lang: 'python',
    };
    expect(decodeState('#' + encodeState(s))).toEqual(s);
    for (const lang of ['js', 'ts', 'python'] as const) expect(decodeState(encodeState({ ...s, lang })).lang).toBe(lang);
  });

  it('writes only the declarations of names in the expression', () => {
    const s: State = { ...DEFAULT_STATE, lets: { A: 'symmetric matrix', Z: 'vector' } };
    const back = decodeState(encodeState(s, new Set(['x', 'A'])));
    expect(back.lets).toEqual({ A: 'symmetric matrix' });
  });

  it('leaves the defaults (Result tab, JavaScript) out of the link', () => {
    expect(encodeState(DEFAULT_STATE)).toBe('expr=x%27*A*x&wrt=x&order=1');
    const p = new URLSearchParams(encodeState({ ...DEFAULT_STATE, tab: 'code', lang: 'ts' }));
    expect([p.get('tab'), p.get('lang')]).toEqual(['code', 'ts']);
  });

  it('reads links from before the Code tab: the Result tab, and JavaScript when the Code tab is opened', () => {
    const s = decodeState("#expr=x'*A*x&wrt=x&order=2&let=A:symmetric+matrix&notation=index");
    expect(s).toEqual({ expr: "x'*A*x", wrt: 'x', order: 2, lets: { A: 'symmetric matrix' }, notation: 'index', tab: 'result', lang: 'js' });
    // A language without the tab (the Code tab was left for the Result tab) is kept.
    expect(decodeState('expr=x&lang=python')).toMatchObject({ tab: 'result', lang: 'python' });
  });

  it('falls back to defaults for missing or invalid fields', () => {
    expect(decodeState('')).toEqual(DEFAULT_STATE);
    const s = decodeState('expr=x&order=9&wrt=1x&let=A:tensor&let=%3Cb%3E:scalar&let=B:matrix&notation=latex&tab=%3Cscript%3E&lang=rust');
    expect(s).toEqual({ expr: 'x', wrt: '', order: 1, lets: { B: 'matrix' }, notation: 'matrix', tab: 'result', lang: 'js' });
    for (const lang of ['', 'JS', 'Python', 'javascript', '__proto__', 'toString'])
      expect(decodeState(`expr=x&lang=${encodeURIComponent(lang)}`).lang, lang).toBe('js');
  });
});
