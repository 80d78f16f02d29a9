// The explorer page: first heatmap, URL state, text is inert, errors are shown and the page recovers,
// keyboard reaches every control.
import { test, expect } from '@playwright/test';
import { ready, setAttrs, deepActive } from './helpers.js';

test('a typed sentence gives a new heatmap; the time to the first one is reported', async ({ page }) => {
  const t0 = Date.now();
  await page.goto('/');
  const first = await ready(page);
  const ms = Date.now() - t0;
  const reported = await page.evaluate(() => globalThis.firstHeatmapMs);
  console.log(`first heatmap on the explorer page: ${ms} ms from navigation (${reported.toFixed(0)} ms after the page script; ${first.weightsFrom} weights, ${first.n} tokens)`);
  await expect(page.locator('attention-view .heatmap-view svg')).toBeVisible();
  await page.locator('#text').fill('Colorless green ideas sleep furiously');
  await expect.poll(() => page.evaluate(() => document.querySelector('attention-view').result?.text)).toBe('Colorless green ideas sleep furiously');
  await expect(page).toHaveURL(/text=Colorless/);
  const labels = await page.evaluate(() => document.querySelector('attention-view').result.shown.keyLabels.join(' '));
  expect(labels.replace(/##/g, '')).toMatch(/green/);
  await expect(page.locator('#timing')).toContainText(/first heatmap \d+ ms/i);
});

test('the page state lives in the URL and is restored from it', async ({ page }) => {
  await page.goto('/?mode=seeded&view=head&layer=1&head=2&aggregate=mean&text=One%20two%20three%20four');
  const r = await ready(page);
  expect(r.mode).toBe('seeded');
  expect(r.view).toBe('head');
  await expect(page.locator('#mode')).toHaveValue('seeded');
  await expect(page.locator('#text')).toHaveValue('One two three four');
  await page.locator('#mode').selectOption('whatif');
  await page.locator('#score').selectOption('additive');
  await expect(page).toHaveURL(/mode=whatif/);
  await expect(page).toHaveURL(/score=additive/);
  await page.reload();
  const again = await ready(page);
  expect(again.mode).toBe('whatif');
  await expect(page.locator('#score')).toHaveValue('additive');
});

test('HTML, script tags and attribute injection in the text stay text', async ({ page }) => {
  page.on('dialog', (d) => { throw new Error(`a dialog opened: ${d.message()}`); });
  await page.goto('/');
  await ready(page);
  const hostile = '<img src=x onerror="alert(1)"> <script>alert(2)</script> "><svg onload=alert(3)>';
  await setAttrs(page, { text: hostile, mode: 'seeded' });
  const r = await page.evaluate(() => {
    const root = document.querySelector('attention-view').shadowRoot;
    return {
      imgs: root.querySelectorAll('img, script, iframe, foreignObject').length,
      onAttrs: [...root.querySelectorAll('*')].filter((n) => [...n.attributes].some((a) => a.name.startsWith('on'))).length,
      labels: document.querySelector('attention-view').result.shown.keyLabels.join(' '),
      injected: globalThis.__xss ?? null,
    };
  });
  expect(r.imgs).toBe(0);
  expect(r.onAttrs).toBe(0);
  expect(r.labels).toContain('img');
  expect(r.labels).toContain('<');
});

test('an engine error is shown in the widget, and the page keeps working afterwards', async ({ page }) => {
  // The worker cannot load the engine's wasm: the widget says so instead of going blank.
  await page.route('**/*.wasm', (route) => route.abort());
  await page.goto('/');
  const alert = page.locator('attention-view .error');
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('Could not compute attention');
  await page.locator('#text').fill('still typing');
  await expect(alert).toBeVisible();
  // The wasm is reachable again: the next change recomputes.
  await page.unroute('**/*.wasm');
  await page.locator('#text').fill('The engine is back');
  await expect.poll(() => page.evaluate(() => document.querySelector('attention-view').result?.text ?? null), { timeout: 30_000 }).toBe('The engine is back');
  await expect(alert).toBeHidden();
  // An empty sentence is an error message too, not a crash.
  await page.locator('#mode').selectOption('seeded');
  await page.locator('#text').fill('   ');
  await expect(alert).toContainText('empty');
});

test('keyboard: Tab reaches every control of the page and the widget; arrows move over the heatmap', async ({ page }) => {
  // What-if mode: every page control is enabled (the model mode disables the score switches).
  await page.goto('/?mode=whatif');
  await ready(page);
  const seen = new Set();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const a = await deepActive(page);
    seen.add(a.id ?? a.label ?? a.tag);
    if (a.tag === 'svg') break;
  }
  for (const id of ['text', 'mode', 'score', 'scale', 'pe', 'backend', 'theme', 'heatmap', 'head', 'model', 'neuron',
    'steps', 'layer', 'aggregate', 'merge', 'png', 'svg', 'json']) {
    expect([...seen], `Tab reaches ${id}`).toContain(id);
  }
  // On the heatmap, arrows move the focused cell and a live region reads its value.
  const a = await deepActive(page);
  expect(a.tag).toBe('svg');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  const spoken = await page.evaluate(() => document.querySelector('attention-view').shadowRoot.querySelector('[aria-live]').textContent);
  const expected = await page.evaluate(() => {
    const s = document.querySelector('attention-view').result.shown;
    return `“${s.queryLabels[1]}” → “${s.keyLabels[1]}”: ${s.matrix[s.cols + 1].toFixed(3)}`;
  });
  expect(spoken).toBe(expected);
  // Views switch from the keyboard too.
  await page.locator('attention-view button[data-view="model"]').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('attention-view .model-view')).toBeVisible();
  await page.locator('attention-view button.thumb').first().focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('attention-view .heatmap-view')).toBeVisible();
});

test('a screen-reader table holds the weights on screen', async ({ page }) => {
  await page.goto('/');
  await ready(page);
  const t = await page.evaluate(() => {
    const el = document.querySelector('attention-view');
    const table = el.shadowRoot.querySelector('table');
    const s = el.result.shown;
    return {
      rows: table.querySelectorAll('tbody tr').length, cols: table.querySelectorAll('thead th').length - 1,
      first: table.querySelector('tbody td').textContent, expected: s.matrix[0].toFixed(3), n: s.rows, m: s.cols,
    };
  });
  expect([t.rows, t.cols]).toEqual([t.n, t.m]);
  expect(t.first).toBe(t.expected);
});

test('10,000 characters are clipped to the model\'s limit with a visible note, and the page stays responsive', async ({ page }) => {
  await page.goto('/');
  await ready(page);
  const long = 'The quick brown fox jumps over the lazy dog. '.repeat(230).slice(0, 10_000);
  await page.locator('#text').fill(long);
  await expect(page.locator('attention-view .status')).toContainText('clipped', { timeout: 60_000 });
  const n = await page.evaluate(() => document.querySelector('attention-view').result.layers[0].nq);
  expect(n).toBeLessThanOrEqual(128);
  // A frame is drawn promptly after the big heatmap (no long freeze).
  const frameMs = await page.evaluate(() => new Promise((resolve) => {
    const t = performance.now();
    requestAnimationFrame(() => resolve(performance.now() - t));
  }));
  expect(frameMs).toBeLessThan(1000);
});
