// The explorer's "Train it yourself" panel: the training worker (train-worker-main.js) trains, this file only draws
// its messages: the loss curve, held-out accuracy, the cross-attention of a chosen sentence as it learns, and
// the comparison of the four score functions (same seed, same data). "Use in every view" hands the weights to
// the widgets' worker (client.useTranslatorWeights), so every translator view runs on the model trained here.
import { SCORES, SCORE_NAMES, DEFAULT_SCORE } from '../lib/spec.js';
import { useTranslatorWeights } from '../widget/client.js';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7'];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Line chart of series [{ label, color, points: [[x, y]] }] into an <svg> (replacing its children); y on a log
 * scale when `log`, else [0, 1] (accuracies).
 */
export function drawCurves(root, series, { width = 420, height = 180, log = true, yLabel = '' } = {}) {
  root.replaceChildren();
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const pad = { l: 44, r: 8, t: 8, b: 22 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
  if (all.length === 0) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'muted' }, 'no points yet'));
    return;
  }
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const f = log ? Math.log10 : (v) => v;
  const yLo = log ? Math.floor(f(Math.min(...all.map(([, y]) => y)))) : 0;
  const yHi = log ? Math.ceil(f(Math.max(...all.map(([, y]) => y)))) : 1;
  const X = (x) => pad.l + (x / xMax) * (width - pad.l - pad.r);
  const Y = (y) => height - pad.b - ((f(y) - yLo) / Math.max(1e-9, yHi - yLo)) * (height - pad.t - pad.b);
  root.append(svg('line', { x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, class: 'axis' }));
  root.append(svg('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, class: 'axis' }));
  const ticks = log ? Array.from({ length: yHi - yLo + 1 }, (_, i) => 10 ** (yLo + i)) : [0, 0.5, 1];
  for (const t of ticks) {
    root.append(svg('text', { x: pad.l - 4, y: Y(t) + 4, 'text-anchor': 'end', class: 'tick' }, log ? String(t) : `${t * 100}%`));
  }
  root.append(svg('text', { x: width - pad.r, y: height - 6, 'text-anchor': 'end', class: 'tick' }, `${xMax} steps`));
  if (yLabel) root.append(svg('text', { x: pad.l + 4, y: pad.t + 10, class: 'tick' }, yLabel));
  for (const s of series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
    if (pts.length === 0) continue;
    root.append(svg('polyline', {
      points: pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 1.5,
    }));
  }
}

/** The cross-attention of the chosen sentence: German rows over English columns, mean over heads. */
function drawAttention(root, a) {
  root.replaceChildren();
  if (a.error) {
    root.append(Object.assign(document.createElement('p'), { className: 'note', textContent: a.error }));
    return;
  }
  const table = document.createElement('table');
  table.className = 'train-attention';
  const head = table.createTHead().insertRow();
  head.append(Object.assign(document.createElement('th'), { textContent: `step ${a.step}` }));
  for (const w of a.sourceTokens) head.append(Object.assign(document.createElement('th'), { textContent: w, className: 'src' }));
  const body = table.createTBody();
  const n = a.sourceTokens.length;
  a.rows.forEach((token, i) => {
    const tr = body.insertRow();
    tr.append(Object.assign(document.createElement('th'), { textContent: token }));
    for (let j = 0; j < n; j++) {
      const v = a.cross[i * n + j];
      const td = tr.insertCell();
      td.textContent = v.toFixed(2);
      td.style.backgroundColor = `rgba(11, 95, 173, ${Math.min(1, v).toFixed(3)})`;
      if (v > 0.5) td.className = 'strong';
    }
  });
  root.append(Object.assign(document.createElement('p'), { className: 'train-output', lang: 'de', textContent: a.output }), table);
}

export function initTrainPanel() {
  const score = $('train-score');
  for (const name of SCORE_NAMES) {
    score.append(Object.assign(document.createElement('option'), { value: name, textContent: SCORES[name].label }));
  }
  score.value = DEFAULT_SCORE;
  const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module', name: 'train' });
  // Everything the panel has drawn, kept for tests and for the docs' figures: read it as globalThis.__train.
  const history = { state: 'idle', step: 0, loss: [], evals: [], attention: null, compare: {}, errors: [] };
  globalThis.__train = history;
  let exportId = 0;
  const exports = new Map();

  const lossSvg = $('train-loss');
  const accSvg = $('train-accuracy');
  const redraw = () => {
    drawCurves(lossSvg, [{ label: 'loss', color: COLORS[0], points: history.loss }], { yLabel: 'training loss (log)' });
    drawCurves(accSvg, [
      { label: 'exact', color: COLORS[0], points: history.evals.map((e) => [e.step, e.exact]) },
      { label: 'pronoun', color: COLORS[1], points: history.evals.map((e) => [e.step, e.pronoun]) },
    ], { log: false, yLabel: 'held-out: exact (blue), pronoun (orange)' });
  };
  let frame = 0;
  const schedule = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; redraw(); }); };

  const buttons = () => {
    const s = history.state;
    $('train-start').disabled = s === 'running' || s === 'comparing';
    $('train-pause').disabled = s !== 'running';
    $('train-resume').disabled = s !== 'paused';
    $('train-reset').disabled = s === 'idle';
    $('train-use').disabled = history.step === 0 || s === 'comparing' || s === 'compared';
  };

  worker.onmessage = ({ data: m }) => {
    switch (m.type) {
      case 'state':
        history.state = m.state;
        if (m.state !== 'comparing' && m.state !== 'compared') history.step = m.step;
        if (m.seconds !== undefined) history.compareSeconds = m.seconds;
        $('train-status').textContent = m.state === 'idle' ? 'Not trained yet.'
          : m.state === 'compared' ? `Compared the four score functions, ${m.step} steps each, in ${m.seconds.toFixed(0)} s.`
            : `${m.state}, step ${m.step}`;
        buttons();
        break;
      case 'progress':
        history.step = m.step;
        history.loss.push([m.step, m.loss]);
        $('train-status').textContent = `${history.state}, step ${m.step}, loss ${m.loss.toFixed(4)}` +
          (m.stepsPerSecond ? `, ${m.stepsPerSecond.toFixed(0)} steps/s` : '');
        schedule();
        buttons();
        break;
      case 'eval':
        history.evals.push({ step: m.step, exact: m.exact, pronoun: m.pronoun, classic: m.classic, sentences: m.sentences });
        $('train-eval').textContent = `held-out at step ${m.step}: ${(100 * m.exact).toFixed(1)}% of ${m.sentences} ` +
          `sentences exactly right, ${(100 * m.pronoun).toFixed(1)}% of ${m.pronounSentences} pronouns right, ` +
          `classic pair ${Math.round(m.classic * 2)}/2`;
        schedule();
        break;
      case 'attention':
        history.attention = m;
        drawAttention($('train-cross'), m);
        break;
      case 'compare-progress':
      case 'compare-eval': {
        const c = (history.compare[m.score] ??= { loss: [], evals: [] });
        if (m.type === 'compare-progress') c.loss.push([m.step, m.loss]);
        else c.evals.push({ step: m.step, exact: m.exact, pronoun: m.pronoun, sentences: m.sentences });
        drawCompare();
        break;
      }
      case 'weights':
        exports.get(m.id)?.resolve(m);
        exports.delete(m.id);
        break;
      case 'error':
        history.errors.push(m.message);
        $('train-status').textContent = `Error: ${m.message}`;
        if (m.id !== undefined) exports.get(m.id)?.reject(new Error(m.message));
        break;
      default:
    }
  };

  function drawCompare() {
    const root = $('train-compare');
    root.replaceChildren();
    SCORE_NAMES.forEach((name, k) => {
      const c = history.compare[name] ?? { loss: [], evals: [] };
      const fig = document.createElement('figure');
      const plot = document.createElementNS(SVG, 'svg');
      plot.setAttribute('class', 'curve small');
      plot.setAttribute('role', 'img');
      const last = c.evals[c.evals.length - 1];
      plot.setAttribute('aria-label', `${SCORES[name].label}: loss curve${last ? `, ${(100 * last.exact).toFixed(1)}% exact at step ${last.step}` : ''}`);
      drawCurves(plot, [{ label: name, color: COLORS[k], points: c.loss }], { width: 240, height: 140 });
      const caption = document.createElement('figcaption');
      caption.textContent = `${SCORES[name].label}${last ? ` · step ${last.step}: ${(100 * last.exact).toFixed(1)}% exact, ${(100 * last.pronoun).toFixed(1)}% pronouns` : ''}`;
      fig.append(caption, plot);
      root.append(fig);
    });
  }

  $('train-start').addEventListener('click', () => {
    history.loss = [];
    history.evals = [];
    history.attention = null;
    worker.postMessage({
      type: 'start', score: score.value, seed: Number($('train-seed').value) | 0 || 1,
      sentence: $('train-sentence').value, evalEvery: Number($('train-eval-every').value) | 0 || 50,
      maxSteps: Number($('train-max-steps').value) | 0 || 100_000,
    });
  });
  $('train-pause').addEventListener('click', () => worker.postMessage({ type: 'pause' }));
  $('train-resume').addEventListener('click', () => worker.postMessage({ type: 'resume' }));
  $('train-reset').addEventListener('click', () => {
    history.loss = [];
    history.evals = [];
    history.attention = null;
    history.compare = {};
    $('train-cross').replaceChildren();
    $('train-eval').textContent = '';
    $('train-compare').replaceChildren();
    redraw();
    worker.postMessage({ type: 'reset' });
    useTranslatorWeights(null).catch(() => {});  // the views go back to the shipped weights
  });
  $('train-sentence').addEventListener('change', () => worker.postMessage({ type: 'sentence', text: $('train-sentence').value }));
  $('train-use').addEventListener('click', async () => {
    const id = ++exportId;
    const got = new Promise((resolve, reject) => exports.set(id, { resolve, reject }));
    worker.postMessage({ type: 'export', id });
    const m = await got;
    await useTranslatorWeights(m.bytes, m.trainedIn);
    $('train-status').textContent = `Every translator view now uses the model trained here (${m.trainedIn.score}, step ${m.trainedIn.steps}).`;
  });
  $('train-compare-start').addEventListener('click', () => {
    history.compare = {};
    drawCompare();
    worker.postMessage({
      type: 'compare', seed: Number($('train-seed').value) | 0 || 1,
      steps: Number($('train-compare-steps').value) | 0 || 1000, evalEvery: Number($('train-eval-every').value) | 0 || 50,
    });
  });
  redraw();
  buttons();
  return { worker, history };
}
