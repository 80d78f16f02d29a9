// The Web Worker that owns the engine for every <attention-view> on the page. The main thread only draws.
// Messages in: { id, type: 'compute', request } | { id, type: 'warm', backend, model } |
// { type: 'model-bytes', expect: true } then { type: 'model-bytes', bytes } or { ..., error } (not answered).
// Messages out: { id, ok: true, result } | { id, ok: false, error: { name, message } }.
import { createEngine, positionalEncoding } from '../lib/index.js';
import { computeRequest, transferables } from './compute.js';
import { fetchModelFile } from './model-file.js';

/** One engine per requested backend, created on first use; a failed creation is retried next time. */
const engines = new Map();
/** One model per engine. */
const models = new Map();

function engineFor(backend) {
  const key = ['auto', 'wasm', 'webgpu'].includes(backend) ? backend : 'wasm';
  if (!engines.has(key)) {
    const pending = createEngine({ backend: key });
    pending.catch(() => engines.delete(key));
    engines.set(key, pending);
  }
  return engines.get(key);
}

let modelBytes = null;
/** Settles modelBytes when the page fetches the file itself ('model-bytes' messages), else null. */
let fromPage = null;

/**
 * The model file's bytes (once): from the page, which starts the fetch as soon as attention-view.js runs and
 * transfers the ArrayBuffer here (the worker would start ~300 ms later, after booting), else fetched here.
 */
function prefetchModel() {
  if (!modelBytes) {
    modelBytes = fetchModelFile();
    modelBytes.catch(() => { modelBytes = null; });
  }
  return modelBytes;
}

/** 'model-bytes' from the page: { expect: true } before the fetch, then { bytes } or { error }. */
function receiveModelBytes(message) {
  if (message.expect) {
    if (modelBytes) return; // already fetching here: the page's bytes will be ignored
    modelBytes = new Promise((resolve, reject) => { fromPage = { resolve, reject }; });
    modelBytes.catch(() => { modelBytes = null; });
    return;
  }
  if (!fromPage) return;
  if (message.bytes) fromPage.resolve(message.bytes);
  else fromPage.reject(new Error(message.error ?? 'the page could not load the model file'));
  fromPage = null;
}

function modelFor(engine) {
  if (!models.has(engine)) {
    const pending = prefetchModel().then((bytes) => {
      modelBytes = null; // the model copies the file into the engine; let the bytes go
      return engine.loadModel(bytes);
    });
    pending.catch(() => {
      // Keep the failure for a while so that every keystroke does not re-fetch a missing file.
      setTimeout(() => models.delete(engine), 30_000);
    });
    models.set(engine, pending);
  }
  return models.get(engine);
}

async function handle(message) {
  if (message.type === 'compute') {
    const t0 = performance.now();
    if (message.request.mode === 'model' || message.request.mode === 'whatif') prefetchModel().catch(() => {});
    const engine = await engineFor(message.request.backend);
    const engineMs = performance.now() - t0;
    const result = await computeRequest(
      { engine, positionalEncoding, getModel: () => modelFor(engine) }, message.request,
    );
    result.timings.engineReadyMs = engineMs;
    result.timings.workerMs = performance.now() - t0;
    return result;
  }
  if (message.type === 'warm') {  // a widget is near the viewport: start the engine and the model now
    if (message.model) prefetchModel().catch(() => {});
    const engine = await engineFor(message.backend);
    if (message.model) modelFor(engine).catch(() => {});
    return {};
  }
  throw new TypeError(`attention-view worker: unknown message type '${message.type}'`);
}

// Requests run one at a time, in order: the engine is shared and each call is short.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const message = event.data;
  // Not queued: a queued compute may be waiting for these bytes.
  if (message?.type === 'model-bytes') {
    receiveModelBytes(message);
    return;
  }
  queue = queue.then(async () => {
    try {
      const result = await handle(message);
      self.postMessage({ id: message.id, ok: true, result }, transferables(result));
    } catch (error) {
      // Bad input (TypeError, RangeError) leaves the engine as it was; anything else (a WASM abort, a lost
      // device) may have broken it, so the next request starts a fresh engine and model.
      if (!(error instanceof TypeError) && !(error instanceof RangeError) && message.request) {
        const key = ['auto', 'wasm', 'webgpu'].includes(message.request.backend) ? message.request.backend : 'wasm';
        const broken = engines.get(key);
        engines.delete(key);
        broken?.then((engine) => {
          models.delete(engine);
          try { engine.dispose(); } catch { /* already gone */ }
        }, () => {});
      }
      self.postMessage({
        id: message.id, ok: false,
        error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) },
      });
    }
  });
};
