// <attention-view> on the explorer page: every view renders and its numbers equal the engine's (the
// engine is called in the page through the public API and compared with element.result).
import { test, expect } from '@playwright/test';
import { ready, setAttrs, pageEngine, checkStepsAgainstEngine } from './helpers.js';

const TEXT = "The animal didn't cross the street because it was too tired";

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await ready(page);
  await pageEngine(page);
});

test('heatmap: the weights on screen are the engine\'s, for every layer and head', async ({ page }) => {
  const summary = await ready(page);
  const diff = await page.evaluate(async (text) => {
    const el = document.querySelector('attention-view');
    const r = el.result;
    const engine = globalThis.__engine;
    let expected;
    if (r.weightsFrom === 'model') {
      const model = await engine.loadModel(r.modelUrl);  // the file the widget runs (the int8 one by default)
      expected = (await model.run(text)).attention;
    } else {
      // The seeded stand-in: layer 0 is one multi-head attention over seeded embeddings + PE.
      const { seededMatrix, seededEmbeddings } = await import('/src/widget/seeded.js');
      const L = r.layers[0];
      const pe = globalThis.__lib.positionalEncoding(L.nq, 64);
      const x = seededEmbeddings(L.queryPieces, 64).map((v, i) => v + pe[i]);
      const w = (n) => seededMatrix(`seeded.L0.${n}`, 64, 64);
      const mha = await engine.multiHeadAttention({
        x, nq: L.nq, nk: L.nk, dModel: 64, heads: 4, Wq: w('Wq'), Wk: w('Wk'), Wv: w('Wv'), Wo: w('Wo'),
        score: 'scaled_dot', returnWeights: true,
      });
      expected = [mha.weights];
    }
    let max = 0;
    expected.forEach((e, l) => e.forEach((v, i) => { max = Math.max(max, Math.abs(v - r.layers[l].weights[i])); }));
    // The matrix drawn is head `head` of layer `layer`.
    const { layer, head } = r.shown;
    const L = r.layers[layer];
    const size = L.nq * L.nk;
    let shownMax = 0;
    r.shown.matrix.forEach((v, i) => { shownMax = Math.max(shownMax, Math.abs(v - L.weights[head * size + i])); });
    const rects = el.shadowRoot.querySelectorAll('.heatmap-view svg rect[data-i]').length;
    const status = el.shadowRoot.querySelector('.status').textContent;
    return { max, shownMax, rects, size, checked: expected.length, relaxedSimd: r.relaxedSimd, status };
  }, TEXT);
  console.log(`heatmap (${summary.weightsFrom}): ${diff.checked} layer(s), max |widget - engine| = ${diff.max}`);
  expect(diff.max).toBeLessThanOrEqual(1e-6);
  expect(diff.shownMax).toBe(0);
  expect(diff.rects).toBe(diff.size);
  // The widget's worker runs one thread: in Chromium the relaxed SIMD build, and the status line says so.
  expect(diff.relaxedSimd).toBe(true);
  expect(diff.status).toContain('wasm relaxed SIMD · ');
});

test('head selection re-renders the chosen head, from the attribute and from the toolbar', async ({ page }) => {
  await setAttrs(page, { layer: '1', head: '2' });
  let shown = await page.evaluate(() => document.querySelector('attention-view').result.shown);
  expect([shown.layer, shown.head]).toEqual([1, 2]);
  await page.locator('attention-view select[data-control="head"]').selectOption('3');
  await expect.poll(() => page.evaluate(() => document.querySelector('attention-view').result.shown.head)).toBe(3);
  await expect.poll(() => page.evaluate(() => document.querySelector('attention-view').getAttribute('head'))).toBe('3');
  shown = await page.evaluate(() => {
    const r = document.querySelector('attention-view').result;
    const L = r.layers[r.shown.layer];
    const size = L.nq * L.nk;
    return Array.from(r.shown.matrix).every((v, i) => v === L.weights[3 * size + i]);
  });
  expect(shown).toBe(true);
  await expect(page).toHaveURL(/head=3/);
});

