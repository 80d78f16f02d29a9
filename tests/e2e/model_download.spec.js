// The widget's model file on the sample post: the page downloads it once, as soon as the first widget is near
// the viewport, and passes it to the worker chunk by chunk; a missing file or a cut download leaves the widgets
// working on seeded weights with a note that says why.
import { test, expect } from '@playwright/test';
import { ready } from './helpers.js';

const MODEL = '**/models/use-lite.i8.safetensors';

/** The first widget's result after it has drawn: its source of weights and its notes. */
async function firstResult(page) {
  await ready(page, '#first');
  return page.evaluate(() => {
    const { weightsFrom, notes, layers } = document.getElementById('first').result;
    return { weightsFrom, notes, n: layers[0].nq };
  });
}

test('the model file is downloaded once for both widgets of the post', async ({ page }) => {
  const downloads = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/models/use-lite.i8.safetensors')) downloads.push(request.url());
  });
  await page.goto('/examples/blog-post.html');
  expect(await firstResult(page)).toMatchObject({ weightsFrom: 'model', notes: [] });
  await page.locator('#second').scrollIntoViewIfNeeded();
  await ready(page, '#second');
  // The second widget in the pretrained mode uses the model the worker already holds.
  await page.evaluate(async () => {
    const second = document.getElementById('second');
    second.setAttribute('mode', 'model');
    await second.ready;
  });
  expect(await page.evaluate(() => document.getElementById('second').result.weightsFrom)).toBe('model');
  expect(downloads).toHaveLength(1);
});

test('a model file that is missing gives seeded weights and a note naming the file and the status', async ({ page }) => {
  await page.route(MODEL, (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'missing' }));
  await page.goto('/examples/blog-post.html');
  const r = await firstResult(page);
  expect(r.weightsFrom).toBe('seeded');
  expect(r.n).toBeGreaterThan(0);
  expect(r.notes.join(' ')).toMatch(/pretrained model is not available \(could not load \/models\/use-lite\.i8\.safetensors: HTTP 404\)/);
  await expect(page.locator('#first .heatmap-view svg')).toBeVisible();
});

test('a model file cut short gives seeded weights and a note from the loader; the widget keeps working', async ({ page }) => {
  await page.route(MODEL, async (route) => {
    const response = await route.fetch();
    const body = await response.body();
    await route.fulfill({ response, body: body.subarray(0, 1 << 20) });  // the first MiB of 8.5
  });
  await page.goto('/examples/blog-post.html');
  const r = await firstResult(page);
  expect(r.weightsFrom).toBe('seeded');
  expect(r.notes.join(' ')).toMatch(/pretrained model is not available \(loadModel: .*(past the end|truncated|download)/);
  // A new sentence still computes (on the seeded weights).
  await page.evaluate(async () => {
    const first = document.getElementById('first');
    first.setAttribute('text', 'A short new sentence');
    await first.ready;
  });
  expect(await page.evaluate(() => document.getElementById('first').result.layers[0].nq)).toBeGreaterThan(2);
});

// The model on another host (a CDN): the file is served there with CORS; the page's own copy is never asked for.
const CDN_MODEL = 'http://cdn.attention.test/assets/use-lite.i8.safetensors';

async function serveCdnModel(page, seen) {
  await page.route(CDN_MODEL, async (route) => {
    seen.push(route.request().url());
    const own = await page.request.get('/models/use-lite.i8.safetensors');
    await route.fulfill({ status: 200, body: await own.body(), headers: { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/octet-stream' } });
  });
  await page.route(MODEL, (route) => route.fulfill({ status: 404, body: 'the page\'s own copy must not be used' }));
}

test('model-src: an element loads its model from the URL it names (another origin, CORS)', async ({ page }) => {
  const seen = [];
  await serveCdnModel(page, seen);
  await page.route('**/examples/blog-post.html', async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace('<attention-view id="first"', `<attention-view id="first" model-src="${CDN_MODEL}"`);
    await route.fulfill({ response, body: html });
  });
  await page.goto('/examples/blog-post.html');
  const r = await firstResult(page);
  expect(r).toMatchObject({ weightsFrom: 'model', notes: [] });
  expect(await page.evaluate(() => document.getElementById('first').result.modelUrl)).toBe(CDN_MODEL);
  expect(seen).toEqual([CDN_MODEL]);
});

test('the page sets the model URL once: <meta name="attention-view-model-src"> and attentionViewConfig', async ({ page }) => {
  const seen = [];
  await serveCdnModel(page, seen);
  await page.route('**/examples/blog-post.html', async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace('<head>', `<head><meta name="attention-view-model-src" content="${CDN_MODEL}">`);
    await route.fulfill({ response, body: html });
  });
  await page.goto('/examples/blog-post.html');
  expect(await firstResult(page)).toMatchObject({ weightsFrom: 'model', notes: [] });
  expect(await page.evaluate(() => document.getElementById('first').result.modelUrl)).toBe(CDN_MODEL);

  // The same setting as a script global, before the widget starts (relative URLs resolve against the page).
  const page2 = await page.context().newPage();
  const seen2 = [];
  await serveCdnModel(page2, seen2);
  await page2.addInitScript((url) => { globalThis.attentionViewConfig = { modelSrc: url }; }, CDN_MODEL);
  await page2.goto('/examples/blog-post.html');
  await ready(page2, '#first');
  expect(await page2.evaluate(() => document.getElementById('first').result.modelUrl)).toBe(CDN_MODEL);
  expect(seen.length + seen2.length).toBe(2);
});
