// Heatmap view: queries (rows) x keys (columns) of the shown matrix, the value on hover and on keyboard
// focus, a legend, and which key each query attends to most. In what-if mode the model's own weights
// for the same layer and head are drawn beside it.
import { h, fmt } from '../dom.js';
import { drawMatrix, matrixLayout } from './matrix.js';
import { selectShown, displayPiece } from '../derive.js';
import { simpleTokenize } from '../seeded.js';
import { modeFor } from '../modes.js';

function strongest(shown, i) {
  let best = 0;
  for (let j = 1; j < shown.cols; j++) if (shown.matrix[i * shown.cols + j] > shown.matrix[i * shown.cols + best]) best = j;
  return best;
}

export function shownTitle(shown, layerName) {
  const what = shown.aggregate === 'mean' ? 'mean over heads'
    : shown.aggregate === 'rollout' ? `attention rollout through layers 0–${shown.layer}` : `head ${shown.head}`;
  return `${layerName ?? `layer ${shown.layer}`} · ${what}${shown.merged ? ' · pieces merged into words' : ''}`;
}

function panel(shown, title, ctx, size) {
  const caption = h('p', { class: 'caption' }, 'Each row is a query and sums to 1. Hover or focus a cell to read its weight.');
  const m = drawMatrix({
    values: shown.matrix, rows: shown.rows, cols: shown.cols, rowLabels: shown.queryLabels, colLabels: shown.keyLabels,
    palette: ctx.palette, title, targetSize: size, announce: ctx.announce,
    describe: (i, j, v) => `“${shown.queryLabels[i]}” → “${shown.keyLabels[j]}”: ${fmt(v)}`,
    onCell: (i) => {
      const j = strongest(shown, i);
      caption.textContent = `“${shown.queryLabels[i]}” attends most to “${shown.keyLabels[j]}” (${fmt(shown.matrix[i * shown.cols + j])}).`;
    },
  });
  return h('figure', { class: 'panel' }, h('figcaption', {}, title), m.root, caption);
}

/** What-if mode: the model's own weights for the same layer and head, drawn beside (part of `shown`). */
function select(result, state, shown) {
  if (result.mode !== 'whatif' || !result.reference) return {};
  const ref = { ...result, layers: result.reference };
  return { reference: selectShown(ref, { ...state, layer: Math.min(shown.layer, ref.layers.length - 1) }) };
}

function render(ctx) {
  const { result, shown } = ctx;
  const root = h('div', { class: 'heatmap-view' });
  const narrow = ctx.width < 520;
  const pair = Boolean(shown.reference);
  const size = pair && !narrow ? Math.min(340, ctx.width / 2 - 40) : Math.min(520, ctx.width - 60);
  const title = result.mode === 'whatif'
    ? `What-if (${result.score}${result.pe ? ', with PE' : ', no PE'}) · ${shownTitle(shown)}`
    : shownTitle(shown, result.layers[shown.layer].name);
  const row = h('div', { class: 'panels' }, panel(shown, title, ctx, Math.max(160, size)));
  if (pair) {
    const refShown = shown.reference;
    row.append(panel(refShown, `The model's own weights · ${shownTitle(refShown)}`, ctx, Math.max(160, size)));
  }
  root.append(row);
  if (result.mode === 'whatif' && result.peImage) root.append(renderEncoding(ctx, result.peImage));
  return root;
}

/**
 * The height the view will take at this width (px), reserved before the first drawing so that the page does not
 * move. Modes on seeded weights split words as simpleTokenize does, so the matrix is known exactly; the
 * model's pieces are not known before it runs, so there the largest matrix (`size` square) is kept free.
 */
function reserve(width, state) {
  const size = Math.max(160, Math.min(520, width - 60));
  const text = (14 * 1.4 + 4) + 2 * 12 * 1.4 + 8 + 12;  // figcaption, a caption of up to two lines, margins
  if (state.mode === 'whatif') return Math.ceil(size + 84 + 38 + text + 420);
  if (modeFor(state.mode).usesModel) return Math.ceil(size + 84 + 38 + text);
  const labels = (t) => simpleTokenize(t).pieces.map(displayPiece);
  const rows = labels(state.text);
  const cols = modeFor(state.mode).usesSource ? labels(state.source) : rows;
  if (rows.length === 0 || cols.length === 0) return 0;
  const m = matrixLayout({ rows: rows.length, cols: cols.length, rowLabels: rows, colLabels: cols, targetSize: size });
  // The SVG scales down to the width of the box (max-width: 100%), and so does its height.
  return Math.ceil(m.height * Math.min(1, (width - 2) / m.width) + text);
}

export default {
  id: 'heatmap', label: 'Heatmap', needs: [], controls: ['layer', 'head', 'aggregate', 'merge'], select, render, reserve,
};

/** The sinusoidal positional encoding PE [n][d] as a picture (positions down, dimensions across). */
export function renderEncoding(ctx, pe) {
  const m = drawMatrix({
    values: pe.values, rows: pe.n, cols: pe.d, signed: true, fixedMax: 1, palette: ctx.palette,
    title: 'positional encoding', targetSize: Math.min(360, ctx.width - 60), maxCell: 8, announce: ctx.announce,
    describe: (i, j, v) => `position ${i}, dimension ${j}: ${fmt(v)}`,
  });
  return h('figure', { class: 'panel pe' },
    h('figcaption', {}, `Sinusoidal positional encoding PE [${pe.n}][${pe.d}] — ${pe.used ? 'added to X' : 'off: not added, so attention cannot see word order'}`),
    m.root,
    h('p', { class: 'formula' }, 'PE[p][2i] = sin(p / 10000^(2i/d)),  PE[p][2i+1] = cos(p / 10000^(2i/d))'));
}