test('hover shows the value of the cell and the strongest key of its row', async ({ page }) => {
  const cell = page.locator('attention-view .heatmap-view svg rect[data-i="7"][data-j="1"]').first();
  await cell.hover();
  const tip = page.locator('attention-view .heatmap-view .tip').first();
  await expect(tip).toBeVisible();
  const expected = await page.evaluate(() => {
    const r = document.querySelector('attention-view').result.shown;
    return { q: r.queryLabels[7], k: r.keyLabels[1], v: r.matrix[7 * r.cols + 1].toFixed(3) };
  });
  await expect(tip).toHaveText(`“${expected.q}” → “${expected.k}”: ${expected.v}`);
  await expect(page.locator('attention-view .heatmap-view .caption').first()).toContainText(`“${expected.q}” attends most to`);
});

test('head view: lines per head, toggling a head hides its lines, hovering a token isolates it', async ({ page }) => {
  await setAttrs(page, { view: 'head', layer: '0' });
  const lines = page.locator('attention-view .head-view line');
  const all = await lines.count();
  expect(all).toBeGreaterThan(0);
  // Every line's opacity is the engine's weight for its head, query and key.
  const ok = await page.evaluate(() => {
    const el = document.querySelector('attention-view');
    const L = el.result.layers[0];
    const colors = ['#0072B2', '#E69F00', '#009E73', '#CC79A7'];
    return [...el.shadowRoot.querySelectorAll('.head-view line')].every((line) => {
      const hd = colors.indexOf(line.getAttribute('stroke'));
      const w = L.weights[hd * L.nq * L.nk + +line.dataset.i * L.nk + +line.dataset.j];
      return Math.abs(Number(line.getAttribute('stroke-opacity')) - Math.min(1, w)) < 1e-3;
    });
  });
  expect(ok).toBe(true);
  const toggle = page.locator('attention-view button.head-toggle[data-head="0"]');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  const fewer = await lines.count();
  expect(fewer).toBeLessThan(all);
  await page.locator('attention-view .head-view text.token').nth(2).hover();
  const visible = await page.evaluate(() => [...document.querySelector('attention-view').shadowRoot
    .querySelectorAll('.head-view line')].filter((l) => l.getAttribute('visibility') !== 'hidden').map((l) => l.dataset.i));
  expect(visible.length).toBeGreaterThan(0);
  expect(new Set(visible)).toEqual(new Set(['2']));
  await toggle.click();
  await expect(lines).toHaveCount(all);
});

test('model view: one thumbnail per layer and head; clicking one opens it as a heatmap', async ({ page }) => {
  await setAttrs(page, { view: 'model' });
  const expected = await page.evaluate(() => document.querySelector('attention-view').result.layers.reduce((s, l) => s + l.heads, 0));
  await expect(page.locator('attention-view .model-view button.thumb')).toHaveCount(expected);
  await page.locator('attention-view .model-view button.thumb[data-layer="1"][data-head="2"]').click();
  await expect.poll(() => page.evaluate(() => {
    const r = document.querySelector('attention-view').result.shown;
    return `${r.view} ${r.layer} ${r.head}`;
  })).toBe('heatmap 1 2');
});

test('step by step: Q, K, V -> weights and Z equal engine.attention on the same inputs', async ({ page }) => {
  await setAttrs(page, { view: 'steps', layer: '0', head: '1' });
  const figures = page.locator('attention-view .steps-view figure.step');
  await expect(figures.first()).toBeVisible();
  const names = await figures.evaluateAll((fs) => fs.map((f) => f.dataset.step));
  for (const name of ['Q', 'K', 'V', 'S', 'M', 'W', 'Z']) expect(names).toContain(name);
  const d = await checkStepsAgainstEngine(page);
  expect(d.weights).toBeLessThanOrEqual(1e-6);
  expect(d.output).toBeLessThanOrEqual(1e-5);
  expect(d.scores).toBe(0);
  // Each step shows its formula.
  await expect(page.locator('attention-view figure.step[data-step="Z"] .formula')).toContainText('Σ');
});

