// Neuron view for one query i of one head: q_i, each key k_j, the element-wise product q_i ⊙ k_j (whose
// sum is q·k), the engine's score (masked keys −∞) and the softmax weight (Vig 2019, bertviz's neuron view).
import { SCORES } from '../../lib/spec.js';
import { h, s, fmt, divColor, seqColor } from '../dom.js';
import { displayPiece } from '../derive.js';

function render(ctx) {
  const { result, palette } = ctx;
  const st = result.steps;
  if (!st) return h('p', { class: 'caption' }, 'Computing…');
  const L = result.layers[st.layer ?? 0];
  const q = L.queryPieces.map(displayPiece);
  const k = L.keyPieces.map(displayPiece);
  const { nq, nk, dh } = st;
  const i = Math.min(nq - 1, Math.max(0, ctx.state.query | 0));
  const qi = st.Q.subarray(i * dh, (i + 1) * dh);
  const prods = new Float32Array(nk * dh);
  let vmax = 0;
  let pmax = 0;
  for (const v of qi) vmax = Math.max(vmax, Math.abs(v));
  for (let j = 0; j < nk; j++) {
    for (let c = 0; c < dh; c++) {
      const kv = st.K[j * dh + c];
      vmax = Math.max(vmax, Math.abs(kv));
      prods[j * dh + c] = qi[c] * kv;
      pmax = Math.max(pmax, Math.abs(prods[j * dh + c]));
    }
  }
  const cw = Math.max(3, Math.min(10, Math.floor(180 / dh)));
  const rowH = 18;
  const labelW = 90;
  const stripW = dh * cw;
  const cols = [labelW, labelW + stripW + 16, labelW + 2 * stripW + 32, labelW + 2 * stripW + 32 + 90];
  const width = cols[3] + 130;
  const height = (nk + 3) * rowH + 10;
  const svg = s('svg', {
    xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, class: 'neuron',
    'font-family': 'system-ui, sans-serif', 'font-size': 11, role: 'img',
    'aria-label': `Neuron view of query ${q[i]}: the score and weight of each key (see the table for numbers)`,
  });
  const text = (x, y, str, anchor = 'start', weight) => s('text', { x, y, 'text-anchor': anchor, 'dominant-baseline': 'central', fill: palette.fg, 'font-weight': weight }, str);
  const strip = (x, y, values, max) => {
    const g = s('g');
    for (let c = 0; c < values.length; c++) g.append(s('rect', { x: x + c * cw, y: y - rowH / 2 + 2, width: cw, height: rowH - 4, fill: divColor(values[c] / (max || 1), palette) }));
    return g;
  };
  const spec = SCORES[st.score];
  const formula = spec.formula.replace(/\bk\b/g, 'k_j');
  const heads = [['key', cols[0] - 6, 'end'], ['k_j', cols[0], 'start'], ['q ⊙ k_j', cols[1], 'start'],
    [`${formula}${spec.scaled ? ' / √d_k' : ''}`, cols[2] + 80, 'end'], ['softmax', cols[3], 'start']];
  for (const [t, x, a] of heads) svg.append(text(x, rowH / 2 + 2, t, a, 'bold'));
  const y0 = rowH * 1.5 + 4;
  svg.append(text(cols[0] - 6, y0, `q: ${q[i]}`, 'end', 'bold'));
  svg.append(strip(cols[0], y0, qi, vmax));
  for (let j = 0; j < nk; j++) {
    const y = y0 + (j + 1.5) * rowH;
    const w = st.weights[i * nk + j];
    svg.append(text(cols[0] - 6, y, k[j], 'end'));
    svg.append(strip(cols[0], y, st.K.subarray(j * dh, (j + 1) * dh), vmax));
    svg.append(strip(cols[1], y, prods.subarray(j * dh, (j + 1) * dh), pmax));
    svg.append(text(cols[2] + 80, y, fmt(st.masked[i * nk + j]), 'end'));
    svg.append(s('rect', { x: cols[3], y: y - 6, width: Math.max(0.5, w * 80), height: 12, fill: seqColor(0.75, palette) }));
    svg.append(text(cols[3] + 86, y, fmt(w)));
  }
  const select = h('select', { 'aria-label': 'Query token', class: 'query-select' });
  q.forEach((t, idx) => select.append(h('option', { value: idx, selected: idx === i }, `${idx}: ${t}`)));
  select.addEventListener('change', () => ctx.setState({ query: select.value }));
  const dotScore = spec.formula === 'q · k';
  const note = dotScore ? `q · k_j is the sum of the q ⊙ k_j strip${spec.scaled ? `; the score divides it by √${dh}` : ''}; the softmax runs over the row.`
    : `The score here is ${spec.label}, s(q, k) = ${spec.formula}, so q ⊙ k_j is shown for comparison only.`;
  return h('div', { class: 'neuron-view' },
    h('label', { class: 'inline' }, 'Query ', select, ` · layer ${st.layer ?? 0}, head ${st.head}`),
    h('p', { class: 'note' }, st.label),
    h('div', { class: 'scroll' }, svg),
    h('p', { class: 'caption' }, note));
}

export default { id: 'neuron', label: 'Neuron', needs: ['steps'], controls: ['layer', 'head'], render };
