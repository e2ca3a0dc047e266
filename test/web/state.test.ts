import { describe, expect, it } from 'vitest';
import { decodeLink, decodeState, DEFAULT_LIMIT, DEFAULT_STATE, encodeState, LAYOUT_CHOICES, MAX_LIMIT, MAX_ORDER, MAX_SIZE, MIN_LIMIT, type State } from '../../web/state.js';
import { LAYOUTS } from '../../src/derive.js';

describe('web state in the URL fragment', () => {
  it('round-trips', () => {
    const s: State = {
      expr: "x'*A*x + tr(B)",
      wrt: 'x',
      order: 3,
      lets: new Map([
        ['A', 'symmetric matrix'],
        ['c', 'scalar'],
      ]),
      notation: 'index',
      layout: 'vec',
      tab: 'code',
      lang: 'python',
      sizes: new Map([
        ['n', 7],
        ['m', 1],
      ]),
      seed: 42,
      limit: 2.5,
    };
    expect(decodeLink('#' + encodeState(s))).toEqual({ state: s, notices: [] });
    for (const lang of ['js', 'ts', 'python'] as const) expect(decodeState(encodeState({ ...s, lang })).lang).toBe(lang);
    for (const tab of ['result', 'numbers', 'code'] as const) expect(decodeState(encodeState({ ...s, tab })).tab).toBe(tab);
  });

  it('keeps names that are properties of plain objects: __proto__, constructor, toString, hasOwnProperty', () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const lets = new Map(names.map((n) => [n, 'vector' as const]));
    const s: State = { ...DEFAULT_STATE, expr: names.join('+'), lets, sizes: new Map([['__proto__', 3]]) };
    const back = decodeState(encodeState(s, new Set(names)));
    expect([...back.lets]).toEqual([...lets]);
    expect([...back.sizes]).toEqual([['__proto__', 3]]);
    // Nothing leaked onto Object.prototype or the maps' prototypes.
    expect(Object.getPrototypeOf(back.lets)).toBe(Map.prototype);
    expect(({} as Record<string, unknown>)['vector']).toBeUndefined();
  });

  it('writes only the declarations of names in the expression', () => {
    const s: State = { ...DEFAULT_STATE, lets: new Map([['A', 'symmetric matrix'], ['Z', 'vector']]) };
    const back = decodeState(encodeState(s, new Set(['x', 'A'])));
    expect([...back.lets]).toEqual([['A', 'symmetric matrix']]);
  });

  it('leaves the defaults (Result tab, JavaScript, seed 1, no sizes, an 8 s time limit) out of the link', () => {
    expect(DEFAULT_STATE.limit).toBe(8);
    expect(encodeState(DEFAULT_STATE)).toBe('expr=x%27*A*x&wrt=x&order=1');
    const p = new URLSearchParams(encodeState({ ...DEFAULT_STATE, tab: 'numbers', lang: 'ts', seed: 9, limit: 0.5 }));
    expect([p.get('tab'), p.get('lang'), p.get('seed'), p.get('limit')]).toEqual(['numbers', 'ts', '9', '0.5']);
  });

  it('the time limit: any number of seconds from 0.5 to 120 round-trips; out of range it is brought into range, with a notice', () => {
    expect([MIN_LIMIT, DEFAULT_LIMIT, MAX_LIMIT]).toEqual([0.5, 8, 120]);
    for (const limit of [MIN_LIMIT, 0.7, 1, 30, 119.5, MAX_LIMIT]) expect(decodeLink('#' + encodeState({ ...DEFAULT_STATE, limit }))).toEqual({ state: { ...DEFAULT_STATE, limit }, notices: [] });
    expect(decodeLink('expr=x&wrt=x&limit=2.50')).toEqual({ state: { ...DEFAULT_STATE, expr: 'x', limit: 2.5 }, notices: [] });
    for (const [asked, used] of [['0.1', MIN_LIMIT], ['0', MIN_LIMIT], ['121', MAX_LIMIT], ['100000', MAX_LIMIT]] as const) {
      const d = decodeLink(`expr=x&limit=${asked}`);
      expect(d.state.limit, asked).toBe(used);
      expect(d.notices).toEqual([`The link asks for a time limit of "${asked}" s; the page allows 0.5 to 120 s, so it uses ${used} s.`]);
    }
    for (const asked of ['', 'fast', '-1', '1e1', 'Infinity', 'NaN', '5s', ' 5']) {
      const d = decodeLink(`expr=x&limit=${encodeURIComponent(asked)}`);
      expect(d.state.limit, asked).toBe(DEFAULT_LIMIT);
      expect(d.notices, asked).toEqual([expect.stringMatching(/^The link asks for a time limit of ".*" s; the page allows 0\.5 to 120 s, so it uses 8 s\.$/)]);
    }
  });

  it('reads links from before the Code and Numbers tabs: the Result tab, JavaScript, seed 1', () => {
    const d = decodeLink("#expr=x'*A*x&wrt=x&order=2&let=A:symmetric+matrix&notation=index");
    expect(d.notices).toEqual([]);
    expect(d.state).toEqual({ ...DEFAULT_STATE, expr: "x'*A*x", wrt: 'x', order: 2, lets: new Map([['A', 'symmetric matrix']]), notation: 'index' });
    // A language without the tab (the Code tab was left for the Result tab) is kept.
    expect(decodeState('expr=x&lang=python')).toMatchObject({ tab: 'result', lang: 'python' });
  });

  it('an order out of range is brought into range, with a notice that says so', () => {
    for (const [asked, shown] of [['9', MAX_ORDER], ['0', 1], ['-2', 1], ['5', MAX_ORDER]] as const) {
      const d = decodeLink(`expr=x&order=${asked}`);
      expect(d.state.order).toBe(shown);
      expect(d.notices).toEqual([`The link asks for order "${asked}"; the page offers orders 1 to ${MAX_ORDER}, so it shows order ${shown}.`]);
    }
    for (const asked of ['1.5', 'two', '']) {
      const d = decodeLink(`expr=x&order=${asked}`);
      expect(d.state.order).toBe(1);
      expect(d.notices[0]).toMatch(/^The link asks for order/);
    }
    expect(decodeLink('expr=x&order=3').notices).toEqual([]);
  });

  it('every field it cannot use gets a notice, and takes its default', () => {
    const d = decodeLink(
      'expr=x&order=9&wrt=1x&let=A:tensor&let=%3Cb%3E:scalar&let=B:matrix&notation=latex&tab=%3Cscript%3E&lang=rust&size=n:0&size=m:4&size=q&seed=-1&limit=soon',
    );
    expect(d.state).toEqual({
      ...DEFAULT_STATE,
      expr: 'x',
      wrt: '',
      order: MAX_ORDER,
      lets: new Map([['B', 'matrix']]),
      sizes: new Map([['m', 4]]),
    });
    expect(d.notices).toHaveLength(11);
    expect(d.notices.join('\n')).toContain('"1x" is not a name');
    expect(d.notices.join('\n')).toContain('"A:tensor"');
    expect(d.notices.join('\n')).toContain('"<b>:scalar"');
    expect(d.notices.join('\n')).toContain(`"n:0" is not "name:k" with k from 1 to ${MAX_SIZE}`);
    expect(d.notices.join('\n')).toContain('"rust"');
    expect(d.notices.join('\n')).toContain('seed "-1"');
    expect(d.notices.join('\n')).toContain('time limit of "soon" s');
    for (const lang of ['', 'JS', 'Python', 'javascript', '__proto__', 'toString'])
      expect(decodeState(`expr=x&lang=${encodeURIComponent(lang)}`).lang, lang).toBe('js');
  });

  it('the layout: vec in the link as layout=vec, the default left out; an unknown one gets a notice', () => {
    expect(LAYOUT_CHOICES).toEqual(LAYOUTS);
    expect(DEFAULT_STATE.layout).toBe('default');
    expect(encodeState(DEFAULT_STATE)).not.toContain('layout');
    const vec = encodeState({ ...DEFAULT_STATE, expr: 'norm2(X*W - Y)^2', wrt: 'W', order: 2, layout: 'vec' });
    expect(new URLSearchParams(vec).get('layout')).toBe('vec');
    expect(decodeLink(vec)).toEqual({ state: { ...DEFAULT_STATE, expr: 'norm2(X*W - Y)^2', wrt: 'W', order: 2, layout: 'vec' }, notices: [] });
    expect(decodeLink('expr=x&wrt=x&layout=default')).toEqual({ state: { ...DEFAULT_STATE, expr: 'x' }, notices: [] });
    for (const asked of ['kron', 'VEC', '', '__proto__']) {
      const d = decodeLink(`expr=x&layout=${encodeURIComponent(asked)}`);
      expect(d.state.layout, asked).toBe('default');
      expect(d.notices, asked).toEqual([`The link's layout ${JSON.stringify(asked)} is unknown; the default layout is shown.`]);
    }
  });

  it('a link without an expression is the default state, without notices', () => {
    expect(decodeLink('')).toEqual({ state: DEFAULT_STATE, notices: [] });
    expect(decodeLink('#order=9')).toEqual({ state: DEFAULT_STATE, notices: [] });
  });

  it('cuts long values in notices', () => {
    const d = decodeLink(`expr=x&lang=${'z'.repeat(300)}`);
    expect(d.notices[0]!.length).toBeLessThan(120);
  });
});
