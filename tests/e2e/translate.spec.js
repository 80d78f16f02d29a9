// The Translate mode and the Train panel of the explorer, on the trained encoder-decoder
// (engine.loadTranslator, engine.createTrainer).
import { test, expect } from '@playwright/test';
import { ready, setAttrs } from './helpers.js';

const CLASSIC = "The animal didn't cross the street because it was too tired";

test('Translate mode: the translation, token by token, with each token\'s cross-attention row over the source', async ({ page }) => {
  await page.goto(`/?mode=translate&view=translation&text=${encodeURIComponent(CLASSIC)}`);
  const first = await ready(page);
  expect(first.weightsFrom).toBe('translator');
  const r = await page.evaluate(() => {
    const res = document.querySelector('attention-view').result;
    const cross = res.layers.filter((L) => L.name.startsWith('cross'));
    const decoder = res.layers.filter((L) => L.name.startsWith('decoder'));
    const last = cross[cross.length - 1];
    // every row of every head sums to 1; the decoder's weights are zero above the diagonal
    let worstSum = 0;
    for (let i = 0; i < last.heads * last.nq; i++) {
      let sum = 0;
      for (let j = 0; j < last.nk; j++) sum += last.weights[i * last.nk + j];
      worstSum = Math.max(worstSum, Math.abs(sum - 1));
    }
    let above = 0;
    for (const L of decoder) {
      for (let hd = 0; hd < L.heads; hd++) {
        for (let i = 0; i < L.nq; i++) for (let j = i + 1; j < L.nk; j++) above = Math.max(above, L.weights[(hd * L.nq + i) * L.nk + j]);
      }
    }
    const rows = [...document.querySelector('attention-view').shadowRoot.querySelectorAll('.translation-view tr.generated')];
    return {
      output: res.translation.output, m: last.nq, n: last.nk, sources: res.translation.sourceTokens.length, worstSum, above,
      shownRows: rows.length, cellsPerRow: rows.map((tr) => tr.querySelectorAll('td').length),
      encoder: res.layers.filter((L) => L.name.startsWith('encoder')).length, decoder: decoder.length, cross: cross.length,
      // what a reader sees: source words as words (no '##'), each row's strongest cell coloured with readable text
      headers: [...document.querySelector('attention-view').shadowRoot.querySelectorAll('.translation-rows th.src')].map((th) => th.textContent),
      best: rows.map((tr) => {
        const cell = getComputedStyle(tr.querySelector('td.best'));
        return { bg: cell.backgroundColor, fg: cell.color };
      }),
      itNote: document.querySelector('attention-view').shadowRoot.querySelector('.it-antecedent')?.textContent ?? '',
    };
  });
  expect(r.output).toBe('Das Tier überquerte die Straße nicht, weil es zu müde war.');
  expect(r.worstSum).toBeLessThan(1e-5);
  expect(r.above).toBe(0);
  expect(r.shownRows).toBe(r.m);
  expect(r.cellsPerRow.every((c) => c === r.n)).toBe(true);
  expect(r.encoder).toBeGreaterThan(0);
  expect(r.decoder).toBeGreaterThan(0);
  expect(r.cross).toBeGreaterThan(0);
  expect(r.headers).toEqual(['the', 'animal', "didn't", 'cross', 'the', 'street', 'because', 'it', 'was', 'too', 'tired']);
  for (const { bg, fg } of r.best) {
    expect(bg).not.toMatch(/^rgba\(0, 0, 0, 0\)$|^rgb\(255, 255, 255\)$/);
    expect(fg).not.toBe(bg);
  }
  expect(r.itNote).toMatch(/“it” attends most to “[^”]+”/);
});

