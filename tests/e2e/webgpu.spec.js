// The WebGPU backend in headless Chromium (--enable-unsafe-webgpu; SwiftShader here): a few shared cases
// run on the browser's WebGPU through web/tests/webgpu.html and compared with the JS double reference.
import { test, expect } from '@playwright/test';
import { CASES, attentionInputs, multiHeadInputs } from '../js/case_inputs.js';
import { attentionDouble, multiHeadDouble, relativeError } from '../js/webgpu_reference.js';
import { plainArgs as plain } from './helpers.js';

const TOLERANCE = 1e-4;

// What modules served by Vite may import from its client, without the web socket that reloads the page.
const VITE_CLIENT_STUB = `
const hot = { data: {}, accept() {}, acceptExports() {}, dispose() {}, prune() {}, invalidate() {}, decline() {},
  on() {}, off() {}, send() {} };
export const createHotContext = () => hot;
export const injectQuery = (url) => url;
export const updateStyle = () => {};
export const removeStyle = () => {};
export class ErrorOverlay {}
`;

// One small case per score x mask, the long rows that stress the softmax, and one multi-head case per score.
function pick() {
  const small = CASES.attention.filter((c) => c.heads * c.nq * c.nk <= 20_000);
  const chosen = [];
  for (const score of ['dot', 'scaled_dot', 'general', 'additive']) {
    for (const mask of ['none', 'causal', 'explicit']) {
      const c = small.find((x) => x.score === score && x.mask === mask);
      if (c) chosen.push(c);
    }
  }
  const long = CASES.attention.find((c) => c.nk >= 4096 && c.heads * c.nq * c.nk <= 300_000 && c.score !== 'additive');
  if (long) chosen.push(long);
  const heads = ['dot', 'scaled_dot', 'general', 'additive']
    .map((score) => CASES.multiHead.find((c) => c.score === score)).filter(Boolean);
  return { attention: chosen, multiHead: heads };
}
const PICKED = pick();

test.describe('WebGPU backend in Chromium', () => {
  test.describe.configure({ mode: 'serial' });
  let page;

  test.beforeAll(async ({ browser }) => {
    page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.log(`[page] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    // Other engineers edit web/ while tests run: Vite's HMR client would reload the page mid-test. This page
    // needs no HMR, so its client is replaced by an empty module.
    await page.route('**/@vite/client', (route) => route.fulfill({ contentType: 'text/javascript', body: VITE_CLIENT_STUB }));
    await page.goto('/tests/webgpu.html');
    await expect(page.locator('#status')).toHaveText('ready');
  });
  test.afterAll(async () => { await page?.close(); });

  test('WebGPU is available and reports its adapter', async () => {
    const info = await page.evaluate(() => window.webgpuInfo());
    expect(info.available, info.reason).toBe(true);
    expect(typeof info.adapterInfo.vendor).toBe('string');
    console.log('browser WebGPU adapter:', JSON.stringify(info.adapterInfo));
  });

  for (const c of PICKED.attention) {
    test(`attention ${c.name}: weights (three-pass) and output (fused)`, async () => {
      test.setTimeout(300_000);  // the long rows take a minute on a loaded 2-core SwiftShader machine
      const inputs = attentionInputs(c);
      const ref = attentionDouble(inputs);
      const args = plain(inputs);
      const three = await page.evaluate(([a]) => window.runWebGPU('attention', { ...a, returnWeights: true }, 'never'), [args]);
      const fused = await page.evaluate(([a]) => window.runWebGPU('attention', a, 'always'), [args]);
      expect(three.output.length).toBe(c.heads * c.nq * c.dv);
      expect(relativeError(three.output, ref.output)).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(three.weights, ref.weights)).toBeLessThanOrEqual(TOLERANCE);
      expect(fused.weights).toBeNull();
      expect(relativeError(fused.output, ref.output)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  for (const c of PICKED.multiHead) {
    test(`multiHead ${c.name}`, async () => {
      const inputs = multiHeadInputs(c);
      const ref = multiHeadDouble(inputs);
      const got = await page.evaluate(([a]) => window.runWebGPU('multiHeadAttention', { ...a, returnWeights: true }, 'never'),
        [plain(inputs)]);
      expect(relativeError(got.output, ref.output)).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(got.weights, ref.weights)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  test('bad input is refused before the GPU is touched; the backend stays usable', async () => {
    const result = await page.evaluate(async () => {
      try {
        await window.runWebGPU('attention', { query: [1, 2], key: [1], value: [1], nq: 1, nk: 1, dk: 1, dv: 1 });
        return 'no error';
      } catch (error) {
        return `${error.name}: ${error.message}`;
      }
    });
    expect(result).toMatch(/RangeError: attention: query has 2 values but heads\*nq\*dk = 1/);
    const ok = await page.evaluate(() => window.runWebGPU('attention', { query: [1], key: [1], value: [3], nq: 1, nk: 1, dk: 1, dv: 1 }));
    expect(ok.output).toEqual([3]);
  });
});