test('neuron view: q·k, the scaled score and the softmax weight of every key are the engine\'s', async ({ page }) => {
  await setAttrs(page, { view: 'neuron', layer: '0', head: '2', query: '7' });
  await expect(page.locator('attention-view .neuron-view svg')).toBeVisible();
  const d = await checkStepsAgainstEngine(page);
  expect(d.weights).toBeLessThanOrEqual(1e-6);
  const ok = await page.evaluate(async () => {
    // The view writes numbers with dom.js's fmt (the model's real scores pass 10, its small weights 0.001).
    const { fmt } = await import('/src/widget/dom.js');
    const el = document.querySelector('attention-view');
    const st = el.result.steps;
    const i = 7;
    const texts = [...el.shadowRoot.querySelectorAll('.neuron-view svg text')].map((t) => t.textContent);
    // The engine's score is q·k_j / √d_k, the sum of the q ⊙ k_j strip scaled; the shown score and weight are the engine's.
    let good = true;
    for (let j = 0; j < st.nk; j++) {
      let dot = 0;
      for (let c = 0; c < st.dh; c++) dot += st.Q[i * st.dh + c] * st.K[j * st.dh + c];
      const scaled = dot / Math.sqrt(st.dh);
      good &&= Math.abs(scaled - st.scores[i * st.nk + j]) < 1e-3 * Math.max(1, Math.abs(scaled));
      good &&= texts.includes(fmt(st.masked[i * st.nk + j]));
      good &&= texts.includes(fmt(st.weights[i * st.nk + j]));
    }
    return good;
  });
  expect(ok).toBe(true);
  await page.locator('attention-view select.query-select').selectOption('3');
  await expect.poll(() => page.evaluate(() => document.querySelector('attention-view').getAttribute('query'))).toBe('3');
});

test('what-if: switching the score function recomputes with the engine; PE on/off shows the encoding', async ({ page }) => {
  for (const score of ['dot', 'scaled_dot', 'general', 'additive']) {
    await setAttrs(page, { mode: 'whatif', score, view: 'steps', head: '0', layer: '0' });
    const r = await page.evaluate(() => ({ score: document.querySelector('attention-view').result.score, stepScore: document.querySelector('attention-view').result.steps.score }));
    expect(r).toEqual({ score, stepScore: score });
    const d = await checkStepsAgainstEngine(page);
    expect(d.weights, score).toBeLessThanOrEqual(1e-6);
  }
  await setAttrs(page, { view: 'heatmap', pe: 'off' });
  await expect(page.locator('attention-view figure.pe figcaption')).toContainText('off');
  // Without positional encoding, two copies of a word ("the") attend identically.
  const same = await page.evaluate(() => {
    const r = document.querySelector('attention-view').result;
    const L = r.layers[0];
    const a = L.queryPieces.findIndex((p) => p.toLowerCase() === '▁the');
    const b = L.queryPieces.findLastIndex((p) => p.toLowerCase() === '▁the');
    let m = 0;
    for (let j = 0; j < L.nk; j++) m = Math.max(m, Math.abs(L.weights[a * L.nk + j] - L.weights[b * L.nk + j]));
    return { a, b, m };
  });
  expect(same.a).not.toBe(same.b);
  expect(same.m).toBeLessThan(1e-6);
});

test('causal decoder (the trained translator): the upper triangle is zero in every layer and head', async ({ page }) => {
  await setAttrs(page, { mode: 'causal', view: 'heatmap', text: "The cat didn't cross the river because it was too wide" });
  const r = await page.evaluate(() => {
    const res = document.querySelector('attention-view').result;
    let upper = 0;
    let rowSumErr = 0;
    for (const L of res.layers) {
      for (let h = 0; h < L.heads; h++) {
        for (let i = 0; i < L.nq; i++) {
          let sum = 0;
          for (let j = 0; j < L.nk; j++) {
            const w = L.weights[(h * L.nq + i) * L.nk + j];
            if (j > i) upper = Math.max(upper, Math.abs(w));
            sum += w;
          }
          rowSumErr = Math.max(rowSumErr, Math.abs(sum - 1));
        }
      }
    }
    return { upper, rowSumErr, layers: res.layers.length, names: res.layers.map((L) => L.name), from: res.weightsFrom };
  });
  expect(r.from).toBe('translator');
  expect(r.names.every((n) => n.startsWith('decoder'))).toBe(true);
  expect(r.upper).toBe(0);
  expect(r.rowSumErr).toBeLessThan(1e-5);
});