test('Train: held-out accuracy improves within a bounded number of steps; pause and resume', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/?mode=translate&view=translation');
  await page.locator('#train-max-steps').fill('200');
  await page.locator('#train-eval-every').fill('100');
  await page.locator('#train-start').click();
  await expect.poll(() => page.evaluate(() => globalThis.__train.evals.length), { timeout: 60_000 }).toBeGreaterThan(1);
  await page.locator('#train-pause').click();
  await expect.poll(() => page.evaluate(() => globalThis.__train.state)).toBe('paused');
  await page.locator('#train-resume').click();
  await expect.poll(() => page.evaluate(() => globalThis.__train.state), { timeout: 150_000 }).toBe('done');
  const h = await page.evaluate(() => globalThis.__train);
  const first = h.evals[0];
  const last = h.evals[h.evals.length - 1];
  console.log(`held-out exact: ${first.exact} at step ${first.step} -> ${last.exact} at step ${last.step}; pronoun ${first.pronoun} -> ${last.pronoun}; loss ${h.loss[0][1].toFixed(3)} -> ${h.loss[h.loss.length - 1][1].toFixed(3)}`);
  expect(first.step).toBe(0);
  expect(last.step).toBe(200);
  expect(last.exact).toBeGreaterThan(first.exact);
  expect(h.loss[h.loss.length - 1][1]).toBeLessThan(h.loss[0][1]);
  expect(h.attention?.step).toBe(200);
  expect(h.errors).toEqual([]);
  // The trained model goes to every view: the widget recomputes on it.
  await page.locator('#train-use').click();
  await expect.poll(() => page.evaluate(() => document.querySelector('attention-view').result?.translation?.trainedIn?.steps ?? null)).toBe(200);
});

test('Translate mode, step by step: the translator\'s own Q, K, V; its weights equal the heatmap\'s layer and head', async ({ page }) => {
  await page.goto(`/?mode=translate&view=steps&layer=0&head=1&text=${encodeURIComponent(CLASSIC)}`);
  const first = await ready(page);
  expect(first.weightsFrom).toBe('translator');
  const names = await page.evaluate(() => document.querySelector('attention-view').result.layers.map((L) => L.name));
  // one block of each kind: encoder self, masked decoder self, cross (the layer selector's indices)
  const picks = [names.findIndex((n) => n.startsWith('encoder')), names.findIndex((n) => n.startsWith('decoder')),
    names.findLastIndex((n) => n.startsWith('cross'))];
  expect(picks[0]).toBe(0);
  expect(picks.every((i) => i >= 0)).toBe(true);
  for (const [i, layer] of picks.entries()) {
    const head = i + 1;  // the URL's layer 0 (encoder 0), head 1 first
    if (i > 0) await setAttrs(page, { layer: String(layer), head: String(head) });
    const r = await page.evaluate(() => {
      const res = document.querySelector('attention-view').result;
      const st = res.steps;
      const L = res.layers[st.layer];
      const heat = Array.from(L.weights.subarray(st.head * L.nq * L.nk, (st.head + 1) * L.nq * L.nk));
      const note = document.querySelector('attention-view').shadowRoot.querySelector('.steps-view .note')?.textContent ?? '';
      return { layer: st.layer, head: st.head, name: L.name, nq: L.nq, nk: L.nk, heat, steps: Array.from(st.weights), label: st.label, mask: st.mask, C: st.C !== null, note };
    });
    expect([r.layer, r.head]).toEqual([layer, head]);
    expect(r.label).toMatch(/the trained translator's own/);
    expect(r.mask).toBe(r.name.startsWith('decoder') ? 'causal' : 'none');
    expect(r.C).toBe(r.name.startsWith('cross'));
    expect(r.note.toLowerCase()).toContain(r.name.toLowerCase());
    expect(r.steps.length).toBe(r.nq * r.nk);
    let worst = 0;
    for (let k = 0; k < r.heat.length; k++) worst = Math.max(worst, Math.abs(r.heat[k] - r.steps[k]));
    console.log(`${r.name} head ${r.head}: max |steps - heatmap| = ${worst.toExponential(2)} over ${r.nq}x${r.nk}`);
    expect(worst).toBeLessThan(1e-5);
  }
});
