// What the widget's Web Worker does (worker.js, its entry, loads this and hands it every message): owns the
// engine for every <attention-view> on the page. The main thread only draws.
// Messages in: { id, type: 'compute', request } (request.modelUrl: the model file's URL) | { id, type: 'warm',
// backend, model } (model: the model file's URL, or null) | { id, type: 'translator-weights', bytes (a
// safetensors file from the page's training) | null (the shipped weights), trainedIn } | the model file from
// the page (not answered): { type: 'model-file', expect: true, url }, then { type: 'model-file', length } or
// { ..., error }, then { type: 'model-chunk', chunk } ... and { type: 'model-chunk', done: true } or { ..., error }.
// Messages out: { id, ok: true, result } | { id, ok: false, error: { name, message } }.
import { createEngine, positionalEncoding } from '../lib/index.js';
import { computeRequest, transferables } from './compute.js';
import { fetchModelFile } from './model-file.js';

/** One engine per requested backend, created on first use; a failed creation is retried next time. */
const engines = new Map();
/** One model per engine and model URL: Map<engine, Map<url, Promise<model>>>. */
const models = new Map();

function modelsOf(engine) {
  if (!models.has(engine)) models.set(engine, new Map());
  return models.get(engine);
}

function engineFor(backend) {
  const key = ['auto', 'wasm', 'webgpu'].includes(backend) ? backend : 'wasm';
  if (!engines.has(key)) {
    // One thread: the widget's calls are small (at most the model's 128 tokens), where the threaded build's
    // start (a pool of Web Workers) and hand-offs cost more than they give.
    const pending = createEngine({ backend: key, threads: 1 });
    pending.catch(() => engines.delete(key));
    engines.set(key, pending);
  }
  return engines.get(key);
}

/** One trained translator per engine: the shipped weights, or those the page trained (translator-weights). */
const translators = new Map();
let trainedWeights = null;  // { bytes, trainedIn } from the page's Train panel, or null

function translatorFor(engine) {
  if (!translators.has(engine)) {
    if (typeof engine.loadTranslator !== 'function') {
      return Promise.reject(new Error('this engine build has no trained translator (engine.loadTranslator)'));
    }
    const from = trainedWeights;
    const pending = (from ? engine.loadTranslator(from.bytes.slice()) : engine.loadTranslator())
      .then((translator) => ({ translator, trainedIn: from?.trainedIn ?? null }));
    pending.catch(() => setTimeout(() => { if (translators.get(engine) === pending) translators.delete(engine); }, 0));
    translators.set(engine, pending);
  }
  return translators.get(engine);
}

/** The model file's download (a Response being read into memory) until a model load takes it, and its URL. */
let modelFile = null;
let modelFileUrl = null;

function download(url) {
  const pending = fetchModelFile(url);
  pending.catch(() => { if (modelFile === pending) modelFile = null; });
  return pending;
}

const anyModel = () => [...models.values()].some((byUrl) => byUrl.size > 0);

/** A model will be wanted soon: start the download unless one is under way or a model is loaded or loading. */
function prefetchModel(url) {
  if (!modelFile && !anyModel()) {
    modelFile = download(url);
    modelFileUrl = url;
  }
}

/**
 * The model file as the page downloads it (client.js starts the download as soon as a widget is near the
 * viewport, ~200 ms before this worker runs, and transfers each chunk as it arrives): a Response whose body is
 * fed by 'model-chunk' messages, so the model streams into the heap while the rest of the file arrives.
 */
let fromPage = null;  // { resolve, reject } until the page has the response headers, then { controller }

function receiveModelFile(message) {
  if (message.type === 'model-file' && message.expect) {
    if (modelFile || anyModel()) return;  // already downloading here or loaded: the page's file is ignored
    const pending = new Promise((resolve, reject) => { fromPage = { resolve, reject }; });
    pending.catch(() => { if (modelFile === pending) modelFile = null; });
    modelFile = pending;
    modelFileUrl = message.url;
  } else if (message.type === 'model-file' && fromPage?.resolve) {
    const { resolve, reject } = fromPage;
    if (message.error) {
      fromPage = null;
      reject(new Error(message.error));
      return;
    }
    fromPage = {};
    const body = new ReadableStream({ start(controller) { fromPage.controller = controller; } });
    resolve(new Response(body, { headers: message.length ? { 'Content-Length': message.length } : {} }));
  } else if (message.type === 'model-chunk' && fromPage?.controller) {
    const { controller } = fromPage;
    if (message.chunk) {
      controller.enqueue(message.chunk);
      return;
    }
    fromPage = null;
    if (message.aborted) controller.error(new DOMException(message.error, 'AbortError'));
    else if (message.error) controller.error(new Error(`the page's download of the model file failed: ${message.error}`));
    else controller.close();
  }
}

/** The download of `url` for a model load: the prefetched one if it is that file, else a new one (a body is read once). */
function takeModelFile(url) {
  if (modelFile && modelFileUrl === url) {
    const file = modelFile;
    modelFile = null;
    return file;
  }
  return download(url);
}

function modelFor(engine, url) {
  const byUrl = modelsOf(engine);
  if (!byUrl.has(url)) {
    const pending = takeModelFile(url).then((file) => engine.loadModel(file));
    pending.catch((error) => {
      // Keep the failure for a while so that every keystroke does not re-fetch a missing file; a download the
      // reader cancelled is forgotten at once (the next request is the reader asking again).
      const cancelled = error?.name === 'AbortError' || error?.cause?.name === 'AbortError';
      setTimeout(() => { if (byUrl.get(url) === pending) byUrl.delete(url); }, cancelled ? 0 : 30_000);
    });
    byUrl.set(url, pending);
  }
  return byUrl.get(url);
}

async function handle(message) {
  if (message.type === 'compute') {
    const t0 = performance.now();
    const { modelUrl } = message.request;
    if (modelUrl && (message.request.mode === 'model' || message.request.mode === 'whatif')) prefetchModel(modelUrl);
    const engine = await engineFor(message.request.backend);
    const engineMs = performance.now() - t0;
    const getModel = () => (modelUrl ? modelFor(engine, modelUrl) : Promise.reject(new Error('no model file was given')));
    const result = await computeRequest(
      { engine, positionalEncoding, getModel, getTranslator: () => translatorFor(engine) }, message.request,
    );
    result.modelUrl = result.weightsFrom === 'model' ? modelUrl : null;
    result.timings.engineReadyMs = engineMs;
    result.timings.workerMs = performance.now() - t0;
    return result;
  }
  if (message.type === 'warm') {  // a widget is near the viewport: start the engine and the model now
    if (message.model) prefetchModel(message.model);
    const engine = await engineFor(message.backend);
    if (message.model) modelFor(engine, message.model).catch(() => {});
    return {};
  }
  if (message.type === 'translator-weights') {  // the page trained a translator: every view uses it from now on
    trainedWeights = message.bytes ? { bytes: new Uint8Array(message.bytes), trainedIn: message.trainedIn ?? null } : null;
    for (const [engine, pending] of translators) {
      translators.delete(engine);
      pending.then(({ translator }) => translator.dispose?.(), () => {});
    }
    return {};
  }
  throw new TypeError(`attention-view worker: unknown message type '${message.type}'`);
}

// Requests run one at a time, in order: the engine is shared and each call is short.
let queue = Promise.resolve();

/** One message from the page (worker.js passes each on, in order). */
export function onMessage(event) {
  const message = event.data;
  // Not queued: a queued compute may be waiting for the model file.
  if (message?.type === 'model-file' || message?.type === 'model-chunk') {
    receiveModelFile(message);
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
}
