// Rendered views compared with stored images (tests/e2e/screenshots.spec.js-snapshots/). The seeded and
// causal modes are used because their numbers do not depend on the model file. Regenerate after an
// intended visual change with: npx playwright test screenshots --update-snapshots
import { test, expect } from '@playwright/test';

const cases = [
  { name: 'heatmap-light', query: 'mode=seeded&view=heatmap&layer=0&head=1&theme=light' },
  { name: 'heatmap-dark', query: 'mode=seeded&view=heatmap&layer=1&head=0&theme=dark' },
  { name: 'causal-heads', query: 'mode=causal&view=head&layer=0&theme=light' },
  { name: 'model-grid', query: 'mode=seeded&view=model&theme=light' },
  { name: 'steps', query: 'mode=causal&view=steps&head=1&theme=light&text=The%20cat%20sat%20down' },
];

for (const c of cases) {
  test(`screenshot: ${c.name}`, async ({ page }) => {
    await page.setViewportSize({ width: 1000, height: 900 });
    await page.goto(`/?${c.query}`);
    await page.evaluate(() => document.querySelector('attention-view').ready);
    const widget = page.locator('attention-view');
    // The status line holds timings; hide it so that the image is stable.
    await page.evaluate(() => {
      document.querySelector('attention-view').shadowRoot.querySelector('.status').style.visibility = 'hidden';
    });
    await expect(widget).toHaveScreenshot(`${c.name}.png`, { maxDiffPixelRatio: 0.01, animations: 'disabled' });
  });
}

// Text snapshots of exportSVG() for fixed results (a poster built here, so no engine runs): every view of one
// small result drawn the same way every time. Regenerate with --update-snapshots after an intended change.
function fixedResult() {
  const pieces = ['▁The', '▁cat', '▁sat', '▁down'];
  const n = pieces.length;
  const heads = 2;
  const d = 4;
  const dh = 2;
  const weights = [];
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const row = Array.from({ length: n }, (_, j) => (j <= i ? 1 + ((i * 3 + j * 5 + h * 7) % 4) : 0));
      const sum = row.reduce((a, b) => a + b, 0);
      weights.push(...row.map((v) => v / sum));
    }
  }
  const layer = (name) => ({ name, heads, nq: n, nk: n, queryPieces: pieces, keyPieces: pieces, weights });
  const grid = (rows, cols, k) => Array.from({ length: rows * cols }, (_, i) => Math.round(100 * Math.sin(i * k + 1)) / 100);
  const head0 = weights.slice(0, n * n);
  const scores = grid(n, n, 0.7);
  return {
    format: 'attention-view/1', settings: {},
    result: {
      mode: 'causal', score: 'scaled_dot', pe: false, text: 'The cat sat down', source: null, weightsFrom: 'seeded',
      backend: 'wasm', simd: true, layers: [layer('layer 0'), layer('layer 1')], reference: null, clips: [], notes: [], timings: {},
      steps: {
        layer: 0, head: 0, nq: n, nk: n, d, dh, score: 'scaled_dot', mask: 'causal', scale: 1 / Math.sqrt(dh),
        label: 'X: fixed numbers for the snapshot', X: grid(n, d, 0.3), C: null, PE: null,
        Q: grid(n, dh, 0.5), K: grid(n, dh, 0.9), V: grid(n, dh, 1.3),
        scores, masked: scores.map((v, i) => ((i % n) <= Math.floor(i / n) ? v : null)), weights: head0, Z: grid(n, dh, 1.7),
      },
    },
  };
}

for (const view of ['heatmap', 'head', 'model', 'neuron', 'steps']) {
  test(`exportSVG text snapshot: ${view} of a fixed result`, async ({ page }) => {
    await page.route('**/__test/svg.html', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><meta charset="utf-8"><script type="module" src="/src/widget/attention-view.js"></script>
        <attention-view id="w" loading="interaction" theme="light" view="${view}" layer="0" head="0" query="2">
        <script type="application/json">${JSON.stringify(fixedResult())}</script></attention-view>`,
    }));
    await page.setViewportSize({ width: 900, height: 800 });
    await page.goto('/__test/svg.html');
    const svg = await page.evaluate(async () => {
      const el = document.getElementById('w');
      await new Promise((resolve) => {
        if (el.renderCount > 0) resolve();
        else el.addEventListener('attention-rendered', resolve, { once: true });
      });
      return el.exportSVG();
    });
    // Gradient ids count the gradients drawn on the page so far; the rest is the drawing.
    expect(svg.replace(/ramp-\d+/g, 'ramp-N')).toMatchSnapshot(`${view}.svg`);
  });
}
