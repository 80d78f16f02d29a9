// <attention-view>: an embeddable custom element that shows attention computed by the engine, in a Web
// Worker shared by every widget on the page. The views are a registry (views/index.js), the modes a list
// (modes.js) with one compute function each (compute.js); docs/WIDGET.md documents every attribute,
// property, event, part and custom property.
//   <script type="module" src="attention-view.js"></script>
//   <attention-view text="The animal didn't cross the street because it was too tired" view="heatmap"
//     layer="1" head="3"></attention-view>
// All text is inserted as text (textContent). Nothing heavy loads before `loading` allows it (lazy: near the
// viewport; eager; interaction: a click or focus). The element renders at most once per animation frame.
import { requestCompute, warmUp, onModelProgress, modelProgress, cancelModelDownload } from './client.js';
import { modelUrl } from './assets.js';
import { selectShown, displayPiece } from './derive.js';
import { h, fmt } from './dom.js';
import { styleSheet } from './styles.js';
import { resolveTheme, readPalette } from './theme.js';
import { VIEWS as VIEW_ENTRIES, viewFor } from './views/index.js';
import { MODES as MODE_ENTRIES, modeFor } from './modes.js';
import { SCORE_NAMES, DEFAULT_SCORE } from '../lib/spec.js';
import { shownTitle } from './views/heatmap.js';
import { loadPoster } from './poster.js';
import { clipMessage, megabytes } from './status.js';
import { toSvgString, toPngBlob, toJsonString, download } from './export.js';

export const VIEWS = VIEW_ENTRIES.map((v) => v.id);
export const MODES = MODE_ENTRIES.map((m) => m.id);
export const SCORES = SCORE_NAMES;
export { clipMessage };
export const DEFAULT_TEXT = "The animal didn't cross the street because it was too tired";
export const DEFAULT_SOURCE = 'Das Tier überquerte die Straße nicht, weil es zu müde war';
/** The widget's own limit on `text` and `source` (characters). */
export const MAX_CHARS = 10_000;
export const LOADING = ['lazy', 'eager', 'interaction'];

export /** How close to the viewport (px) a lazy widget starts loading the engine and the model. */
const NEAR_PX = 300;

function nearViewport(element) {
  const rect = element.getBoundingClientRect();
  if (rect.width === 0 && rect.height === 0) return false;  // not laid out (hidden): the observer decides
  const height = globalThis.innerHeight ?? 0;
  return rect.bottom >= -NEAR_PX && rect.top <= height + NEAR_PX;
}


// The page's own dark-mode switch (class or data-theme on <html>) and prefers-color-scheme: one observer
// for every widget on the page.
const themed = new Set();
let themeWatch = null;
function watchTheme(widget) {
  themed.add(widget);
  if (themeWatch || typeof document === 'undefined') return;
  const media = globalThis.matchMedia?.('(prefers-color-scheme: dark)') ?? null;
  const notify = () => { for (const w of themed) w._applyTheme(); };
  media?.addEventListener?.('change', notify);
  const observer = new MutationObserver(notify);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'data-theme'] });
  themeWatch = { media };
}

// Where no DOM exists (Node, a server-side render) the module still imports; the element is defined only
// where customElements exists.
const Base = globalThis.HTMLElement ?? class {};

class AttentionView extends Base {
  static observedAttributes = ['text', 'view', 'layer', 'head', 'mode', 'score', 'backend', 'theme', 'source', 'pe',
    'aggregate', 'merge', 'query', 'controls', 'loading', 'poster', 'model-src'];

  constructor() {
    super();
    this._root = this.attachShadow({ mode: 'open' });
    this._root.adoptedStyleSheets = [styleSheet()];
    try {
      this._internals = this.attachInternals();
    } catch {
      this._internals = null;
    }
    this._result = null;       // live result, else the poster's
    this._poster = null;       // the poster's result while it is shown
    this._error = null;
    this._lastKey = null;
    this._seq = 0;
    this._active = false;      // `loading` allows computing
    this._busy = false;        // a computation is under way
    this._queued = false;      // a computation is scheduled (timer or microtask)
    this._frame = null;        // a render is scheduled for the next animation frame
    this._hiddenHeads = new Set();
    this._timer = 0;
    this._renders = 0;
    this._newReady();
    this._build();
  }

