// Downloads of the model file, for both sides of the worker (client.js downloads it early on the page,
// worker-main.js when the page did not). The URL always comes from the page (assets.js: `model-src`, the page's
// configuration or the widget's own copy), so both sides fetch the same file.

/**
 * The model file's response, its body unread; a failed response is an Error naming the URL and the HTTP status.
 * signal: an AbortSignal that stops the download (the widget's Cancel button).
 */
export async function openModelFile(url, signal) {
  // mode 'cors': the file may sit on a CDN or asset host, which must then send Access-Control-Allow-Origin.
  const response = await fetch(url, { mode: 'cors', credentials: 'same-origin', signal });
  if (!response.ok) throw new Error(`could not load ${displayUrl(url)}: HTTP ${response.status}`);
  return response;
}

/** A URL as errors show it: the path on the page's own origin, the whole URL elsewhere. */
export function displayUrl(url) {
  const u = new URL(url);
  return u.origin === globalThis.location?.origin ? u.pathname : u.href;
}

/**
 * Starts the download of the model file and keeps reading it into memory while the engine starts (a body
 * nobody reads stops the download); resolves with a Response that engine.loadModel streams into the WASM heap.
 */
export async function fetchModelFile(url) {
  const response = await openModelFile(url);
  const length = response.headers.get('Content-Length');
  const body = response.body.pipeThrough(new TransformStream(undefined, { highWaterMark: Infinity }));
  return new Response(body, { headers: length ? { 'Content-Length': length } : {} });
}
