// Translation view (translator modes): the German output appears token by token; beside each generated token,
// its cross-attention row over the English source (the shown cross layer: one head, or the mean over heads),
// so one reads which source words the decoder looked at when it wrote that word ("es" looks at "animal" when
// the sentence ends "too tired"). Rows are the model's own weights; nothing is recomputed here.
import { h, fmt, colorRgb } from '../dom.js';
import { headMatrix, meanHeads, displayPiece } from '../derive.js';

/** The cross layer the view shows: the state's layer when it is a cross layer, else the last cross layer. */
function crossLayer(result, state) {
  const cross = result.layers.map((L, i) => ({ L, i })).filter(({ L }) => L.name.startsWith('cross'));
  if (cross.length === 0) return null;
  return cross.find(({ i }) => i === (state.layer | 0)) ?? cross[cross.length - 1];
}

function render(ctx) {
  const { result, state, palette } = ctx;
  const tr = result.translation;
  if (!tr) {
    return h('p', { class: 'caption' }, 'The translation view shows the trained translator: choose the mode "translate".');
  }
  const picked = crossLayer(result, state);
  if (!picked) return h('p', { class: 'caption' }, 'This mode computes no cross-attention; choose the mode "translate".');
  const { L, i: layerIndex } = picked;
  const aggregate = state.aggregate === 'head' ? 'head' : 'mean';
  const head = Math.min(Math.max(0, state.head | 0), L.heads - 1);
  const matrix = aggregate === 'head' ? headMatrix(L, head) : meanHeads(L);
  const src = L.keyPieces.map(displayPiece);
  const root = h('div', { class: 'translation-view' },
    h('p', { class: 'translation-output', lang: 'de' }, tr.output),
    h('p', { class: 'note' }, `${L.name}, ${aggregate === 'head' ? `head ${head}` : 'mean over heads'}: each German token and ` +
      'the English words it attended to when the decoder wrote it (a row of the cross-attention, summing to 1).'));
  const table = h('table', { class: 'translation-rows', 'data-layer': layerIndex });
  const header = h('tr', {}, h('th', { scope: 'col' }, 'wrote'), ...src.map((w) => h('th', { scope: 'col', class: 'src' }, w)));
  table.append(h('thead', {}, header));
  const body = h('tbody', {});
  L.queryPieces.forEach((token, i) => {
    const row = matrix.subarray(i * L.nk, (i + 1) * L.nk);
    let best = 0;
    for (let j = 1; j < L.nk; j++) if (row[j] > row[best]) best = j;
    let max = 0;
    for (const v of row) max = Math.max(max, v);
    const cells = Array.from(row, (v, j) => {
      const [r, g, b] = colorRgb(max > 0 ? v / max : 0, palette, false);
      const cell = h('td', {
        class: `w${j === best ? ' best' : ''}`, tabindex: '-1', title: `“${displayPiece(token)}” → “${src[j]}”: ${fmt(v)}`,
        style: { backgroundColor: `rgb(${r},${g},${b})`, color: (r * 0.299 + g * 0.587 + b * 0.114) > 140 ? '#000' : '#fff' },
      }, fmt(v));
      return cell;
    });
    // token by token: each row appears after the one before (styles.js; none with prefers-reduced-motion)
    body.append(h('tr', {
      class: 'generated', 'data-token': token, style: { animationDelay: `${Math.min(i, 40) * 120}ms` },
      'aria-label': `${displayPiece(token)}: attends most to ${src[best]} (${fmt(row[best])})`,
    }, h('th', { scope: 'row', lang: 'de' }, displayPiece(token)), ...cells));
  });
  table.append(body);
  root.append(h('div', { class: 'translation-scroll' }, table));
  const it = itsAntecedent(result);
  if (it) root.append(h('p', { class: 'note it-antecedent' }, it));
  return root;
}

/** In the last encoder layer (mean over heads), the source word "it" attends to most, besides itself. */
function itsAntecedent(result) {
  const encoders = result.layers.filter((L) => L.name.startsWith('encoder'));
  if (encoders.length === 0) return null;
  const L = encoders[encoders.length - 1];
  const i = L.queryPieces.findIndex((p) => displayPiece(p) === 'it');
  if (i < 0) return null;
  const row = meanHeads(L).subarray(i * L.nk, (i + 1) * L.nk);
  let best = -1;
  for (let j = 0; j < L.nk; j++) if (j !== i && (best < 0 || row[j] > row[best])) best = j;
  return `${L.name}, mean over heads: “it” attends most to “${displayPiece(L.keyPieces[best])}” (${fmt(row[best])}) besides itself; ` +
    'the heatmap of the encoder layers shows every head.';
}

function reserve(width, state) {
  const n = Math.max(4, Math.min(30, String(state.text ?? '').split(/\s+/).length + 4));
  return 80 + 26 * (n + 1);
}

export default {
  id: 'translation', label: 'Translation', needs: [], controls: ['layer', 'head', 'aggregate'], render, reserve,
  modes: ['translate', 'causal', 'encdec'],
};