test('encoder-decoder (the trained translator): German queries over English keys, rows sum to 1', async ({ page }) => {
  await setAttrs(page, { mode: 'encdec', text: "The dog didn't cross the bridge because it was too long", view: 'heatmap' });
  const r = await page.evaluate(() => {
    const res = document.querySelector('attention-view').result;
    const L = res.layers[0];
    let rowSumErr = 0;
    for (let i = 0; i < L.heads * L.nq; i++) {
      let sum = 0;
      for (let j = 0; j < L.nk; j++) sum += L.weights[i * L.nk + j];
      rowSumErr = Math.max(rowSumErr, Math.abs(sum - 1));
    }
    return { nq: L.nq, nk: L.nk, rows: res.translation.rows.length, src: res.translation.sourceTokens.length, rowSumErr, name: L.name };
  });
  expect(r.name).toMatch(/^cross/);
  expect([r.nq, r.nk]).toEqual([r.rows, r.src]);
  expect(r.rowSumErr).toBeLessThan(1e-5);
});

test('mean over heads, rollout and merged words', async ({ page }) => {
  await setAttrs(page, { aggregate: 'mean', layer: '1' });
  const mean = await page.evaluate(() => {
    const r = document.querySelector('attention-view').result;
    const L = r.layers[1];
    const size = L.nq * L.nk;
    let m = 0;
    for (let i = 0; i < size; i++) {
      let s = 0;
      for (let h = 0; h < L.heads; h++) s += L.weights[h * size + i];
      m = Math.max(m, Math.abs(s / L.heads - r.shown.matrix[i]));
    }
    return { m, aggregate: r.shown.aggregate };
  });
  expect(mean.aggregate).toBe('mean');
  expect(mean.m).toBeLessThan(1e-6);
  await setAttrs(page, { aggregate: 'rollout' });
  const roll = await page.evaluate(() => {
    const r = document.querySelector('attention-view').result.shown;
    let err = 0;
    for (let i = 0; i < r.rows; i++) {
      let s = 0;
      for (let j = 0; j < r.cols; j++) s += r.matrix[i * r.cols + j];
      err = Math.max(err, Math.abs(s - 1));
    }
    return { err, aggregate: r.aggregate };
  });
  expect(roll).toEqual({ err: expect.any(Number), aggregate: 'rollout' });
  expect(roll.err).toBeLessThan(1e-5);
  await setAttrs(page, { aggregate: 'head', text: 'Transformers tokenize unbelievably', merge: '' });
  const merged = await page.evaluate(() => {
    const r = document.querySelector('attention-view').result.shown;
    return { merged: r.merged, labels: r.queryLabels, rows: r.rows };
  });
  expect(merged.merged).toBe(true);
  expect(merged.labels).toEqual(['Transformers', 'tokenize', 'unbelievably']);
});

test('export: SVG, PNG and JSON of the current view', async ({ page }) => {
  const out = await page.evaluate(async () => {
    const el = document.querySelector('attention-view');
    const svg = el.exportSVG();
    const png = await el.exportPNG(1);
    const json = JSON.parse(el.exportJSON());
    const head = new Uint8Array(await png.slice(0, 8).arrayBuffer());
    return {
      svgStart: svg.slice(0, 60), svgRects: (svg.match(/<rect /g) ?? []).length, pngType: png.type, pngSize: png.size,
      pngMagic: Array.from(head.slice(1, 4)), jsonFormat: json.format, jsonRows: json.result.shown.rows,
      shownFirst: json.result.shown.matrix[0], expectFirst: el.result.shown.matrix[0],
    };
  });
  expect(out.svgStart).toContain('<?xml');
  expect(out.svgRects).toBeGreaterThan(10);
  expect(out.pngType).toBe('image/png');
  expect(out.pngMagic).toEqual([80, 78, 71]);
  expect(out.pngSize).toBeGreaterThan(1000);
  expect(out.jsonFormat).toBe('attention-view/1');
  expect(out.shownFirst).toBeCloseTo(out.expectFirst, 6);
  // The buttons download files.
  const download = page.waitForEvent('download');
  await page.locator('attention-view button[data-export="json"]').click();
  expect((await download).suggestedFilename()).toBe('attention-heatmap.json');
});