  /** A promise for the numbers on screen: resolves with `result` once the current computation is drawn. */
  get ready() { return this._ready.promise; }

  /** The numbers on screen: the worker's result (or the poster's, `precomputed: true`) plus `shown`. */
  get result() { return this._result; }

  /** The last error, or null. */
  get error() { return this._error; }

  /** How many times the element has drawn its view (it draws at most once per animation frame). */
  get renderCount() { return this._renders; }

  connectedCallback() {
    watchTheme(this);
    this._applyTheme(false);
    this._resize ??= new ResizeObserver(() => {
      const w = this._viewBox.clientWidth;
      if (this._result && Math.abs(w - (this._drawnWidth ?? 0)) > 40) this._scheduleRender();
    });
    this._resize.observe(this);
    // After the script that added the element has set its attributes (the view and text decide the size; the
    // mode decides the tabs).
    queueMicrotask(() => {
      this._syncTabs(this._state);
      this._reserve();
    });
    this._unprogress ??= onModelProgress((p) => this._onProgress(p));
    // New translator weights (trained in the page): a translator mode recomputes on them.
    this._onTranslator ??= () => {
      if (!modeFor(this._state.mode).usesTranslator) return;
      this._lastKey = null;
      this._scheduleCompute('translator');
    };
    globalThis.addEventListener?.('attention-translator-change', this._onTranslator);
    if (!this._posterTried) this._showPoster();
    this._start();
  }

  disconnectedCallback() {
    themed.delete(this);
    this._observer?.disconnect();
    this._observer = null;
    this._resize?.disconnect();
    this._unprogress?.();
    this._unprogress = null;
    globalThis.removeEventListener?.('attention-translator-change', this._onTranslator);
    this._stopInteraction?.();
  }

