// Export of the current view: SVG (the view's drawings stacked in one document), PNG (that SVG drawn
// on a canvas), JSON (the numbers and the settings, typed arrays as plain arrays).
import { s } from './dom.js';

/** One SVG element for a view node: its own exportSvg(), else its SVG drawings stacked vertically. */
export function viewSvg(node, palette) {
  if (typeof node?.exportSvg === 'function') return node.exportSvg();
  const parts = [...node.querySelectorAll('svg')];
  const gap = 12;
  let y = 0;
  let width = 0;
  const out = s('svg', { xmlns: 'http://www.w3.org/2000/svg', 'font-family': 'system-ui, sans-serif' });
  const body = s('g');
  for (const part of parts) {
    const title = part.closest('figure')?.querySelector('figcaption')?.textContent;
    if (title) {
      body.append(s('text', { x: 0, y: y + 13, fill: palette.fg, 'font-size': 13, 'font-weight': 'bold' }, title));
      y += 20;
    }
    const w = Number(part.getAttribute('width'));
    const h = Number(part.getAttribute('height'));
    const copy = part.cloneNode(true);
    copy.setAttribute('x', 0);
    copy.setAttribute('y', y);
    copy.removeAttribute('tabindex');
    copy.removeAttribute('class');
    // A large matrix is a canvas over the grid on screen; in the file it is an image.
    const cells = part.exportCells;
    if (cells) {
      copy.append(s('image', {
        x: cells.x, y: cells.y, width: cells.width, height: cells.height, href: cells.canvas.toDataURL('image/png'),
        preserveAspectRatio: 'none', 'image-rendering': 'optimizeSpeed',
      }));
    }
    body.append(copy);
    y += h + gap;
    width = Math.max(width, w);
  }
  out.setAttribute('width', width);
  out.setAttribute('height', y);
  out.setAttribute('viewBox', `0 0 ${width} ${y}`);
  out.append(s('rect', { width, height: y, fill: palette.bg }), body);
  return out;
}

export function toSvgString(node, palette) {
  if (!node) throw new Error('attention-view: nothing is drawn yet');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(viewSvg(node, palette))}`;
}

export async function toPngBlob(svgText, scale = 2) {
  const blob = new Blob([svgText], { type: 'image/svg+xml' });
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
    const g = canvas.getContext('2d');
    g.scale(scale, scale);
    g.drawImage(img, 0, 0);
    return await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function toJsonString(result, state) {
  if (!result) throw new Error('attention-view: nothing is computed yet');
  const plain = (value) => {
    if (ArrayBuffer.isView(value)) return Array.from(value, (v) => (Number.isFinite(v) ? v : null));
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    return value;
  };
  const { clips, ...settings } = state;
  return JSON.stringify({ format: 'attention-view/1', settings, result: plain(result) }, null, 1);
}

export function download(root, blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  root.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
