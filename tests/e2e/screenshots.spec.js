// Rendered views compared with stored images (tests/e2e/screenshots.spec.js-snapshots/). The seeded mode is
// used because its numbers depend on no model file. Regenerate after an
// intended visual change with: npx playwright test screenshots --update-snapshots
import { test, expect } from '@playwright/test';

const cases = [
  { name: 'heatmap-light', query: 'mode=seeded&view=heatmap&layer=0&head=1&theme=light' },
  { name: 'heatmap-dark', query: 'mode=seeded&view=heatmap&layer=1&head=0&theme=dark' },
  { name: 'seeded-heads', query: 'mode=seeded&view=head&layer=0&theme=light' },
  { name: 'model-grid', query: 'mode=seeded&view=model&theme=light' },
  { name: 'steps', query: 'mode=seeded&view=steps&head=1&theme=light&text=The%20cat%20sat%20down' },
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
