// Shared helpers for the page and widget tests: wait for a widget, set its attributes, and compare what
// it shows with the engine called directly in the page (the same public API an integrator uses).
import { expect } from '@playwright/test';

/** Waits until the widget `selector` has drawn a result; returns a small summary. */
export async function ready(page, selector = 'attention-view') {
  return page.evaluate(async (sel) => {
    const el = document.querySelector(sel);
    await customElements.whenDefined('attention-view');
    const r = await el.ready;
    return { mode: r.mode, weightsFrom: r.weightsFrom, layers: r.layers.length, n: r.layers[0].nq, view: r.shown?.view };
  }, selector);
}

/** Sets attributes (null removes one) and waits for the widget to be ready again. */
export async function setAttrs(page, attrs, selector = 'attention-view') {
  await page.evaluate(async ([sel, a]) => {
    const el = document.querySelector(sel);
    for (const [k, v] of Object.entries(a)) {
      if (v === null) el.removeAttribute(k);
      else el.setAttribute(k, v);
    }
    await el.ready;
  }, [selector, attrs]);
}

/**
 * In the page: creates one engine (WASM) with the library's public API and keeps it for later calls as
 * globalThis.__engine. Returns nothing.
 */
export async function pageEngine(page) {
  await page.evaluate(async () => {
    if (globalThis.__engine) return;
    const lib = await import('/src/lib/index.js');
    globalThis.__lib = lib;
    globalThis.__engine = await lib.createEngine({ backend: 'wasm' });
  });
}

/** max |a - b| over two numeric arrays (in Node). */
export function maxAbsDiff(a, b) {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/**
 * Checks the widget's step-by-step numbers against engine.attention on its own Q, K, V (weights and Z),
 * in the page. Returns { weights, output, scores } max abs differences (scores: the masked scores).
 */
export async function checkStepsAgainstEngine(page, selector = 'attention-view') {
  return page.evaluate(async (sel) => {
    const el = document.querySelector(sel);
    const st = el.result.steps;
    const { seededScoreParams } = await import('/src/widget/seeded.js');
    const prefix = el.result.mode === 'encdec' ? 'encdec.L0' : `${el.result.mode === 'whatif' ? 'whatif' : 'seeded'}.L${st.layer}`;
    const sp = el.result.weightsFrom === 'model' && el.result.mode === 'model' ? {} : seededScoreParams(st.score, prefix, st.dh);
    const r = await globalThis.__engine.attention({
      query: st.Q, key: st.K, value: st.V, heads: 1, nq: st.nq, nk: st.nk, dk: st.dh, dv: st.dh, score: st.score, ...sp,
      mask: st.mask, returnWeights: true, returnScores: true,
    });
    // -Infinity (masked) on both sides counts as equal.
    const diff = (a, b) => a.reduce((m, v, i) => Math.max(m, v === b[i] ? 0 : Math.abs(v - b[i])), 0);
    return { weights: diff(r.weights, st.weights), output: diff(r.output, st.Z), scores: diff(r.scores, st.masked), n: st.nq };
  }, selector);
}

/** The active element, looking through shadow roots: { tag, label, text, inShadow }. */
export async function deepActive(page) {
  return page.evaluate(() => {
    let a = document.activeElement;
    let inShadow = false;
    while (a?.shadowRoot?.activeElement) {
      a = a.shadowRoot.activeElement;
      inShadow = true;
    }
    return {
      tag: a?.tagName?.toLowerCase(), label: a?.getAttribute?.('aria-label') ?? null,
      text: (a?.textContent ?? '').trim().slice(0, 40), inShadow,
      id: a?.id || a?.dataset?.view || a?.dataset?.control || a?.dataset?.export || null,
    };
  });
}

// The WASM suite's tolerances (tests/js/engine.test.js) for comparing two float32 kernels on the shared cases:
// fixed parts, loosened by the float32 rounding of the largest possible score (EPS32 * scoreBound(c)).
export const OUTPUT_TOLERANCE = 2e-5;
export const WEIGHT_TOLERANCE = 2e-6;
export const EPS32 = 2 ** -24;

/** An upper bound on |score| from a case's sizes and input scales (tests/cases/attention_cases.json). */
export function scoreBound(c) {
  const dk = c.dk ?? c.dModel / c.heads;
  if (c.score === 'additive') return c.da * c.paramScale;
  const qk = dk * c.scale * c.scale;
  if (c.score === 'general') return qk * dk * c.paramScale;
  return c.score === 'scaled_dot' ? qk / Math.sqrt(dk) : qk;
}

/** The arguments with typed arrays as plain arrays (typed arrays do not cross page.evaluate; plain arrays do). */
export function plainArgs(args) {
  const out = {};
  for (const [name, value] of Object.entries(args)) {
    if (ArrayBuffer.isView(value)) out[name] = Array.from(value);
    else if (value && typeof value === 'object') out[name] = plainArgs(value);
    else out[name] = value;
  }
  return out;
}
