// Head view: each query token on the left joined to the key tokens on the right by lines, one colour per
// head, opacity = weight. Hover or focus a token to see only its lines; buttons toggle heads.
import { h, s, fmt, headColor } from '../dom.js';
import { displayPiece } from '../derive.js';

function render(ctx) {
  const { result, shown, palette } = ctx;
  const L = result.layers[shown.layer];
  const { nq, nk } = L;
  const q = L.queryPieces.map(displayPiece);
  const k = L.keyPieces.map(displayPiece);
  const hidden = ctx.hiddenHeads;
  const rowH = 20;
  const colW = Math.min(120, Math.max(60, ...[...q, ...k].map((t) => t.length * 7.5 + 12)));
  const gap = Math.max(120, Math.min(260, ctx.width - 2 * colW - 40));
  const width = colW * 2 + gap;
  const height = Math.max(nq, nk) * rowH + 10;
  const x0 = colW;
  const x1 = colW + gap;
  const svg = s('svg', {
    xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, class: 'headview',
    'font-family': 'system-ui, sans-serif', 'font-size': 12, role: 'group', 'aria-label': `Head view of ${L.name}`,
  });
  const lines = s('g', { 'stroke-width': 2, 'stroke-linecap': 'round' });
  const all = [];
  const size = nq * nk;
  // Long texts: only the stronger links, so that the picture stays readable and quick to draw.
  const threshold = size * (L.heads - hidden.size) > 8000 ? 0.1 : 0.02;
  for (let hd = 0; hd < L.heads; hd++) {
    if (hidden.has(hd)) continue;
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < nk; j++) {
        const w = L.weights[hd * size + i * nk + j];
        if (w < threshold) continue;
        const line = s('line', {
          x1: x0, y1: i * rowH + rowH / 2 + 5, x2: x1, y2: j * rowH + rowH / 2 + 5,
          stroke: headColor(hd, palette), 'stroke-opacity': Math.min(1, w).toFixed(3), 'data-i': i, 'data-j': j,
        });
        all.push(line);
        lines.append(line);
      }
    }
  }
  svg.append(lines);
  const status = h('p', { class: 'caption' }, 'Hover or focus a token to see only its lines.');
  function only(side, idx) {
    for (const line of all) {
      const on = idx === null || +line.dataset[side] === idx;
      line.setAttribute('visibility', on ? 'visible' : 'hidden');
    }
    if (idx === null) {
      status.textContent = 'Hover or focus a token to see only its lines.';
      return;
    }
    const parts = [];
    for (let hd = 0; hd < L.heads; hd++) {
      if (hidden.has(hd)) continue;
      let best = 0;
      for (let o = 0; o < (side === 'i' ? nk : nq); o++) {
        const w = side === 'i' ? L.weights[hd * size + idx * nk + o] : L.weights[hd * size + o * nk + idx];
        const b = side === 'i' ? L.weights[hd * size + idx * nk + best] : L.weights[hd * size + best * nk + idx];
        if (w > b) best = o;
      }
      const w = side === 'i' ? L.weights[hd * size + idx * nk + best] : L.weights[hd * size + best * nk + idx];
      parts.push(`head ${hd}: ${side === 'i' ? k[best] : q[best]} (${fmt(w)})`);
    }
    status.textContent = side === 'i'
      ? `“${q[idx]}” attends most to — ${parts.join('; ')}`
      : `“${k[idx]}” is attended most by — ${parts.join('; ')}`;
    ctx.announce(status.textContent);
  }
  const token = (text, x, y, anchor, side, idx) => {
    const t = s('text', {
      x, y, 'text-anchor': anchor, 'dominant-baseline': 'central', fill: palette.fg, tabindex: 0, class: 'token',
      role: 'button', 'aria-label': `${side === 'i' ? 'query' : 'key'} ${idx}: ${text}`,
    }, text);
    for (const ev of ['pointerenter', 'focus']) t.addEventListener(ev, () => only(side, idx));
    for (const ev of ['pointerleave', 'blur']) t.addEventListener(ev, () => only(side, null));
    return t;
  };
  q.forEach((t, i) => svg.append(token(t, x0 - 8, i * rowH + rowH / 2 + 5, 'end', 'i', i)));
  k.forEach((t, j) => svg.append(token(t, x1 + 8, j * rowH + rowH / 2 + 5, 'start', 'j', j)));

  const toggles = h('div', { class: 'heads', role: 'group', 'aria-label': 'Heads shown' });
  for (let hd = 0; hd < L.heads; hd++) {
    const b = h('button', {
      type: 'button', class: 'head-toggle', 'aria-pressed': String(!hidden.has(hd)), 'data-head': hd,
      style: { '--head': headColor(hd, palette) },
    }, `head ${hd}`);
    b.addEventListener('click', () => ctx.toggleHead(hd));
    toggles.append(b);
  }
  const note = threshold > 0.02 ? h('p', { class: 'note' }, `Long text: only weights of at least ${threshold} are drawn.`) : null;
  return h('div', { class: 'head-view' }, toggles, note, h('div', { class: 'scroll' }, svg), status);
}

export default { id: 'head', label: 'Heads', needs: [], controls: ['layer'], render };
