// Which theme a widget shows and the colours its views draw with. theme="light" | "dark" is fixed;
// "auto" (the default) follows the page's own switch when it has one (data-theme="dark|light" or the class
// "dark"/"light" on <html>), else prefers-color-scheme. The colours are the element's custom properties
// (styles.js THEME_DEFAULTS, overridable as --attention-view-<name>), read once per render.
import { parseRgb } from './dom.js';
import { THEME_DEFAULTS } from './styles.js';

/** 'light' | 'dark' for a theme attribute value, the page's <html> and the colour-scheme media query. */
export function resolveTheme(attr, html, prefersDark) {
  if (attr === 'light' || attr === 'dark') return attr;
  const data = html?.getAttribute?.('data-theme');
  if (data === 'light' || data === 'dark') return data;
  if (html?.classList?.contains('dark')) return 'dark';
  if (html?.classList?.contains('light')) return 'light';
  return prefersDark ? 'dark' : 'light';
}

/** The colour tokens of a list such as '#f7fbff rgb(1, 2, 3) teal' (commas or spaces between). */
export function colorTokens(text) {
  return String(text).match(/#[0-9a-f]+|(?:rgb|hsl|lab|lch|oklab|oklch|color)a?\([^)]*\)|[a-z]+/gi) ?? [];
}

/**
 * The palette of a theme from custom-property values (name -> string; missing names take the defaults).
 * toRgb(token) resolves a colour that parseRgb cannot read (named colours, hsl()...), or returns null.
 */
export function paletteFrom(theme, values = {}, toRgb = () => null) {
  const defaults = THEME_DEFAULTS[theme];
  const value = (name) => (values[name] ?? '').trim() || defaults[name];
  const rgbList = (name) => {
    const list = colorTokens(value(name)).map((t) => parseRgb(t) ?? toRgb(t));
    return list.length >= 2 && list.every(Boolean) ? list : colorTokens(defaults[name]).map(parseRgb);
  };
  const heads = colorTokens(value('heads'));
  return {
    theme, fg: value('fg'), bg: value('bg'), muted: value('muted'), masked: value('masked'),
    maskedRgb: parseRgb(value('masked')) ?? toRgb(value('masked')) ?? parseRgb(defaults.masked),
    seq: rgbList('ramp'), div: rgbList('diverging'), heads: heads.length ? heads : colorTokens(defaults.heads),
  };
}

/** The palette of an element: its resolved --av-* custom properties (probe: an element for colour names). */
export function readPalette(element, theme, probe) {
  const style = getComputedStyle(element);
  const values = {};
  for (const name of Object.keys(THEME_DEFAULTS[theme])) values[name] = style.getPropertyValue(`--av-${name}`);
  const toRgb = (token) => {
    if (!probe) return null;
    probe.style.color = '';
    probe.style.color = token;
    return probe.style.color ? parseRgb(getComputedStyle(probe).color) : null;
  };
  return paletteFrom(theme, values, toRgb);
}
