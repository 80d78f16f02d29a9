// <attention-view>: an embeddable custom element that shows attention computed by the engine, in a Web
// Worker shared by every widget on the page. Views: heatmap, head, model, neuron, steps.
//   <script type="module" src="attention-view.js"></script>
//   <attention-view text="The animal didn't cross the street because it was too tired" view="heatmap"
//     layer="1" head="3"></attention-view>
// All text is inserted as text (textContent); nothing heavy loads until the element nears the viewport.
import { requestCompute, warmUp } from './client.js';
import { modelUrl } from './assets.js';
import { selectShown, displayPiece } from './derive.js';
import { h, fmt, THEMES } from './dom.js';
import { styles } from './styles.js';
import { renderHeatmap, shownTitle } from './views/heatmap.js';
import { renderHeadView } from './views/head.js';
import { renderModelView } from './views/model.js';
import { renderNeuronView } from './views/neuron.js';
import { renderSteps } from './views/steps.js';
import { toSvgString, toPngBlob, toJsonString, download } from './export.js';

export const VIEWS = ['heatmap', 'head', 'model', 'neuron', 'steps'];
const VIEW_NAMES = { heatmap: 'Heatmap', head: 'Heads', model: 'Model', neuron: 'Neuron', steps: 'Step by step' };
const RENDERERS = { heatmap: renderHeatmap, head: renderHeadView, model: renderModelView, neuron: renderNeuronView, steps: renderSteps };
export const MODES = ['model', 'whatif', 'causal', 'encdec', 'seeded'];
const MODE_NAMES = { model: 'pretrained model', whatif: 'what-if', causal: 'causal decoder', encdec: 'encoder-decoder', seeded: 'seeded weights' };
export const SCORES = ['dot', 'scaled_dot', 'general', 'additive'];
export const DEFAULT_TEXT = "The animal didn't cross the street because it was too tired";
const MAX_CHARS = 10_000;
/** Attributes that change what the worker computes; the others only re-render. */
const COMPUTE_ATTRS = new Set(['text', 'mode', 'score', 'backend', 'source', 'pe', 'model-src']);

export /** How close to the viewport (px) a widget starts loading the engine and the model. */
const NEAR_PX = 300;

function nearViewport(element) {
  const rect = element.getBoundingClientRect();
  if (rect.width === 0 && rect.height === 0) return false;  // not laid out (hidden): the observer decides
  const height = globalThis.innerHeight ?? 0;
  return rect.bottom >= -NEAR_PX && rect.top <= height + NEAR_PX;
}

// Importing this module where there is no DOM (Node, a server-side render) must not throw: the class extends
// HTMLElement only where it exists, and the element is defined only where customElements is.
class AttentionView extends (globalThis.HTMLElement ?? class {}) {
  static observedAttributes = ['text', 'view', 'layer', 'head', 'mode', 'score', 'backend', 'theme', 'source', 'pe',
    'aggregate', 'merge', 'query', 'controls', 'model-src'];

  constructor() {
    super();
    this._root = this.attachShadow({ mode: 'open' });
    this._result = null;
    this._error = null;
    this._lastKey = null;
    this._seq = 0;
    this._visible = false;
    this._hiddenHeads = new Set();
    this._timer = 0;
    this._newReady();
    this._build();
  }

  /** A promise for the numbers on screen: resolves with `result` once the current computation is drawn. */
  get ready() { return this._ready.promise; }

  /** The numbers on screen: the worker's result plus `shown`, the matrix the current view draws. */
  get result() { return this._result; }

  /** The last error, or null. */
  get error() { return this._error; }

