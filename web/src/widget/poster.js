// A poster: a result the widget exported earlier (exportJSON(), format 'attention-view/1'), drawn at once
// with the same views while the live model loads, and labelled as precomputed. From an inline
// <script type="application/json"> child of the element, or from the URL of its `poster` attribute.

/** The JSON's arrays of numbers back into Float32Arrays (null, which JSON writes for ±Infinity, as -Infinity). */
function revive(value) {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => v === null || typeof v === 'number')) {
      return Float32Array.from(value, (v) => (v === null ? -Infinity : v));
    }
    return value.map(revive);
  }
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  return value;
}

/** A result from an exported JSON text or object; a TypeError says what is wrong with it. */
export function posterResult(json) {
  const data = typeof json === 'string' ? JSON.parse(json) : json;
  if (data?.format !== 'attention-view/1') {
    throw new TypeError(`attention-view poster: format must be 'attention-view/1' (from exportJSON()), got ${JSON.stringify(data?.format)}`);
  }
  const { shown: _shown, ...rest } = data.result ?? {};
  const result = revive(rest);
  if (!Array.isArray(result.layers) || result.layers.length === 0) throw new TypeError('attention-view poster: result.layers is empty');
  for (const [l, L] of result.layers.entries()) {
    if (!(L.weights instanceof Float32Array) || L.weights.length !== L.heads * L.nq * L.nk) {
      throw new TypeError(`attention-view poster: layer ${l} has ${L.weights?.length} weights but heads*nq*nk = ${L.heads * L.nq * L.nk}`);
    }
  }
  return { ...result, clips: result.clips ?? [], notes: result.notes ?? [], timings: result.timings ?? {}, precomputed: true };
}

/** The poster of an element: its inline JSON child, else its `poster` URL (fetched), else null. */
export async function loadPoster(element) {
  const inline = element.querySelector(':scope > script[type="application/json"]');
  if (inline) return posterResult(inline.textContent);
  const url = element.getAttribute('poster');
  if (!url) return null;
  const response = await fetch(new URL(url, element.ownerDocument.baseURI));
  if (!response.ok) throw new Error(`could not load the poster ${url}: HTTP ${response.status}`);
  return posterResult(await response.text());
}
