// Step by step for one head: X (+ PE) -> Q, K, V -> scores -> mask -> softmax -> Z, each step a small matrix
// with its formula (from the op spec) and shape, so the whole path can be followed on a real sentence.
import { SCORES, MASKS } from '../../lib/spec.js';
import { h, fmt } from '../dom.js';
import { drawMatrix } from './matrix.js';
import { displayPiece } from '../derive.js';

function render(ctx) {
  const { result, palette } = ctx;
  const st = result.steps;
  if (!st) return h('p', { class: 'caption' }, 'Computing…');
  const L = result.layers[st.layer ?? 0];
  const q = L.queryPieces.map(displayPiece);
  const k = L.keyPieces.map(displayPiece);
  const { nq, nk, d, dh } = st;
  const size = Math.min(260, ctx.width - 60);
  const dims = (n) => Array.from({ length: n }, (_, c) => String(c));
  const step = (num, name, formula, values, rows, cols, rowLabels, colLabels, signed = true, extra = {}) => {
    const m = drawMatrix({
      values, rows, cols, rowLabels, colLabels, signed, palette, title: name, targetSize: size, maxCell: 18,
      announce: ctx.announce, legend: true, ...extra,
      describe: (i, j, v) => `${name}[${rowLabels?.[i] ?? i}][${colLabels?.[j] ?? j}] = ${fmt(v)}`,
    });
    return h('figure', { class: 'step', 'data-step': name },
      h('figcaption', {}, h('span', { class: 'step-num' }, `${num}`), ` ${name} `, h('span', { class: 'shape' }, `[${rows}][${cols}]`)),
      h('p', { class: 'formula' }, formula), m.root);
  };
  const spec = SCORES[st.score];
  const formula = spec.formula.replace(/\bq\b/g, 'q_i').replace(/\bk\b/g, 'k_j');
  const scoreText = `${spec.label}: S_ij = ${formula}${spec.scaled ? ` / √d_k (÷ √${dh}, keeps the softmax out of saturation)` : ''}`;
  const maskText = `${MASKS[st.mask].label}: M_ij = S_ij where ${MASKS[st.mask].formula.replace(/^query i may attend key j iff /, '')}, else −∞`;
  const list = h('div', { class: 'steps' });
  let n = 1;
  if (st.PE) {
    list.append(step(n++, 'PE', 'PE[p][2i] = sin(p/10000^(2i/d)), PE[p][2i+1] = cos(p/10000^(2i/d))', st.PE.subarray(0, nq * d), nq, d, q, null, true, { fixedMax: 1 }));
  }
  list.append(step(n++, st.PE ? 'X + PE' : 'X', `${st.label}${st.C ? ' (queries from the target)' : ''}`, st.X, nq, d, q, null));
  if (st.C) list.append(step(n++, 'C', 'the source sentence: keys and values come from here', st.C, nk, d, k, null));
  const bias = st.qLabel ? ' + b' : '';
  list.append(step(n++, 'Q', st.qLabel ?? `Q = X W_Q  (head ${st.head}: columns ${st.head * dh}…${st.head * dh + dh - 1})`, st.Q, nq, dh, q, dims(dh)));
  list.append(step(n++, 'K', `K = ${st.C ? 'C' : 'X'} W_K${bias}`, st.K, nk, dh, k, dims(dh)));
  list.append(step(n++, 'V', `V = ${st.C ? 'C' : 'X'} W_V${bias}`, st.V, nk, dh, k, dims(dh)));
  list.append(step(n++, 'S', `scores, ${scoreText}`, st.scores, nq, nk, q, k));
  list.append(step(n++, 'M', `mask, ${maskText}`, st.masked, nq, nk, q, k));
  list.append(step(n++, 'W', 'softmax per row: w_ij = exp(M_ij − max_j M_ij) / Σ_j exp(M_ij − max_j M_ij)', st.weights, nq, nk, q, k, false));
  list.append(step(n++, 'Z', 'output: z_i = Σ_j w_ij v_j, i.e. Z = W V (the notes write it z_j = Σ_p w_pj v_p)', st.Z, nq, dh, q, dims(dh)));
  return h('div', { class: 'steps-view' },
    h('p', { class: 'note' }, `${L.name ? L.name[0].toUpperCase() + L.name.slice(1) : `Layer ${st.layer ?? 0}`}, head ${st.head}, d = ${d}, d_k = d_v = ${dh}, score: ${spec.label}, mask: ${MASKS[st.mask].label}.`),
    list);
}

export default { id: 'steps', label: 'Step by step', needs: ['steps'], controls: ['layer', 'head'], render };