  connectedCallback() {
    this._media ??= globalThis.matchMedia?.('(prefers-color-scheme: dark)');
    this._onMedia ??= () => this._render();
    this._media?.addEventListener?.('change', this._onMedia);
    this._resize ??= new ResizeObserver(() => {
      const w = this._viewBox.clientWidth;
      if (this._result && Math.abs(w - (this._drawnWidth ?? 0)) > 40) this._render();
    });
    this._resize.observe(this);
    if (this._visible || typeof IntersectionObserver === 'undefined') {
      this._visible = true;
      this._update();
      return;
    }
    this._observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        this._visible = true;
        this._observer.disconnect();
        this._update();
      }
    }, { rootMargin: `${NEAR_PX}px` });
    this._observer.observe(this);
    this._renderStatus();
    // Near the viewport already (the first widget of a post): start the engine and the model now; the
    // observer's first callback waits for a rendered frame.
    if (nearViewport(this)) {
      const st = this._state;
      warmUp({ backend: st.backend, model: st.mode === 'model' || st.mode === 'whatif' ? modelUrl(this).href : null });
    }
  }

  disconnectedCallback() {
    this._observer?.disconnect();
    this._resize?.disconnect();
    this._media?.removeEventListener?.('change', this._onMedia);
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this._built) return;
    if (name === 'controls') this._toolbar.hidden = newValue === 'none';
    if (COMPUTE_ATTRS.has(name) || ((name === 'view' || name === 'layer' || name === 'head') && this._needsSteps())) {
      clearTimeout(this._timer);
      // A new computation is coming: `ready` from now on waits for it.
      if (this._ready.settled && this._visible) this._newReady();
      // Typing: wait for a pause. Other changes: at the end of this task, so that several set together
      // give one computation.
      if (name === 'text' && this._result) this._timer = setTimeout(() => this._update(), 150);
      else queueMicrotask(() => this._update());
    } else {
      this._render();
    }
  }

  // ---- state -------------------------------------------------------------------------------------
  get _state() {
    const a = (n, d) => this.getAttribute(n) ?? d;
    const view = VIEWS.includes(a('view')) ? a('view') : 'heatmap';
    return {
      text: a('text', DEFAULT_TEXT).slice(0, MAX_CHARS),
      clipped: a('text', '').length > MAX_CHARS,
      view, mode: MODES.includes(a('mode')) ? a('mode') : 'model',
      score: SCORES.includes(a('score')) ? a('score') : 'scaled_dot',
      backend: ['auto', 'wasm', 'webgpu'].includes(a('backend')) ? a('backend') : 'wasm',
      source: a('source', 'Das Tier überquerte die Straße nicht, weil es zu müde war'),
      pe: a('pe', 'on') !== 'off',
      layer: Number.parseInt(a('layer', '0'), 10) || 0,
      head: Number.parseInt(a('head', '0'), 10) || 0,
      aggregate: ['head', 'mean', 'rollout'].includes(a('aggregate')) ? a('aggregate') : 'head',
      merge: this.hasAttribute('merge') && a('merge') !== 'false',
      query: Number.parseInt(a('query', '0'), 10) || 0,
    };
  }

  _needsSteps() {
    const view = this.getAttribute('view');
    return view === 'steps' || view === 'neuron';
  }

  /** Sets attributes from a partial state (used by the toolbar and the views) and tells the page. */
  setState(partial) {
    for (const [name, value] of Object.entries(partial)) {
      if (value === null || value === false) this.removeAttribute(name);
      else this.setAttribute(name, value === true ? '' : String(value));
    }
    this.dispatchEvent(new CustomEvent('attention-view-change', { detail: { ...partial }, bubbles: true, composed: true }));
  }

  _newReady() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {});
    this._ready = { promise, resolve, reject, settled: false };
  }

  // ---- computing ---------------------------------------------------------------------------------
  async _update() {
    if (!this._visible || !this.isConnected) return;
    const st = this._state;
    const request = {
      mode: st.mode, text: st.text, score: st.score, backend: st.backend, pe: st.pe,
      source: st.mode === 'encdec' ? st.source : null,
      steps: st.view === 'steps' || st.view === 'neuron' ? { layer: st.layer, head: st.head } : null,
      modelUrl: st.mode === 'model' || st.mode === 'whatif' ? modelUrl(this).href : null,
    };
    const key = JSON.stringify(request);
    if (key === this._lastKey && (this._result || this._error)) {
      this._render();
      if (!this._ready.settled && !this._busy) {
        this._ready.settled = true;
        if (this._error) this._ready.reject(this._error);
        else this._ready.resolve(this._result);
      }
      return;
    }
    this._lastKey = key;
    const seq = ++this._seq;
    if (this._ready.settled) this._newReady();
    this._busy = true;
    this._renderStatus();
    const t0 = performance.now();
    try {
      const result = await requestCompute(request);
      if (seq !== this._seq) return;
      result.timings.roundTripMs = performance.now() - t0;
      result.clipped = st.clipped;
      this._result = result;
      this._error = null;
      this._busy = false;
      this._render();
      this._ready.settled = true;
      this._ready.resolve(this._result);
      this.dispatchEvent(new CustomEvent('attention-computed', { detail: { result: this._result }, bubbles: true, composed: true }));
    } catch (error) {
      if (seq !== this._seq) return;
      this._busy = false;
      this._error = error;
      this._lastKey = null;
      this._renderStatus();
      this._ready.settled = true;
      this._ready.reject(error);
      this.dispatchEvent(new CustomEvent('attention-error', { detail: { error }, bubbles: true, composed: true }));
    }
  }

  // ---- drawing -----------------------------------------------------------------------------------
  _build() {
    const ctl = (label, node) => h('label', {}, label, node);
    this._viewTabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'View' });
    for (const v of VIEWS) {
      const b = h('button', { type: 'button', 'data-view': v, 'aria-pressed': 'false' }, VIEW_NAMES[v]);
      b.addEventListener('click', () => this.setState({ view: v }));
      this._viewTabs.append(b);
    }
    this._layerSel = h('select', { 'aria-label': 'Layer', 'data-control': 'layer' });
    this._layerSel.addEventListener('change', () => this.setState({ layer: this._layerSel.value }));
    this._headSel = h('select', { 'aria-label': 'Head', 'data-control': 'head' });
    this._headSel.addEventListener('change', () => this.setState({ head: this._headSel.value }));
    this._aggSel = h('select', { 'aria-label': 'Heads shown as', 'data-control': 'aggregate' },
      h('option', { value: 'head' }, 'one head'), h('option', { value: 'mean' }, 'mean over heads'),
      h('option', { value: 'rollout' }, 'rollout'));
    this._aggSel.addEventListener('change', () => this.setState({ aggregate: this._aggSel.value }));
    this._mergeBox = h('input', { type: 'checkbox', 'data-control': 'merge' });
    this._mergeBox.addEventListener('change', () => this.setState({ merge: this._mergeBox.checked }));
    const exp = (label, fn) => {
      const b = h('button', { type: 'button', 'data-export': label.toLowerCase() }, label);
      b.addEventListener('click', fn);
      return b;
    };
    this._toolbar = h('div', { class: 'toolbar', part: 'toolbar' },
      this._viewTabs, ctl('Layer', this._layerSel), ctl('Head', this._headSel), ctl('Show', this._aggSel),
      ctl('Words', this._mergeBox),
      h('span', { class: 'exports', role: 'group', 'aria-label': 'Export' },
        exp('PNG', () => this._download('png')), exp('SVG', () => this._download('svg')), exp('JSON', () => this._download('json'))));
    this._toolbar.hidden = this.getAttribute('controls') === 'none';
    this._status = h('div', { class: 'status', part: 'status' });
    this._errorBox = h('div', { class: 'error', role: 'alert', hidden: true });
    this._viewBox = h('div', { class: 'view', part: 'view' });
    this._live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    this._table = h('div', { class: 'sr-only' });
    this._root.append(h('style', {}, styles), this._toolbar, this._status, this._errorBox, this._viewBox, this._live, this._table);
    this._built = true;
  }

  _palette() {
    // Fixed colours (those of the shadow styles), not getComputedStyle: reading styles right after a large
    // render forces a full style pass.
    const attr = this.getAttribute('theme');
    const theme = attr === 'dark' || attr === 'light' ? attr : this._media?.matches ? 'dark' : 'light';
    return THEMES[theme];
  }

  _renderStatus() {
    const r = this._result;
    this._status.replaceChildren();
    if (!this._visible) this._status.append('Waiting until visible…');
    else if (this._busy) {
      this._status.append(r ? 'Computing…' : ['model', 'whatif', null].includes(this.getAttribute('mode'))
        ? 'Loading the engine and the model (once per page)…' : 'Loading the engine…');
    }
    if (r && !this._busy) {
      const seeded = r.weightsFrom === 'seeded';
      this._status.append(
        h('span', { class: `badge${seeded ? ' seeded' : ''}` }, r.mode === 'model'
          ? (seeded ? 'seeded weights (no model loaded)' : 'pretrained model') : MODE_NAMES[r.mode]),
        `${r.backend}${r.backend === 'wasm' ? (r.simd ? ' SIMD' : ' scalar') : ''} · ${r.layers[0].nq} tokens · ${Math.round(r.timings.roundTripMs ?? r.timings.totalMs)} ms`);
      if (r.truncated || r.clipped) this._status.append(h('div', {}, `The text was clipped to ${r.layers[0].nq} tokens, the model's limit.`));
      for (const note of r.notes) this._status.append(h('div', {}, note));
    }
    this._errorBox.hidden = !this._error;
    this._errorBox.textContent = this._error ? `Could not compute attention: ${this._error.message}` : '';
    this._viewBox.setAttribute('aria-busy', String(Boolean(this._busy)));
  }

  _syncToolbar(shown) {
    const r = this._result;
    const st = this._state;
    for (const b of this._viewTabs.children) b.setAttribute('aria-pressed', String(b.dataset.view === st.view));
    this._layerSel.replaceChildren(...r.layers.map((L, l) => h('option', { value: l, selected: l === shown.layer }, L.name)));
    const heads = r.layers[shown.layer].heads;
    this._headSel.replaceChildren(...Array.from({ length: heads }, (_, hd) => h('option', { value: hd, selected: hd === shown.head }, String(hd))));
    this._aggSel.value = shown.aggregate;
    this._mergeBox.checked = shown.merged;
    this._headSel.disabled = st.view === 'model' || (shown.aggregate !== 'head' && st.view === 'heatmap');
  }

  _render() {
    this._renderStatus();
    const r = this._result;
    if (!r) return;
    const state = this._state;
    const shown = selectShown(r, state);
    const width = Math.max(240, this._viewBox.clientWidth || this.clientWidth || 600);
    this._drawnWidth = width;
    const extra = {};
    const ctx = {
      result: r, shown, state, palette: this._palette(), width, extra, hiddenHeads: this._hiddenHeads,
      announce: (text) => { this._live.textContent = text; },
      setState: (p) => this.setState(p),
      toggleHead: (hd) => {
        if (this._hiddenHeads.has(hd)) this._hiddenHeads.delete(hd);
        else this._hiddenHeads.add(hd);
        this._render();
        this._viewBox.querySelector(`[data-head="${hd}"]`)?.focus();
      },
    };
    const focused = this._root.activeElement;
    const focusKey = focused && this._viewBox.contains(focused) ? focused.getAttribute('aria-label') : null;
    const node = RENDERERS[state.view](ctx);
    this._viewBox.replaceChildren(node);
    if (focusKey) [...this._viewBox.querySelectorAll('[aria-label]')].find((n) => n.getAttribute('aria-label') === focusKey)?.focus();
    this._node = node;
    this._syncToolbar(shown);
    this._result = Object.assign(r, { shown: { ...shown, view: state.view, visibleHeads: [...Array(r.layers[shown.layer].heads).keys()].filter((x) => !this._hiddenHeads.has(x)), ...extra } });
    this._renderTable(shown, r);
  }

  /** The weights on screen as a table for screen readers (queries as rows, keys as columns). */
  _renderTable(shown, r) {
    // Built in idle slices so that a 128 x 128 table never holds up drawing or typing.
    const token = (this._tableToken = {});
    const idle = globalThis.requestIdleCallback ?? ((fn) => setTimeout(() => fn({ timeRemaining: () => 8 }), 0));
    const title = shownTitle(shown, r.layers[shown.layer].name);
    const table = h('table', {}, h('caption', {}, `Attention weights, ${title}. Rows are queries, columns keys.`));
    const head = h('tr', {}, h('th', { scope: 'col' }, 'query \\ key'));
    for (const k of shown.keyLabels) head.append(h('th', { scope: 'col' }, k));
    table.append(h('thead', {}, head));
    const body = h('tbody');
    table.append(body);
    this._table.replaceChildren(table);
    let i = 0;
    const slice = (deadline) => {
      if (token !== this._tableToken) return;
      do {
        const tr = h('tr', {}, h('th', { scope: 'row' }, shown.queryLabels[i]));
        for (let j = 0; j < shown.cols; j++) tr.append(h('td', {}, fmt(shown.matrix[i * shown.cols + j])));
        body.append(tr);
        i += 1;
      } while (i < shown.rows && deadline.timeRemaining() > 2);
      if (i < shown.rows) idle(slice, { timeout: 500 });
    };
    if (shown.rows * shown.cols <= 400) slice({ timeRemaining: () => 100 });
    else idle(slice, { timeout: 500 });
  }

  // ---- export ------------------------------------------------------------------------------------
  /** The current view as an SVG document (string). */
  exportSVG() {
    return toSvgString(this._node, this._palette());
  }

  /** The current view as a PNG image. */
  exportPNG(scale = 2) {
    return toPngBlob(this.exportSVG(), scale);
  }

  /** The numbers on screen and the settings that produced them, as JSON. */
  exportJSON() {
    return toJsonString(this._result, this._state);
  }

  async _download(kind) {
    if (!this._result) return;
    const base = `attention-${this._state.view}`;
    if (kind === 'svg') download(this._root, new Blob([this.exportSVG()], { type: 'image/svg+xml' }), `${base}.svg`);
    if (kind === 'json') download(this._root, new Blob([this.exportJSON()], { type: 'application/json' }), `${base}.json`);
    if (kind === 'png') download(this._root, await this.exportPNG(), `${base}.png`);
  }
}

/** Human-readable labels of a result's pieces (for integrators). */
export { displayPiece, AttentionView };

if (globalThis.customElements && !customElements.get('attention-view')) customElements.define('attention-view', AttentionView);
