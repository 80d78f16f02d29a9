// The widget's pure pieces besides derive.js: which theme it shows, the palette from custom properties, the
// poster read back from exportJSON's format, and the status line's reason for a clipped text.
import { describe, it, expect } from 'vitest';
import { resolveTheme, paletteFrom, colorTokens } from '../../../web/src/widget/theme.js';
import { THEME_DEFAULTS } from '../../../web/src/widget/styles.js';
import { posterResult } from '../../../web/src/widget/poster.js';
import { toJsonString } from '../../../web/src/widget/export.js';
import { clipMessage } from '../../../web/src/widget/status.js';

/** A stand-in for <html>: its data-theme and class list. */
const html = (dataTheme, classes = []) => ({
  getAttribute: (n) => (n === 'data-theme' ? dataTheme ?? null : null),
  classList: { contains: (c) => classes.includes(c) },
});

describe('resolveTheme', () => {
  it('an explicit theme wins over the page and the system', () => {
    expect(resolveTheme('light', html('dark', ['dark']), true)).toBe('light');
    expect(resolveTheme('dark', html('light'), false)).toBe('dark');
  });
  it('auto follows the page: data-theme, then a dark/light class, then prefers-color-scheme', () => {
    expect(resolveTheme('auto', html('dark'), false)).toBe('dark');
    expect(resolveTheme(null, html('light', ['dark']), true)).toBe('light');
    expect(resolveTheme(null, html('auto', ['dark']), false)).toBe('dark');
    expect(resolveTheme(null, html(null, ['light']), true)).toBe('light');
    expect(resolveTheme(null, html(null), true)).toBe('dark');
    expect(resolveTheme(null, html(null), false)).toBe('light');
  });
});

describe('paletteFrom', () => {
  it('gives the documented defaults of each theme', () => {
    const light = paletteFrom('light');
    expect(light.fg).toBe(THEME_DEFAULTS.light.fg);
    expect(light.seq[0]).toEqual([247, 251, 255]);
    expect(light.heads[0]).toBe('#0072B2');
    expect(paletteFrom('dark').heads.at(-1)).toBe('#ffffff');
  });
  it('takes custom properties: ramps of hex, rgb() and resolved names; heads as written', () => {
    const p = paletteFrom('light', { ramp: '#000, rgb(10, 20, 30) teal', heads: 'red #123456', fg: ' #111 ' },
      (t) => (t === 'teal' ? [0, 128, 128] : null));
    expect(p.seq).toEqual([[0, 0, 0], [10, 20, 30], [0, 128, 128]]);
    expect(p.heads).toEqual(['red', '#123456']);
    expect(p.fg).toBe('#111');
  });
  it('falls back to the default ramp when a colour cannot be read or only one is given', () => {
    const defaults = colorTokens(THEME_DEFAULTS.dark.ramp).length;
    expect(paletteFrom('dark', { ramp: 'nonsense-colour #fff' }).seq).toHaveLength(defaults);
    expect(paletteFrom('dark', { ramp: '#fff' }).seq).toHaveLength(defaults);
  });
});

describe('posterResult', () => {
  const result = {
    mode: 'seeded', text: 'a b', layers: [{
      name: 'layer 0', heads: 1, nq: 2, nk: 2, queryPieces: ['▁a', '▁b'], keyPieces: ['▁a', '▁b'],
      weights: Float32Array.of(1, 0, 0.5, 0.5),
    }],
    steps: { masked: Float32Array.of(1, -Infinity, 0.5, 0.25) }, clips: [], notes: ['n'], timings: { totalMs: 1 },
    shown: { matrix: Float32Array.of(1) },
  };
  it('reads exportJSON back: typed arrays, -Infinity for masked scores, marked precomputed, no stale shown', () => {
    const p = posterResult(toJsonString(result, { view: 'heatmap', clips: [] }));
    expect(p.precomputed).toBe(true);
    expect(p.layers[0].weights).toEqual(Float32Array.of(1, 0, 0.5, 0.5));
    expect(p.steps.masked).toEqual(Float32Array.of(1, -Infinity, 0.5, 0.25));
    expect(p.layers[0].queryPieces).toEqual(['▁a', '▁b']);
    expect(p.notes).toEqual(['n']);
    expect(p.shown).toBeUndefined();
  });
  it('refuses another format and weights of the wrong size, naming the numbers', () => {
    expect(() => posterResult({ format: 'other/2', result })).toThrow(/format must be 'attention-view\/1'.*"other\/2"/);
    const bad = JSON.parse(toJsonString(result, {}));
    bad.result.layers[0].weights.pop();
    expect(() => posterResult(bad)).toThrow(/layer 0 has 3 weights but heads\*nq\*nk = 4/);
  });
});

describe('clipMessage', () => {
  it('names each cause on its own', () => {
    expect(clipMessage({ input: 'text', unit: 'characters', max: 10000, owner: 'widget' }))
      .toBe("The text was cut to its first 10,000 characters, the widget's limit.");
    expect(clipMessage({ input: 'text', unit: 'tokens', max: 128, owner: 'model' }))
      .toBe("The text was clipped to 128 tokens, the model's limit.");
    expect(clipMessage({ input: 'source', unit: 'tokens', max: 128, owner: 'encdec' }))
      .toBe("The source sentence was clipped to 128 tokens, the encoder-decoder's limit.");
  });
});
