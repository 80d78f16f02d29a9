// Where the widget finds its files (main thread only). Everything is found relative to this module's own URL
// (import.meta.url), so the built folder (dist/widget/) works copied under any path or served from another
// origin with CORS. A page may move the files once, for every widget on it:
//   <meta name="attention-view-base" content="https://cdn.example/attention-view/">  a copy of dist/widget/
//   <meta name="attention-view-model-src" content="https://assets.example/use-lite.i8.safetensors">
// or, before the first widget starts, globalThis.attentionViewConfig = { base, modelSrc } (the same two
// settings). An element's own `model-src` attribute wins over both. Relative URLs resolve against the page.

// The model file the widget runs by default: a file of the package (web/public/models), which a build emits
// beside the widget (dist/widget/models/) and the dev server serves from the source tree.
const OWN_MODEL = new URL('../../public/models/use-lite.i8.safetensors', import.meta.url);
// The folder of the widget's entry module: in the built widget this module is bundled into attention-view.js.
const OWN_ROOT = new URL(/* @vite-ignore */ './', import.meta.url);

function setting(metaName, key) {
  const config = globalThis.attentionViewConfig;
  if (config && typeof config === 'object' && config[key] != null) return String(config[key]);
  const meta = globalThis.document?.querySelector?.(`meta[name="${metaName}"]`);
  return meta?.getAttribute('content') || null;
}

function pageUrl(value) {
  return new URL(value, globalThis.document?.baseURI ?? globalThis.location?.href);
}

/**
 * The URL a file of the widget is fetched from: its own URL, or the same path under the configured base when
 * the file lies in the widget's folder (the built widget; in a dev server or a site bundle the base does not
 * apply to files outside that folder).
 */
export function assetUrl(own) {
  const url = new URL(own, import.meta.url);
  const base = setting('attention-view-base', 'base');
  if (!base || !url.href.startsWith(OWN_ROOT.href)) return url;
  const folder = pageUrl(base.endsWith('/') ? base : `${base}/`);
  return new URL(url.href.slice(OWN_ROOT.href.length), folder);
}

/** The model file for an element: its `model-src`, else the page's setting, else the widget's own copy. */
export function modelUrl(element) {
  const own = element?.getAttribute?.('model-src') || setting('attention-view-model-src', 'modelSrc');
  return own ? pageUrl(own) : assetUrl(OWN_MODEL);
}
