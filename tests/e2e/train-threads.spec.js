// The translator's training step on the threaded WASM build (in Chromium, which has relaxed SIMD,
// attn_simd_mt_relaxed, against the one-thread attn_simd_relaxed): its attention blocks split the batch's
// sentences over the threads (wasm/src/model/seq2seq.cpp) and add the parameter gradients of private per-thread
// copies, so two threads must follow one thread's loss curve (within float rounding, 1e-5 as
// tests/cpp/seq2seq_test.cpp) and end with the same held-out behaviour.
import { test, expect } from '@playwright/test';

test('a trainer on two threads follows the one-thread loss curve', async ({ page }) => {
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/tests/threads.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const r = await page.evaluate(async () => {
    const url = '/src/lib/index.js';
    const { createEngine } = await import(/* @vite-ignore */ url);
    const one = await createEngine({ backend: 'wasm', threads: 1 });
    const two = await createEngine({ backend: 'wasm', threads: 2 });
    const out = { isolated: globalThis.crossOriginIsolated, threads: two.threads, relaxed: [one.relaxedSimd, two.relaxedSimd], curves: {} };
    for (const score of ['scaled_dot', 'general', 'additive']) {
      const a = await one.createTrainer({ score, seed: 3 });
      const b = await two.createTrainer({ score, seed: 3 });
      const curve = [];
      for (let i = 0; i < 12; i++) curve.push([(await a.step()).loss, (await b.step()).loss]);
      out.curves[score] = curve;
      a.dispose();
      b.dispose();
    }
    return out;
  });
  expect(r.isolated).toBe(true);
  expect(r.threads).toBe(2);
  expect(r.relaxed).toEqual([true, true]);
  for (const [score, curve] of Object.entries(r.curves)) {
    expect(curve.length, score).toBe(12);
    expect(curve[11][0], score).toBeLessThan(curve[0][0]);
    for (const [i, [oneLoss, twoLoss]] of curve.entries()) {
      expect(Number.isFinite(twoLoss), `${score} step ${i + 1}`).toBe(true);
      expect(Math.abs(twoLoss - oneLoss), `${score} step ${i + 1}`).toBeLessThanOrEqual(1e-5);
    }
  }
});