test('attention-computed fires after each computation with the result; attributes re-render', async ({ page }) => {
  const got = await page.evaluate(async () => {
    const el = document.querySelector('attention-view');
    const event = new Promise((resolve) => el.addEventListener('attention-computed', (e) => resolve(e.detail.result), { once: true }));
    el.setAttribute('text', 'A short one');
    const r = await event;
    return { same: r === el.result, text: r.text, n: r.layers[0].nq };
  });
  expect(got.same).toBe(true);
  expect(got.text).toBe('A short one');
  // theme is an attribute too: dark colours without a new computation.
  const before = await page.evaluate(() => document.querySelector('attention-view').result.timings.roundTripMs);
  await setAttrs(page, { theme: 'dark' });
  const after = await page.evaluate(() => {
    const el = document.querySelector('attention-view');
    return { t: el.result.timings.roundTripMs, fg: el.shadowRoot.querySelector('.heatmap-view svg text').getAttribute('fill') };
  });
  expect(after.t).toBe(before);
  expect(after.fg).toBe('#e6e9ec');
});

/** In the page: counts animation frames from now until globalThis.__frames.stop(), which returns the count. */
function countFrames() {
  let frames = 0;
  let on = true;
  const tick = () => { frames += 1; if (on) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  globalThis.__frames = { stop: () => { on = false; return frames; } };
}

test('200 rapid layer/head/view/attribute changes draw at most once per animation frame, ending on the last state', async ({ page }) => {
  await page.evaluate(() => document.querySelector('attention-view').ready);
  await page.evaluate(countFrames);
  const r = await page.evaluate(async () => {
    const el = document.querySelector('attention-view');
    const frames = globalThis.__frames;
    const before = el.renderCount;
    let yields = 0;
    for (let i = 0; i < 200; i++) {
      el.setAttribute('layer', String(i % 2));
      el.setAttribute('head', String(i % 4));
      el.setAttribute('view', i % 3 === 2 ? 'head' : 'heatmap');
      el.setAttribute('aggregate', i % 5 === 4 ? 'mean' : 'head');
      if (i % 20 === 19) {
        yields += 1;
        await new Promise(requestAnimationFrame);
      }
    }
    await el.ready;
    const s = el.result.shown;
    return { renders: el.renderCount - before, frames: frames.stop(), yields, shown: [s.view, s.layer, s.head, s.aggregate] };
  });
  console.log(`200 changes x 4 attributes: ${r.renders} renders over ${r.frames} frames`);
  expect(r.renders).toBeGreaterThan(0);
  expect(r.renders).toBeLessThanOrEqual(r.frames);
  expect(r.renders).toBeLessThanOrEqual(r.yields + 1);
  // i = 199: layer 1, head 3, 199 % 3 = 1 -> heatmap, 199 % 5 = 4 -> mean
  expect(r.shown).toEqual(['heatmap', 1, 3, 'mean']);
});

test('200 rapid text changes mixed with head changes never draw a stale result, and draw once per frame at most', async ({ page }) => {
  await setAttrs(page, { mode: 'seeded' });
  await page.evaluate(countFrames);
  const r = await page.evaluate(async () => {
    const el = document.querySelector('attention-view');
    const frames = globalThis.__frames;
    const before = el.renderCount;
    const drawn = [];
    const listener = (e) => drawn.push(e.detail.result.text);
    el.addEventListener('attention-rendered', listener);
    for (let i = 0; i < 200; i++) {
      el.setAttribute('text', `Sentence number ${i} of the burst`);
      el.setAttribute('head', String(i % 4));
      if (i % 20 === 19) await new Promise(requestAnimationFrame);
    }
    await el.ready;
    el.removeEventListener('attention-rendered', listener);
    return { drawn, renders: el.renderCount - before, frames: frames.stop(), text: el.result.text, head: el.result.shown.head };
  });
  console.log(`200 text + head changes: ${r.renders} renders over ${r.frames} frames`);
  expect(r.text).toBe('Sentence number 199 of the burst');
  expect(r.head).toBe(3);
  expect(r.drawn.length).toBeGreaterThan(0);
  expect(r.drawn.every((t) => t === r.text)).toBe(true);
  expect(r.renders).toBeLessThanOrEqual(r.frames);
});
