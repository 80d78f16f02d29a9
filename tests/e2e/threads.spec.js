// The threaded WASM build (Emscripten pthreads; in Chromium, which has relaxed SIMD, attn_simd_mt_relaxed, else
// attn_simd_mt) in headless Chromium. On a cross-origin isolated page (the dev server sends COOP/COEP)
// createEngine runs it on more than one thread, and it gives the one-thread build's results on every shared
// case (tests/cases/attention_cases.json) within the tolerance the WASM suite uses (tests/js/engine.test.js);
// the relaxed threaded build against the reference and the plain threaded build (relaxedSimd: false):
// tests/e2e/relaxed_simd.spec.js. Without COOP/COEP the page is not isolated and the engine runs, and works, on
// one thread, the widget included.
import { test, expect } from '@playwright/test';
import { CASES, attentionInputs, multiHeadInputs } from '../js/case_inputs.js';
import { OUTPUT_TOLERANCE, WEIGHT_TOLERANCE, EPS32, scoreBound, plainArgs as plain } from './helpers.js';

const withoutIsolation = async (route) => {
  const response = await route.fetch();
  const headers = { ...response.headers() };
  delete headers['cross-origin-opener-policy'];
  delete headers['cross-origin-embedder-policy'];
  await route.fulfill({ response, headers });
};