  /** Starts computing when `loading` allows: now (eager), near the viewport (lazy), or on a click or focus. */
  _start() {
    if (this._active || !this.isConnected) return;
    const loading = this._state.loading;
    this._stopInteraction?.();
    this._observer?.disconnect();
    this._observer = null;
    // Near the viewport already (the first widget of a post): start now. The observer's first callback would
    // wait for a rendered frame, and a browser that renders none (an occluded or automated window) never sends it.
    if (loading === 'eager' || (loading === 'lazy' && (typeof IntersectionObserver === 'undefined' || nearViewport(this)))) {
      this._activate();
      return;
    }
    if (loading === 'interaction') {
      const go = () => this._activate();
      for (const type of ['click', 'focusin']) this.addEventListener(type, go);
      this._stopInteraction = () => {
        for (const type of ['click', 'focusin']) this.removeEventListener(type, go);
        this._stopInteraction = null;
      };
      this._renderStatus();
      return;
    }
    this._observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this._activate();
    }, { rootMargin: `${NEAR_PX}px` });
    this._observer.observe(this);
    this._renderStatus();
  }

  _activate() {
    if (this._active) return;
    this._active = true;
    this._observer?.disconnect();
    this._observer = null;
    this._stopInteraction?.();
    this._warm();
    this._update();
  }

  /** The engine, and the model when the mode uses it (downloaded here, with progress). */
  _warm() {
    const st = this._state;
    warmUp({ backend: st.backend, model: modeFor(st.mode).usesModel ? modelUrl(this).href : null });
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this._built) return;
    if (name === 'controls') this._toolbar.hidden = newValue === 'none';
    if (name === 'loading') {
      this._start();
      return;
    }
    if (name === 'poster') {
      this._showPoster();
      return;
    }
    if (name === 'theme') this._applyTheme(false);
    if (name === 'mode') this._syncTabs(this._state);  // the tab set now, so that the toolbar does not move later
    // A change that alters what the worker computes (text, mode, a view that needs more, ...) recomputes;
    // anything else only re-renders.
    if (JSON.stringify(this._request()) !== this._lastKey && (this._active || this._lastKey)) this._scheduleCompute(name);
    else this._scheduleRender();
  }

  // ---- state -------------------------------------------------------------------------------------
  get _state() {
    const a = (n, d) => this.getAttribute(n) ?? d;
    const text = a('text', DEFAULT_TEXT);
    const source = a('source', DEFAULT_SOURCE);
    return {
      text: text.slice(0, MAX_CHARS),
      source: source.slice(0, MAX_CHARS),
      clips: [
        ...(text.length > MAX_CHARS ? [{ input: 'text', unit: 'characters', max: MAX_CHARS, owner: 'widget' }] : []),
        ...(source.length > MAX_CHARS && modeFor(a('mode')).usesSource ? [{ input: 'source', unit: 'characters', max: MAX_CHARS, owner: 'widget' }] : []),
      ],
      view: viewFor(a('view')).id,
      mode: modeFor(a('mode')).id,
      score: SCORE_NAMES.includes(a('score')) ? a('score') : DEFAULT_SCORE,
      backend: ['auto', 'wasm', 'webgpu'].includes(a('backend')) ? a('backend') : 'wasm',
      pe: a('pe', 'on') !== 'off',
      layer: Number.parseInt(a('layer', '0'), 10) || 0,
      head: Number.parseInt(a('head', '0'), 10) || 0,
      aggregate: ['head', 'mean', 'rollout'].includes(a('aggregate')) ? a('aggregate') : 'head',
      merge: this.hasAttribute('merge') && a('merge') !== 'false',
      query: Number.parseInt(a('query', '0'), 10) || 0,
      loading: LOADING.includes(a('loading')) ? a('loading') : 'lazy',
    };
  }

  /** What the worker computes for the current state: the mode's inputs and what the view needs. */
  _request(st = this._state) {
    const mode = modeFor(st.mode);
    const needs = viewFor(st.view).needs;
    return {
      mode: mode.id, text: st.text, score: mode.usesScore ? st.score : DEFAULT_SCORE, backend: st.backend, pe: st.pe,
      source: mode.usesSource ? st.source : null,
      steps: needs.includes('steps') ? { layer: st.layer, head: st.head } : null,
      modelUrl: mode.usesModel ? modelUrl(this).href : null,
    };
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

  _settle() {
    if (this._ready.settled) return;
    this._ready.settled = true;
    if (this._error) this._ready.reject(this._error);
    else this._ready.resolve(this._result);
  }

  // ---- computing ---------------------------------------------------------------------------------
  _scheduleCompute(name) {
    clearTimeout(this._timer);
    this._queued = true;  // from now on the result on screen is stale: it is not drawn again
    if (this._ready.settled && this._active) this._newReady();
    if (!this._active) return;
    // Typing: wait for a pause. Other changes: at the end of this task, so that several set together give
    // one computation.
    if (name === 'text' && this._result && !this._result.precomputed) this._timer = setTimeout(() => this._update(), 150);
    else this._timer = setTimeout(() => this._update(), 0);
  }

  async _update() {
    this._queued = false;
    clearTimeout(this._timer);
    if (!this._active || !this.isConnected) return;
    const st = this._state;
    const request = this._request(st);
    const key = JSON.stringify(request);
    if (key === this._lastKey) {
      // Nothing new to compute: draw what there is (or wait for the computation under way).
      if (!this._busy) this._scheduleRender();
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
      this._busy = false;
      if (this._cancelled && this._poster) {
        // The reader cancelled the download: keep the poster rather than the seeded stand-in.
        this._lastKey = null;
        this._scheduleRender();
        return;
      }
      result.timings.roundTripMs = performance.now() - t0;
      result.clips = [...st.clips, ...result.clips];
      this._result = result;
      this._poster = null;
      this._error = null;
      this._scheduleRender();
      this.dispatchEvent(new CustomEvent('attention-computed', { detail: { result }, bubbles: true, composed: true }));
    } catch (error) {
      if (seq !== this._seq) return;
      this._busy = false;
      this._error = error;
      this._lastKey = null;
      this._renderStatus();
      this._settle();
      this.dispatchEvent(new CustomEvent('attention-error', { detail: { error }, bubbles: true, composed: true }));
    }
  }

  async _showPoster() {
    this._posterTried = true;
    let poster;
    try {
      poster = await loadPoster(this);
    } catch (error) {
      this._posterError = error;
      this._renderStatus();
      return;
    }
    if (!poster || (this._result && !this._result.precomputed)) return;
    this._poster = poster;
    this._result = poster;
    this._scheduleRender();
  }

  // ---- drawing -----------------------------------------------------------------------------------
  _build() {
    const ctl = (label, node) => h('label', {}, label, node);
    this._viewTabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'View' });
    for (const v of VIEW_ENTRIES) {
      const b = h('button', { type: 'button', 'data-view': v.id, 'aria-pressed': 'false' }, v.label);
      b.addEventListener('click', () => this.setState({ view: v.id }));
      this._viewTabs.append(b);
    }
    this._controls = {
      layer: h('select', { 'aria-label': 'Layer', 'data-control': 'layer' }),
      head: h('select', { 'aria-label': 'Head', 'data-control': 'head' }),
      aggregate: h('select', { 'aria-label': 'Heads shown as', 'data-control': 'aggregate' },
        h('option', { value: 'head' }, 'one head'), h('option', { value: 'mean' }, 'mean over heads'),
        h('option', { value: 'rollout' }, 'rollout')),
      merge: h('input', { type: 'checkbox', 'data-control': 'merge' }),
    };
    const c = this._controls;
    for (const name of ['layer', 'head', 'aggregate']) c[name].addEventListener('change', () => this.setState({ [name]: c[name].value }));
    c.merge.addEventListener('change', () => this.setState({ merge: c.merge.checked }));
    const exp = (label, fn) => {
      const b = h('button', { type: 'button', 'data-export': label.toLowerCase() }, label);
      b.addEventListener('click', fn);
      return b;
    };
    this._toolbar = h('div', { class: 'toolbar', part: 'toolbar' },
      this._viewTabs, ctl('Layer', c.layer), ctl('Head', c.head), ctl('Show', c.aggregate), ctl('Words', c.merge),
      h('span', { class: 'exports', role: 'group', 'aria-label': 'Export' },
        exp('PNG', () => this._download('png')), exp('SVG', () => this._download('svg')), exp('JSON', () => this._download('json'))));
    this._toolbar.hidden = this.getAttribute('controls') === 'none';
    this._status = h('div', { class: 'status', part: 'status' });
    this._errorBox = h('div', { class: 'error', role: 'alert', hidden: true });
    this._viewBox = h('div', { class: 'view', part: 'view' });
    this._live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    this._table = h('div', { class: 'sr-only' });
    this._probe = h('span', { class: 'probe', 'aria-hidden': 'true' });
    this._root.append(this._toolbar, this._status, this._errorBox, this._viewBox, this._live, this._table, this._probe);
    this._built = true;
    this._syncTabs(this._state);
  }

  /** The view tabs for a state: the current one pressed; a view made for some modes only has no tab in the others. */
  _syncTabs(st) {
    if (!st) return;
    for (const b of this._viewTabs.children) {
      b.setAttribute('aria-pressed', String(b.dataset.view === st.view));
      const modes = viewFor(b.dataset.view).modes;
      b.hidden = Boolean(modes) && !modes.includes(modeFor(st.mode).id) && b.dataset.view !== st.view;
    }
  }

  /** 'light' | 'dark': the attribute, else the page's own switch, else prefers-color-scheme. */
  get _theme() {
    return resolveTheme(this.getAttribute('theme'), document.documentElement,
      globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches);
  }

  _applyTheme(render = true) {
    const dark = this._theme === 'dark';
    const states = this._internals?.states;
    if (states && states.has('dark') !== dark) {
      if (dark) states.add('dark');
      else states.delete('dark');
    }
    if (render && this._result) this._scheduleRender();
  }

  _palette() {
    return readPalette(this, this._theme, this._probe);
  }

  /** Keeps the most height the view can take free before anything is drawn, so that the page does not jump. */
  _reserve() {
    if (this._reserved || this._renders > 0 || !this.isConnected) return;
    // An inline poster is drawn at the first frame, at the size of the live result for the same text.
    if (this._poster || this.querySelector(':scope > script[type="application/json"]')) return;
    const st = this._state;
    const width = Math.max(240, this._viewBox.clientWidth || this.clientWidth || 600);
    const px = viewFor(st.view).reserve?.(width, st);
    if (px) {
      this._viewBox.style.minHeight = `${px}px`;
      this._reserved = px;
    }
  }

  _onProgress(p) {
    if (this._progressBar && p.state === 'downloading') {
      if (p.total) {
        this._progressBar.max = p.total;
        this._progressBar.value = p.loaded;
      }
      this._progressText.textContent = p.total
        ? `Downloading the model: ${megabytes(p.loaded)} of ${megabytes(p.total)}`
        : `Downloading the model: ${megabytes(p.loaded)}`;
      this._progressBar.setAttribute('aria-valuetext', this._progressText.textContent);
      return;
    }
    this._renderStatus();
  }

  _renderStatus() {
    const r = this._result;
    const st = this._state;
    const usesModel = modeFor(st.mode).usesModel;
    this._status.replaceChildren();
    this._progressBar = null;
    const download = modelProgress();
    if (!this._active) {
      if (st.loading === 'interaction') {
        const go = h('button', { type: 'button', class: 'go', 'data-action': 'load' },
          usesModel ? 'Run the live model' : 'Compute live');
        this._status.append(go, usesModel ? ' (downloads the engine and the model)' : ' (loads the engine)');
      } else if (!this._poster) this._status.append('Waiting until visible…');
    } else if (this._busy) {
      if (usesModel && download.state === 'downloading') {
        this._progressText = h('span', { class: 'progress-text' });
        this._progressBar = h('progress', { 'aria-label': 'Model download' });
        const cancel = h('button', { type: 'button', 'data-action': 'cancel' }, 'Cancel');
        cancel.addEventListener('click', () => {
          this._cancelled = true;
          cancelModelDownload();
        });
        this._status.append(h('div', { class: 'progress' }, this._progressBar, this._progressText, cancel));
        this._onProgress(download);
      } else {
        this._status.append(r && !r.precomputed ? 'Computing…' : usesModel
          ? 'Loading the engine and the model (once per page)…' : 'Loading the engine…');
      }
    }
    if (this._poster) {
      this._status.prepend(h('span', { class: 'badge precomputed' }, 'precomputed'),
        this._active ? '' : 'A result exported earlier; the live model replaces it. ');
    }
    if (r && !this._busy && !r.precomputed) {
      const seeded = r.weightsFrom === 'seeded';
      this._status.append(
        h('span', { class: `badge${seeded ? ' seeded' : ''}` },
          seeded && modeFor(r.mode).usesModel ? 'seeded weights (no model loaded)'
            : r.translation?.trainedIn ? `${modeFor(r.mode).label}, trained in this page (${r.translation.trainedIn.score}, ${r.translation.trainedIn.steps} steps)`
              : modeFor(r.mode).label),
        `${r.backend}${r.backend === 'wasm' ? (r.relaxedSimd ? ' relaxed SIMD' : r.simd ? ' SIMD' : ' scalar') : ''} · ${r.layers[0].nq} tokens · ${Math.round(r.timings.roundTripMs ?? r.timings.totalMs)} ms`);
      for (const clip of r.clips ?? []) this._status.append(h('div', {}, clipMessage(clip)));
      for (const note of r.notes) this._status.append(h('div', {}, note));
    }
    if (this._active && !this._busy && usesModel && download.state === 'cancelled' && (!r || r.precomputed || r.weightsFrom === 'seeded')) {
      const retry = h('button', { type: 'button', 'data-action': 'retry' }, 'Load the model');
      retry.addEventListener('click', () => {
        this._cancelled = false;
        this._lastKey = null;
        this._warm();
        this._update();
      });
      this._status.append(h('div', {}, 'The model download was cancelled. ', retry));
    }
    const problem = this._error ?? (this._posterError && !r ? this._posterError : null);
    this._errorBox.hidden = !problem;
    this._errorBox.textContent = this._error ? `Could not compute attention: ${this._error.message}`
      : problem ? `Could not show the poster: ${problem.message}` : '';
    this._viewBox.setAttribute('aria-busy', String(Boolean(this._busy)));
  }

  _syncToolbar(shown, view) {
    const r = this._result;
    const st = this._state;
    this._syncTabs(st);
    const c = this._controls;
    c.layer.replaceChildren(...r.layers.map((L, l) => h('option', { value: l, selected: l === shown.layer }, L.name)));
    const heads = r.layers[shown.layer].heads;
    c.head.replaceChildren(...Array.from({ length: heads }, (_, hd) => h('option', { value: hd, selected: hd === shown.head }, String(hd))));
    c.aggregate.value = shown.aggregate;
    c.merge.checked = shown.merged;
    for (const [name, node] of Object.entries(c)) node.disabled = !view.controls.includes(name);
    if (view.controls.includes('aggregate') && shown.aggregate !== 'head') c.head.disabled = true;
  }

  /**
   * Draws at the next animation frame, once however many changes come before it. A browser that runs no frames
   * (a hidden or occluded window) draws after 100 ms instead, so that `ready` still resolves.
   */
  _scheduleRender() {
    if (this._result && this._ready.settled && !this._error) this._newReady();
    if (this._frame) return;
    const frame = {};
    const flush = () => {
      if (this._frame !== frame) return;
      this._frame = null;
      cancelAnimationFrame(frame.raf);
      clearTimeout(frame.timer);
      this._flush();
    };
    this._frame = frame;
    frame.raf = requestAnimationFrame(flush);
    frame.timer = setTimeout(flush, document.visibilityState === 'hidden' ? 0 : 100);
  }

  _flush() {
    this._renderStatus();
    // A computation is coming: the result on screen is stale and is not drawn again.
    if (!this._result || this._busy || this._queued) return;
    this._render();
    if (!this._result.precomputed) this._settle();
  }

  _render() {
    const r = this._result;
    const state = this._state;
    const view = viewFor(state.view);
    const base = selectShown(r, state);
    const shown = { ...base, ...view.select?.(r, state, base) };
    const width = Math.max(240, this._viewBox.clientWidth || this.clientWidth || 600);
    this._drawnWidth = width;
    const palette = this._palette();
    this._drawnPalette = palette;
    const props = {
      result: r, shown, state, palette, width, hiddenHeads: new Set(this._hiddenHeads),
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
    const node = view.render(props);
    this._viewBox.replaceChildren(node);
    if (focusKey) [...this._viewBox.querySelectorAll('[aria-label]')].find((n) => n.getAttribute('aria-label') === focusKey)?.focus();
    this._node = node;
    this._syncToolbar(shown, view);
    const visibleHeads = [...Array(r.layers[shown.layer].heads).keys()].filter((x) => !this._hiddenHeads.has(x));
    r.shown = { ...shown, view: state.view, visibleHeads };
    this._renderTable(shown, r);
    this._renders += 1;
    this.dispatchEvent(new CustomEvent('attention-rendered', { detail: { result: r }, bubbles: true, composed: true }));
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
    return toSvgString(this._node, this._drawnPalette ?? this._palette());
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
