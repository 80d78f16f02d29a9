// The sample blog post: both widgets show, the second loads only near the viewport, and no request
// leaves the page's origin.
import { test, expect } from '@playwright/test';

test('the blog post shows both widgets; the second computes only when scrolled near', async ({ page, baseURL }) => {
  const origin = new URL(baseURL).origin;
  const foreign = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== origin) foreign.push(request.url());
  });
  // Also ask the browser itself: anything that is not same-origin is recorded and refused.
  await page.route((url) => url.origin !== origin && !['data:', 'blob:'].includes(url.protocol), (route) => {
    foreign.push(route.request().url());
    return route.abort();
  });
  const t0 = Date.now();
  await page.goto('/examples/blog-post.html');
  const first = await page.evaluate(async () => {
    const r = await document.getElementById('first').ready;
    return { n: r.layers[0].nq, weightsFrom: r.weightsFrom, worker: r.timings.workerMs };
  });
  console.log(`blog post: first heatmap ${Date.now() - t0} ms after navigation (${first.weightsFrom}, ${first.n} tokens, worker ${first.worker.toFixed(0)} ms)`);
  await expect(page.locator('#first .heatmap-view svg')).toBeVisible();
  // Below the fold, the second widget waits.
  const before = await page.evaluate(() => document.getElementById('second').result);
  expect(before).toBeNull();
  await page.locator('#second').scrollIntoViewIfNeeded();
  const second = await page.evaluate(async () => {
    const r = await document.getElementById('second').ready;
    return { mode: r.mode, view: r.shown.view, output: r.translation?.output ?? null };
  });
  // The second widget runs the trained translator: "it" was too wide, so it is the street, "sie".
  expect(second).toEqual({ mode: 'translate', view: 'translation', output: 'Das Tier überquerte die Straße nicht, weil sie zu breit war.' });
  await expect(page.locator('#second .translation-view tr.generated').first()).toBeAttached();
  // Both widgets share one worker: the page has exactly one (besides the threaded engine's pthread Web Workers,
  // attn_simd_mt.worker.js or attn_simd_mt_relaxed.worker.js, which that worker starts).
  const workers = page.workers().filter((w) => w.url().includes('worker') && !/attn_simd_mt(_relaxed)?\.worker/.test(w.url()));
  expect(workers.length).toBe(1);
  expect(foreign).toEqual([]);
});

test('the explorer page makes no request outside its origin either', async ({ page, baseURL }) => {
  const origin = new URL(baseURL).origin;
  const foreign = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== origin) foreign.push(request.url());
  });
  await page.goto('/?view=steps');
  await page.evaluate(() => document.querySelector('attention-view').ready);
  for (const view of ['heatmap', 'head', 'model', 'neuron']) {
    await page.locator(`attention-view button[data-view="${view}"]`).click();
    await page.evaluate(() => document.querySelector('attention-view').ready);
  }
  await page.evaluate(() => document.querySelector('attention-view').exportPNG());
  expect(foreign).toEqual([]);
});
