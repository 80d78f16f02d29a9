// The builds with relaxed SIMD's multiply-add (attn_simd_relaxed, and attn_simd_mt_relaxed with threads:
// f32x4.relaxed_madd in the attention and packed-gemm micro-kernels) in headless Chromium, which has relaxed SIMD,
// on the cross-origin isolated test page: createEngine picks them for one thread and for two, they give the
// reference kernel's results on every shared case (tests/cases/attention_cases.json) within the tolerance of the
// WASM suite (tests/js/engine.test.js), the plain SIMD build's (of the same thread count) within float32
// rounding, and on two threads the one-thread relaxed engine's; relaxedSimd: false keeps the plain builds. Node
// runs the plain build (tests/js/engine.test.js) and the relaxed C++ tests under its flag (build/wasm-tests-relaxed).
import { test, expect } from '@playwright/test';
import { CASES, attentionInputs, multiHeadInputs } from '../js/case_inputs.js';
import { OUTPUT_TOLERANCE, WEIGHT_TOLERANCE, EPS32, scoreBound, plainArgs as plain } from './helpers.js';

const THREADS = [1, 2];

// In the page (web/tests/threads.html: window.revive turns the plain arrays back into typed ones, window.errors
// measures how far apart two results are): the op, for each thread count, on the relaxed engine (reference
// kernel and optimized) and on the plain SIMD engine; with threads, also on the one-thread relaxed engine.
async function compareBuilds([method, a, threadCounts]) {
  const { createEngine } = await import('/src/lib/index.js');
  globalThis.__engines ??= {};
  const engines = async (threads) => {
    globalThis.__engines[threads] ??= {
      relaxed: await createEngine({ backend: 'wasm', threads }),
      plain: await createEngine({ backend: 'wasm', threads, relaxedSimd: false }),
    };
    return globalThis.__engines[threads];
  };
  const args = window.revive(a);
  const call = (engine, kernel) => engine[method]({ ...args, returnWeights: true, ...(kernel ? { kernel } : {}) });
  const oneThread = await call((await engines(1)).relaxed);
  const out = {};
  for (const threads of threadCounts) {
    const { relaxed, plain: simd } = await engines(threads);
    const ref = await call(relaxed, 'reference');
    const opt = await call(relaxed);
    const base = await call(simd);
    const [vsRef, vsPlain, vsOne] = [ref, base, oneThread].map((other) => ({
      output: window.errors(opt.output, other.output), weights: window.errors(opt.weights, other.weights),
    }));
    out[threads] = {
      builds: { relaxed: relaxed.relaxedSimd, plain: simd.relaxedSimd, simd: relaxed.simd && simd.simd,
        threads: [relaxed.threads, simd.threads] },
      length: opt.output.length, finite: vsRef.output.finite,
      vsReference: { output: vsRef.output.relative, weights: vsRef.weights.abs },
      vsPlain: { output: vsPlain.output.relative, weights: vsPlain.weights.abs },
      vsOneThread: { output: vsOne.output.relative, weights: vsOne.weights.abs },
    };
  }
  return out;
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

  test('Chromium has relaxed SIMD: one thread and two run the relaxed builds, relaxedSimd: false the plain ones', async () => {
    const r = await page.evaluate(async () => {
      const lib = await import('/src/lib/index.js');
      const byDefault = await lib.createEngine({ backend: 'wasm', threads: 1 });
      const off = await lib.createEngine({ backend: 'wasm', threads: 1, relaxedSimd: false });
      const threaded = await lib.createEngine({ backend: 'wasm', threads: 2 });
      const threadedOff = await lib.createEngine({ backend: 'wasm', threads: 2, relaxedSimd: false });
      let bad = null;
      try { await lib.createEngine({ relaxedSimd: 1 }); } catch (e) { bad = `${e.name}: ${e.message}`; }
      const out = { isolated: globalThis.crossOriginIsolated, supported: lib.relaxedSimdSupported(),
        byDefault: byDefault.relaxedSimd, off: off.relaxedSimd, offSimd: off.simd,
        threaded: [threaded.relaxedSimd, threaded.threads, threaded.threadsFallback],
        threadedOff: [threadedOff.relaxedSimd, threadedOff.threads, threadedOff.simd], bad };
      for (const e of [byDefault, off, threaded, threadedOff]) e.dispose();
      return out;
    });
    expect(r).toEqual({ isolated: true, supported: true, byDefault: true, off: false, offSimd: true,
      threaded: [true, 2, null], threadedOff: [false, 2, true],
      bad: 'TypeError: createEngine: relaxedSimd must be a boolean, got number' });
  });

  for (const c of CASES.attention) {
    test(`attention ${c.name}: relaxed = reference, = plain SIMD within rounding, threaded = one thread`, async () => {
      const all = await page.evaluate(compareBuilds, ['attention', plain(attentionInputs(c)), THREADS]);
      const rounding = EPS32 * scoreBound(c);
      for (const threads of THREADS) {
        const r = all[threads];
        const at = `${threads} thread(s)`;
        expect(r.builds, at).toEqual({ relaxed: true, plain: false, simd: true, threads: [threads, threads] });
        expect(r.length, at).toBe(c.heads * c.nq * c.dv);
        expect(r.finite, at).toBe(true);
        expect(r.vsReference.output, at).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
        expect(r.vsReference.weights, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
        expect(r.vsPlain.output, at).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
        expect(r.vsPlain.weights, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
        expect(r.vsOneThread.output, at).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
        expect(r.vsOneThread.weights, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
      }
    });
  }

  for (const c of CASES.multiHead) {
    test(`multiHeadAttention ${c.name}: relaxed = reference, = plain SIMD, threaded = one thread`, async () => {
      const all = await page.evaluate(compareBuilds, ['multiHeadAttention', plain(multiHeadInputs(c)), THREADS]);
      for (const threads of THREADS) {
        const r = all[threads];
        const at = `${threads} thread(s)`;
        expect(r.builds, at).toEqual({ relaxed: true, plain: false, simd: true, threads: [threads, threads] });
        expect(r.length, at).toBe(c.nq * c.dModel);
        expect(r.finite, at).toBe(true);
        expect(r.vsReference.output, at).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
        expect(r.vsReference.weights, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
        expect(r.vsPlain.output, at).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
        expect(r.vsOneThread.output, at).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
        expect(r.vsOneThread.weights, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
      }
    });
  }

  test('the pretrained model on the relaxed builds, one thread and two: the plain build\'s embedding and attention within float32 rounding', async () => {
    const r = await page.evaluate(async (threadCounts) => {
      const { createEngine } = await import('/src/lib/index.js');
      const text = "The animal didn't cross the street because it was too tired";
      const out = {};
      for (const threads of threadCounts) {
        const runs = [];
        for (const relaxedSimd of [true, false]) {
          const engine = await createEngine({ backend: 'wasm', threads, relaxedSimd });
          const model = await engine.loadModel('/models/use-lite.f32.safetensors');
          runs.push({ build: [engine.relaxedSimd, engine.threads], result: await model.run(text) });
          engine.dispose();
        }
        const [a, b] = runs.map((x) => x.result);
        out[threads] = {
          builds: runs.map((x) => x.build), tokens: a.ids.length, embedding: window.errors(a.embedding, b.embedding).abs,
          attention: Math.max(...a.attention.map((w, l) => window.errors(w, b.attention[l]).abs)),
        };
      }
      return out;
    }, THREADS);
    for (const threads of THREADS) {
      const at = `${threads} thread(s)`;
      expect(r[threads].builds, at).toEqual([[true, threads], [false, threads]]);
      expect(r[threads].tokens, at).toBeGreaterThan(10);
      expect(r[threads].embedding, at).toBeLessThanOrEqual(1e-5);
      expect(r[threads].attention, at).toBeLessThanOrEqual(1e-5);
    }
  });
});
