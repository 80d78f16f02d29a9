// Small DOM helpers for the views. Text always goes in through textContent; no view ever parses markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes, and children (nodes or strings inserted as text). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** An SVG element with attributes, and children (nodes or strings inserted as text). */
export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A number for people: 3 decimals in [-10, 10], else 3 significant digits; -Infinity as −∞. */
export function fmt(value) {
  if (value === -Infinity) return '−∞';
  if (value === Infinity) return '∞';
  if (Number.isNaN(value)) return 'NaN';
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1000 || a < 0.001)) return value.toExponential(2);
  if (a >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

function lerp(a, b, t) {
  return a + (b - a) * t;
}

function rampRgb(stops, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(lerp(stops[i][c], stops[i + 1][c], f)));
}

function ramp(stops, t) {
  const [r, g, b] = rampRgb(stops, t);
  return `rgb(${r},${g},${b})`;
}

// Colour-blind-safe ramps: sequential blues (ColorBrewer) on light, viridis on dark; diverging
// blue-white-orange (ColorBrewer PuOr-like) for signed values.
const BLUES = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const DIVERGING_LIGHT = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [253, 184, 99], [179, 88, 6]];
const DIVERGING_DARK = [[103, 169, 207], [52, 83, 110], [40, 44, 52], [140, 90, 40], [253, 184, 99]];

/** Colour of t in [0, 1] on the sequential ramp of a theme ('light' | 'dark'). */
export function seqColor(t, theme) {
  return ramp(theme === 'dark' ? VIRIDIS : BLUES, t);
}

/** [r, g, b] of t on the sequential (t in [0, 1]) or diverging (t in [-1, 1]) ramp of a theme. */
export function colorRgb(t, theme, signed) {
  if (signed) return rampRgb(theme === 'dark' ? DIVERGING_DARK : DIVERGING_LIGHT, (t + 1) / 2);
  return rampRgb(theme === 'dark' ? VIRIDIS : BLUES, t);
}

/** Colour of t in [-1, 1] on the diverging ramp of a theme. */
export function divColor(t, theme) {
  return ramp(theme === 'dark' ? DIVERGING_DARK : DIVERGING_LIGHT, (t + 1) / 2);
}

/** Stops for an SVG linearGradient of a ramp. */
export function rampStops(theme, signed) {
  const stops = signed ? (theme === 'dark' ? DIVERGING_DARK : DIVERGING_LIGHT) : theme === 'dark' ? VIRIDIS : BLUES;
  return stops.map((c, i) => ({ offset: i / (stops.length - 1), color: `rgb(${c.join(',')})` }));
}

/** Okabe-Ito: eight colours that colour-blind readers can tell apart, one per head. */
export const HEAD_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#F0E442', '#000000'];

export function headColor(h, theme) {
  const c = HEAD_COLORS[h % HEAD_COLORS.length];
  return theme === 'dark' && c === '#000000' ? '#ffffff' : c;
}

let uid = 0;
/** A page-unique id for SVG gradients and ARIA references. */
export function uniqueId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Colours of the two themes, as the shadow styles define them (kept here for SVG export). */
export const THEMES = {
  light: { theme: 'light', fg: '#1d2329', bg: '#ffffff', muted: '#5b6670', masked: '#c9c9c9' },
  dark: { theme: 'dark', fg: '#e6e9ec', bg: '#16191d', muted: '#9aa5b0', masked: '#4a4f55' },
};
