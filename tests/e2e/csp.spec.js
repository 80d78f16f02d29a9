// The widget works on a strict page: Content-Security-Policy script-src 'self' 'wasm-unsafe-eval' (no
// 'unsafe-eval', no inline script), added here to every response, the worker's included. The page is cross-origin
// isolated (the dev server's COOP/COEP pass through): the widget's worker runs the one-thread build (its calls are
// small), and the library on the same page runs the threaded build, whose pthread Web Workers load under the same
// policy.
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
    const threads = engine.threads;
    engine.dispose();
    return { threads, finite: out.output.every(Number.isFinite), violations: globalThis.__violations };
  });
  expect(threaded).toEqual({ threads: 2, finite: true, violations: [] });
  await expect(page.locator('#first .heatmap-view svg')).toBeVisible();
  // The worker script and the wasm came through the route, so the policy covered them too.
  expect(withCsp.some((u) => u.includes('worker'))).toBe(true);
  expect(withCsp.some((u) => u.endsWith('.wasm'))).toBe(true);
  expect(withCsp.some((u) => u.endsWith('attn_simd_mt.wasm'))).toBe(true);
});
