// The main-thread side of the shared worker: one Worker per page, created on the first request, serving
// every <attention-view>. If the worker dies, the next request starts a new one.

import { openModelFile } from './model-file.js';
import { assetUrl } from './assets.js';

let worker = null;
let nextId = 1;
/** The model URL whose download this page passes to the worker (one per worker), or null. */
let modelSent = null;

/**
 * Starts a module worker from `url`, also when the widget's files come from another origin (a CDN), where
 * `new Worker(url)` is refused: then through a same-origin `blob:` module whose one line imports the real
 * worker script (with CORS), which keeps its own URL, so everything it loads resolves next to it. Works in
 * Chromium, Firefox and WebKit. A page with a CSP must then allow `worker-src blob:`.
 */
function startWorker(url, options) {
  const href = assetUrl(url).href;
  const sameOrigin = new URL(href).origin === globalThis.location?.origin;
  if (sameOrigin) return new globalThis.Worker(href, options);
  const blobUrl = URL.createObjectURL(new Blob([`import ${JSON.stringify(href)};\n`], { type: 'text/javascript' }));
  const started = new globalThis.Worker(blobUrl, options);
  const revoke = () => URL.revokeObjectURL(blobUrl);
  started.addEventListener('message', revoke, { once: true });
  started.addEventListener('error', revoke, { once: true });
  return started;
}

// `new Worker(new URL('./worker.js', import.meta.url), ...)` below is the pattern bundlers (Vite, also in an
// app that imports this package) recognise to bundle worker.js and rewrite its URL; this local `Worker` keeps
// the pattern and starts it with startWorker.
function Worker(url, options) {
  return startWorker(url, options);
}

/**
 * Downloads the model file here, once per worker, and transfers each chunk to the worker as it arrives: the
 * download starts as soon as a widget is near the viewport instead of after the worker has booted, and the
 * main thread only passes chunks on (no whole-file copy here). A failed download is passed on too; the worker
 * then downloads the file itself on the next request.
 */
function sendModel(target, url) {
  if (modelSent || typeof fetch !== 'function') return;
  modelSent = url;
  target.postMessage({ type: 'model-file', expect: true, url });
  streamModelFile(target, url).catch((error) => target.postMessage({ type: 'model-file', error: error.message }));
}

// Download progress of the model file, for every widget on the page: { state: 'idle' | 'downloading' | 'done' |
// 'failed' | 'cancelled', loaded, total (bytes; null when the server sends no Content-Length) }.
let progress = { state: 'idle', loaded: 0, total: null };
const progressListeners = new Set();
let abort = null;

function setProgress(next) {
  progress = { ...progress, ...next };
  for (const listener of progressListeners) listener(progress);
}

/** Calls listener(progress) on every change of the model download; returns the unsubscribe function. */
export function onModelProgress(listener) {
  progressListeners.add(listener);
  return () => progressListeners.delete(listener);
}

/** The model download's progress now. */
export function modelProgress() {
  return progress;
}

/**
 * Stops the model download (the reader's Cancel button). The worker's model load fails as cancelled and is
 * forgotten at once, so that a later request downloads again.
 */
export function cancelModelDownload() {
  if (progress.state !== 'downloading') return;
  abort?.abort();
}

async function streamModelFile(target, url) {
  abort = new AbortController();
  const { signal } = abort;
  setProgress({ state: 'downloading', loaded: 0, total: null });
  let response;
  try {
    response = await openModelFile(url, signal);
  } catch (error) {
    setProgress({ state: signal.aborted ? 'cancelled' : 'failed' });
    if (signal.aborted) {
      target.postMessage({ type: 'model-file', error: 'the download was cancelled' });
      modelSent = null;
      return;
    }
    throw error;
  }
  const length = response.headers.get('Content-Length');
  setProgress({ total: length ? Number(length) : null });
  target.postMessage({ type: 'model-file', length });
  const reader = response.body.getReader();
  for (;;) {
    let next;
    try {
      next = await reader.read();
    } catch (error) {
      const aborted = signal.aborted;
      setProgress({ state: aborted ? 'cancelled' : 'failed' });
      target.postMessage({ type: 'model-chunk', error: aborted ? 'the download was cancelled' : error.message, aborted });
      if (aborted) modelSent = null;
      return;
    }
    if (next.done) {
      setProgress({ state: 'done' });
      target.postMessage({ type: 'model-chunk', done: true });
      return;
    }
    setProgress({ loaded: progress.loaded + next.value.byteLength });
    target.postMessage({ type: 'model-chunk', chunk: next.value }, [next.value.buffer]);
  }
}

const pending = new Map();

function failAll(message) {
  for (const { reject } of pending.values()) reject(new Error(message));
  pending.clear();
  worker = null;
  modelSent = null;
}

function getWorker() {
  if (worker) return worker;
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'attention-view' });
  worker.onmessage = (event) => {
    const { id, ok, result, error } = event.data;
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    if (ok) entry.resolve(result);
    else {
      const Ctor = { TypeError, RangeError }[error.name] ?? Error;
      entry.reject(new Ctor(error.message));
    }
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    failAll(`the attention worker failed: ${event.message || 'it could not start (see the console)'}`);
  };
  worker.onmessageerror = () => failAll('the attention worker sent a message that could not be read');
  return worker;
}

/** Sends one compute request to the shared worker; resolves with the result. */
export function requestCompute(request) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    try {
      const target = getWorker();
      if (request.modelUrl) sendModel(target, request.modelUrl);
      target.postMessage({ id, type: 'compute', request });
    } catch (error) {
      pending.delete(id);
      reject(error);
    }
  });
}

/**
 * Starts the worker, its engine and (model: the model file's URL, or null) the model file before the first
 * request, so that the first heatmap does not wait for the first frame. Failures show up in the first real
 * request instead.
 */
export function warmUp({ backend, model }) {
  const id = nextId++;
  pending.set(id, { resolve() {}, reject() {} });
  try {
    const target = getWorker();
    if (model) sendModel(target, model);
    target.postMessage({ id, type: 'warm', backend, model });
  } catch {
    pending.delete(id);
  }
}

/** How many requests wait for the worker (for tests and diagnostics). */
export function pendingRequests() {
  return pending.size;
}
