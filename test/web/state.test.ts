import { describe, expect, it } from 'vitest';
import { decodeState, DEFAULT_STATE, encodeState, type State } from '../../web/state.js';

describe('web state in the URL fragment', () => {
  it('round-trips', () => {
    const s: State = { expr: "x'*A*x + tr(B)", wrt: 'x', order: 3, lets: { A: 'symmetric matrix', c: 'scalar' }, notation: 'index' };
    expect(decodeState('#' + encodeState(s))).toEqual(s);
  });

  it('writes only the declarations of names in the expression', () => {
    const s: State = { ...DEFAULT_STATE, lets: { A: 'symmetric matrix', Z: 'vector' } };
    const back = decodeState(encodeState(s, new Set(['x', 'A'])));
    expect(back.lets).toEqual({ A: 'symmetric matrix' });
  });

  it('falls back to defaults for missing or invalid fields', () => {
    expect(decodeState('')).toEqual(DEFAULT_STATE);
    const s = decodeState('expr=x&order=9&wrt=1x&let=A:tensor&let=%3Cb%3E:scalar&let=B:matrix&notation=latex');
    expect(s).toEqual({ expr: 'x', wrt: '', order: 1, lets: { B: 'matrix' }, notation: 'matrix' });
  });
});
