// The compact model file the widget runs, on the page's own origin, for both sides of the worker (client.js
// downloads it early on the page, worker.js when the page did not). In the built widget it sits at models/
// beside attention-view.js, and this module is bundled into assets/ (the page's chunk and the worker alike),
// so a site may host the widget in any folder; the dev server serves web/public/models at /models.
const MODEL_URL = import.meta.env?.DEV
  ? new URL('/models/use-lite.f16.safetensors', globalThis.location.origin)
  : new URL('../models/use-lite.f16.safetensors', import.meta.url);

/** The model file's response, its body unread (signal: an AbortSignal that stops the download); a failed response is an Error naming the path and the HTTP status. */
export async function openModelFile(signal) {
  const response = await fetch(MODEL_URL, { signal });
  if (!response.ok) throw new Error(`could not load ${MODEL_URL.pathname}: HTTP ${response.status}`);
  return response;
}

/**
 * Starts the download of the model file and keeps reading it into memory while the engine starts (a body
 * nobody reads stops the download); resolves with a Response that engine.loadModel streams into the WASM heap.
 */
export async function fetchModelFile() {
  const response = await openModelFile();
  const length = response.headers.get('Content-Length');
  const body = response.body.pipeThrough(new TransformStream(undefined, { highWaterMark: Infinity }));
  return new Response(body, { headers: length ? { 'Content-Length': length } : {} });
}
