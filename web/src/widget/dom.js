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

// `style` is an object of CSS properties set through the CSSOM (custom properties too): a style *attribute*
// is refused by a Content-Security-Policy without 'unsafe-inline' styles.
function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'style') {
      if (typeof value !== 'object') throw new TypeError('h/s: style must be an object of CSS properties (CSP: no style attributes)');
      // setProperty takes CSS names: 'backgroundColor' is set as 'background-color' (a camelCase name would be
      // ignored without a word); custom properties ('--x') pass as they are.
      for (const [prop, v] of Object.entries(value)) {
        node.style.setProperty(prop.startsWith('--') ? prop : prop.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), String(v));
      }
    } else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
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

// A palette is { theme, fg, bg, muted, masked, seq, div, heads }: seq and div are ramps of [r, g, b] stops
// (sequential for weights, diverging for signed values), heads the line colour of each head. The element
// reads them from its CSS custom properties (see styles.js and docs/WIDGET.md); these are the defaults.
// Colour-blind-safe ramps: sequential blues (ColorBrewer) on light, viridis on dark; diverging
// blue-white-orange (ColorBrewer PuOr-like); Okabe-Ito head colours (white instead of black on dark).

/** Colour of t in [0, 1] on a palette's sequential ramp. */
export function seqColor(t, palette) {
  return ramp(palette.seq, t);
}

/** [r, g, b] of t on the sequential (t in [0, 1]) or diverging (t in [-1, 1]) ramp of a palette. */
export function colorRgb(t, palette, signed) {
  if (signed) return rampRgb(palette.div, (t + 1) / 2);
  return rampRgb(palette.seq, t);
}

/** Colour of t in [-1, 1] on a palette's diverging ramp. */
export function divColor(t, palette) {
  return ramp(palette.div, (t + 1) / 2);
}

/** Stops for an SVG linearGradient of a ramp. */
export function rampStops(palette, signed) {
  const stops = signed ? palette.div : palette.seq;
  return stops.map((c, i) => ({ offset: i / (stops.length - 1), color: `rgb(${c.join(',')})` }));
}

export function headColor(h, palette) {
  return palette.heads[h % palette.heads.length];
}

let uid = 0;
/** A page-unique id for SVG gradients and ARIA references. */
export function uniqueId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** [r, g, b] of '#rgb', '#rrggbb' or 'rgb(r, g, b)' / 'rgba(...)' (what getComputedStyle gives), else null. */
export function parseRgb(text) {
  const t = String(text).trim();
  let m = /^#([0-9a-f]{3})$/i.exec(t);
  if (m) return [...m[1]].map((c) => parseInt(c + c, 16));
  m = /^#([0-9a-f]{6})$/i.exec(t);
  if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(t);
  if (m) return [1, 2, 3].map((i) => Math.round(Number(m[i])));
  return null;
}
