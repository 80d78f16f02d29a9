// The widget works on a strict page: Content-Security-Policy script-src 'self' 'wasm-unsafe-eval' (no
// 'unsafe-eval', no inline script), added here to every response, the worker's included. The page is cross-origin
// isolated (the dev server's COOP/COEP pass through): the widget's worker runs the one-thread build (its calls are
// small), and the library on the same page runs the threaded build (Chromium: the one with relaxed SIMD's
// multiply-add, attn_simd_mt_relaxed), whose pthread Web Workers load under the same policy.
import { test, expect } from '@playwright/test';

const CSP = "script-src 'self' 'wasm-unsafe-eval'";

test('the blog post computes under a strict CSP, with no violation reported', async ({ page }) => {
  const withCsp = [];
  await page.route('**/*', async (route) => {
    withCsp.push(route.request().url());
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': CSP } });
  });
  await page.addInitScript(() => {
    globalThis.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => globalThis.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto('/examples/blog-post.html');
  const r = await page.evaluate(async () => {
    const el = document.getElementById('first');
    const result = await el.ready;
    return { n: result.layers[0].nq, from: result.weightsFrom, threads: result.threads, violations: globalThis.__violations };
  });
  expect(r.n).toBeGreaterThan(0);
  expect(r.threads).toBe(1);
  expect(r.violations).toEqual([]);
  const threaded = await page.evaluate(async () => {
    const { createEngine } = await import('/src/lib/index.js');
    const engine = await createEngine({ backend: 'wasm', threads: 2 });
    const n = 256;
    const d = 32;
    const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i));
    const out = await engine.attention({ query: x, key: x, value: x, nq: n, nk: n, dk: d, dv: d, heads: 1 });
    const { threads, relaxedSimd } = engine;
    engine.dispose();
    return { threads, relaxedSimd, finite: out.output.every(Number.isFinite), violations: globalThis.__violations };
  });
  expect(threaded).toEqual({ threads: 2, relaxedSimd: true, finite: true, violations: [] });
  await expect(page.locator('#first .heatmap-view svg')).toBeVisible();
  // The worker script and the wasm came through the route, so the policy covered them too.
  expect(withCsp.some((u) => u.includes('worker'))).toBe(true);
  expect(withCsp.some((u) => u.endsWith('.wasm'))).toBe(true);
  expect(withCsp.some((u) => u.endsWith('attn_simd_mt_relaxed.wasm'))).toBe(true);
  expect(withCsp.some((u) => u.endsWith('attn_simd_mt_relaxed.worker.js'))).toBe(true);
});

// default-src 'self' also closes styles (no 'unsafe-inline': no <style> element, no style attribute), images (no
// data: or blob:) and connections to the page's origin. The widget adopts a constructable stylesheet, sets
// styles through the CSSOM and draws large matrices on a canvas, so nothing is refused. Only the PNG export
// draws an SVG through an image, which needs img-src blob: (the second policy).
const STRICT = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

async function strictPage(page, policy) {
  await page.route('**/*', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': policy } });
  });
  await page.addInitScript(() => {
    globalThis.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => globalThis.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

test('under default-src \'self\' (no unsafe-inline styles, no data:/blob: images) every view draws with no violation', async ({ page }) => {
  await strictPage(page, STRICT);
  await page.goto('/examples/blog-post.html');
  const r = await page.evaluate(async () => {
    const el = document.getElementById('first');
    const first = await el.ready;
    const seen = [];
    for (const view of ['heatmap', 'head', 'model', 'neuron', 'steps']) {
      el.setAttribute('view', view);
      await el.ready;
      seen.push(el.result.shown.view);
    }
    // A long text: the heatmap's large-matrix path (a canvas, not an image URL).
    el.setAttribute('view', 'heatmap');
    el.setAttribute('mode', 'seeded');
    el.setAttribute('text', Array.from({ length: 80 }, (_, i) => `w${i}`).join(' '));
    await el.ready;
    const root = el.shadowRoot;
    return {
      from: first.weightsFrom, seen, canvas: root.querySelectorAll('.heatmap-view canvas.cells').length,
      sheets: root.adoptedStyleSheets.length, styleElements: root.querySelectorAll('style').length,
      color: getComputedStyle(root.querySelector('.status')).color,
      svg: el.exportSVG().includes('data:image/png'), violations: globalThis.__violations,
    };
  });
  expect(r.seen).toEqual(['heatmap', 'head', 'model', 'neuron', 'steps']);
  expect(r.canvas).toBe(1);
  expect(r.sheets).toBe(1);
  expect(r.styleElements).toBe(0);
  expect(r.color).not.toBe('rgb(0, 0, 0)');  // the adopted stylesheet applies
  expect(r.svg).toBe(true);  // the exported file embeds the canvas as an image
  expect(r.violations).toEqual([]);
});

test('with img-src blob: added, the PNG export works too, with no violation', async ({ page }) => {
  await strictPage(page, `${STRICT}; img-src 'self' blob:`);
  await page.goto('/examples/blog-post.html');
  const r = await page.evaluate(async () => {
    const el = document.getElementById('first');
    await el.ready;
    const png = await el.exportPNG(1);
    return { type: png.type, size: png.size, violations: globalThis.__violations };
  });
  expect(r.type).toBe('image/png');
  expect(r.size).toBeGreaterThan(1000);
  expect(r.violations).toEqual([]);
});
