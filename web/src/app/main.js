// The explorer page: a sentence, a mode and a few switches drive one <attention-view>; the state lives
// in the URL (?text=...&mode=...&view=...) so that a view can be shared.
import '../widget/attention-view.js';
import { SCORES, SCORE_NAMES, DEFAULT_SCORE } from '../lib/spec.js';

const view = document.getElementById('view');
const form = document.getElementById('controls');
const $ = (id) => document.getElementById(id);
const text = $('text');
const source = $('source');
const mode = $('mode');
const score = $('score');
const scale = $('scale');
const pe = $('pe');
const backend = $('backend');
const theme = $('theme');

// The score functions, their labels and formulas come from the op spec.
for (const name of SCORE_NAMES) {
  const spec = SCORES[name];
  const option = document.createElement('option');
  option.value = name;
  option.textContent = `${spec.label}: ${spec.formula}${spec.scaled ? ' / √d' : ''}`;
  score.append(option);
}
/** The score function with the same formula as `name`, scaled or not (null when there is none). */
function withScale(name, scaled) {
  return SCORE_NAMES.find((n) => SCORES[n].formula === SCORES[name].formula && SCORES[n].scaled === scaled) ?? null;
}

const DEFAULTS = {
  text: "The animal didn't cross the street because it was too tired",
  source: 'Das Tier überquerte die Straße nicht, weil es zu müde war',
  mode: 'model', view: 'heatmap', layer: '0', head: '0', score: DEFAULT_SCORE, pe: 'on', backend: 'wasm',
  theme: 'auto', aggregate: 'head', merge: null, query: '0',
};
/** The widget attributes kept in the URL. */
const KEYS = Object.keys(DEFAULTS);

const NOTES = {
  model: 'The pretrained model (Universal Sentence Encoder lite, 2 layers × 4 heads) on your sentence.',
  whatif: 'What-if: seeded embeddings and projections with the score function you pick, beside the model\'s own weights when the model is loaded.',
  causal: 'Decoder self-attention: a causal mask stops each token from seeing later ones (the upper triangle is zero). Seeded weights.',
  encdec: 'Encoder-decoder attention: queries from your sentence (the target), keys and values from the source sentence. Seeded weights.',
  seeded: 'Seeded, untrained weights: per-token random embeddings and fixed random W_Q, W_K, W_V.',
};

function readUrl() {
  const params = new URLSearchParams(location.search);
  const state = { ...DEFAULTS };
  for (const k of KEYS) if (params.has(k)) state[k] = params.get(k);
  return state;
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const k of KEYS) {
    const v = view.getAttribute(k);
    const d = DEFAULTS[k];
    if (k === 'merge') {
      if (view.hasAttribute('merge')) params.set('merge', '1');
    } else if (v !== null && v !== d) params.set(k, v);
  }
  const query = params.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

function apply(state) {
  for (const k of KEYS) {
    if (k === 'merge') {
      if (state.merge !== null && state.merge !== '0') view.setAttribute('merge', '');
      else view.removeAttribute('merge');
    } else if (state[k] !== null && state[k] !== undefined) view.setAttribute(k, state[k]);
  }
  text.value = state.text;
  source.value = state.source;
  mode.value = state.mode;
  score.value = state.score;
  scale.checked = SCORES[state.score]?.scaled ?? true;
  pe.checked = state.pe !== 'off';
  backend.value = state.backend;
  theme.value = state.theme;
  syncForm();
}

function syncForm() {
  const m = mode.value;
  $('source-row').hidden = m !== 'encdec';
  const scoreMatters = m !== 'model' && m !== 'seeded';
  score.disabled = !scoreMatters;
  pe.disabled = m === 'model';
  scale.disabled = !scoreMatters || !withScale(score.value, !SCORES[score.value].scaled);
  document.documentElement.dataset.theme = theme.value;
  $('mode-note').textContent = NOTES[m];
}

function set(name, value) {
  view.setAttribute(name, value);
  syncForm();
  writeUrl();
}

text.addEventListener('input', () => set('text', text.value));
source.addEventListener('input', () => set('source', source.value));
mode.addEventListener('change', () => set('mode', mode.value));
score.addEventListener('change', () => {
  scale.checked = SCORES[score.value].scaled;
  set('score', score.value);
});
scale.addEventListener('change', () => {
  score.value = withScale(score.value, scale.checked) ?? score.value;
  set('score', score.value);
});
pe.addEventListener('change', () => set('pe', pe.checked ? 'on' : 'off'));
backend.addEventListener('change', () => set('backend', backend.value));
theme.addEventListener('change', () => set('theme', theme.value));
form.addEventListener('submit', (event) => event.preventDefault());
view.addEventListener('attention-view-change', writeUrl);

const t0 = performance.now();
let first = true;
view.addEventListener('attention-computed', (event) => {
  const r = event.detail.result;
  const ms = performance.now() - t0;
  if (first) {
    first = false;
    globalThis.firstHeatmapMs = ms;
    $('timing').textContent = `First heatmap ${ms.toFixed(0)} ms after the page script started; ` +
      `this update: ${r.timings.roundTripMs.toFixed(1)} ms (worker ${r.timings.workerMs.toFixed(1)} ms).`;
  } else {
    $('timing').textContent = `Last update: ${r.timings.roundTripMs.toFixed(1)} ms (worker ${r.timings.workerMs.toFixed(1)} ms); first heatmap ${globalThis.firstHeatmapMs.toFixed(0)} ms.`;
  }
});

apply(readUrl());
