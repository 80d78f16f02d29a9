// Model view: a grid of layers x heads as small pictures; each is a button that opens it as a heatmap.
import { h, s, colorRgb } from '../dom.js';
import { headMatrix } from '../derive.js';

function thumbnail(matrix, nq, nk, palette, size) {
  const canvas = h('canvas', { width: nk, height: nq, style: { width: `${size}px`, height: `${Math.round(size * nq / nk)}px` } });
  const g = canvas.getContext('2d');
  const img = g.createImageData(nk, nq);
  let max = 0;
  for (const v of matrix) max = Math.max(max, v);
  max = max || 1;
  for (let i = 0; i < nq * nk; i++) {
    const [r, gg, b] = colorRgb(matrix[i] / max, palette, false);
    img.data.set([r, gg, b, 255], i * 4);
  }
  g.putImageData(img, 0, 0);
  return canvas;
}

function render(ctx) {
  const { result, shown, palette } = ctx;
  const maxHeads = Math.max(...result.layers.map((l) => l.heads));
  const size = Math.max(44, Math.min(96, Math.floor((ctx.width - 90) / maxHeads) - 10));
  const grid = h('div', { class: 'model-grid', role: 'grid', 'aria-label': 'Layers by heads; choose one to open it' });
  const thumbs = [];
  result.layers.forEach((L, l) => {
    const row = h('div', { class: 'model-row', role: 'row' }, h('span', { class: 'model-label', role: 'rowheader' }, L.name));
    for (let hd = 0; hd < L.heads; hd++) {
      const canvas = thumbnail(headMatrix(L, hd), L.nq, L.nk, palette, size);
      thumbs.push({ canvas, l, hd, size, nq: L.nq, nk: L.nk });
      const current = l === shown.layer && hd === shown.head && shown.aggregate === 'head';
      const b = h('button', {
        type: 'button', class: `thumb${current ? ' current' : ''}`, role: 'gridcell', 'data-layer': l, 'data-head': hd,
        'aria-label': `${L.name}, head ${hd}: open as heatmap`, title: `${L.name}, head ${hd}`,
      }, canvas, h('span', {}, `h${hd}`));
      b.addEventListener('click', () => ctx.setState({ view: 'heatmap', layer: l, head: hd, aggregate: 'head' }));
      row.append(b);
    }
    grid.append(row);
  });
  const root = h('div', { class: 'model-view' }, grid, h('p', { class: 'caption' }, 'Each picture is one head (queries down, keys across). Choose one to open it as a heatmap.'));
  // For SVG and PNG export: the same grid as an SVG with the pictures embedded.
  root.exportSvg = () => {
    const gap = 10;
    const labelW = 70;
    const rows = result.layers.length;
    const width = labelW + maxHeads * (size + gap);
    const height = rows * (size + gap + 14);
    const svg = s('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': 'system-ui, sans-serif', 'font-size': 11 });
    svg.append(s('rect', { width, height, fill: palette.bg }));
    for (const t of thumbs) {
      const y = t.l * (size + gap + 14);
      const hh = Math.round(size * t.nq / t.nk);
      if (t.hd === 0) svg.append(s('text', { x: 0, y: y + hh / 2, fill: palette.fg }, result.layers[t.l].name));
      svg.append(s('image', { x: labelW + t.hd * (size + gap), y, width: size, height: hh, href: t.canvas.toDataURL('image/png'), preserveAspectRatio: 'none', 'image-rendering': 'optimizeSpeed' }));
      svg.append(s('text', { x: labelW + t.hd * (size + gap), y: y + hh + 11, fill: palette.fg }, `head ${t.hd}`));
    }
    return svg;
  };
  return root;
}

export default { id: 'model', label: 'Model', needs: [], controls: [], render };