test.describe('threaded WASM build on a cross-origin isolated page', () => {
  test.describe.configure({ mode: 'serial' });
  let page;

  test.beforeAll(async ({ browser }) => {
    page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.log(`[page] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await page.goto('/tests/threads.html');
    await expect(page.locator('#status')).toHaveText('ready');
  });
  test.afterAll(async () => { await page?.close(); });

  test('runs on more than one thread', async () => {
    const info = await page.evaluate(() => window.engineInfo(2));
    expect(info.crossOriginIsolated).toBe(true);
    expect(info.simd).toBe(true);
    expect(info.threadsFallback).toBeNull();
    expect(info.threads).toBe(2);
    expect(info.oneThread).toBe(1);
    // Chromium has relaxed SIMD: both engines run the builds with its multiply-add.
    expect([info.relaxedSimd, info.oneThreadRelaxedSimd]).toEqual([true, true]);
  });

  for (const c of CASES.attention) {
    test(`attention ${c.name}: threaded = one thread`, async () => {
      const r = await page.evaluate(([a]) => window.compare('attention', a), [plain(attentionInputs(c))]);
      const rounding = EPS32 * scoreBound(c);
      expect(r.output.length).toBe(c.heads * c.nq * c.dv);
      expect(r.weights.length).toBe(c.heads * c.nq * c.nk);
      expect(r.output.finite).toBe(true);
      expect(r.output.relative).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
      expect(r.leanOutput.relative).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
      expect(r.weights.abs).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
      expect(r.leanWeights).toBeNull();
    });
  }

  for (const c of CASES.multiHead) {
    test(`multiHeadAttention ${c.name}: threaded = one thread`, async () => {
      const r = await page.evaluate(([a]) => window.compare('multiHeadAttention', a), [plain(multiHeadInputs(c))]);
      expect(r.output.length).toBe(c.nq * c.dModel);
      expect(r.output.relative).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
      expect(r.leanOutput.relative).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
      expect(r.weights.abs).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
    });
  }

  test('heap arrays (shared memory) as inputs and results: the plain arrays\' bits, written in place', async () => {
    const att = CASES.attention.reduce((a, b) => (b.heads * b.nq * b.nk > a.heads * a.nq * a.nk ? b : a));
    const mha = CASES.multiHead.find((c) => c.cross) ?? CASES.multiHead[0];
    for (const [method, args] of [['attention', attentionInputs(att)], ['multiHeadAttention', multiHeadInputs(mha)]]) {
      const r = await page.evaluate(([m, a]) => window.heapCompare(m, a), [method, plain(args)]);
      expect(r, method).toEqual({ shared: true, output: true, weights: true, inPlace: true });
    }
  });

  test('after dispose every call rejects saying so, and no pthread worker aborts', async () => {
    const errors = [];
    const record = (e) => errors.push(e.message);
    page.on('pageerror', record);
    const r = await page.evaluate(async () => {
      const { createEngine } = await import('/src/lib/index.js');
      const n = 256;
      const args = { query: new Float32Array(n * 64).fill(0.01), key: new Float32Array(n * 64).fill(0.02),
        value: new Float32Array(n * 64).fill(0.03), nq: n, nk: n, dk: 64, dv: 64 };
      const engine = await createEngine({ backend: 'wasm', threads: 2 });
      const threads = engine.threads;
      await engine.attention(args);
      engine.dispose();
      const messages = [];
      for (const call of [() => engine.attention(args), () => engine.multiHeadAttention({ x: args.query, nq: n, dModel: 64,
        heads: 2, Wq: args.key.subarray(0, 4096), Wk: args.key.subarray(0, 4096), Wv: args.key.subarray(0, 4096),
        Wo: args.key.subarray(0, 4096) }), () => engine.loadModel()]) {
        try {
          await call();
          messages.push('no error');
        } catch (error) {
          messages.push(error.message);
        }
      }
      // Disposing right after a threaded call, again and again: a worker still finishing its share of the call
      // must not run on the memory terminateAllThreads frees (it did: "memory access out of bounds"). The
      // later engines' work also gives a late worker error time to surface before the check below.
      let finite = true;
      for (let i = 0; i < 6; i++) {
        const other = await createEngine({ backend: 'wasm', threads: 2 });
        const again = await other.attention(args);
        other.dispose();
        finite &&= again.output.every(Number.isFinite);
      }
      await new Promise((r) => setTimeout(r, 200));
      return { threads, messages, finite };
    });
    page.off('pageerror', record);
    expect(r.threads).toBe(2);
    expect(r.messages).toEqual([
      'attention: the engine was disposed; create a new engine',
      'multiHeadAttention: the engine was disposed; create a new engine',
      'loadModel: the engine was disposed; create a new engine',
    ]);
    expect(r.finite).toBe(true);
    expect(errors).toEqual([]);
  });

  test('threads is validated: a positive integer up to 16, else a RangeError naming it', async () => {
    const messages = await page.evaluate(async () => {
      const { createEngine } = await import('/src/lib/index.js');
      const out = [];
      for (const threads of [0, -1, 2.5, '2', 17, NaN]) {
        try {
          await createEngine({ backend: 'wasm', threads });
          out.push('no error');
        } catch (error) {
          out.push(`${error.name}: ${error.message}`);
        }
      }
      return out;
    });
    for (const m of messages) expect(m).toMatch(/^RangeError: createEngine: threads must be an integer from 1 to 16/);
  });
});

test.describe('a page that is not cross-origin isolated', () => {
  test('gets the one-thread engine, which works', async ({ page }) => {
    await page.route('**/*', withoutIsolation);
    await page.goto('/tests/threads.html');
    await expect(page.locator('#status')).toHaveText('ready');
    const info = await page.evaluate(() => window.engineInfo(2));
    expect(info.crossOriginIsolated).toBe(false);
    expect(info.threads).toBe(1);
    expect(info.threadsFallback).toMatch(/not cross-origin isolated/);
    const c = CASES.attention.find((x) => x.mask === 'causal' && x.heads === 1 && x.nq === 100);
    const r = await page.evaluate(([a]) => window.compare('attention', a), [plain(attentionInputs(c))]);
    expect(r.output.finite).toBe(true);
    expect(r.output.abs).toBe(0);  // the same one-thread build on both sides
  });

  test('the widget computes on one thread', async ({ page }) => {
    await page.route('**/*', withoutIsolation);
    await page.goto('/examples/blog-post.html');
    const r = await page.evaluate(async () => {
      const result = await document.getElementById('first').ready;
      return { isolated: globalThis.crossOriginIsolated, n: result.layers[0].nq, threads: result.threads };
    });
    expect(r.isolated).toBe(false);
    expect(r.n).toBeGreaterThan(0);
    expect(r.threads).toBe(1);
  });
});
