// The build with relaxed SIMD's multiply-add (attn_simd_relaxed: f32x4.relaxed_madd in the attention and
// packed-gemm micro-kernels) in headless Chromium, which has relaxed SIMD: createEngine picks it for one thread, it gives
// the reference kernel's results on every shared case (tests/cases/attention_cases.json) within the tolerance of
// the WASM suite (tests/js/engine.test.js), and the plain SIMD build's within float32 rounding; relaxedSimd:
// false keeps the plain build. Node runs the plain build (tests/js/engine.test.js) and the relaxed C++ tests
// under its flag (build/wasm-tests-relaxed).
import { test, expect } from '@playwright/test';
import { CASES, attentionInputs, multiHeadInputs } from '../js/case_inputs.js';
import { OUTPUT_TOLERANCE, WEIGHT_TOLERANCE, EPS32, scoreBound, plainArgs as plain } from './helpers.js';

// In the page (web/tests/threads.html: window.revive turns the plain arrays back into typed ones, window.errors
// measures how far apart two results are): the op on the relaxed engine (reference kernel and optimized) and on
// the plain SIMD engine.
async function compareBuilds([method, a]) {
  const { createEngine } = await import('/src/lib/index.js');
  globalThis.__engines ??= {
    relaxed: await createEngine({ backend: 'wasm', threads: 1 }),
    plain: await createEngine({ backend: 'wasm', threads: 1, relaxedSimd: false }),
  };
  const { relaxed, plain: simd } = globalThis.__engines;
  const args = window.revive(a);
  const ref = await relaxed[method]({ ...args, returnWeights: true, kernel: 'reference' });
  const opt = await relaxed[method]({ ...args, returnWeights: true });
  const base = await simd[method]({ ...args, returnWeights: true });
  const [vsRef, vsPlain] = [ref, base].map((other) => ({
    output: window.errors(opt.output, other.output), weights: window.errors(opt.weights, other.weights),
  }));
  return {
    builds: { relaxed: relaxed.relaxedSimd, plain: simd.relaxedSimd, simd: relaxed.simd && simd.simd },
    length: opt.output.length, finite: vsRef.output.finite,
    vsReference: { output: vsRef.output.relative, weights: vsRef.weights.abs },
    vsPlain: { output: vsPlain.output.relative, weights: vsPlain.weights.abs },
  };
}

test.describe('relaxed SIMD build in Chromium', () => {
  test.describe.configure({ mode: 'serial' });
  let page;

  test.beforeAll(async ({ browser }) => {
    page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await page.goto('/tests/threads.html');
    await expect(page.locator('#status')).toHaveText('ready');
  });
  test.afterAll(async () => { await page?.close(); });

  test('Chromium has relaxed SIMD: one thread runs the relaxed build, relaxedSimd: false the plain one', async () => {
    const r = await page.evaluate(async () => {
      const lib = await import('/src/lib/index.js');
      const byDefault = await lib.createEngine({ backend: 'wasm', threads: 1 });
      const off = await lib.createEngine({ backend: 'wasm', threads: 1, relaxedSimd: false });
      const threaded = await lib.createEngine({ backend: 'wasm', threads: 2 });
      let bad = null;
      try { await lib.createEngine({ relaxedSimd: 1 }); } catch (e) { bad = `${e.name}: ${e.message}`; }
      const out = { supported: lib.relaxedSimdSupported(), byDefault: byDefault.relaxedSimd, off: off.relaxedSimd,
        offSimd: off.simd, threaded: threaded.relaxedSimd, threads: threaded.threads, bad };
      for (const e of [byDefault, off, threaded]) e.dispose();
      return out;
    });
    expect(r).toEqual({ supported: true, byDefault: true, off: false, offSimd: true, threaded: false, threads: 2,
      bad: 'TypeError: createEngine: relaxedSimd must be a boolean, got number' });
  });

  for (const c of CASES.attention) {
    test(`attention ${c.name}: relaxed = reference, and = plain SIMD within rounding`, async () => {
      const r = await page.evaluate(compareBuilds, ['attention', plain(attentionInputs(c))]);
      const rounding = EPS32 * scoreBound(c);
      expect(r.builds).toEqual({ relaxed: true, plain: false, simd: true });
      expect(r.length).toBe(c.heads * c.nq * c.dv);
      expect(r.finite).toBe(true);
      expect(r.vsReference.output).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
      expect(r.vsReference.weights).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
      expect(r.vsPlain.output).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
      expect(r.vsPlain.weights).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
    });
  }

  for (const c of CASES.multiHead) {
    test(`multiHeadAttention ${c.name}: relaxed = reference`, async () => {
      const r = await page.evaluate(compareBuilds, ['multiHeadAttention', plain(multiHeadInputs(c))]);
      expect(r.builds).toEqual({ relaxed: true, plain: false, simd: true });
      expect(r.vsReference.output).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
      expect(r.vsReference.weights).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
      expect(r.vsPlain.output).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
    });
  }

  test('the pretrained model on the relaxed build: the plain build\'s embedding and attention within float32 rounding', async () => {
    const r = await page.evaluate(async () => {
      const { createEngine } = await import('/src/lib/index.js');
      const text = "The animal didn't cross the street because it was too tired";
      const runs = [];
      for (const relaxedSimd of [true, false]) {
        const engine = await createEngine({ backend: 'wasm', threads: 1, relaxedSimd });
        const model = await engine.loadModel('/models/use-lite.f32.safetensors');
        runs.push({ relaxed: engine.relaxedSimd, result: await model.run(text) });
        engine.dispose();
      }
      const [a, b] = runs.map((x) => x.result);
      return {
        builds: runs.map((x) => x.relaxed), tokens: a.ids.length, embedding: window.errors(a.embedding, b.embedding).abs,
        attention: Math.max(...a.attention.map((w, l) => window.errors(w, b.attention[l]).abs)),
      };
    });
    expect(r.builds).toEqual([true, false]);
    expect(r.tokens).toBeGreaterThan(10);
    expect(r.embedding).toBeLessThanOrEqual(1e-5);
    expect(r.attention).toBeLessThanOrEqual(1e-5);
  });
});
