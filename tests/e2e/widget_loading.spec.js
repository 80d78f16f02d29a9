// How the widget loads: loading="lazy" | "eager" | "interaction", a poster from exportJSON() drawn before the
// live model, download progress with Cancel, the size reserved before drawing (no layout shift), children
// shown without JavaScript, theming from the page and custom properties, and why a text was clipped.
import { test, expect } from '@playwright/test';

/** Serves `body` as a page of the test server's origin (the widget's module from the dev server). */
async function testPage(page, body, { path = '/__test/page.html', head = '' } = {}) {
  await page.route(`**${path}`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}
      <script type="module" src="/src/widget/attention-view.js"></script></head><body>${body}</body></html>`,
  }));
  await page.goto(path);
  await page.evaluate(() => customElements.whenDefined('attention-view'));
}

/** Every request for the engine's work: the worker, a wasm module, the model file. */
function heavyRequests(page) {
  const urls = [];
  page.on('request', (r) => {
    const u = r.url();
    if (/worker|\.wasm|safetensors/.test(u)) urls.push(u);
  });
  return urls;
}

/** A small fixed result in exportJSON()'s format: one layer, two heads, three tokens. */
function posterJson(text = 'poster one two') {
  const pieces = text.split(' ').map((w) => `▁${w}`);
  const n = pieces.length;
  const weights = [];
  for (let h = 0; h < 2; h++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) weights.push(i === (j + h) % n ? 0.8 : 0.2 / (n - 1));
  }
  return JSON.stringify({
    format: 'attention-view/1', settings: { view: 'heatmap' },
    result: {
      mode: 'seeded', score: 'scaled_dot', pe: true, text, source: null, weightsFrom: 'seeded', backend: 'wasm', simd: true,
      layers: [{ name: 'layer 0', heads: 2, nq: n, nk: n, queryPieces: pieces, keyPieces: pieces, weights }],
      steps: null, reference: null, clips: [], notes: [], timings: {},
    },
  });
}

test('loading="interaction": nothing heavy loads until a click; a poster shows at once, labelled, then the live result', async ({ page }) => {
  const heavy = heavyRequests(page);
  await testPage(page, `<attention-view id="w" loading="interaction" mode="seeded" text="poster one two">
    <script type="application/json">${posterJson()}</script></attention-view>`);
  await expect(page.locator('#w .heatmap-view svg')).toBeVisible();
  await expect(page.locator('#w .status .badge.precomputed')).toHaveText('precomputed');
  const poster = await page.evaluate(() => {
    const el = document.getElementById('w');
    return { precomputed: el.result.precomputed, rects: el.shadowRoot.querySelectorAll('.heatmap-view rect[data-i]').length, first: el.result.shown.matrix[0] };
  });
  expect(poster).toEqual({ precomputed: true, rects: 9, first: expect.closeTo(0.8, 6) });
  await page.waitForTimeout(300);  // not a timing assertion: a chance for a wrong early download to show up
  expect(heavy).toEqual([]);
  await page.locator('#w button[data-action="load"]').click();
  const live = await page.evaluate(async () => {
    const r = await document.getElementById('w').ready;
    return { precomputed: r.precomputed ?? false, from: r.weightsFrom, n: r.layers[0].nq };
  });
  expect(live).toEqual({ precomputed: false, from: 'seeded', n: 3 });
  expect(heavy.some((u) => u.endsWith('.wasm'))).toBe(true);
  await expect(page.locator('#w .status .badge.precomputed')).toHaveCount(0);
});

test('loading="interaction" also starts on keyboard focus; a poster URL works too', async ({ page }) => {
  await page.route('**/__test/poster.json', (route) => route.fulfill({ contentType: 'application/json', body: posterJson('from a url') }));
  await testPage(page, `<button id="before">before</button>
    <attention-view id="w" loading="interaction" mode="seeded" text="from a url" poster="/__test/poster.json"></attention-view>`);
  await expect(page.locator('#w .heatmap-view svg')).toBeVisible();
  expect(await page.evaluate(() => document.getElementById('w').result.text)).toBe('from a url');
  await page.locator('#before').focus();
  await page.keyboard.press('Tab');
  const live = await page.evaluate(async () => (await document.getElementById('w').ready).precomputed ?? false);
  expect(live).toBe(false);
});

test('loading="eager" computes off screen; loading="lazy" waits until near the viewport', async ({ page }) => {
  await testPage(page, `<div style="height: 3000px"></div>
    <attention-view id="eager" loading="eager" mode="seeded" text="eager one"></attention-view>
    <attention-view id="lazy" mode="seeded" text="lazy one"></attention-view>`);
  const eager = await page.evaluate(async () => (await document.getElementById('eager').ready).text);
  expect(eager).toBe('eager one');
  expect(await page.evaluate(() => document.getElementById('lazy').result)).toBeNull();
  await page.locator('#lazy').scrollIntoViewIfNeeded();
  expect(await page.evaluate(async () => (await document.getElementById('lazy').ready).text)).toBe('lazy one');
});

test('loading="lazy" in the viewport starts at once, without the observer (a browser that renders no frames never calls it)', async ({ page }) => {
  // An IntersectionObserver that never calls back: what WebKit does in a window that is not rendered.
  await page.addInitScript(() => {
    globalThis.__observed = 0;
    globalThis.IntersectionObserver = class {
      observe() { globalThis.__observed += 1; }
      unobserve() {}
      disconnect() {}
      takeRecords() { return []; }
    };
  });
  await testPage(page, `<attention-view id="near" mode="seeded" text="near one"></attention-view>
    <div style="height: 3000px"></div>
    <attention-view id="far" mode="seeded" text="far one"></attention-view>`);
  expect(await page.evaluate(async () => (await document.getElementById('near').ready).text)).toBe('near one');
  // The widget far below waits for the observer (here: for ever), so it has asked for one.
  expect(await page.evaluate(() => [document.getElementById('far').result, globalThis.__observed])).toEqual([null, 1]);
});

test('the model download shows bytes of total in a progressbar and can be cancelled, then loaded again', async ({ page }) => {
  // Slow the model file down to 1 MB/s (DevTools network emulation) so that the progress can be seen and cancelled.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 1_000_000, uploadThroughput: -1 });
  const lengths = [];
  page.on('response', (r) => { if (r.url().endsWith('.safetensors')) lengths.push(Number(r.headers()['content-length'])); });
  await testPage(page, '<attention-view id="w" loading="eager"></attention-view>');
  const bar = page.getByRole('progressbar', { name: 'Model download' });
  await expect(bar).toBeVisible();
  await expect.poll(() => bar.evaluate((b) => b.value)).toBeGreaterThan(0);
  const state = await bar.evaluate((b) => ({ value: b.value, max: b.max, text: b.getAttribute('aria-valuetext') }));
  expect(lengths.length).toBe(1);
  expect(state.max).toBe(lengths[0]);  // the model file's Content-Length
  expect(state.value).toBeLessThan(state.max);
  expect(state.text).toMatch(/^Downloading the model: [\d.]+ MB of [\d.]+ MB$/);
  await page.locator('#w button[data-action="cancel"]').click();
  const retry = page.locator('#w button[data-action="retry"]');
  await expect(retry).toBeVisible();
  await expect(page.locator('#w .status')).toContainText('The model download was cancelled.');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await retry.click();
  await expect.poll(() => page.evaluate(() => document.getElementById('w').result?.weightsFrom), { timeout: 60_000 }).toBe('model');
  await expect(page.locator('#w .status')).toContainText('pretrained model');
});

test('the widget keeps its size from before the first drawing to the heatmap: no layout shift', async ({ page }) => {
  await page.setViewportSize({ width: 760, height: 900 });
  await page.addInitScript(() => {
    globalThis.__shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        globalThis.__shifts.push({ value: e.value, t: e.startTime, sources: e.sources.map((x) => `${x.node?.nodeName}.${x.node?.className ?? ''} ${JSON.stringify(x.previousRect)} -> ${JSON.stringify(x.currentRect)}`) });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await testPage(page, `<p>Above.</p><attention-view id="w" mode="seeded" text="The animal didn't cross the street because it was too tired"></attention-view><p id="below">Below.</p>`);
  const before = await page.evaluate(async () => {
    await new Promise(requestAnimationFrame);
    const box = document.getElementById('w').getBoundingClientRect();
    return { height: box.height, below: document.getElementById('below').getBoundingClientRect().top, t: performance.now(), drawn: document.getElementById('w').renderCount };
  });
  expect(before.drawn).toBe(0);
  const after = await page.evaluate(async () => {
    await document.getElementById('w').ready;
    await new Promise(requestAnimationFrame);
    return { height: document.getElementById('w').getBoundingClientRect().height, below: document.getElementById('below').getBoundingClientRect().top, shifts: globalThis.__shifts };
  });
  expect(after.height).toBe(before.height);
  expect(after.below).toBe(before.below);
  expect(after.shifts.filter((s) => s.t >= before.t)).toEqual([]);
});

test('without JavaScript the element shows its children (the sample post\'s exported picture)', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto('/examples/blog-post.html');
  const img = page.locator('#first > img');
  await expect(img).toBeVisible();
  expect(await img.evaluate((i) => i.complete && i.naturalWidth > 0)).toBe(true);
  await context.close();
});

test('theme: follows the page\'s data-theme and class switch; custom properties colour the chart, lines and text', async ({ page }) => {
  await testPage(page, `<attention-view id="w" loading="eager" mode="seeded" text="one two three"></attention-view>`);
  await page.evaluate(() => document.getElementById('w').ready);
  const fill = () => page.evaluate(() => document.getElementById('w').shadowRoot.querySelector('.heatmap-view svg text').getAttribute('fill'));
  const rendered = () => page.evaluate(() => document.getElementById('w').ready);
  expect(await fill()).toBe('#1d2329');
  await page.evaluate(() => { document.documentElement.dataset.theme = 'dark'; });
  await rendered();
  expect(await fill()).toBe('#e6e9ec');
  await page.evaluate(() => { delete document.documentElement.dataset.theme; document.documentElement.className = 'light'; });
  await rendered();
  expect(await fill()).toBe('#1d2329');
  await page.evaluate(() => { document.documentElement.className = 'dark'; });
  await rendered();
  expect(await fill()).toBe('#e6e9ec');
  // The page's own colours: text, the sequential ramp (two stops: 0 -> black, max -> red) and head lines.
  await page.evaluate(() => {
    const el = document.getElementById('w');
    el.style.setProperty('--attention-view-fg', 'rgb(1, 2, 3)');
    el.style.setProperty('--attention-view-ramp', 'black red');
    el.style.setProperty('--attention-view-heads', 'purple');
    el.setAttribute('text', 'one two three four');
  });
  const colours = await page.evaluate(async () => {
    const el = document.getElementById('w');
    await el.ready;
    const cells = [...el.shadowRoot.querySelectorAll('.heatmap-view rect[data-i]')].map((r) => r.getAttribute('fill'));
    const max = Math.max(...el.result.shown.matrix);
    const at = el.result.shown.matrix.indexOf(max);
    el.setAttribute('view', 'head');
    await el.ready;
    const lines = new Set([...el.shadowRoot.querySelectorAll('.head-view line')].map((l) => l.getAttribute('stroke')));
    return { text: el.shadowRoot.querySelector('.head-view svg text').getAttribute('fill'), top: cells[at], lines: [...lines] };
  });
  expect(colours).toEqual({ text: 'rgb(1, 2, 3)', top: 'rgb(255,0,0)', lines: ['purple'] });
});

test('the status says why the text was clipped: the widget\'s characters, the seeded layers\' tokens', async ({ page }) => {
  await testPage(page, '<attention-view id="w" loading="eager" mode="seeded"></attention-view>');
  const status = page.locator('#w .status');
  await page.evaluate(async () => {
    const el = document.getElementById('w');
    el.setAttribute('text', 'word '.repeat(2001) + 'tail');  // 10,009 characters, 2,002 words
    await el.ready;
  });
  await expect(status).toContainText("The text was cut to its first 10,000 characters, the widget's limit.");
  await expect(status).toContainText("The text was clipped to 128 tokens, the seeded layers' limit.");
  // (No mode reads a source sentence any more: the encoder-decoder mode translates the text with the trained
  // model, so the source clip has no case left to test.)
});
